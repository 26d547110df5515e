//! shelf: a reading list for the terminal.
//!
//! The list is a tab-separated file (see `data/books.tsv`); `shelf.toml` says where it is,
//! how many books a page holds and in which order they are listed.

pub mod book;
pub mod config;
pub mod pager;

pub use book::{Book, Status};
pub use config::Config;
pub use pager::{page, page_count};
