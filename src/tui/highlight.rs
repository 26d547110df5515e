//! Syntax colors with tree-sitter, kept cheap enough to run on every keystroke.
//!
//! Each document has its own parser and tree. An edit arrives as an `Operation`; each of
//! its changes becomes a tree-sitter `InputEdit` (char indices converted to bytes and
//! points at the border, see `text::position`) and the tree is re-parsed incrementally.
//! Only the bytes on screen are queried (`QueryCursor::set_byte_range`), so the cost of a
//! frame does not grow with the file.
//!
//! Pathological files must not freeze the editor: files over [`MAX_HIGHLIGHT_BYTES`] are
//! never parsed, and a parse that runs past [`PARSE_TIMEOUT`] is abandoned. Either way
//! highlighting is switched off for that document and [`Syntax::notice`] says why.

use std::ops::{ControlFlow, Range};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ropey::Rope;
use tree_sitter::{
    InputEdit, Node, ParseOptions, Parser, Query, QueryCursor, StreamingIterator, TextProvider,
    Tree,
};

use crate::text::Operation;
use crate::text::position::char_to_point;

/// Larger files are shown without colors rather than parsed.
pub const MAX_HIGHLIGHT_BYTES: usize = 50 * 1024 * 1024;
/// A re-parse after an edit that takes longer is abandoned and highlighting switched off.
pub const PARSE_TIMEOUT: Duration = Duration::from_millis(500);
/// The first parse of a file may take longer (it happens once, when the file opens; a
/// 100,000-line Rust file takes a few hundred milliseconds). Past this, highlighting is
/// off for the file.
pub const INITIAL_PARSE_TIMEOUT: Duration = Duration::from_secs(3);
/// Up to this size a document is re-parsed right after each edit (about a millisecond).
/// Larger ones only shift the old tree at once (so colors stay on their text) and
/// re-parse when the app is idle: tree-sitter's incremental re-parse still walks every
/// top-level item, ~80 ms for a 100,000-line file, too slow for every keystroke.
pub const IMMEDIATE_REPARSE_BYTES: usize = 512 * 1024;
/// At most this many bytes are highlighted per frame (a screen of minified JSON is one
/// huge line; past this it is shown plain).
const MAX_QUERY_BYTES: usize = 256 * 1024;

/// The languages cotype highlights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    C,
    Json,
    Toml,
    Markdown,
    Shell,
}

impl Language {
    pub const ALL: [Language; 11] = [
        Self::Rust,
        Self::Python,
        Self::JavaScript,
        Self::TypeScript,
        Self::Tsx,
        Self::Go,
        Self::C,
        Self::Json,
        Self::Toml,
        Self::Markdown,
        Self::Shell,
    ];

    /// Guesses the language from a file name.
    pub fn from_path(path: &str) -> Option<Self> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let extension = name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        Some(match extension.as_deref() {
            Some("rs") => Self::Rust,
            Some("py" | "pyi") => Self::Python,
            Some("js" | "mjs" | "cjs" | "jsx") => Self::JavaScript,
            Some("ts" | "mts" | "cts") => Self::TypeScript,
            Some("tsx") => Self::Tsx,
            Some("go") => Self::Go,
            Some("c" | "h") => Self::C,
            Some("json") => Self::Json,
            Some("toml") => Self::Toml,
            Some("md" | "markdown") => Self::Markdown,
            Some("sh" | "bash" | "zsh") => Self::Shell,
            _ => match name {
                "Cargo.lock" | "Pipfile" => Self::Toml,
                ".bashrc" | ".profile" | ".zshrc" | "PKGBUILD" => Self::Shell,
                _ => return None,
            },
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::JavaScript => "javascript",
            Self::TypeScript => "typescript",
            Self::Tsx => "tsx",
            Self::Go => "go",
            Self::C => "c",
            Self::Json => "json",
            Self::Toml => "toml",
            Self::Markdown => "markdown",
            Self::Shell => "shell",
        }
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Self::Rust => tree_sitter_rust::LANGUAGE.into(),
            Self::Python => tree_sitter_python::LANGUAGE.into(),
            Self::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Self::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Self::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Self::Go => tree_sitter_go::LANGUAGE.into(),
            Self::C => tree_sitter_c::LANGUAGE.into(),
            Self::Json => tree_sitter_json::LANGUAGE.into(),
            Self::Toml => tree_sitter_toml_ng::LANGUAGE.into(),
            Self::Markdown => tree_sitter_md::LANGUAGE.into(),
            Self::Shell => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    /// The highlight query. TypeScript's grammar crate ships only what it adds to
    /// JavaScript, so (as in helix and nvim) the JavaScript query comes first.
    fn query_source(self) -> String {
        match self {
            Self::Rust => tree_sitter_rust::HIGHLIGHTS_QUERY.into(),
            Self::Python => tree_sitter_python::HIGHLIGHTS_QUERY.into(),
            Self::JavaScript => format!(
                "{}\n{}",
                tree_sitter_javascript::HIGHLIGHT_QUERY,
                tree_sitter_javascript::JSX_HIGHLIGHT_QUERY
            ),
            Self::TypeScript => format!(
                "{}\n{}",
                tree_sitter_javascript::HIGHLIGHT_QUERY,
                tree_sitter_typescript::HIGHLIGHTS_QUERY
            ),
            Self::Tsx => format!(
                "{}\n{}\n{}",
                tree_sitter_javascript::HIGHLIGHT_QUERY,
                tree_sitter_javascript::JSX_HIGHLIGHT_QUERY,
                tree_sitter_typescript::HIGHLIGHTS_QUERY
            ),
            Self::Go => tree_sitter_go::HIGHLIGHTS_QUERY.into(),
            Self::C => tree_sitter_c::HIGHLIGHT_QUERY.into(),
            Self::Json => tree_sitter_json::HIGHLIGHTS_QUERY.into(),
            Self::Toml => tree_sitter_toml_ng::HIGHLIGHTS_QUERY.into(),
            Self::Markdown => tree_sitter_md::HIGHLIGHT_QUERY_BLOCK.into(),
            Self::Shell => tree_sitter_bash::HIGHLIGHT_QUERY.into(),
        }
    }

    /// The compiled query, built once per process (compiling takes milliseconds).
    fn query(self) -> &'static Query {
        static QUERIES: [OnceLock<Query>; 11] = [const { OnceLock::new() }; 11];
        let index = Self::ALL.iter().position(|l| *l == self).unwrap_or(0);
        QUERIES[index].get_or_init(|| {
            // The queries are shipped with the grammars and tested below; a failure
            // here is a build defect, not user input.
            Query::new(&self.grammar(), &self.query_source())
                .unwrap_or_else(|error| panic!("{} highlight query: {error}", self.name()))
        })
    }
}

/// Why a document is shown without colors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disabled {
    TooLarge { bytes: usize },
    ParseTimeout,
}

/// The syntax tree of one document.
pub struct Syntax {
    language: Language,
    parser: Parser,
    tree: Option<Tree>,
    disabled: Option<Disabled>,
    timeout: Duration,
    /// The tree was shifted by edits but not re-parsed yet.
    stale: bool,
    immediate_limit: usize,
}

impl std::fmt::Debug for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syntax")
            .field("language", &self.language)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// Styles per byte of a range of the document: the capture index that colors each byte.
#[derive(Debug, Clone, Default)]
pub struct Highlights {
    start_byte: usize,
    captures: Vec<Option<u32>>,
}

impl Highlights {
    /// The capture coloring `byte`, if any.
    pub fn capture_at(&self, byte: usize) -> Option<u32> {
        let index = byte.checked_sub(self.start_byte)?;
        self.captures.get(index).copied().flatten()
    }
}

impl Syntax {
    /// Parses `rope` as `language` (or decides not to; see [`Syntax::notice`]).
    pub fn new(language: Language, rope: &Rope) -> Self {
        let mut syntax = Self::with_timeout(language, rope, INITIAL_PARSE_TIMEOUT);
        syntax.timeout = PARSE_TIMEOUT;
        syntax
    }

    /// As [`Syntax::new`], with one timeout for the first parse and every re-parse.
    pub fn with_timeout(language: Language, rope: &Rope, timeout: Duration) -> Self {
        let mut parser = Parser::new();
        let mut syntax = Self {
            language,
            tree: None,
            disabled: None,
            timeout,
            parser: Parser::new(),
            stale: false,
            immediate_limit: IMMEDIATE_REPARSE_BYTES,
        };
        if let Err(error) = parser.set_language(&language.grammar()) {
            // Only an ABI mismatch between tree-sitter and a grammar crate gets here.
            tracing::error!(language = language.name(), %error, "grammar does not load");
            syntax.disabled = Some(Disabled::ParseTimeout);
            return syntax;
        }
        syntax.parser = parser;
        if rope.len_bytes() > MAX_HIGHLIGHT_BYTES {
            syntax.disabled = Some(Disabled::TooLarge {
                bytes: rope.len_bytes(),
            });
            return syntax;
        }
        syntax.reparse(rope);
        syntax
    }

    /// The syntax for a file name, if cotype knows its language.
    pub fn for_path(path: &str, rope: &Rope) -> Option<Self> {
        Language::from_path(path).map(|language| Self::new(language, rope))
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// Capture names of the query, indexed by capture index (for `Theme::capture_styles`).
    pub fn capture_names(&self) -> &'static [&'static str] {
        self.language.query().capture_names()
    }

    /// Why highlighting is off, for the message area.
    pub fn notice(&self) -> Option<String> {
        Some(match self.disabled.as_ref()? {
            Disabled::TooLarge { bytes } => format!(
                "syntax colors off: the file is {} MB (the limit is {} MB)",
                bytes / (1024 * 1024),
                MAX_HIGHLIGHT_BYTES / (1024 * 1024)
            ),
            Disabled::ParseTimeout => format!(
                "syntax colors off: parsing took longer than {} ms",
                self.timeout.as_millis()
            ),
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.disabled.is_none()
    }

    /// Brings the tree up to date after `operation` turned `before` into `after`.
    pub fn update(&mut self, before: &Rope, operation: &Operation, after: &Rope) {
        if self.disabled.is_some() {
            return;
        }
        if after.len_bytes() > MAX_HIGHLIGHT_BYTES {
            self.tree = None;
            self.disabled = Some(Disabled::TooLarge {
                bytes: after.len_bytes(),
            });
            return;
        }
        if let Some(tree) = self.tree.as_mut() {
            // `changes()` counts each change in the document with the earlier ones applied,
            // so walk a copy (cheap: ropes share their nodes) through the same steps.
            let mut current = before.clone();
            for change in operation.changes() {
                let start = change.range.start.min(current.len_chars());
                let end = change.range.end.min(current.len_chars());
                let start_byte = current.char_to_byte(start);
                let old_end_byte = current.char_to_byte(end);
                let start_position = char_to_point(&current, start);
                let old_end_position = char_to_point(&current, end);
                current.remove(start..end);
                current.insert(start, change.text);
                let new_end = start + change.text.chars().count();
                tree.edit(&InputEdit {
                    start_byte,
                    old_end_byte,
                    new_end_byte: start_byte + change.text.len(),
                    start_position,
                    old_end_position,
                    new_end_position: char_to_point(&current, new_end),
                });
            }
        }
        if after.len_bytes() <= self.immediate_limit || self.tree.is_none() {
            self.reparse(after);
        } else {
            self.stale = true;
        }
    }

    /// Whether edits wait for [`Syntax::reparse_now`] (large documents; see
    /// [`IMMEDIATE_REPARSE_BYTES`]).
    pub fn needs_reparse(&self) -> bool {
        self.stale && self.disabled.is_none()
    }

    /// Re-parses a document whose tree was only shifted by edits; `rope` is its text now.
    pub fn reparse_now(&mut self, rope: &Rope) {
        if self.needs_reparse() {
            self.reparse(rope);
        }
    }

    /// Re-parse immediately after edits up to `bytes` (tests use a small limit).
    pub fn set_immediate_reparse_limit(&mut self, bytes: usize) {
        self.immediate_limit = bytes;
    }

    fn reparse(&mut self, rope: &Rope) {
        let deadline = Instant::now() + self.timeout;
        let mut check = |_: &tree_sitter::ParseState| {
            if Instant::now() > deadline {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let mut read = |byte: usize, _| -> &[u8] {
            if byte >= rope.len_bytes() {
                return &[];
            }
            let (chunk, chunk_start, _, _) = rope.chunk_at_byte(byte);
            &chunk.as_bytes()[byte - chunk_start..]
        };
        let options = ParseOptions::new().progress_callback(&mut check);
        self.stale = false;
        match self
            .parser
            .parse_with_options(&mut read, self.tree.as_ref(), Some(options))
        {
            Some(tree) => self.tree = Some(tree),
            None => {
                self.parser.reset();
                self.tree = None;
                self.disabled = Some(Disabled::ParseTimeout);
                tracing::warn!(
                    language = self.language.name(),
                    "parse timed out; highlighting off"
                );
            }
        }
    }

    /// Which capture colors each byte of `bytes` (normally the lines on screen).
    pub fn highlights(&self, rope: &Rope, bytes: Range<usize>) -> Highlights {
        let Some(tree) = self.tree.as_ref() else {
            return Highlights::default();
        };
        let end = bytes
            .end
            .min(rope.len_bytes())
            .min(bytes.start + MAX_QUERY_BYTES);
        let start = bytes.start.min(end);
        let mut out = Highlights {
            start_byte: start,
            captures: vec![None; end - start],
        };
        let query = self.language.query();
        let mut cursor = QueryCursor::new();
        cursor.set_byte_range(start..end);
        // A query cursor walks every child of a node before the range to reach it, so on
        // a file that is one long list (100,000 lines of top-level items, a huge JSON
        // array) that walk costs milliseconds per frame. So wide nodes are not queried
        // themselves: only their children that overlap the range are.
        let mut roots = Vec::new();
        collect_query_roots(tree.root_node(), start, end, &mut roots);
        // A single node may be captured by several patterns; as in tree-sitter-highlight,
        // the earliest pattern wins, while nested (inner) nodes override outer ones.
        for root in roots {
            let mut last_node: Option<(usize, usize)> = None;
            let mut captures = cursor.captures(query, root, RopeText(rope));
            while let Some((found, index)) = captures.next() {
                let capture = found.captures()[*index];
                let range = capture.node.byte_range();
                let key = (range.start, range.end);
                if last_node == Some(key) {
                    continue;
                }
                last_node = Some(key);
                let from = range.start.max(start) - start;
                let to = range.end.min(end).saturating_sub(start);
                if from < to {
                    out.captures[from..to].fill(Some(capture.index));
                }
            }
        }
        out
    }
}

/// Children above this count make a node "wide": its children are queried instead.
const WIDE_NODE: u32 = 32;

/// The nodes to run the highlight query on for `start..end`: `node` itself unless it is
/// wide, otherwise (recursively) its children that overlap the range.
fn collect_query_roots<'tree>(
    node: Node<'tree>,
    start: usize,
    end: usize,
    out: &mut Vec<Node<'tree>>,
) {
    if node.child_count() <= WIDE_NODE {
        out.push(node);
        return;
    }
    let mut child = node.first_child_for_byte(start);
    while let Some(current) = child {
        if current.start_byte() >= end {
            break;
        }
        collect_query_roots(current, start, end, out);
        child = current.next_sibling();
    }
}

/// Lets queries read node text (for `#match?` and `#eq?`) straight from the rope.
struct RopeText<'a>(&'a Rope);

impl<'a> TextProvider<&'a [u8]> for RopeText<'a> {
    type I = RopeChunks<'a>;

    fn text(&mut self, node: Node) -> Self::I {
        let range = node.byte_range();
        let end = range.end.min(self.0.len_bytes());
        let start = range.start.min(end);
        RopeChunks {
            chunks: self.0.byte_slice(start..end).chunks(),
        }
    }
}

struct RopeChunks<'a> {
    chunks: ropey::iter::Chunks<'a>,
}

impl<'a> Iterator for RopeChunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<Self::Item> {
        self.chunks.next().map(str::as_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture_name_at(syntax: &Syntax, rope: &Rope, needle: &str) -> Option<&'static str> {
        let text = rope.to_string();
        let byte = text.find(needle).expect("needle in text");
        let highlights = syntax.highlights(rope, 0..rope.len_bytes());
        highlights
            .capture_at(byte)
            .map(|index| syntax.capture_names()[index as usize])
    }

    #[test]
    fn every_language_query_compiles_and_colors_a_sample() {
        let samples = [
            (Language::Rust, "fn main() { let x = \"hi\"; }", "fn"),
            (Language::Python, "def f():\n    return 'hi'\n", "def"),
            (
                Language::JavaScript,
                "function f() { return 'hi'; }",
                "function",
            ),
            (Language::TypeScript, "let x: number = 1;", "let"),
            (Language::Tsx, "const a = <div/>;", "const"),
            (Language::Go, "package main\nfunc main() {}\n", "func"),
            (Language::C, "int main(void) { return 0; }", "return"),
            (Language::Json, "{\"a\": \"b\"}", "\"b\""),
            (Language::Toml, "[table]\nkey = \"v\"\n", "\"v\""),
            (Language::Markdown, "# Title\n\ntext\n", "#"),
            (Language::Shell, "echo \"hi\" # note\n", "# note"),
        ];
        for (language, source, needle) in samples {
            let rope = Rope::from_str(source);
            let syntax = Syntax::new(language, &rope);
            assert!(syntax.is_enabled(), "{language:?}");
            assert!(
                capture_name_at(&syntax, &rope, needle).is_some(),
                "{language:?}: {needle:?} has no color"
            );
        }
    }

    #[test]
    fn incremental_edits_keep_the_tree_in_step_with_the_text() {
        let before = Rope::from_str("fn main() {\n    let s = 1;\n}\n");
        let mut syntax = Syntax::new(Language::Rust, &before);
        assert_eq!(
            capture_name_at(&syntax, &before, "1"),
            Some("constant.builtin")
        );
        // Replace `1` by a string containing multibyte chars, then check both the string
        // and text after it are colored from the new tree.
        let at = before.to_string().find('1').unwrap();
        let at = before.byte_to_char(at);
        let operation = Operation::replace(before.len_chars(), at..at + 1, "\"größe\"").unwrap();
        let mut after = before.clone();
        operation.apply(&mut after).unwrap();
        syntax.update(&before, &operation, &after);
        assert_eq!(capture_name_at(&syntax, &after, "größe"), Some("string"));
        assert_eq!(syntax.tree.as_ref().unwrap().root_node().to_sexp(), {
            let mut fresh = Parser::new();
            fresh.set_language(&Language::Rust.grammar()).unwrap();
            fresh
                .parse(after.to_string(), None)
                .unwrap()
                .root_node()
                .to_sexp()
        });
    }

    #[test]
    fn large_documents_keep_colors_on_their_text_until_the_deferred_reparse() {
        let before = Rope::from_str("fn main() {\n    let s = \"text\";\n}\n");
        let mut syntax = Syntax::new(Language::Rust, &before);
        syntax.set_immediate_reparse_limit(0);
        let operation = Operation::insert(before.len_chars(), 0, "// note\n").unwrap();
        let mut after = before.clone();
        operation.apply(&mut after).unwrap();
        syntax.update(&before, &operation, &after);
        assert!(syntax.needs_reparse());
        // The old tree was shifted: the string is still colored as a string.
        assert_eq!(capture_name_at(&syntax, &after, "\"text\""), Some("string"));
        syntax.reparse_now(&after);
        assert!(!syntax.needs_reparse());
        assert_eq!(capture_name_at(&syntax, &after, "// note"), Some("comment"));
    }

    #[test]
    fn only_the_requested_range_is_colored() {
        let rope = Rope::from_str("fn a() {}\nfn b() {}\n");
        let syntax = Syntax::new(Language::Rust, &rope);
        let highlights = syntax.highlights(&rope, 10..20);
        assert_eq!(highlights.capture_at(0), None);
        assert!(highlights.capture_at(10).is_some());
    }

    #[test]
    fn a_parse_past_the_timeout_switches_highlighting_off_with_a_notice() {
        let source = "fn f() { let x = [1, 2, 3]; }\n".repeat(20_000);
        let rope = Rope::from_str(&source);
        let syntax = Syntax::with_timeout(Language::Rust, &rope, Duration::from_micros(1));
        assert!(!syntax.is_enabled());
        let notice = syntax.notice().unwrap();
        assert!(notice.contains("longer than"), "{notice}");
        assert!(syntax.highlights(&rope, 0..100).capture_at(0).is_none());
    }

    #[test]
    fn languages_are_recognized_by_file_name() {
        assert_eq!(Language::from_path("src/main.rs"), Some(Language::Rust));
        assert_eq!(Language::from_path("a/b.TSX"), Some(Language::Tsx));
        assert_eq!(Language::from_path("Cargo.lock"), Some(Language::Toml));
        assert_eq!(Language::from_path("README"), None);
    }
}
