//! The editing engine: pure operational transformation, no I/O.
//!
//! `operation` is the edit every copy of a document agrees on; `position` converts char
//! indices to what language servers, tree-sitter and people count. `server` is the host's
//! authoritative copy, which decides the order of edits; `client` is a participant's
//! state machine, which applies its own edits at once and rebases them on the host's
//! order; `undo` takes back only the local user's own edits. See docs/ARCHITECTURE.md,
//! "Editing model".

pub mod client;
pub mod operation;
pub mod position;
pub mod server;
pub mod undo;

#[cfg(test)]
mod proptests;

pub use client::{Client, EditId, RemoteEdit, RemoteOutcome, Submission};
pub use operation::{Assoc, Change, Component, Operation, OperationBuilder, OtError};
pub use position::{LineCol, LspEncoding};
pub use server::{AuthoritativeDocument, CatchUpError, SubmitOutcome};
pub use undo::UndoHistory;
