//! The editing engine: pure operational transformation, no I/O.
//!
//! `operation` is the edit every copy of a document agrees on; `position` converts char
//! indices to what language servers, tree-sitter and people count. The host sequences
//! edits and participants rebase their own on top (see docs/ARCHITECTURE.md, "Editing
//! model").

pub mod operation;
pub mod position;

pub use operation::{Assoc, Change, Component, Operation, OperationBuilder, OtError};
pub use position::LineCol;
