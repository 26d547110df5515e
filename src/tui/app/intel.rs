//! Answers from the host's machine shown in the app: hover, peek, definitions,
//! completion, references, diagnostics and the workspace search panel.

use std::time::Instant;

use ropey::Rope;

use super::{App, DocumentTexts, OpenFile};
use crate::protocol::message::{DiagnosticItem, ReferenceHit};
use crate::protocol::search::{SearchHit, SearchQuery, SearchSummary};
use crate::tui::compositor::{AppCommand, UiCommand};
use crate::tui::diagnostics::DiagnosticsList;
use crate::tui::locations::{LocationList, LocationRow};
use crate::tui::picker::{Picker, PickerItem};
use crate::tui::popup::{Answered, AskKind, Here, IntelAsk};
use crate::tui::search_panel::SearchPanel;
use crate::tui::status::Level;

impl App {
    /// The completion labels on screen, best first (empty when the menu is closed).
    pub fn completion_labels(&self) -> Vec<&str> {
        self.popups.completion_labels()
    }

    /// Completions to ask for now that typing paused, if any.
    pub fn due_ask(&mut self, now: Instant) -> Option<AppCommand> {
        self.popups.due_ask(now).map(AppCommand::Ask)
    }

    /// The lightbulb's question about the cursor's line, once the cursor has rested.
    pub fn due_lightbulb(
        &mut self,
        now: Instant,
        documents: &impl DocumentTexts,
    ) -> Option<AppCommand> {
        let tab = self.tabs.get(self.active)?;
        let rope = documents.rope(&tab.path)?;
        self.lightbulb
            .due_ask(now, &tab.path, rope, tab.editor.cursor())
            .map(AppCommand::Ask)
    }

    /// The host answered a question the app asked with [`AppCommand::Ask`]; shows it if
    /// the cursor is still where it was asked. May ask to open a file (a definition).
    pub fn intel_answer(
        &mut self,
        ask: &IntelAsk,
        response: crate::protocol::message::Response,
        documents: &impl DocumentTexts,
    ) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        if ask.kind == AskKind::LineActions {
            self.lightbulb.answer(ask, response);
            return commands;
        }
        if matches!(
            ask.kind,
            AskKind::PrepareRename | AskKind::CodeActions | AskKind::Change | AskKind::Symbols
        ) {
            self.language_answer(ask, response, documents);
            return commands;
        }
        if ask.kind == AskKind::References {
            use crate::protocol::message::Response;
            self.show_references(match response {
                Response::References(hits) => Ok(hits),
                Response::Nothing { reason } => Err(reason),
                Response::Error { message } => Err(message),
                other => {
                    tracing::debug!("unexpected answer to references: {other:?}");
                    return commands;
                }
            });
            return commands;
        }
        let here = Self::here(&self.tabs, self.active, documents);
        match self.popups.answer(ask, response, here, &mut self.messages) {
            Answered::Done => {}
            Answered::GoTo(path, at) => self.go_to(path, at, documents, &mut commands),
            Answered::Choose(places) => {
                let items = places
                    .into_iter()
                    .map(|place| PickerItem {
                        label: format!("{}:{}", place.path, place.range.start.line + 1),
                        command: AppCommand::GoTo {
                            path: place.path,
                            at: place.range.start,
                        },
                    })
                    .collect();
                let picker = Picker::new("definition-picker", "Definitions", items, "");
                self.compositor.push(Box::new(picker));
            }
        }
        commands
    }

    pub(super) fn here<'a>(
        tabs: &'a [OpenFile],
        active: usize,
        documents: &'a impl DocumentTexts,
    ) -> Option<Here<'a>> {
        let tab = tabs.get(active)?;
        Some(Here {
            path: &tab.path,
            rope: documents.rope(&tab.path)?,
            cursor: tab.editor.cursor(),
            mode: tab.editor.mode,
        })
    }

    /// Opens `path` with the cursor at `at`: now if its text is here, else once it is.
    pub(super) fn go_to(
        &mut self,
        path: String,
        at: crate::text::LineCol,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        self.stop_following(commands);
        self.pending_goto = Some((path.clone(), at));
        match documents.rope(&path) {
            Some(rope) => self.open_document(&path, rope, false),
            None => commands.push(AppCommand::Open(path)),
        }
    }

    /// An `Ask` for the cursor's place in the active file.
    pub(super) fn ask(&self, kind: AskKind, documents: &impl DocumentTexts) -> Option<AppCommand> {
        let tab = self.tabs.get(self.active)?;
        let rope = documents.rope(&tab.path)?;
        Some(AppCommand::Ask(IntelAsk {
            kind,
            path: tab.path.clone(),
            at: crate::text::position::char_to_line_col(rope, tab.editor.cursor()),
            explicit: true,
            change: None,
        }))
    }

    /// The host's diagnostics for `path` (its complete list; empty clears it).
    pub fn set_diagnostics(&mut self, path: &str, items: Vec<DiagnosticItem>) {
        self.diagnostics.set(path, items);
        self.inlay.server_spoke(path, Instant::now());
        self.semantic.server_spoke(path, Instant::now());
        if let Some(list) = self
            .compositor
            .find_mut::<DiagnosticsList>(DiagnosticsList::ID)
        {
            list.set_rows(self.diagnostics.rows(), "no diagnostics left");
        }
    }

    /// A batch of workspace search results; returns what the session must fetch for the
    /// preview.
    pub fn search_results(
        &mut self,
        hits: Vec<SearchHit>,
        documents: &impl DocumentTexts,
    ) -> Vec<AppCommand> {
        let mut ui = Vec::new();
        if let Some(panel) = self.compositor.find_mut::<SearchPanel>(SearchPanel::ID) {
            panel.add_results(hits, &mut ui);
        }
        let mut commands = Vec::new();
        for command in ui {
            self.ui_command(command, documents, &mut commands);
        }
        commands
    }

    /// The search ended: how, or the host's error.
    pub fn search_finished(&mut self, outcome: Result<SearchSummary, String>) {
        if let Some(panel) = self.compositor.find_mut::<SearchPanel>(SearchPanel::ID) {
            match outcome {
                Ok(summary) => panel.finish(summary),
                Err(message) => panel.fail(message),
            }
        }
    }

    /// The host answered the search panel's replace (`Ok`: what it did): the panel
    /// searches again. Returns the commands that takes.
    pub fn replace_finished(&mut self, outcome: Result<String, String>) -> Vec<AppCommand> {
        let mut ui = Vec::new();
        match self.compositor.find_mut::<SearchPanel>(SearchPanel::ID) {
            Some(panel) => panel.replaced(outcome, &mut ui),
            None => ui.push(UiCommand::Notice(outcome.unwrap_or_else(|e| e))),
        }
        let mut commands = Vec::new();
        for command in ui {
            match command {
                UiCommand::App(command) => commands.push(command),
                UiCommand::Notice(said) => self.messages.push(Level::Info, said),
                _ => {}
            }
        }
        commands
    }

    /// The open search panel's query, to ask again after a reconnect (its results cleared).
    pub fn restart_search(&mut self) -> Option<SearchQuery> {
        self.compositor
            .find_mut::<SearchPanel>(SearchPanel::ID)?
            .restart()
    }

    /// The text of `path` for the search panel's preview.
    pub fn search_preview(&mut self, path: &str, text: Rope) {
        if let Some(panel) = self.compositor.find_mut::<SearchPanel>(SearchPanel::ID) {
            panel.set_preview(path, text);
        }
    }

    /// The host's answer to a references question: the list, or why there is none.
    pub fn show_references(&mut self, answer: Result<Vec<ReferenceHit>, String>) {
        let hits = match answer {
            Ok(hits) => hits,
            Err(message) => {
                self.messages
                    .push(Level::Error, format!("references: {message}"));
                return;
            }
        };
        // Places outside the shared folder cannot be opened here; they are only counted.
        let (outside, inside): (Vec<_>, Vec<_>) =
            hits.into_iter().partition(|hit| hit.location.external);
        let items: Vec<LocationRow> = inside
            .into_iter()
            .map(|hit| {
                let range = hit.location.range;
                let len = if range.start.line == range.end.line {
                    range.end.col.saturating_sub(range.start.col)
                } else {
                    1
                };
                LocationRow {
                    path: hit.location.path,
                    position: range.start,
                    text: hit.context_line,
                    highlight: Some(range.start.col..range.start.col + len.max(1)),
                    mark: None,
                }
            })
            .collect();
        let count = items.len();
        let mut message = format!("{count} reference{}", if count == 1 { "" } else { "s" });
        if !outside.is_empty() {
            message += &format!(" (and {} outside the shared folder)", outside.len());
        }
        self.messages.push(Level::Info, message);
        self.compositor.push(Box::new(LocationList::new(
            LocationList::REFERENCES,
            "References",
            items,
            "no references found",
        )));
    }
}
