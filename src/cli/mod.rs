//! The command line's parts beside `main.rs`: the headless commands, one function each,
//! and how a session link is taken from the arguments, stdin or `COTYPE_LINK`.

pub mod headless;
pub mod links;
pub mod term;
