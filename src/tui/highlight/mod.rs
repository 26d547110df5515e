//! Syntax colors with tree-sitter, kept cheap enough to run on every keystroke.
//!
//! Each document has its own parser and tree. An edit arrives as an `Operation`; each of
//! its changes becomes a tree-sitter `InputEdit` (char indices converted to bytes and
//! points at the border, see `text::position`) and the tree is re-parsed incrementally.
//! Only the bytes on screen are queried (`QueryCursor::set_byte_range`), so the cost of a
//! frame does not grow with the file.
//!
//! Markdown is two grammars (tree-sitter-md's block and inline ones) plus the languages
//! of its code fences: for the bytes on screen, each `inline` node is parsed with the
//! inline grammar and each fenced code block whose info string names a language with that
//! language, and their colors go over the block grammar's (see [`paint_injections`]).
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
            // cotype's patterns first: the first pattern capturing a node wins (see the file).
            Self::Python => format!(
                "{}\n{}",
                include_str!("queries/python.scm"),
                tree_sitter_python::HIGHLIGHTS_QUERY
            ),
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

    /// The language a Markdown fence's info string names: ```` ```rust ````, ```` ```py ````,
    /// ```` ```console ````, … (the first word, any case).
    pub fn from_fence(info: &str) -> Option<Self> {
        let tag = info.trim().split([' ', ',', '{']).next().unwrap_or("");
        let extension = match tag.to_ascii_lowercase().as_str() {
            "rust" => "rs",
            "python" | "python3" => "py",
            "javascript" | "node" => "js",
            "typescript" => "ts",
            "golang" => "go",
            "cpp" | "c++" => "c",
            "bash" | "shell" | "console" => "sh",
            other => return Language::from_path(&format!("x.{other}")),
        };
        Language::from_path(&format!("x.{extension}"))
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

/// Styles per byte of a range of the document: the capture index that colors each byte,
/// and the scope name of each index (a Markdown document's captures come from several
/// queries: its block grammar, its inline grammar and the languages of its code fences).
#[derive(Debug, Clone, Default)]
pub struct Highlights {
    start_byte: usize,
    captures: Vec<Option<u32>>,
    names: Vec<&'static str>,
}

impl Highlights {
    /// The capture coloring `byte`, if any.
    pub fn capture_at(&self, byte: usize) -> Option<u32> {
        let index = byte.checked_sub(self.start_byte)?;
        self.captures.get(index).copied().flatten()
    }

    /// Scope names by capture index (for `Theme::capture_styles`).
    pub fn capture_names(&self) -> &[&'static str] {
        &self.names
    }

    /// The scope name coloring `byte`, if any.
    pub fn scope_at(&self, byte: usize) -> Option<&'static str> {
        self.capture_at(byte)
            .and_then(|index| self.names.get(index as usize).copied())
    }

    /// Adds `query`'s capture names; returns the index its first capture gets.
    fn add_names(&mut self, query: &'static Query) -> u32 {
        let offset = self.names.len() as u32;
        self.names
            .extend(query.capture_names().iter().map(|name| scope_name(name)));
        offset
    }

    /// Runs `query` (whose names start at `offset`) over `tree` for the highlighted range
    /// up to `end`; a capture overrides what an earlier (outer, or injecting) one set.
    fn paint(&mut self, query: &Query, offset: u32, tree: &Tree, rope: &Rope, end: usize) {
        let start = self.start_byte;
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
                    self.captures[from..to].fill(Some(capture.index + offset));
                }
            }
        }
    }
}

/// The scope a grammar's capture name stands for. tree-sitter-md's queries use
/// nvim-treesitter's old `text.*` names; cotype's themes, like helix's, use `markup.*`.
fn scope_name(capture: &'static str) -> &'static str {
    match capture {
        "text.title" => "markup.heading",
        "text.literal" => "markup.raw",
        "text.emphasis" => "markup.italic",
        "text.strong" => "markup.bold",
        "text.uri" => "markup.link.url",
        "text.reference" => "markup.link.text",
        other => other,
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
        self.stale = false;
        match parse_rope(&mut self.parser, rope, self.tree.as_ref(), deadline) {
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
            names: Vec::new(),
        };
        let query = self.language.query();
        let offset = out.add_names(query);
        out.paint(query, offset, tree, rope, end);
        if self.language == Language::Markdown {
            paint_injections(&mut out, tree, rope, end);
        }
        out
    }
}

/// Markdown's inline grammar and fenced code are highlighted from trees parsed per frame,
/// for the screen only: inline text by paragraph, a fence's code from at most this many
/// bytes above the screen (from the fence's start when it is nearer) to the screen's end.
const INJECTION_CONTEXT_BYTES: usize = 64 * 1024;
/// All parses of one frame's injections together stop after this; what is left is shown
/// in the Markdown colors alone. A safety net: the bytes parsed are bounded anyway (the
/// screen plus [`INJECTION_CONTEXT_BYTES`] per fence) and a screen's worth takes well
/// under a millisecond, but a loaded machine may deschedule the thread for a while, and
/// that must not take the colors away.
const INJECTION_BUDGET: Duration = Duration::from_millis(100);

/// A grammar parsed inside a Markdown document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Injected {
    /// tree-sitter-md's inline grammar (emphasis, code spans, links) in `inline` nodes.
    Inline,
    /// A fenced code block whose info string names a language.
    Code(Language),
}

impl Injected {
    fn grammar(self) -> tree_sitter::Language {
        match self {
            Self::Inline => tree_sitter_md::INLINE_LANGUAGE.into(),
            Self::Code(language) => language.grammar(),
        }
    }

    fn query(self) -> &'static Query {
        static INLINE: OnceLock<Query> = OnceLock::new();
        match self {
            Self::Inline => INLINE.get_or_init(|| {
                Query::new(&self.grammar(), tree_sitter_md::HIGHLIGHT_QUERY_INLINE)
                    .unwrap_or_else(|error| panic!("markdown inline highlight query: {error}"))
            }),
            Self::Code(language) => language.query(),
        }
    }
}

thread_local! {
    /// Parsers for injected grammars, kept between frames (creating one is cheap, but
    /// not free at every frame).
    static INJECTION_PARSERS: std::cell::RefCell<Vec<(Injected, Parser)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Colors the inline markup and the fenced code of the Markdown `tree` within `out`'s
/// range, over the block grammar's colors.
fn paint_injections(out: &mut Highlights, tree: &Tree, rope: &Rope, end: usize) {
    let start = out.start_byte;
    let mut found = Vec::new();
    let mut pending = vec![tree.root_node()];
    while let Some(node) = pending.pop() {
        match node.kind() {
            "inline" | "pipe_table_cell" => found.push((Injected::Inline, node)),
            "fenced_code_block" => {
                let mut cursor = node.walk();
                let info = node
                    .children(&mut cursor)
                    .find(|child| child.kind() == "info_string");
                let content = node
                    .children(&mut cursor)
                    .find(|child| child.kind() == "code_fence_content");
                let language = info
                    .map(|info| rope.byte_slice(info.byte_range()).to_string())
                    .and_then(|info| Language::from_fence(&info))
                    .filter(|language| *language != Language::Markdown);
                if let (Some(language), Some(content)) = (language, content) {
                    found.push((Injected::Code(language), content));
                }
            }
            _ => {
                let mut child = node.first_child_for_byte(start);
                while let Some(current) = child {
                    if current.start_byte() >= end {
                        break;
                    }
                    pending.push(current);
                    child = current.next_sibling();
                }
            }
        }
    }
    found.sort_by_key(|(_, node)| node.start_byte());
    let deadline = Instant::now() + INJECTION_BUDGET;
    let mut offsets: Vec<(Injected, u32)> = Vec::new();
    INJECTION_PARSERS.with_borrow_mut(|parsers| {
        for (injected, node) in found {
            let ranges = injection_ranges(node, rope, start, end);
            if ranges.is_empty() {
                continue;
            }
            let index = match parsers.iter().position(|(kind, _)| *kind == injected) {
                Some(index) => index,
                None => {
                    let mut parser = Parser::new();
                    if parser.set_language(&injected.grammar()).is_err() {
                        continue;
                    }
                    parsers.push((injected, parser));
                    parsers.len() - 1
                }
            };
            let parser = &mut parsers[index].1;
            if parser.set_included_ranges(&ranges).is_err() {
                continue;
            }
            let Some(injected_tree) = parse_rope(parser, rope, None, deadline) else {
                parser.reset();
                break;
            };
            // Each query's names are added once per frame, however many injections use it.
            let query = injected.query();
            let offset = match offsets.iter().find(|(kind, _)| *kind == injected) {
                Some((_, offset)) => *offset,
                None => {
                    let offset = out.add_names(query);
                    offsets.push((injected, offset));
                    offset
                }
            };
            out.paint(query, offset, &injected_tree, rope, end);
        }
    });
}

/// The document ranges an injected parse reads for `node`: the node without its named
/// children (the `> ` of a block quote, the indentation of a list item), clipped to the
/// screen's end and to [`INJECTION_CONTEXT_BYTES`] above `start`, from a line's start.
fn injection_ranges(node: Node, rope: &Rope, start: usize, end: usize) -> Vec<tree_sitter::Range> {
    let earliest = start.saturating_sub(INJECTION_CONTEXT_BYTES);
    let earliest = rope.line_to_byte(rope.byte_to_line(earliest.min(rope.len_bytes())));
    let mut pieces = Vec::new();
    let mut from = node.start_byte();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        pieces.push(from..child.start_byte());
        from = child.end_byte();
    }
    pieces.push(from..node.end_byte());
    let point = |byte: usize| char_to_point(rope, rope.byte_to_char(byte));
    pieces
        .into_iter()
        .map(|piece| piece.start.max(earliest)..piece.end.min(end).min(rope.len_bytes()))
        .filter(|piece| piece.start < piece.end)
        .map(|piece| tree_sitter::Range {
            start_byte: piece.start,
            end_byte: piece.end,
            start_point: point(piece.start),
            end_point: point(piece.end),
        })
        .collect()
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

/// Parses `rope` chunk by chunk (no contiguous copy) with `parser`, from `old` if given;
/// `None` if the parse is still running at `deadline`.
fn parse_rope(
    parser: &mut Parser,
    rope: &Rope,
    old: Option<&Tree>,
    deadline: Instant,
) -> Option<Tree> {
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
    parser.parse_with_options(&mut read, old, Some(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture_name_at(syntax: &Syntax, rope: &Rope, needle: &str) -> Option<&'static str> {
        let text = rope.to_string();
        let byte = text.find(needle).expect("needle in text");
        syntax.highlights(rope, 0..rope.len_bytes()).scope_at(byte)
    }

    /// The scope at the `nth` (0-based) occurrence of `needle`.
    fn scope_at_nth(
        syntax: &Syntax,
        rope: &Rope,
        needle: &str,
        nth: usize,
    ) -> Option<&'static str> {
        let text = rope.to_string();
        let byte = text
            .match_indices(needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("{needle:?} #{nth} in text"))
            .0;
        syntax.highlights(rope, 0..rope.len_bytes()).scope_at(byte)
    }

    #[test]
    fn markdown_colors_inline_markup_links_and_fenced_code_in_its_language() {
        let source = "# Title\n\nSome *emphasis*, **strong**, `inline code` and a \
            [link](https://example.com).\n\n```rust\nfn main() {}\n```\n\n\
            ```python\ndef greet(name):\n    return \"hi\"\n```\n\n\
            > quoted `code` here\n";
        let rope = Rope::from_str(source);
        let syntax = Syntax::new(Language::Markdown, &rope);
        let at = |needle: &str| scope_at_nth(&syntax, &rope, needle, 0);
        assert_eq!(at("Title"), Some("markup.heading"));
        assert_eq!(at("emphasis"), Some("markup.italic"));
        assert_eq!(at("strong"), Some("markup.bold"));
        assert_eq!(at("inline code"), Some("markup.raw"));
        assert_eq!(at("link"), Some("markup.link.text"));
        assert_eq!(at("https://example.com"), Some("markup.link.url"));
        // The fences' code in their own languages' colors.
        assert_eq!(at("fn main"), Some("keyword"));
        assert_eq!(at("main()"), Some("function"));
        assert_eq!(at("def"), Some("keyword"));
        assert_eq!(at("greet"), Some("function"));
        assert_eq!(at("\"hi\""), Some("string"));
        // Inline code inside a block quote (the `> ` is left out of the inline parse).
        assert_eq!(at("code` here"), Some("markup.raw"));
        // Plain text stays plain.
        assert_eq!(at("Some"), None);
    }

    #[test]
    fn markdown_fence_colors_hold_when_only_part_of_the_fence_is_on_screen() {
        let mut source = String::from("Intro\n\n```rust\n");
        for n in 0..200 {
            source.push_str(&format!("let x{n} = \"s\";\n"));
        }
        source.push_str("```\n");
        let rope = Rope::from_str(&source);
        let syntax = Syntax::new(Language::Markdown, &rope);
        let line = rope.line_to_byte(150);
        let highlights = syntax.highlights(&rope, line..rope.line_to_byte(160));
        assert_eq!(
            highlights.scope_at(line),
            Some("keyword"),
            "`let` on line 151"
        );
        assert_eq!(
            highlights.scope_at(line + 11),
            Some("string"),
            "`\"s\"` on line 151"
        );
    }

    #[test]
    fn python_colors_definitions_calls_builtins_and_self() {
        let source = "class Greeter:\n    def greet(self, name):\n        print(len(name))\n\n\
            Greeter().greet(\"x\")\nMAX = 3\n";
        let rope = Rope::from_str(source);
        let syntax = Syntax::new(Language::Python, &rope);
        let at = |needle: &str, nth: usize| scope_at_nth(&syntax, &rope, needle, nth);
        assert_eq!(
            at("Greeter", 0),
            Some("type"),
            "class name at its definition"
        );
        assert_eq!(
            at("greet", 0),
            Some("function.method"),
            "method at its definition"
        );
        assert_eq!(
            at("greet", 1),
            Some("function.method"),
            "method at its call"
        );
        assert_eq!(at("self", 0), Some("variable.builtin"));
        assert_eq!(at("name", 0), Some("variable.parameter"));
        assert_eq!(at("print", 0), Some("function.builtin"));
        assert_eq!(at("len", 0), Some("function.builtin"));
        assert_eq!(at("Greeter", 1), Some("constructor"), "class called");
        assert_eq!(at("MAX", 0), Some("constant"));
        assert_eq!(at("def", 0), Some("keyword"));
        assert_eq!(at("\"x\"", 0), Some("string"));
    }

    #[test]
    fn a_plain_python_function_is_a_function_at_definition_and_call() {
        let source = "def add(a, b):\n    return a + b\n\nadd(1, 2)\n";
        let rope = Rope::from_str(source);
        let syntax = Syntax::new(Language::Python, &rope);
        assert_eq!(scope_at_nth(&syntax, &rope, "add", 0), Some("function"));
        assert_eq!(scope_at_nth(&syntax, &rope, "add", 1), Some("function"));
    }

    #[test]
    fn fence_info_strings_name_their_languages() {
        for (info, language) in [
            ("rust", Language::Rust),
            ("python", Language::Python),
            ("py", Language::Python),
            ("toml", Language::Toml),
            ("json", Language::Json),
            ("bash", Language::Shell),
            ("sh", Language::Shell),
            ("js", Language::JavaScript),
            ("javascript", Language::JavaScript),
            ("ts", Language::TypeScript),
            ("typescript", Language::TypeScript),
            ("go", Language::Go),
            ("c", Language::C),
            ("Rust ignore", Language::Rust),
        ] {
            assert_eq!(Language::from_fence(info), Some(language), "{info}");
        }
        assert_eq!(Language::from_fence("text"), None);
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
