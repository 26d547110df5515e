//! Semantic highlighting in the app: when to ask for the active file's tokens
//! (`tui::semantic` decides) and the answers the session loop has placed in our text.

use std::time::Instant;

use super::App;
use crate::tui::popup::IntelAsk;
use crate::tui::semantic::Span;

impl App {
    /// Lays the language server's colors over tree-sitter's (config.toml's
    /// `semantic_highlighting`).
    pub fn set_semantic_enabled(&mut self, enabled: bool) {
        self.semantic.set_enabled(enabled);
    }

    pub fn set_semantic(&mut self, path: &str, spans: Vec<Span>) {
        if self.semantic.enabled() {
            self.semantic.set(path, spans);
        }
    }

    pub fn semantic_failed(&mut self, path: &str) {
        self.semantic.failed(path, Instant::now());
    }

    pub fn semantic_dropped(&mut self, path: &str) {
        self.semantic.dropped(path);
    }

    fn semantic_path(&self) -> Option<&str> {
        let tab = self.tabs.get(self.active)?;
        tab.loading.is_none().then_some(tab.path.as_str())
    }

    pub(super) fn semantic_deadline(&self) -> Option<Instant> {
        self.semantic.deadline(self.semantic_path()?)
    }

    /// The active file's semantic tokens to ask for now, if they are due.
    pub fn due_semantic_ask(&mut self, now: Instant) -> Option<IntelAsk> {
        let path = self.semantic_path()?.to_owned();
        self.semantic.due_ask(&path, now)
    }
}
