//! The participant's editor (`cotype join`, and the host's own UI): from a link or a hosted
//! session to a `ParticipantLoop` on a screen, and the loop itself, one `select!` over
//! terminal input, the connection and timers, carrying the UI's commands to the session
//! and the session's events to the UI, and drawing only when something visible changed.
//!
//! Everything runs on one task, so a local edit reaches the rope, the OT state and the
//! screen with no network event in between. The one subtle part is the connection: a
//! reconnect must survive the keystrokes that interrupt the wait for it
//! (`client::connection`).
//!
//! The loop draws on a [`Screen`] and reads a [`TerminalInput`]: the real terminal in
//! `cotype join`, a ratatui `TestBackend` and a channel of events in tests.

use std::time::Duration;

use ropey::Rope;

use crate::client::ClientError;
use crate::client::session::Session;
use crate::tui::app::DocumentTexts;
use crate::tui::config::{Config, ConfigError};
use crate::tui::keymap::{Keymap, KeymapError};
use crate::tui::terminal::TerminalError;
use crate::tui::theme::ThemeError;

mod commands;
mod entry;
mod event_loop;
mod follow;
mod hints;
mod host_side;
mod people;
mod screen;
mod semantic;
mod session_events;
mod terminal;

pub use entry::{HostedSession, JoinResult, SshCommandFor, host, join, join_on, join_on_with_key};
pub use screen::{Screen, TerminalInput};

/// Deferred work (re-parsing large files) waits for a pause in typing this long.
const IDLE_AFTER: Duration = Duration::from_millis(50);

/// What `cotype join` was asked for; `None` means "from config.toml, else the default".
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    pub name: Option<String>,
    /// Follow this person (by name) instead of the host.
    pub follow: Option<String>,
    pub keymap: Option<String>,
    pub theme: Option<String>,
    pub no_mouse: bool,
    /// A line that says where the user is (`cotype demo`: who Ada is), kept on the message
    /// row whenever it has nothing else to say, with the keys for help and quitting.
    pub intro: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keymap(#[from] KeymapError),
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Host(anyhow::Error),
}

/// The keymap `cotype join` would use, with the user's overrides applied.
pub fn load_keymap(name: Option<&str>) -> Result<Keymap, RunError> {
    let config = Config::load()?;
    Ok(Keymap::load(name.unwrap_or(&config.keymap))?)
}

impl DocumentTexts for Session {
    fn rope(&self, path: &str) -> Option<&Rope> {
        match self.documents.get(path) {
            Some(document) => Some(&document.rope),
            // What has arrived of a document still loading is shown already.
            None => self.loading(path).map(|loading| &loading.rope),
        }
    }
}
