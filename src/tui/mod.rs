//! The terminal UI: draws the client's state and turns keys into edits and commands.
//!
//! It owns no sockets (see lib.rs): the app loop hands it documents, people and
//! connection state as plain data, and it answers with [`compositor::AppCommand`]s and
//! `text::Operation`s for the client to carry out. Rendering is a pure function of that
//! state into a ratatui buffer, so screens are tested with `TestBackend` snapshots.
//!
//! The UI is a compositor (as in helix): a stack of layers drawn back to front, with events
//! offered front to back until one consumes them.

pub mod app;
pub mod ask_again;
pub mod backend;
pub mod byte_input;
pub mod compositor;
pub mod config;
pub mod diagnostics;
pub mod editor;
pub mod ex;
pub mod find_replace;
pub mod git;
pub mod help;
pub mod highlight;
pub mod host_controls;
pub mod inlay;
pub mod input;
pub mod intel;
pub mod keymap;
pub mod lightbulb;
pub mod locations;
pub mod markdown;
pub mod palette;
pub mod panel_requests;
pub mod people;
pub mod picker;
pub mod popup;
pub mod prompt;
pub mod rename_prompt;
pub mod run;
pub mod search_panel;
pub mod semantic;
pub mod status;
pub mod terminal;
pub mod terminal_pane;
pub mod text_wrap;
pub mod theme;
pub mod tree;
