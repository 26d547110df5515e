//! What the event loop draws on and reads from: the real terminal, or a test's
//! `TestBackend` and channel of events.

use std::future::Future;

use ratatui::Frame;
use ratatui::crossterm::event::Event as TermEvent;

use crate::tui::input::Input;
use crate::tui::terminal::{TerminalError, Tui};

/// Where frames go: the terminal while cotype owns it, or a test's buffer.
pub trait Screen {
    /// Columns and rows.
    fn size(&self) -> (u16, u16);
    /// Draws one frame.
    fn draw(&mut self, render: impl FnOnce(&mut Frame<'_>)) -> Result<(), TerminalError>;
    /// Writes bytes outside a frame: an OSC 52 clipboard sequence.
    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), TerminalError>;
}

impl Screen for Tui {
    fn size(&self) -> (u16, u16) {
        ratatui::crossterm::terminal::size().unwrap_or((80, 24))
    }

    fn draw(&mut self, render: impl FnOnce(&mut Frame<'_>)) -> Result<(), TerminalError> {
        Tui::draw(self, render)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), TerminalError> {
        Tui::write_raw(self, bytes)
    }
}

/// Where keys, pastes, mouse and resizes come from.
pub trait TerminalInput {
    /// The next event; `None` when the terminal is gone. Must be cancel-safe: the loop
    /// drops it whenever another branch of its `select!` wins.
    fn next(&mut self) -> impl Future<Output = Option<std::io::Result<TermEvent>>>;
}

impl TerminalInput for Input {
    fn next(&mut self) -> impl Future<Output = Option<std::io::Result<TermEvent>>> {
        Input::next(self)
    }
}

/// Events a test sends; the sender dropped is the terminal gone.
impl TerminalInput for tokio::sync::mpsc::UnboundedReceiver<TermEvent> {
    async fn next(&mut self) -> Option<std::io::Result<TermEvent>> {
        self.recv().await.map(Ok)
    }
}
