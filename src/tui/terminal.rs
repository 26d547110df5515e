//! Owning the terminal: entering the full-screen mode and, above all, leaving it.
//!
//! A terminal left in raw mode on the alternate screen is the worst first impression a
//! terminal program can make, and over SSH the common way out is not `ctrl-q` but a dropped
//! connection (SIGHUP). So there is exactly one way back, [`restore`], and every exit path
//! goes through it: dropping [`Tui`] (normal exit and `?` errors), the panic hook, and a
//! signal thread for SIGTERM, SIGHUP and SIGINT. [`restore`] is idempotent, so the paths may
//! race without writing the sequences twice.
//!
//! Frames are written by [`LeanBackend`]: only the cells that changed, with the shortest
//! cursor moves and color changes, in synchronized output (DEC mode 2026) so terminals
//! which know it show a frame at once, and nothing at all for a frame that changed nothing
//! (bytes per keystroke are latency over slow links). Logs must never be written to the terminal while it is ours;
//! see [`log_file_path`].

use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    KeyboardEnhancementFlags, PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use ratatui::crossterm::style::{Attribute, SetAttribute};
use ratatui::crossterm::terminal::{
    Clear, ClearType, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

use crate::tui::backend::LeanBackend;

/// Whether the terminal is currently in our full-screen mode; `restore` acts only once.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Whether we pushed keyboard-enhancement flags (and so must pop them).
static KEYBOARD_PUSHED: AtomicBool = AtomicBool::new(false);
/// Whether mouse capture is on (and so must be turned off).
static MOUSE_ON: AtomicBool = AtomicBool::new(false);
static HOOKS: Once = Once::new();

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(
        "cannot take over the terminal ({0}); run cotype in an interactive terminal, not with its output redirected"
    )]
    Enter(io::Error),
    #[error("writing to the terminal failed ({0}); the connection to the terminal may be gone")]
    Write(io::Error),
    #[error("cannot watch for hangup and termination signals ({0})")]
    Signals(io::Error),
}

/// What to switch on besides the basics (raw mode, alternate screen, bracketed paste).
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalOptions {
    /// Capture the mouse (click, drag-select, scroll). Off by default because it takes
    /// the terminal's own text selection away from the user.
    pub mouse: bool,
}

/// The terminal while cotype owns it. Dropping it restores the terminal.
pub struct Tui {
    terminal: Terminal<LeanBackend<Stdout>>,
}

impl Tui {
    /// Takes over the terminal and installs the restore hooks (panic and signals) once per
    /// process.
    pub fn enter(options: TerminalOptions) -> Result<Self, TerminalError> {
        install_hooks()?;
        enable_raw_mode().map_err(TerminalError::Enter)?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut stdout = io::stdout();
        let entered = execute!(stdout, EnterAlternateScreen, EnableBracketedPaste);
        if let Err(error) = entered {
            restore();
            return Err(TerminalError::Enter(error));
        }
        if options.mouse && execute!(stdout, EnableMouseCapture).is_ok() {
            MOUSE_ON.store(true, Ordering::SeqCst);
        }
        // Without the enhancement, ctrl-i and tab (or esc and alt) are indistinguishable;
        // terminals that do not support it simply keep the legacy encoding.
        if matches!(
            ratatui::crossterm::terminal::supports_keyboard_enhancement(),
            Ok(true)
        ) && execute!(
            stdout,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )
        .is_ok()
        {
            KEYBOARD_PUSHED.store(true, Ordering::SeqCst);
        }
        let terminal = match Terminal::new(LeanBackend::new(stdout)) {
            Ok(terminal) => terminal,
            Err(error) => {
                restore();
                return Err(TerminalError::Enter(error));
            }
        };
        Ok(Self { terminal })
    }

    /// Draws one frame: what changed since the last one, in one write (none if nothing
    /// changed).
    pub fn draw(
        &mut self,
        render: impl FnOnce(&mut ratatui::Frame<'_>),
    ) -> Result<(), TerminalError> {
        self.terminal.draw(render).map_err(TerminalError::Write)?;
        Ok(())
    }

    /// Forces a full redraw on the next frame (after a resize, or after something else wrote
    /// to the terminal).
    pub fn clear(&mut self) -> Result<(), TerminalError> {
        self.terminal.backend_mut().forget();
        self.terminal.clear().map_err(TerminalError::Write)
    }

    /// Writes raw bytes outside a frame, e.g. an OSC 52 clipboard sequence.
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<(), TerminalError> {
        self.terminal
            .backend_mut()
            .write_raw(bytes)
            .map_err(TerminalError::Write)
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back: the one restore path. Safe to call from any thread, any number
/// of times; only the first call after [`Tui::enter`] writes anything.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    // Every step is attempted even if an earlier one fails: a half-restored terminal is
    // still better than an untouched one.
    if KEYBOARD_PUSHED.swap(false, Ordering::SeqCst) {
        let _ = execute!(stdout, PopKeyboardEnhancementFlags);
    }
    if MOUSE_ON.swap(false, Ordering::SeqCst) {
        let _ = execute!(stdout, DisableMouseCapture);
    }
    // Clearing first costs nothing where the alternate screen works and leaves a clean
    // screen where it does not (GNU screen without `altscreen on`, the Linux console).
    let _ = execute!(
        stdout,
        EndSynchronizedUpdate,
        // Frames leave their colors set for the next one; the shell must not inherit them.
        SetAttribute(Attribute::Reset),
        DisableBracketedPaste,
        Clear(ClearType::All),
        cursor::MoveTo(0, 0),
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Whether the terminal is currently ours (exposed for tests and the app loop).
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

fn install_hooks() -> Result<(), TerminalError> {
    let mut result = Ok(());
    HOOKS.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first, so the panic message lands on the normal screen where the user
            // can read it instead of vanishing with the alternate screen.
            restore();
            previous(info);
        }));
        result = install_signal_thread();
    });
    result
}

fn install_signal_thread() -> Result<(), TerminalError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])
        .map_err(TerminalError::Signals)?;
    std::thread::Builder::new()
        .name("cotype-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                restore();
                // Die the way the signal asks for, so the parent sees the right status.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        })
        .map_err(TerminalError::Signals)?;
    Ok(())
}

/// Where logs go while the TUI owns the terminal: `cotype.log` in the state folder (or
/// the cache folder where the platform has no state folder). Never stderr.
pub fn log_file_path() -> Option<std::path::PathBuf> {
    let dirs = directories::ProjectDirs::from("dev", "cotype", "cotype")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.cache_dir());
    Some(dir.join("cotype.log"))
}

/// The OSC 52 sequence that puts `text` on the system clipboard of the terminal the user
/// sits at; it travels through SSH and (with `set-clipboard on`) tmux.
pub fn osc52_copy(text: &str) -> Vec<u8> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{encoded}\x07").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_encodes_text_for_the_clipboard() {
        assert_eq!(osc52_copy("hi ü"), b"\x1b]52;c;aGkgw7w=\x07".to_vec());
    }
}
