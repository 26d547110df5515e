//! The host's bridge to real language servers: participants ask the host's machine for
//! hover, peek, definition, references and completion, and see its diagnostics, without
//! installing anything themselves.
//!
//! Positions cross this module's API as `text::LineCol` (line, char column), the unit the
//! rest of cotype uses; the server's unit (UTF-16 unless it negotiated another) exists
//! only on the wire, converted by `text::position`. These types are the host's; the wire
//! types of the encrypted catalog live in `protocol`. Paths are relative to the
//! shared folder; a server's answer that points outside it (a standard library, a
//! dependency in the host's home) is reduced to its file name and marked `external`, and
//! no snippet or context line of it is read — the host did not share that file.
//!
//! Where no server is installed, hover and definition fall back to tree-sitter tags
//! (`host::syntactic`); those answers carry `syntactic: true`.

mod bridge;
mod config;
mod convert;
mod server;
mod transport;
mod trust;

use std::time::Duration;

pub use bridge::{HiddenFilter, LspBridge, ServerState, ServerStatus};

pub(crate) use config::extension_of;
pub use config::{LanguageConfig, LspConfig, ServerCommand};
pub use trust::configures_tools;

pub use crate::protocol::message::{DiagnosticTag, Severity};
pub use crate::text::LineCol;

/// The conversions every answer from a language server passes through (its URIs, its
/// positions, its hover contents), reachable without a running server for the fuzz
/// target `lsp_convert` in fuzz/. Not an API for anything else.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::bridge::hover_markdown;
    pub use super::convert::{Place, Root, range_from_lsp};
    pub use super::transport::read_message;
}

/// From `start` to `end`, both 0-based (line, char column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Range {
    pub start: LineCol,
    pub end: LineCol,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    pub markdown: String,
    /// Answered from the syntax tree alone: no type information.
    pub syntactic: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Relative to the shared folder with '/' separators; only the file name when
    /// `external`.
    pub path: String,
    pub range: Range,
    /// Outside the shared folder: participants cannot open it.
    pub external: bool,
    pub syntactic: bool,
}

/// A definition with the lines around it, so a participant can read it in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peek {
    pub location: Location,
    /// `None` for external locations, whose text the host did not share.
    pub snippet: Option<Snippet>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// 0-based line number of `lines[0]`.
    pub first_line: usize,
    pub lines: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub location: Location,
    /// The referencing line without its line break; empty for external locations.
    pub context_line: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionItem {
    pub label: String,
    pub detail: Option<String>,
    /// What to insert at the cursor (plain text; we ask servers not to send snippets).
    pub insert_text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub range: Range,
    pub severity: Severity,
    pub message: String,
    /// Who says so, e.g. `rustc`, `pyflakes`.
    pub source: Option<String>,
    /// Unused or inactive code, deprecated uses (tags a server does not know are dropped).
    pub tags: Vec<DiagnosticTag>,
}

/// The complete current diagnostics of one file (an empty list clears them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    pub path: String,
    /// The document version they were computed for, when the server says.
    pub version: Option<i32>,
    pub items: Vec<Diagnostic>,
}

/// Changes a server asks for in one shared file, in chars of the text it computed them
/// for (`text`): the host applies them at the revision that text was, transformed
/// against whatever was typed since.
#[derive(Clone, Debug, PartialEq)]
pub struct FileEdits {
    pub path: String,
    /// The bridge's version of the document when the server was asked (`None`: nobody
    /// had it open, the server read it from disk).
    pub version: Option<i32>,
    pub text: ropey::Rope,
    /// Char ranges of `text` and what replaces each, in order, none overlapping.
    pub edits: Vec<(std::ops::Range<usize>, String)>,
}

/// One of a server's code actions at a place.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeAction {
    pub title: String,
    pub kind: Option<String>,
    /// Fixes a diagnostic, or the server prefers it.
    pub fix: bool,
    /// Its edits (empty for an action that only runs a command).
    pub edits: Vec<FileEdits>,
    /// The command it runs after its edits, exactly as the server gave it.
    pub command: Option<lsp_types::Command>,
    /// Whether the server runs that command itself (`executeCommandProvider`); the
    /// host runs only those, never the editor's own commands.
    pub server_runs_command: bool,
    /// The versions of the documents the server offered it for: its command's arguments
    /// (positions) hold for those texts alone, so it runs only while they are unchanged.
    pub offered_for: std::collections::BTreeMap<String, i32>,
}

impl CodeAction {
    /// Whether applying it does anything the host will do.
    pub fn applicable(&self) -> bool {
        !self.edits.is_empty() || self.server_runs_command
    }
}

/// A named thing in the code: a function, a struct, a field, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// LSP's kind in lower case: `function`, `struct`, `method`, …
    pub kind: String,
    pub location: Location,
    /// The symbol it is declared in, if any (an `impl`, a module).
    pub container: Option<String>,
}

/// The signatures of the call around a place, as a server's signature help gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHelp {
    pub signatures: Vec<SignatureInfo>,
    /// Index into `signatures` of the one that fits the call best.
    pub active_signature: usize,
    /// The characters after which the server offers signatures (`(`, `,`, `<`, …).
    pub triggers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInfo {
    /// The whole signature, e.g. `fn area(width: u32, height: u32) -> u32`.
    pub label: String,
    /// Each parameter's char range in `label`.
    pub parameters: Vec<std::ops::Range<usize>>,
    /// The parameter being typed, if the server says.
    pub active_parameter: Option<usize>,
    pub documentation: Option<String>,
}

/// What an inlay hint says: a type, a parameter's name, or something else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlayHintKind {
    Type,
    Parameter,
    Other,
}

/// Text a server suggests showing between characters, which is not part of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlayHint {
    /// Where it goes (before the char now at this place).
    pub position: LineCol,
    /// The same place as a char index into the text the server answered for.
    pub offset: usize,
    /// With its padding spaces, as it should be drawn.
    pub label: String,
    pub kind: InlayHintKind,
}

/// A range's inlay hints and the document version they were computed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlayHints {
    /// `None` when nobody had the document open (the server read it from disk).
    pub version: Option<i32>,
    pub hints: Vec<InlayHint>,
}

/// A name in the text and what the server says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemanticSpan {
    /// Chars of the text the server answered for.
    pub range: std::ops::Range<usize>,
    /// The server's token type (`function`, `parameter`, …).
    pub kind: String,
}

/// A document's semantic tokens and the version they were computed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemanticTokens {
    pub version: Option<i32>,
    pub spans: Vec<SemanticSpan>,
}

/// What went wrong, worded for the participant who asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LspError {
    #[error("{}", no_server_message(extension, tried))]
    NoServer {
        extension: String,
        /// Each command tried and why it did not work.
        tried: Vec<String>,
    },
    #[error("{server} is still indexing{}; try again in a moment", percent.map(|p| format!(" ({p}%)")).unwrap_or_default())]
    Indexing {
        server: String,
        percent: Option<u32>,
    },
    #[error("{server} did not answer {method} within {} s; it may be busy, try again", after.as_secs_f32())]
    Timeout {
        server: String,
        method: String,
        after: Duration,
    },
    #[error("{server} stopped unexpectedly ({detail}); it will be restarted on the next request")]
    ServerCrashed { server: String, detail: String },
    #[error("{server} could not answer: {message}")]
    Server {
        server: String,
        code: i32,
        message: String,
    },
    #[error("{server} sent an answer cotype cannot read ({detail}); please report this")]
    Protocol { server: String, detail: String },
    /// Outside the shared folder, or hidden by the host.
    #[error("{path:?} is not shared by the host")]
    NotShared { path: String },
    #[error("{path} is not open on the host; open it before editing it")]
    NotOpen { path: String },
    #[error(
        "an edit of {path} was made for {expected} chars but the host's copy has {len}; reopen the document"
    )]
    OutOfSync {
        path: String,
        expected: usize,
        len: usize,
    },
    #[error("cannot read {path}: {detail}")]
    Unreadable { path: String, detail: String },
    /// A server's edit the host will not make (a hidden file, outside the folder, …).
    #[error("{0}")]
    Refused(String),
}

fn no_server_message(extension: &str, tried: &[String]) -> String {
    let mut message = format!("no language server for .{extension} on the host");
    if !tried.is_empty() {
        message.push_str(&format!(" (tried {})", tried.join("; ")));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences_for_the_user() {
        let none = LspError::NoServer {
            extension: "zig".to_owned(),
            tried: vec![],
        };
        assert_eq!(none.to_string(), "no language server for .zig on the host");
        let tried = LspError::NoServer {
            extension: "py".to_owned(),
            tried: vec!["pylsp: not found on PATH".to_owned()],
        };
        assert_eq!(
            tried.to_string(),
            "no language server for .py on the host (tried pylsp: not found on PATH)"
        );
        let indexing = LspError::Indexing {
            server: "rust-analyzer".to_owned(),
            percent: Some(37),
        };
        assert_eq!(
            indexing.to_string(),
            "rust-analyzer is still indexing (37%); try again in a moment"
        );
    }
}
