//! What each keymap action and each vim command-line command does to the app.

use super::{App, DocumentTexts};
use crate::host_control::HostCommand;
use crate::tui::compositor::{AppCommand, Component};
use crate::tui::diagnostics::DiagnosticsList;
use crate::tui::editor::{Editor, EditorInput, SaveTidying};
use crate::tui::ex::ExCommand;
use crate::tui::help::HelpOverlay;
use crate::tui::host_controls::people_menu;
use crate::tui::keymap::Action;
use crate::tui::people::follow_picker;
use crate::tui::picker::Picker;
use crate::tui::popup::{AskKind, ChangeAsk};
use crate::tui::prompt::{Prompt, PromptKind, SubstituteConfirm};
use crate::tui::search_panel::SearchPanel;
use crate::tui::status::Level;
use crate::tui::tree::FileTree;

impl App {
    /// Carries out an action of the keymap: app-level ones here, the rest in the editor.
    pub(super) fn action(
        &mut self,
        action: Action,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        if self.open_layer(action) {
            return;
        }
        match action {
            Action::Quit => commands.push(AppCommand::Quit),
            Action::Save => match self.active_path().map(str::to_owned) {
                Some(path) => {
                    self.tidy_for_save(documents, commands);
                    commands.push(AppCommand::Save(path));
                }
                None => self.messages.push(Level::Info, "no file open to save"),
            },
            Action::SaveAndQuit => self.run_ex(ExCommand::Exit, documents, commands),
            Action::SearchWordForward | Action::SearchWordBackward => {
                self.editor_input(EditorInput::Action(action), documents, commands);
                if let Some(word) = self
                    .editor()
                    .and_then(Editor::last_search)
                    .map(str::to_owned)
                {
                    self.search = Some(word);
                }
            }
            Action::GotoReferences
            | Action::Hover
            | Action::PeekDefinition
            | Action::GotoDefinition
            | Action::Complete => self.ask_about_code(action, documents, commands),
            Action::RenameSymbol => {
                self.ask_change(AskKind::PrepareRename, None, documents, commands)
            }
            Action::CodeActions => self.ask_change(AskKind::CodeActions, None, documents, commands),
            Action::DocumentSymbols => self.ask_change(AskKind::Symbols, None, documents, commands),
            Action::NextChange => self.go_to_change(true, documents, commands),
            Action::PreviousChange => self.go_to_change(false, documents, commands),
            Action::ChangedFiles => {
                self.messages
                    .push(Level::Info, "asking the host for its changed files…");
                commands.push(AppCommand::ChangedFiles);
            }
            Action::DiffFile => self.show_diff(documents),
            Action::FormatDocument => {
                let format =
                    self.selected_lines(documents)
                        .map_or(ChangeAsk::Format, |(from, to)| ChangeAsk::FormatSelection {
                            from,
                            to,
                        });
                self.ask_change(AskKind::Change, Some(format), documents, commands)
            }
            Action::TogglePeople => {
                self.show_people = Some(self.regions().people.is_none());
                let (width, height) = (self.size.width, self.size.height);
                self.resize(width, height);
            }
            Action::ToggleInlayHints => self.toggle_inlay_hints(),
            Action::StopFollowing => self.stop_following(commands),
            Action::FindReplace => self.open_find_replace(documents, commands),
            Action::SplitVertical => self.toggle_split(),
            Action::FocusOtherPane => self.focus_other_pane(commands),
            Action::AskEveryoneToFollow => commands.push(AppCommand::Host(HostCommand::FollowMe)),
            // Keys reach these in the terminal pane first; here from the editor or palette.
            Action::ToggleTerminal => commands.push(AppCommand::ToggleTerminal),
            Action::CloseTerminal => commands.push(AppCommand::CloseTerminal),
            Action::NextTab | Action::PreviousTab | Action::CloseTab if !self.tabs.is_empty() => {
                self.tab_action(action, commands)
            }
            Action::Cancel if self.search.is_some() => {
                self.search = None;
                self.editor_input(EditorInput::Action(action), documents, commands);
            }
            _ => self.editor_input(EditorInput::Action(action), documents, commands),
        }
    }

    /// Before a save: the tidying config.toml asks for, as an edit of the active file
    /// (one undo step), unless the file is not ours to edit.
    fn tidy_for_save(&mut self, documents: &impl DocumentTexts, commands: &mut Vec<AppCommand>) {
        let editable = self
            .tabs
            .get(self.active)
            .is_some_and(|tab| !tab.read_only && tab.loading.is_none());
        if editable && self.save_tidying != SaveTidying::default() {
            let tidying = EditorInput::TidyForSave(self.save_tidying);
            self.editor_input(tidying, documents, commands);
        }
    }

    /// Actions that open a layer over the editor (a picker, a prompt, a panel). True if
    /// `action` was one.
    fn open_layer(&mut self, action: Action) -> bool {
        let layer: Box<dyn Component> = match action {
            Action::OpenFilePicker => Box::new(Picker::files(&self.files)),
            Action::ToggleHelp => {
                let messages = self.messages.history().map(|(_, text)| text);
                Box::new(HelpOverlay::new(messages))
            }
            Action::Find => {
                // Escape hides the matches; the query stays to search again.
                let initial = self
                    .search
                    .clone()
                    .or_else(|| self.editor()?.last_search().map(str::to_owned))
                    .unwrap_or_default();
                let kind = if self.keymap.is_modal() {
                    self.find_origin = self.editor().map(|editor| editor.selection);
                    PromptKind::Search
                } else {
                    PromptKind::Find
                };
                Box::new(Prompt::new(kind, &initial))
            }
            Action::CommandLine => Box::new(Prompt::new(PromptKind::Command, "")),
            Action::CommandPalette => {
                self.open_palette("");
                return true;
            }
            Action::GotoLine => Box::new(Prompt::new(PromptKind::GoToLine, "")),
            Action::WorkspaceSearch => Box::new(SearchPanel::new()),
            Action::WorkspaceSymbols => Box::new(Picker::asking(
                Picker::WORKSPACE_SYMBOLS,
                "Workspace symbols",
                AppCommand::WorkspaceSymbols,
                "type a symbol's name: the host's language server looks for it",
            )),
            Action::DiagnosticsList => Box::new(DiagnosticsList::new(
                self.diagnostics.rows(),
                "no diagnostics: the host's language servers report no problems",
            )),
            Action::ToggleFileTree => {
                if self.compositor.remove(FileTree::ID).is_some() {
                    return true;
                }
                Box::new(FileTree::new(&self.files))
            }
            Action::Follow => Box::new(follow_picker(&self.people)),
            Action::ManagePeople if self.is_host() => Box::new(people_menu(
                &self.pending,
                &self.people,
                &self.ignore_files_changed,
            )),
            Action::ManagePeople => {
                self.messages.push(
                    Level::Info,
                    "only the host admits, changes roles or removes people",
                );
                return true;
            }
            Action::SessionInfo => {
                self.show_session_card();
                return true;
            }
            _ => return false,
        };
        self.compositor.push(layer);
        true
    }

    /// The command palette over every action, with the keys of the current mode.
    pub(super) fn open_palette(&mut self, query: &str) {
        let mode = self.current_mode();
        let palette = crate::tui::palette::palette(&self.keymap, mode, &self.recent_actions, query);
        self.compositor.push(Box::new(palette));
    }

    /// Asks the host about the code at the cursor (its answer comes to `intel_answer`).
    fn ask_about_code(
        &mut self,
        action: Action,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let kind = match action {
            Action::Hover => AskKind::Hover,
            Action::PeekDefinition => AskKind::Peek,
            Action::GotoDefinition => AskKind::Definition,
            Action::GotoReferences => AskKind::References,
            _ => AskKind::Completion,
        };
        match self.ask(kind, documents) {
            Some(ask) => {
                commands.push(ask);
                if kind == AskKind::References {
                    self.messages.push(Level::Info, "finding references…");
                }
            }
            None if kind == AskKind::References => self
                .messages
                .push(Level::Info, "open a file to find references"),
            None => self
                .messages
                .push(Level::Info, "open a file to ask about its code"),
        }
    }

    /// Next, previous and close tab (there is at least one tab).
    fn tab_action(&mut self, action: Action, commands: &mut Vec<AppCommand>) {
        let active = &self.tabs[self.active];
        match action {
            Action::CloseTab
                if active.modified && self.close_armed.as_deref() != Some(active.path.as_str()) =>
            {
                let path = active.path.clone();
                self.messages.push(
                    Level::Warning,
                    format!(
                        "{path} has unsaved edits: they stay in the shared text until someone saves; close again to close it"
                    ),
                );
                self.close_armed = Some(path);
            }
            Action::CloseTab => {
                self.close_armed = None;
                let tab = self.tabs.remove(self.active);
                commands.push(AppCommand::Close(tab.path));
                self.active = self.active.min(self.tabs.len().saturating_sub(1));
            }
            _ => {
                self.stop_following(commands);
                let len = self.tabs.len();
                self.active = if action == Action::NextTab {
                    (self.active + 1) % len
                } else {
                    (self.active + len - 1) % len
                };
            }
        }
    }

    /// Moves the cursor to what the go-to-line prompt names, in the active file; a line
    /// past the end goes to the last, a column past the line's end to its end.
    pub(super) fn go_to_line(
        &mut self,
        text: &str,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let at = match crate::tui::prompt::parse_line_col(text) {
            Ok(at) => at,
            Err(message) => return self.messages.push(Level::Error, message),
        };
        let Some(path) = self.active_path().map(str::to_owned) else {
            return self
                .messages
                .push(Level::Info, "open a file to go to a line in it");
        };
        let Some(rope) = documents.rope(&path) else {
            return;
        };
        let line = at.line.min(crate::tui::editor::last_line(rope));
        let col = at
            .col
            .min(crate::text::position::line_content_chars(rope, line));
        let at = crate::text::LineCol { line, col };
        self.go_to(path, at, documents, commands);
    }

    /// Runs what was typed on vim's command line.
    pub(super) fn ex_command(
        &mut self,
        text: &str,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        match crate::tui::ex::parse(text) {
            Ok(command) => self.run_ex(command, documents, commands),
            Err(message) => self.messages.push(Level::Error, message),
        }
    }

    pub(super) fn run_ex(
        &mut self,
        command: ExCommand,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let path = self.active_path().map(str::to_owned);
        let modified = self.tabs.get(self.active).is_some_and(|tab| tab.modified);
        match command {
            ExCommand::Nothing => {}
            ExCommand::VerticalSplit => self.toggle_split(),
            ExCommand::Write => self.action(Action::Save, documents, commands),
            ExCommand::WriteQuit | ExCommand::Exit
                if path.is_some() && (modified || matches!(command, ExCommand::WriteQuit)) =>
            {
                self.action(Action::Save, documents, commands);
                self.quit_when_saved = path;
            }
            ExCommand::WriteQuit | ExCommand::Exit => {
                self.run_ex(ExCommand::Quit { force: false }, documents, commands)
            }
            ExCommand::Quit { force: true } => commands.push(AppCommand::ForceQuit),
            ExCommand::Quit { force: false } => {
                // As vim: unsaved edits keep you here until `:w`, or `:q!` leaves anyway.
                let unsaved = self
                    .tabs
                    .iter()
                    .enumerate()
                    .filter(|(_, tab)| tab.modified)
                    .min_by_key(|(index, _)| *index != self.active)
                    .map(|(index, tab)| (index == self.active, tab.path.clone()));
                match unsaved {
                    Some((true, _)) => self.messages.push(
                        Level::Error,
                        "E37: No write since last change (add ! to override)",
                    ),
                    Some((false, other)) => self.messages.push(
                        Level::Error,
                        format!("E162: No write since last change for buffer \"{other}\""),
                    ),
                    None => commands.push(AppCommand::Quit),
                }
            }
            ExCommand::GoToLine(line) => {
                let Some(rope) = path.as_deref().and_then(|path| documents.rope(path)) else {
                    return;
                };
                let last = rope.len_lines().max(1);
                let line = match line {
                    crate::tui::editor::substitute::LineSpec::Number(n) => n.max(1),
                    crate::tui::editor::substitute::LineSpec::Current => {
                        return;
                    }
                    crate::tui::editor::substitute::LineSpec::Last => last,
                };
                let command = crate::tui::keymap::Command {
                    count: Some(line),
                    operator: None,
                    action: Action::MoveFileStart,
                    argument: None,
                };
                self.editor_input(EditorInput::Command(command), documents, commands);
            }
            ExCommand::Substitute(request) => {
                self.editor_input(EditorInput::Substitute(request), documents, commands);
                if let Some(replacement) = self
                    .editor()
                    .and_then(Editor::substitute_replacement)
                    .map(str::to_owned)
                {
                    self.compositor
                        .push(Box::new(SubstituteConfirm::new(&replacement)));
                }
            }
        }
    }
}
