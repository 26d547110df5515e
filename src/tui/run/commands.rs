//! Carrying out what the UI asks for ([`AppCommand`]): edits through the session, opening,
//! saving, closing, the clipboard, following, the host's controls, search and quitting.

use super::event_loop::ParticipantLoop;
use crate::client::session::SessionError;
use crate::host_control::HostCommand;
use crate::protocol::control::ToRelay;
use crate::text::Operation;
use crate::tui::app::DocumentTexts;
use crate::tui::compositor::AppCommand;
use crate::tui::status::Level;
use crate::tui::terminal::osc52_copy;

impl ParticipantLoop {
    pub(super) async fn command(&mut self, command: AppCommand) {
        match command {
            AppCommand::Edit { path, operation } => self.edit(&path, operation),
            AppCommand::Open(path) => self.open(path),
            AppCommand::Ask(ask) => self.intel.ask(ask, &mut self.session),
            // The app opens definitions itself; a GoTo reaching here only needs the file.
            AppCommand::GoTo { path, .. } => self.open(path),
            AppCommand::Save(path) => self.save(&path),
            AppCommand::Close(path) => {
                self.session.close_document(&path);
                self.opening.remove(&path);
            }
            AppCommand::CopyToClipboard(text) => self.to_terminal.extend(osc52_copy(&text)),
            AppCommand::Presence { .. } => self.view_changed(),
            AppCommand::Follow(leader) => {
                self.follow(leader).await;
            }
            AppCommand::StopFollowing => {
                self.connection
                    .control(&ToRelay::Follow { leader: None })
                    .await;
                self.view_changed();
            }
            AppCommand::Host(command) => self.host_control(command).await,
            AppCommand::IgnoreFiles { adopt } => self.ignore_files_answered(adopt).await,
            AppCommand::ToggleTerminal => self.toggle_terminal(),
            AppCommand::CloseTerminal => self.ask_to_close_terminal(),
            AppCommand::CloseTerminalAnswer { id, end } => {
                self.close_terminal_answered(id, end).await
            }
            // The app carries these out itself: a person's menu, an action from the palette.
            AppCommand::ManagePerson(_) | AppCommand::RunAction(_) => {}
            command @ (AppCommand::WorkspaceSearch(_)
            | AppCommand::CancelSearch
            | AppCommand::WorkspaceSymbols(_)
            | AppCommand::SearchPreview(_)
            | AppCommand::WorkspaceReplace(_)
            | AppCommand::FileOperation(_)) => {
                let _ = self
                    .panels
                    .command(command, &mut self.session, &mut self.app);
            }
            AppCommand::ChangedFiles => self.git.ask_status(&mut self.session, true),
            AppCommand::ForceQuit => {
                if self.ended.is_some() {
                    self.keep_copies();
                }
                self.quit = true;
            }
            AppCommand::Quit => self.quit_asked().await,
        }
    }

    /// A local edit: the session applies it (or refuses), then the screen shows it.
    fn edit(&mut self, path: &str, operation: Operation) {
        let Some(before) = self.session.rope(path).cloned() else {
            return;
        };
        match self.session.local_edit(path, operation.clone()) {
            Ok(()) => {
                if !self.connection.is_ready() && self.ended.is_none() {
                    self.edits_while_away += 1;
                    self.show_reconnecting();
                }
                if let Some(after) = self.session.rope(path) {
                    self.app
                        .local_edit_applied(path, &before, &operation, after);
                }
                self.map_cursors(path, &operation, None);
            }
            Err(SessionError::ReadOnly) => self.app.message(
                Level::Warning,
                "you are read-only in this session; the host decides who may edit",
            ),
            Err(error) => self.app.message(Level::Error, error.to_string()),
        }
    }

    /// Saves on the host, or, once the session ended, to the recovery folder.
    fn save(&mut self, path: &str) {
        match (&self.ended, self.session.rope(path)) {
            (Some(folder), Some(text)) => match crate::recovery::keep(folder, path, text) {
                Ok(kept) => {
                    self.app.set_saved(path, None);
                    self.app.message(
                        Level::Info,
                        format!("saved a local copy: {}", kept.display()),
                    );
                }
                Err(error) => self.app.message(
                    Level::Error,
                    format!("cannot save a local copy of {path}: {error}"),
                ),
            },
            _ => {
                self.session.save(path);
                self.app.message(Level::Info, format!("saving {path}…"));
            }
        }
    }

    /// Quits, unless that would lose edits the host has not confirmed (or, for the host,
    /// end the session with unsaved files or people in it): then asks again first.
    async fn quit_asked(&mut self) {
        if self.ended.is_some() {
            self.keep_copies();
            self.quit = true;
            return;
        }
        let unsent = self
            .session
            .documents
            .keys()
            .filter(|path| !self.session.is_synced(path))
            .count();
        if self.quit_armed || unsent == 0 && self.host.is_none() {
            self.quit = true;
        } else if unsent == 0 {
            // The host's leaving ends the session: first see what it would lose.
            self.host_command(HostCommand::CheckUnsaved).await;
        } else {
            // Quitting now would lose them: the host has not confirmed them yet.
            self.quit_armed = true;
            self.app.message(
                Level::Warning,
                format!(
                    "{unsent} file(s) have edits the host has not confirmed yet; quit again to lose them"
                ),
            );
        }
    }

    pub(super) fn open(&mut self, path: String) {
        if let Some(document) = self.session.documents.get(&path) {
            let read_only = document.read_only;
            self.app.open_document(&path, &document.rope, read_only);
            self.view_changed();
        } else if self.opening.insert(path.clone()) {
            self.session.open_document(&path);
        }
    }
}
