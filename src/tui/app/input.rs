//! Terminal input: keys through the layers and the keymap to the editor, and the mouse.

use std::ops::ControlFlow;
use std::time::Instant;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

use super::{App, DocumentTexts};
use crate::tui::compositor::{AppCommand, Context, Event, UiCommand};
use crate::tui::editor::{Editor, EditorInput, Selection, gutter_width};
use crate::tui::highlight::Syntax;
use crate::tui::host_controls::person_menu;
use crate::tui::keymap::KeyResult;
use crate::tui::popup::KeyOutcome;
use crate::tui::prompt::SubstituteConfirm;
use crate::tui::status::{Level, Tabs};

impl App {
    /// Handles one terminal event; returns what the session must do. An event goes to the
    /// topmost thing that wants it: the hover or completion popup, then the layers (pickers,
    /// prompts, panels), then the keymap and the editor.
    pub fn handle_event(
        &mut self,
        event: &Event,
        documents: &impl DocumentTexts,
    ) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        match event {
            Event::Key(key) if key.kind == KeyEventKind::Release => return commands,
            Event::Resize(width, height) => {
                self.resize(*width, *height);
                return commands;
            }
            _ => {}
        }
        if self.popups_take(event, documents, &mut commands)
            || self.layers_take(event, documents, &mut commands)
        {
            return commands;
        }
        if matches!(event, Event::Key(_)) {
            // A key typed after `:wq` means staying.
            self.quit_when_saved = None;
        }
        let before = self.view_state();
        let extras_before = self.extra_cursors_state();
        let typed = match event {
            Event::Key(key) => match self.key(key, documents, &mut commands) {
                ControlFlow::Break(()) => return commands,
                ControlFlow::Continue(typed) => typed,
            },
            Event::Paste(text) => {
                self.editor_input(EditorInput::Paste(text.clone()), documents, &mut commands);
                None
            }
            Event::Mouse(mouse) => {
                self.mouse(mouse, documents, &mut commands);
                None
            }
            Event::Resize(..) => None,
        };
        if matches!(event, Event::Key(_) | Event::Paste(_)) {
            self.popups_after_input(typed, documents, &commands);
        }
        if !matches!(event, Event::Resize(..)) {
            self.lightbulb.moved(Instant::now());
        }
        let after = self.view_state();
        // Adding a cursor moves no primary one, but the others must see it.
        let extras_moved = extras_before != self.extra_cursors_state();
        if (before != after || extras_moved)
            && let Some((path, selection, scroll_line)) = after
        {
            commands.push(AppCommand::Presence {
                path,
                selection,
                scroll_line,
            });
        }
        commands
    }

    /// The hover or completion popup, when one is open with no layer above it, has the
    /// first look at a key. True if it took the event.
    fn popups_take(
        &mut self,
        event: &Event,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) -> bool {
        if !self.popups.is_open() || !self.compositor.is_empty() {
            return false;
        }
        let leaves_insert = matches!(event, Event::Key(key) if key.code == KeyCode::Esc)
            && self.keymap.is_modal()
            && self.current_mode() == crate::tui::keymap::Mode::Insert;
        match event {
            // In vim, escape closes the completion menu and leaves insert mode at once.
            Event::Key(_) if leaves_insert => self.popups.close(),
            Event::Key(key) => match self.popups.handle_key(key) {
                KeyOutcome::Consumed => return true,
                KeyOutcome::Pass => {}
                KeyOutcome::GoTo(path, at) => {
                    self.go_to(path, at, documents, commands);
                    return true;
                }
                KeyOutcome::Accept(text) => {
                    self.accept_completion(text, documents, commands);
                    return true;
                }
            },
            _ => self.popups.close(),
        }
        false
    }

    /// The compositor's layers (front to back) next. True if one of them took the event.
    fn layers_take(
        &mut self,
        event: &Event,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) -> bool {
        if self.compositor.is_empty() {
            return false;
        }
        let mut ui = Vec::new();
        let mut cx = Context {
            commands: &mut ui,
            keymap: &self.keymap,
        };
        let consumed = self.compositor.handle_event(event, &mut cx);
        for command in ui {
            self.ui_command(command, documents, commands);
        }
        consumed
    }

    /// A key through the keymap to an action or the editor. Continues with the character
    /// typed, if one was; breaks when the key was replayed as other keys.
    fn key(
        &mut self,
        key: &KeyEvent,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) -> ControlFlow<(), Option<char>> {
        let mode = self.current_mode();
        match self.keymap.handle(mode, key) {
            KeyResult::Action(action) => self.action(action, documents, commands),
            KeyResult::Command(command) => {
                self.editor_input(EditorInput::Command(command), documents, commands)
            }
            KeyResult::Insert(c) => {
                self.editor_input(EditorInput::Insert(c), documents, commands);
                return ControlFlow::Continue(Some(c));
            }
            KeyResult::Unbound
                if self.keymap.is_modal()
                    && mode == crate::tui::keymap::Mode::Insert
                    && key.modifiers == KeyModifiers::ALT =>
            {
                // Escape and then a letter, typed fast (over SSH they arrive in one read),
                // reach us as alt-letter. Unbound in insert mode, it is what vim makes of
                // it too: leave insert mode, then the letter.
                if let KeyCode::Char(c) = key.code {
                    for key in [
                        KeyEvent::from(KeyCode::Esc),
                        KeyEvent::from(KeyCode::Char(c)),
                    ] {
                        commands.extend(self.handle_event(&Event::Key(key), documents));
                    }
                    return ControlFlow::Break(());
                }
            }
            KeyResult::Pending | KeyResult::Unbound => {}
        }
        ControlFlow::Continue(None)
    }

    /// Hover and completion follow typing. After an edit they wait for the session to
    /// apply it ([`App::local_edit_applied`]): the text is the session's to change, and is
    /// judged once, as it is after the edit. A refused edit (read-only) asks for nothing.
    fn popups_after_input(
        &mut self,
        typed: Option<char>,
        documents: &impl DocumentTexts,
        commands: &[AppCommand],
    ) {
        // An edit the session refused (read-only) leaves nothing waiting.
        self.popups_await_edit = None;
        let edits_active = commands.iter().any(|command| {
            matches!(command, AppCommand::Edit { path, .. } if Some(path.as_str()) == self.active_path())
        });
        if edits_active {
            self.popups_await_edit = Some(typed);
            return;
        }
        let here = Self::here(&self.tabs, self.active, documents);
        // No edit: the cursor moved, or a character did not go in (it asks for nothing).
        self.popups.after_input(here, None, Instant::now());
    }

    pub(super) fn view_state(&self) -> Option<(String, Selection, usize)> {
        let tab = self.tabs.get(self.active)?;
        Some((
            tab.path.clone(),
            tab.editor.selection,
            tab.editor.scroll_line(),
        ))
    }

    /// Our extra cursors in the active file, to tell when they moved.
    fn extra_cursors_state(&self) -> Vec<Selection> {
        self.editor()
            .map(|editor| editor.extra_cursors().to_vec())
            .unwrap_or_default()
    }

    pub(super) fn current_mode(&self) -> crate::tui::keymap::Mode {
        self.tabs
            .get(self.active)
            .map_or(self.keymap.initial_mode(), |tab| tab.editor.mode)
    }

    pub(super) fn ui_command(
        &mut self,
        command: UiCommand,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        match command {
            UiCommand::Find { query, forward } => {
                self.search = Some(query.clone()).filter(|q| !q.is_empty());
                // vim's `/` searches from where it started with every key typed.
                if let (Some(origin), Some(tab)) =
                    (self.find_origin, self.tabs.get_mut(self.active))
                    && let Some(rope) = documents.rope(&tab.path)
                {
                    tab.editor.set_selection(rope, origin);
                }
                self.editor_input(EditorInput::Find { query, forward }, documents, commands);
            }
            UiCommand::FindEnd { cancelled } => {
                if let (true, Some(origin), Some(tab)) =
                    (cancelled, self.find_origin, self.tabs.get_mut(self.active))
                    && let Some(rope) = documents.rope(&tab.path)
                {
                    tab.editor.set_selection(rope, origin);
                }
                self.find_origin = None;
            }
            UiCommand::Ex(text) => self.ex_command(&text, documents, commands),
            UiCommand::GoToLine(text) => self.go_to_line(&text, documents, commands),
            UiCommand::SubstituteAnswer(answer) => {
                self.editor_input(EditorInput::SubstituteAnswer(answer), documents, commands);
                if !self.editor().is_some_and(Editor::is_confirming_substitute) {
                    self.compositor.remove(SubstituteConfirm::ID);
                }
            }
            UiCommand::FindReplace {
                options,
                replacement,
                step,
            } => self.find_replace(&options, &replacement, step, documents, commands),
            UiCommand::FindReplaceClosed => self.file_find = None,
            UiCommand::OpenPalette(query) => self.open_palette(&query),
            UiCommand::App(AppCommand::RunAction(action)) => {
                crate::tui::palette::remember(&mut self.recent_actions, action);
                self.action(action, documents, commands);
            }
            UiCommand::App(AppCommand::Follow(id)) => {
                self.start_following(id);
                commands.push(AppCommand::Follow(id));
            }
            UiCommand::App(AppCommand::Open(path)) => {
                // Opening a file yourself is navigation.
                self.stop_following(commands);
                match documents.rope(&path) {
                    Some(rope) => self.open_document(&path, rope, false),
                    None => commands.push(AppCommand::Open(path)),
                }
            }
            UiCommand::App(AppCommand::ManagePerson(id)) => {
                match person_menu(id, &self.pending, &self.people) {
                    Some(menu) => self.compositor.push(Box::new(menu)),
                    None => self
                        .messages
                        .push(Level::Info, "they are not in the session any more"),
                }
            }
            UiCommand::App(AppCommand::SearchPreview(path)) => match documents.rope(&path) {
                Some(rope) => self.search_preview(&path, rope.clone()),
                None => commands.push(AppCommand::SearchPreview(path)),
            },
            UiCommand::App(AppCommand::GoTo { path, at }) => {
                self.go_to(path, at, documents, commands)
            }
            // A rename or code action chosen in its prompt or menu: others may have typed
            // meanwhile, and the cursor moved with their edits while the symbol's place
            // as first asked did not.
            UiCommand::App(AppCommand::Ask(mut ask))
                if ask.kind == crate::tui::popup::AskKind::Change =>
            {
                if let Some(tab) = self
                    .tabs
                    .get(self.active)
                    .filter(|tab| tab.path == ask.path)
                    && let Some(rope) = documents.rope(&tab.path)
                {
                    ask.at = crate::text::position::char_to_line_col(rope, tab.editor.cursor());
                }
                commands.push(AppCommand::Ask(ask));
            }
            UiCommand::App(command) => commands.push(command),
            UiCommand::Notice(text) => self.messages.push(Level::Info, text),
        }
    }

    /// Replaces the word before the cursor with an accepted completion, as typing would.
    pub(super) fn accept_completion(
        &mut self,
        text: String,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let Some(rope) = documents.rope(&tab.path) else {
            return;
        };
        let cursor = tab.editor.cursor();
        let start = crate::tui::popup::word_start(rope, cursor);
        tab.editor.set_selection(
            rope,
            Selection {
                anchor: start,
                head: cursor,
            },
        );
        self.editor_input(EditorInput::Paste(text), documents, commands);
    }

    pub(super) fn editor_input(
        &mut self,
        input: EditorInput,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let Some(rope) = documents.rope(&tab.path) else {
            return;
        };
        let is_edit = matches!(
            input,
            EditorInput::Insert(_)
                | EditorInput::Paste(_)
                | EditorInput::Substitute(_)
                | EditorInput::SubstituteAnswer(_)
                | EditorInput::ReplaceMatch(_)
                | EditorInput::TidyForSave(_)
        ) || matches!(&input, EditorInput::Action(action) if action.edits_text())
            || matches!(&input, EditorInput::Command(command) if command.is_edit());
        if is_edit && let Some(percent) = tab.loading {
            self.messages.push(
                Level::Info,
                format!("still loading ({percent}%); you can edit once all of it has arrived"),
            );
            return;
        }
        if is_edit && tab.read_only {
            self.messages.push(
                Level::Warning,
                "this file is read-only for you; the host decides who may edit",
            );
            return;
        }
        tab.editor
            .set_indent_tree(tab.syntax.as_ref().and_then(Syntax::indent_tree));
        let outcome = tab.editor.handle(input, rope);
        if let Some(operation) = outcome.operation {
            commands.push(AppCommand::Edit {
                path: tab.path.clone(),
                operation,
            });
        }
        if let Some(text) = outcome.copied {
            commands.push(AppCommand::CopyToClipboard(text));
        }
        if let Some(message) = outcome.message {
            self.messages.push(Level::Info, message);
        }
        if outcome.navigated {
            self.stop_following(commands);
        }
    }

    pub(super) fn mouse(
        &mut self,
        mouse: &ratatui::crossterm::event::MouseEvent,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let regions = self.regions();
        if mouse.kind == MouseEventKind::Down(MouseButton::Left) && mouse.row == regions.tabs.y {
            let clicked = Tabs {
                tabs: &self.tab_views(),
                active: self.active,
                theme: &self.theme,
            }
            .layout(regions.tabs)
            .into_iter()
            .find(|(_, columns)| columns.contains(&mouse.column));
            if let Some((index, _)) = clicked {
                self.stop_following(commands);
                self.active = index;
            }
            return;
        }
        if mouse.kind == MouseEventKind::Down(MouseButton::Left)
            && let Some((other, _)) = regions.other_pane
            && other.contains(ratatui::layout::Position::new(mouse.column, mouse.row))
        {
            // A click in the other pane focuses it (the click itself places no cursor).
            self.focus_other_pane(commands);
            return;
        }
        let area = regions.editor;
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let Some(rope) = documents.rope(&tab.path) else {
            return;
        };
        let inside = mouse.column >= area.x
            && mouse.column < area.right()
            && mouse.row >= area.y
            && mouse.row < area.bottom();
        let hints = self.inlay.for_path(&tab.path);
        let at = || {
            let gutter = gutter_width(rope) as u16;
            let col = mouse.column.saturating_sub(area.x + gutter) as usize;
            let row = (mouse.row - area.y) as usize;
            // Inlay hints are drawn between the characters, not in the text.
            let col = crate::tui::inlay::text_col(&tab.editor, rope, hints, row, col);
            tab.editor.char_at_screen(rope, row, col)
        };
        let navigated = match mouse.kind {
            MouseEventKind::ScrollUp if inside => {
                tab.editor.scroll_by(rope, -3);
                true
            }
            MouseEventKind::ScrollDown if inside => {
                tab.editor.scroll_by(rope, 3);
                true
            }
            // alt-click: one more cursor there (escape goes back to one).
            MouseEventKind::Down(MouseButton::Left)
                if inside && mouse.modifiers.contains(KeyModifiers::ALT) =>
            {
                let at = at();
                tab.editor.add_cursor_at(rope, at);
                true
            }
            MouseEventKind::Down(MouseButton::Left) if inside => {
                let at = at();
                tab.editor.set_selection(rope, Selection::cursor(at));
                self.last_click = Some(at);
                true
            }
            MouseEventKind::Drag(MouseButton::Left) if inside => {
                let head = at();
                let anchor = self.last_click.unwrap_or(head);
                tab.editor.set_selection(rope, Selection { anchor, head });
                true
            }
            _ => false,
        };
        if navigated {
            self.stop_following(commands);
        }
    }
}
