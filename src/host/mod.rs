//! See lib.rs.

pub mod search;
pub mod workspace;
