//! Edits a language server proposes, asked for by members and made by the host: renaming
//! a symbol, formatting a document, applying a code action. The host asks its server,
//! then applies the answer as its own shared edits (transformed against whatever was
//! typed meanwhile), so everyone sees the result at once.

use serde::{Deserialize, Serialize};

use super::message::{TextLocation, TextPosition, TextRange};

/// One of the server's code actions at a place, as listed to the member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeActionItem {
    pub title: String,
    /// The server's kind, e.g. `quickfix`, `refactor.extract`.
    pub kind: Option<String>,
    /// Fixes a diagnostic (or the server prefers it): listed first.
    pub fix: bool,
    /// Whether the host can apply it: it has edits, or a command the server runs itself
    /// (the editor's own commands, such as rust-analyzer's `runSingle`, are never run).
    pub applicable: bool,
}

/// Where an applied change begins in the text after it, 1-based (column in chars).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChangedPlace {
    pub path: String,
    pub line: u64,
    pub column: u64,
}

/// What the host did with a server's edits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditSummary {
    /// Each change, sorted by (path, line, column).
    pub places: Vec<ChangedPlace>,
    pub files: u64,
    /// Files written to disk (asked with `save`).
    pub saved: u64,
}

/// A code action to apply: the host asks its server again at `at` and applies the one
/// titled `title` (what the member chose from the list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyCodeAction {
    pub at: TextPosition,
    pub title: String,
    pub save: bool,
}

/// Rename the symbol at `at` to `new_name` everywhere the server finds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameRequest {
    pub at: TextPosition,
    pub new_name: String,
    pub save: bool,
}

/// Format the lines of `range` (of `path` at `revision`) with the document's language
/// server (`textDocument/rangeFormatting`), applied as one shared edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatRangeRequest {
    pub path: String,
    pub revision: u64,
    pub range: TextRange,
    pub save: bool,
}

/// A symbol of a document's outline or of the workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolItem {
    pub name: String,
    /// `function`, `struct`, `method`, … (LSP's kinds in lower case).
    pub kind: String,
    pub location: TextLocation,
    pub container: Option<String>,
    /// Found in the syntax tree, not by a language server (none is installed for the
    /// language): the picker says so.
    #[serde(default)]
    pub syntactic: bool,
}
