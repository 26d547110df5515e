//! The host: owns the shared folder and the truth about it.
//!
//! It creates the session at the relay, admits participants after their encrypted hello,
//! and answers their requests from the workspace, never serving what the workspace hides.

pub mod console;
pub mod documents;
pub mod frozen_ignores;
pub mod git;
pub mod intel;
pub mod language_edits;
pub mod lsp;
pub mod priority;
pub mod rate;
pub mod replace;
pub mod search;
pub mod semantic;
pub mod session;
pub mod syntactic;
pub mod terminals;
pub mod typing_hints;
pub mod workspace;

pub use session::{HostOptions, HostSession};
