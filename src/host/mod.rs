//! See lib.rs.

pub mod lsp;
pub mod syntactic;
