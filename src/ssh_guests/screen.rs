//! A guest's screen and keys over its SSH channel: frames written by the same lean
//! backend as `cotype join`'s, sent as channel data; keys decoded from the channel's bytes.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedSender;

use crate::tui::backend::LeanBackend;
use crate::tui::run::Screen;
use crate::tui::terminal::TerminalError;

/// Switches the guest's terminal to what the editor needs: the alternate screen, bracketed
/// paste, a clear screen.
pub const ENTER: &[u8] = b"\x1b[?1049h\x1b[?2004h\x1b[2J\x1b[H";
/// Gives the guest's terminal back: colors reset, cursor shown, paste mode off, the normal
/// screen.
pub const LEAVE: &[u8] = b"\x1b[0m\x1b[?25h\x1b[?2004l\x1b[?1049l";

/// The size a guest's terminal has now, as its SSH client last said.
pub type SharedSize = Arc<Mutex<(u16, u16)>>;

/// Collects a frame's bytes and sends them as one message when the backend flushes.
pub struct ChannelWriter {
    out: UnboundedSender<Vec<u8>>,
    pending: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.out
            .send(std::mem::take(&mut self.pending))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the guest hung up"))
    }
}

/// The editor's screen for one guest.
pub struct ChannelScreen {
    terminal: Terminal<LeanBackend<ChannelWriter>>,
    out: UnboundedSender<Vec<u8>>,
    size: SharedSize,
    /// The size the terminal was built for; a new size builds a new one, cleared.
    built_for: Option<(u16, u16)>,
}

impl ChannelScreen {
    pub fn new(out: UnboundedSender<Vec<u8>>, size: SharedSize) -> io::Result<Self> {
        let (width, height) = current(&size);
        Ok(Self {
            terminal: terminal(out.clone(), width, height)?,
            out,
            size,
            built_for: None,
        })
    }
}

fn current(size: &SharedSize) -> (u16, u16) {
    let (width, height) = *size.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    (width.max(1), height.max(1))
}

fn terminal(
    out: UnboundedSender<Vec<u8>>,
    width: u16,
    height: u16,
) -> io::Result<Terminal<LeanBackend<ChannelWriter>>> {
    let writer = ChannelWriter {
        out,
        pending: Vec::new(),
    };
    Terminal::new(LeanBackend::with_size(writer, width, height))
}

impl Screen for ChannelScreen {
    fn size(&self) -> (u16, u16) {
        current(&self.size)
    }

    fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame<'_>)) -> Result<(), TerminalError> {
        let now = self.size();
        if self.built_for != Some(now) {
            // The first frame, or after a resize: whatever the terminal shows is unknown
            // (a waiting message, the old layout), so start from a clear screen.
            self.terminal =
                terminal(self.out.clone(), now.0, now.1).map_err(TerminalError::Write)?;
            self.terminal.clear().map_err(TerminalError::Write)?;
            self.built_for = Some(now);
        }
        self.terminal.draw(render).map_err(TerminalError::Write)?;
        Ok(())
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), TerminalError> {
        self.terminal
            .backend_mut()
            .write_raw(bytes)
            .map_err(TerminalError::Write)
    }
}
