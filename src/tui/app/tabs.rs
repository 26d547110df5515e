//! Open files as tabs: opening, edits arriving (ours and others'), unsaved marks.

use std::time::Instant;

use ropey::Rope;

use super::{App, DocumentTexts, OpenFile};
use crate::protocol::ParticipantId;
use crate::text::Operation;
use crate::tui::compositor::AppCommand;
use crate::tui::editor::{Editor, RemoteCursor, Selection};
use crate::tui::highlight::Syntax;
use crate::tui::popup::Here;
use crate::tui::status::{Level, Messages, TabView};

impl App {
    /// Shows a document (newly fetched, or already open) in a tab and makes it active.
    pub fn open_document(&mut self, path: &str, rope: &Rope, read_only: bool) {
        self.git.text_changed(path);
        self.open_tab(path, rope, read_only, None);
    }

    /// Shows a document whose text is still arriving (read-only, with how much came), or
    /// with `rope` `None` closes its tab: opening it failed.
    pub fn document_loading(&mut self, path: &str, rope: Option<&Rope>, percent: u8) {
        match rope {
            Some(rope) => self.open_tab(path, rope, true, Some(percent)),
            None => {
                self.tabs
                    .retain(|tab| tab.path != path || tab.loading.is_none());
                self.active = self.active.min(self.tabs.len().saturating_sub(1));
            }
        }
    }

    pub(super) fn open_tab(
        &mut self,
        path: &str,
        rope: &Rope,
        read_only: bool,
        loading: Option<u8>,
    ) {
        if let Some(index) = self.tabs.iter().position(|tab| tab.path == path) {
            let tab = &mut self.tabs[index];
            tab.read_only = read_only;
            if tab.loading.is_some() && loading.is_none() {
                // Highlighting needs the whole text, which has just arrived.
                tab.syntax = Syntax::for_path(path, rope);
                if let Some(notice) = tab.syntax.as_ref().and_then(Syntax::notice) {
                    self.messages.push(Level::Warning, notice);
                }
            }
            tab.loading = loading;
            if loading.is_none() {
                self.active = index;
            }
        } else {
            let mut editor = Editor::new(self.keymap.initial_mode());
            editor.share_register(&self.register);
            editor.tab_width = self.tab_width;
            editor.set_path(path);
            let region = self.regions().editor;
            editor.set_viewport(region.width as usize, region.height as usize);
            let syntax = match loading {
                Some(_) => None,
                None => Syntax::for_path(path, rope),
            };
            if let Some(notice) = syntax.as_ref().and_then(Syntax::notice) {
                self.messages.push(Level::Warning, notice);
            }
            self.tabs.push(OpenFile {
                path: path.into(),
                editor,
                syntax,
                modified: false,
                read_only,
                remotes: Vec::new(),
                loading,
            });
            self.active = self.tabs.len() - 1;
        }
        if let Some((pending_path, position)) = self.pending_goto.take() {
            if pending_path == path {
                let rows = self.regions().editor.height as usize;
                let editor = &mut self.tabs[self.active].editor;
                let at = crate::text::position::line_col_to_char(rope, position);
                let line = rope.char_to_line(at);
                // A place jumped to shows with context above it, not on the last row.
                let scroll = if (editor.scroll_line()..editor.scroll_line() + rows).contains(&line)
                {
                    editor.scroll_line()
                } else {
                    line.saturating_sub(rows / 3)
                };
                editor.follow_to(rope, Selection::cursor(at), scroll);
            } else {
                self.pending_goto = Some((pending_path, position));
            }
        }
        if let Some(place) = self.follow.take_pending(path) {
            let selection = Selection {
                anchor: place.anchor,
                head: place.head,
            };
            self.tabs[self.active]
                .editor
                .follow_to(rope, selection, place.scroll_line);
        }
    }

    /// The session applied a local edit that [`App::handle_event`] returned.
    pub fn local_edit_applied(
        &mut self,
        path: &str,
        before: &Rope,
        operation: &Operation,
        after: &Rope,
    ) {
        self.diagnostics.map_edit(path, before, operation, after);
        self.inlay.map_edit(path, operation, Instant::now());
        self.semantic.map_edit(path, operation, Instant::now());
        self.git.text_changed(path);
        if let Some(tab) = self.tabs.iter_mut().find(|tab| tab.path == path) {
            tab.modified = true;
            // Only an edit the session accepted is one to undo.
            tab.editor.edit_applied(operation);
            // The editor could not scroll to its new cursor before the text existed.
            tab.editor.ensure_cursor_visible(after);
            update_syntax(
                &mut tab.syntax,
                before,
                operation,
                after,
                &mut self.messages,
            );
        }
        if self.active_path() == Some(path) {
            self.refresh_find_status(after);
        }
        if self.active_path() == Some(path)
            && let Some(typed) = self.popups_await_edit.take()
        {
            let tab = &self.tabs[self.active];
            let here = Here {
                path,
                rope: after,
                cursor: tab.editor.cursor(),
                mode: tab.editor.mode,
            };
            self.popups.after_input(Some(here), typed, Instant::now());
        }
    }

    /// The session applied someone else's edit to `path`.
    pub fn remote_edit(&mut self, path: &str, before: &Rope, operation: &Operation, after: &Rope) {
        self.host_edit(path, before, operation, after, false);
    }

    /// The session applied an edit the host sequenced: someone else's, or, when
    /// `made_for_me`, the host's edit for this user's own rename, code action or format
    /// (then one undo step of theirs).
    pub fn host_edit(
        &mut self,
        path: &str,
        before: &Rope,
        operation: &Operation,
        after: &Rope,
        made_for_me: bool,
    ) {
        self.diagnostics.map_edit(path, before, operation, after);
        self.inlay.map_edit(path, operation, Instant::now());
        self.semantic.map_edit(path, operation, Instant::now());
        self.git.text_changed(path);
        if let Some(tab) = self.tabs.iter_mut().find(|tab| tab.path == path) {
            // Whether it is unsaved is the host's word (`set_modified`), not ours: the
            // edit may have been an undo back to the saved text, or a reload from disk.
            if made_for_me {
                tab.editor.apply_edit_made_for_me(operation, before, after);
            } else {
                tab.editor.apply_remote(operation, after);
            }
            for remote in &mut tab.remotes {
                remote.selection = remote.selection.map(operation, crate::text::Assoc::Before);
            }
            update_syntax(
                &mut tab.syntax,
                before,
                operation,
                after,
                &mut self.messages,
            );
        }
        // The matches move and change with what others type.
        if self.active_path() == Some(path) {
            self.refresh_find_status(after);
        }
    }

    /// Whether [`App::idle_work`] has something to do: large documents re-parse for
    /// syntax colors when typing pauses (call it ~50 ms after the last input).
    pub fn has_idle_work(&self) -> bool {
        self.git.has_idle_work()
            || self
                .tabs
                .iter()
                .any(|tab| tab.syntax.as_ref().is_some_and(Syntax::needs_reparse))
    }

    /// Catches up deferred work (syntax re-parses of large documents); redraw afterwards.
    pub fn idle_work(&mut self, documents: &impl DocumentTexts) {
        self.git.idle_work(documents);
        for tab in &mut self.tabs {
            if let (Some(syntax), Some(rope)) = (tab.syntax.as_mut(), documents.rope(&tab.path))
                && syntax.needs_reparse()
            {
                syntax.reparse_now(rope);
                if let Some(notice) = syntax.notice() {
                    self.messages.push(Level::Warning, notice);
                }
            }
        }
    }

    /// Other people's cursors in `path`, mapped to the current document by the session.
    pub fn set_remote_cursors(&mut self, path: &str, cursors: Vec<RemoteCursor>) {
        if let Some(tab) = self.tabs.iter_mut().find(|tab| tab.path == path) {
            tab.remotes = cursors;
        }
    }

    /// Whether `path` shows as unsaved (`[+]`): `Session::is_unsaved`, one definition
    /// for everyone. True if that changed what is shown.
    pub fn set_modified(&mut self, path: &str, modified: bool) -> bool {
        if !modified && self.close_armed.as_deref() == Some(path) {
            self.close_armed = None;
        }
        match self.tabs.iter_mut().find(|tab| tab.path == path) {
            Some(tab) if tab.modified != modified => {
                tab.modified = modified;
                true
            }
            _ => false,
        }
    }

    /// The host saved `path` for `by` (`None`: for us): the message line says who saved
    /// it (whether it is still unsaved comes with `set_modified`).
    pub fn set_saved(&mut self, path: &str, by: Option<ParticipantId>) {
        let someone_else = by.filter(|id| {
            !self
                .people
                .iter()
                .any(|person| person.id == *id && person.is_you)
        });
        let message = match someone_else {
            Some(id) => format!("{} saved {path}", self.person_name(id)),
            None => format!("saved {path}"),
        };
        self.messages.push(Level::Info, message);
        if self.quit_when_saved.as_deref() == Some(path) {
            self.quit_when_saved = None;
            self.deferred = Some(AppCommand::Quit);
        }
    }

    /// A file or folder was renamed on the host: tabs of it (or under it) show and use
    /// the new path.
    pub fn rename_tabs(&mut self, from: &str, to: &str) {
        use crate::client::session::renamed_path;
        for tab in &mut self.tabs {
            if let Some(new) = renamed_path(&tab.path, from, to) {
                self.git.forget(&tab.path);
                tab.editor.set_path(&new);
                tab.path = new;
            }
        }
    }

    /// The path of the active tab.
    pub fn active_path(&self) -> Option<&str> {
        self.tabs.get(self.active).map(|tab| tab.path.as_str())
    }

    /// Paths of every open tab, so the loop can hand each its remote cursors.
    pub fn open_paths(&self) -> impl Iterator<Item = &str> {
        self.tabs.iter().map(|tab| tab.path.as_str())
    }

    pub fn editor(&self) -> Option<&Editor> {
        self.tabs.get(self.active).map(|tab| &tab.editor)
    }

    pub(super) fn tab_views(&self) -> Vec<TabView<'_>> {
        self.tabs
            .iter()
            .map(|tab| TabView {
                path: &tab.path,
                modified: tab.modified,
            })
            .collect()
    }
}

fn update_syntax(
    syntax: &mut Option<Syntax>,
    before: &Rope,
    operation: &Operation,
    after: &Rope,
    messages: &mut Messages,
) {
    if let Some(syntax) = syntax {
        let was_enabled = syntax.is_enabled();
        syntax.update(before, operation, after);
        if was_enabled && let Some(notice) = syntax.notice() {
            messages.push(Level::Warning, notice);
        }
    }
}
