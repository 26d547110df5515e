//! The command line's parts beside `main.rs`: the headless commands, one function each
//! (those changing the shared folder in `workspace_changes`),
//! and how a session link is taken from the arguments, stdin or `COTYPE_LINK`.

pub mod git;
pub mod headless;
pub mod language_edits;
pub mod links;
pub mod term;
pub mod workspace_changes;
