//! Shared terminals in the loop: the pane that shows one in place of the editor, its keys,
//! and for the host's own user, opening one and sizing it to the pane (the PTY's size is
//! the host user's pane, see docs/PROTOCOL.md "Shared terminals").

use super::event_loop::ParticipantLoop;
use crate::protocol::message::Role;
use crate::protocol::message::TerminalId;
use crate::tui::compositor::Event;
use crate::tui::status::Level;
use crate::tui::terminal::osc52_copy;
use crate::tui::terminal_pane::{PaneKey, TerminalPane};
use ratatui::crossterm::event::MouseEventKind;

impl ParticipantLoop {
    /// Shows terminal `id` (and starts watching it once the session knows it).
    pub(super) fn terminal_pane_show(&mut self, id: TerminalId) {
        self.terminal.show(id);
        self.presence.terminal_shown(Some(id));
        self.refresh_people();
        self.terminal_sync();
        self.dirty = true;
    }

    /// Keys and pastes while a terminal is shown, and the key that shows or hides it.
    /// True when the terminal took the event.
    pub(super) fn terminal_input(&mut self, event: &Event) -> bool {
        if let Event::Key(key) = event
            && self.terminal.is_toggle(key)
        {
            self.toggle_terminal();
            return true;
        }
        let Some(id) = self.terminal.shown else {
            return false;
        };
        // The host's close keys; anyone else's go to the program.
        if let Event::Key(key) = event
            && self.session.me.role == Role::Host
            && self.terminal.is_close(key)
        {
            self.ask_to_close_terminal();
            return true;
        }
        let may_type = self.session.may_type_in_terminals();
        let Some(view) = self.session.terminals.list.get_mut(&id) else {
            return false;
        };
        let outcome = match event {
            Event::Key(key) => TerminalPane::key(key, view, may_type),
            Event::Paste(text) if may_type => PaneKey::Send(TerminalPane::paste(text, view)),
            Event::Paste(_) => PaneKey::ReadOnly,
            Event::Mouse(mouse) => {
                // In the pane: the wheel scrolls the history; the editor behind it sees none.
                let area = self.app.editor_area();
                if !area.contains(ratatui::layout::Position::new(mouse.column, mouse.row)) {
                    return false;
                }
                match mouse.kind {
                    MouseEventKind::ScrollUp => PaneKey::Scroll(3),
                    MouseEventKind::ScrollDown => PaneKey::Scroll(-3),
                    _ => PaneKey::Ignored,
                }
            }
            _ => return false,
        };
        let scroll_to = |view: &mut crate::client::terminals::TerminalView, lines: isize| {
            if let Some(parser) = view.emulator.as_mut() {
                let now = parser.screen().scrollback() as isize;
                parser
                    .screen_mut()
                    .set_scrollback(now.saturating_add(lines).max(0) as usize);
            }
        };
        match outcome {
            PaneKey::Send(bytes) => {
                scroll_to(view, isize::MIN / 2);
                if view.exited.is_some() {
                    self.app
                        .message(Level::Info, "this terminal's program has ended");
                } else if let Err(message) = self.session.terminal_input(id, &bytes) {
                    self.app.message(Level::Warning, message);
                }
            }
            PaneKey::Scroll(lines) => scroll_to(view, lines),
            PaneKey::Live => scroll_to(view, isize::MIN / 2),
            PaneKey::Copy => {
                let text = view
                    .emulator
                    .as_ref()
                    .map(|parser| TerminalPane::visible_text(parser.screen()))
                    .unwrap_or_default();
                self.to_terminal.extend(osc52_copy(&text));
                let lines = text.lines().count();
                self.app
                    .message(Level::Info, format!("copied {lines} line(s) of the terminal"));
            }
            PaneKey::ReadOnly => self.app.message(
                Level::Info,
                format!(
                    "read-only: the host has not let you type here (arrows, pageup/pagedown, g/G scroll; y copies; {} goes back)",
                    self.terminal.toggle_name()
                ),
            ),
            PaneKey::Ignored => {}
        }
        true
    }

    /// The host's user asked to end a terminal (`close_terminal`): ask first, naming it.
    pub(super) fn ask_to_close_terminal(&mut self) {
        if self.session.me.role != Role::Host {
            self.app
                .message(Level::Info, "only the host ends shared terminals");
            return;
        }
        let view = self
            .terminal
            .to_close(&self.session)
            .and_then(|id| self.session.terminals.list.get(&id));
        let Some(view) = view else {
            self.app.message(
                Level::Info,
                format!(
                    "no shared terminal to end: show the one to end ({}) first",
                    self.terminal.toggle_name()
                ),
            );
            return;
        };
        let question = TerminalPane::close_confirmation(view);
        // The pane is drawn over the editor's layers: the question shows over the editor.
        if self.terminal.shown.is_some() {
            self.terminal_pane_hide();
        }
        self.app.show_menu(question);
        self.dirty = true;
    }

    /// The answer to "end shared terminal `id`?".
    pub(super) async fn close_terminal_answered(&mut self, id: TerminalId, end: bool) {
        let name = self
            .session
            .terminals
            .list
            .get(&id)
            .map_or_else(|| format!("term{id}"), |view| view.name.clone());
        if !end {
            let message = format!(
                "'{name}' keeps running; {} shows it",
                self.terminal.toggle_name()
            );
            self.app.message(Level::Info, message);
            return;
        }
        let close = crate::host_control::HostCommand::CloseTerminal { id };
        match &self.host {
            Some(host) if host.commands.send(close).await.is_ok() => {}
            _ => self.session.close_terminal(id),
        }
        self.app
            .message(Level::Info, format!("ending shared terminal '{name}'…"));
    }

    /// Shows the last terminal or the first one open; the host's own user opens one when
    /// there is none.
    pub(super) fn toggle_terminal(&mut self) {
        self.terminal.by_following = false;
        if self.terminal.shown.is_some() {
            self.terminal_pane_hide();
            return;
        }
        let list = &self.session.terminals.list;
        let open = |id: &TerminalId| list.get(id).is_some_and(|view| view.exited.is_none());
        let pick = self
            .terminal
            .last
            .filter(|id| list.contains_key(id))
            .or_else(|| list.keys().copied().find(open))
            .or_else(|| list.keys().next_back().copied());
        match pick {
            Some(id) => self.terminal_pane_show(id),
            None if self.session.me.role == Role::Host => {
                // Through the serving task, which tells us its id to show.
                let open = crate::host_control::HostCommand::OpenTerminal {
                    name: None,
                    command: None,
                };
                match &self.host {
                    Some(host) if host.commands.try_send(open).is_ok() => {}
                    _ => self.session.open_terminal("", None),
                }
                self.app.message(Level::Info, "opening a shared terminal…");
            }
            None => self.app.message(
                Level::Info,
                "no shared terminal is open; the host opens one",
            ),
        }
    }

    pub(super) fn terminal_pane_hide(&mut self) {
        self.terminal.hide();
        self.presence.terminal_shown(None);
        self.refresh_people();
        self.dirty = true;
    }

    /// Following: show the terminal the leader looks at, or the editor when it looks at
    /// none.
    pub(super) fn follow_leader_terminal(&mut self, terminal: Option<TerminalId>) {
        match terminal {
            Some(id) if self.terminal.shown != Some(id) => {
                self.terminal_pane_show(id);
                self.terminal.by_following = true;
            }
            None if self.terminal.shown.is_some() && self.terminal.by_following => {
                self.terminal_pane_hide();
            }
            _ => {}
        }
    }

    /// A terminal changed: tell of new ones, follow what the host's user opened.
    pub(super) fn terminal_changed(&mut self, id: Option<TerminalId>) {
        if id.is_none() {
            // Who may type changed: the people panel marks them.
            self.refresh_people();
        }
        let ended = id
            .and_then(|id| self.session.terminals.list.get(&id))
            .filter(|view| view.exited.is_some())
            .map(|view| (view.id, view.name.clone(), view.exited.flatten()));
        if let Some((ended, name, code)) = ended
            && self.terminal.first_told_ended(ended)
        {
            let how =
                code.map_or_else(|| "was ended".to_owned(), |code| format!("exited ({code})"));
            self.app
                .message(Level::Info, format!("shared terminal '{name}' {how}"));
        }
        if let Some(view) = id.and_then(|id| self.session.terminals.list.get(&id))
            && !view.watching()
            && view.exited.is_none()
            && self.terminal.shown != Some(view.id)
            && self.terminal.last.is_none()
        {
            let message = format!(
                "shared terminal '{}' is open: {} shows it",
                view.name,
                self.terminal.toggle_name()
            );
            self.app.message(Level::Info, message);
        }
        self.terminal_sync();
    }

    /// Watches the terminal shown; for the host's own user, sizes it to the pane.
    pub(super) fn terminal_sync(&mut self) {
        let Some(id) = self.terminal.shown else {
            return;
        };
        let Some(view) = self.session.terminals.list.get(&id) else {
            return;
        };
        let (watching, running) = (view.watching(), view.exited.is_none());
        if !watching && running {
            self.session.watch_terminal(id);
        }
        if self.session.me.role == Role::Host && running {
            let grid = TerminalPane::grid_area(self.app.editor_area());
            if grid.width >= 2 && grid.height >= 2 {
                self.session.resize_terminal(id, grid.width, grid.height);
            }
        }
    }
}
