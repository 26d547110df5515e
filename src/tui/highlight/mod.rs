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
//! language, and their colors go over the block grammar's (see `injections.rs`).
//!
//! Pathological files must not freeze the editor: files over [`MAX_HIGHLIGHT_BYTES`] are
//! never parsed, and a parse that runs past [`PARSE_TIMEOUT`] is abandoned. Either way
//! highlighting is switched off for that document and [`Syntax::notice`] says why.

use std::ops::{ControlFlow, Range};
use std::time::{Duration, Instant};

use ropey::Rope;
use tree_sitter::{InputEdit, ParseOptions, Parser, Tree};

use crate::text::Operation;
use crate::text::position::char_to_point;

mod highlights;
mod indent;
mod injections;
mod language;
pub use highlights::Highlights;
pub use indent::IndentTree;
use injections::paint_injections;
pub use language::Language;

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

    /// The tree for indenting a new line, where the language has an indents query and the
    /// tree is up to date with the text (a large document's tree waits for a re-parse).
    pub fn indent_tree(&self) -> Option<IndentTree> {
        if self.stale || self.disabled.is_some() {
            return None;
        }
        IndentTree::new(self.tree.as_ref()?, self.language)
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
mod language_tests;
#[cfg(test)]
mod tests;
