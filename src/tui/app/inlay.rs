//! Inlay hints in the app: when to ask for the active file's (`tui::inlay` decides), the
//! answers the session loop has carried into our text, and the toggle.

use std::ops::Range;
use std::time::Instant;

use super::App;
use crate::tui::inlay::Hint;
use crate::tui::popup::IntelAsk;
use crate::tui::status::Level;

impl App {
    /// Shows or hides inlay hints (config.toml's `inlay_hints`).
    pub fn set_inlay_hints_enabled(&mut self, enabled: bool) {
        self.inlay.set_enabled(enabled);
    }

    pub(super) fn toggle_inlay_hints(&mut self) {
        let enabled = !self.inlay.enabled();
        self.inlay.set_enabled(enabled);
        let said = if enabled {
            "inlay hints shown (types and parameter names from the host's language server)"
        } else {
            "inlay hints hidden"
        };
        self.messages.push(Level::Info, said);
    }

    /// The host's inlay hints for `lines` of `path`, placed in our text.
    pub fn set_inlay_hints(&mut self, path: &str, lines: Range<usize>, hints: Vec<Hint>) {
        if self.inlay.enabled() {
            self.inlay.set(path, lines, hints);
        }
    }

    /// The host could not give `path`'s hints (no language server for it, say).
    pub fn inlay_hints_failed(&mut self, path: &str) {
        self.inlay.failed(path, Instant::now());
    }

    /// An answer that could not be placed in our text yet: ask again.
    pub fn inlay_hints_dropped(&mut self, path: &str) {
        self.inlay.dropped(path);
    }

    /// The view of the active file: its path, first line and rows.
    fn inlay_view(&self) -> Option<(&str, usize, usize)> {
        let tab = self.tabs.get(self.active)?;
        if tab.loading.is_some() {
            return None;
        }
        let rows = self.regions().editor.height as usize;
        Some((&tab.path, tab.editor.scroll_line(), rows))
    }

    pub(super) fn inlay_deadline(&self) -> Option<Instant> {
        let (path, first, rows) = self.inlay_view()?;
        self.inlay.deadline(path, first, rows)
    }

    /// The active file's inlay hints to ask for now, if they are due (apart from
    /// [`App::due_ask`], whose questions follow the cursor).
    pub fn due_inlay_ask(&mut self, now: Instant) -> Option<IntelAsk> {
        let (path, first, rows) = self.inlay_view()?;
        let path = path.to_owned();
        self.inlay.due_ask(&path, first, rows, now)
    }
}
