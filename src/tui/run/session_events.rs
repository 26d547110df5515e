//! What the session tells the loop (documents opened and edited, saves, people and their
//! presence, answers to requests, the host's messages), shown by the UI.

use tokio::time::Instant;

use super::event_loop::ParticipantLoop;
use crate::client::session::SessionEvent;
use crate::protocol::ParticipantId;
use crate::protocol::message::{self, RequestId, Response};
use crate::tui::app::DocumentTexts;
use crate::tui::compositor::AppCommand;
use crate::tui::editor::Selection;
use crate::tui::status::Level;

impl ParticipantLoop {
    pub(super) async fn session_event(&mut self, event: SessionEvent) {
        self.dirty |= !matches!(
            event,
            SessionEvent::Synced { .. } | SessionEvent::Response { .. }
        );
        match event {
            SessionEvent::DocumentOpened { path } => self.document_opened(&path),
            SessionEvent::DocumentLoading { path } => self.document_loading(&path),
            SessionEvent::RemoteEdit {
                path,
                before,
                op,
                by,
            } => {
                if let Some(after) = self.session.rope(&path) {
                    // Our own edit comes back as an acknowledgement, never as this: an
                    // edit by us that we did not type is the host's for our rename,
                    // code action or format.
                    let made_for_me = by == Some(self.session.me.participant);
                    self.app.host_edit(&path, &before, &op, after, made_for_me);
                }
                self.map_cursors(&path, &op, by);
            }
            SessionEvent::EditRefused { path, reason } => self.app.message(
                Level::Error,
                format!("{path}: the host refused an edit ({reason}); reloaded from the host"),
            ),
            SessionEvent::Saved { path, by, .. } => {
                self.app.set_saved(&path, by);
                self.app.set_modified(&path, self.session.is_unsaved(&path));
            }
            // Presence held back while our edits were unconfirmed may go now, and the
            // marker may change (on a Synced, only then is a redraw due).
            SessionEvent::Unsaved { path } | SessionEvent::Synced { path } => {
                if self.app.set_modified(&path, self.session.is_unsaved(&path)) {
                    self.dirty = true;
                }
            }
            SessionEvent::MembersChanged => self.members_changed().await,
            SessionEvent::PresenceChanged { participant } => {
                self.presence_changed(participant).await;
            }
            SessionEvent::FollowMe { leader } => {
                self.follow(leader).await;
            }
            SessionEvent::Notice { message } => self.app.message(Level::Info, message),
            SessionEvent::Response { id, done, body } => self.response(id, done, body),
            SessionEvent::Failed { what, message } => {
                self.opening.clear();
                self.app.message(Level::Error, format!("{what}: {message}"));
            }
            SessionEvent::Host(message) => self.host_message(message),
            SessionEvent::Terminal { id } => self.terminal_changed(id),
            SessionEvent::TerminalRefused { reason, .. } => self
                .app
                .message(Level::Warning, format!("terminal: {reason}")),
        }
    }

    fn document_opened(&mut self, path: &str) {
        self.opening.remove(path);
        self.git.ask_base(&mut self.session, path);
        if let Some(document) = self.session.documents.get(path) {
            self.app
                .open_document(path, &document.rope, document.read_only);
            self.app.set_modified(path, self.session.is_unsaved(path));
        }
        self.refresh_cursors();
        self.view_changed();
    }

    fn document_loading(&mut self, path: &str) {
        // Queued before the last piece arrived: the document is open by now.
        if self.session.documents.contains_key(path) {
            return;
        }
        let loading = self.session.loading(path);
        let percent = loading.and_then(|l| l.percent()).unwrap_or(0);
        self.app
            .document_loading(path, loading.map(|l| &l.rope), percent);
        if loading.is_none() {
            self.opening.remove(path);
        }
    }

    async fn members_changed(&mut self) {
        // Before the people panel forgets them: a leader whose connection dropped is
        // awaited, and followed again when back (under a new id).
        if let Some(name) = self
            .app
            .follow_mut()
            .track_leader(self.session.members.values())
        {
            self.app.leader_away(&name);
        }
        let session = &self.session;
        self.cursors
            .retain(|id, _| session.presence.contains_key(id));
        self.extra_cursors
            .retain(|id, _| session.presence.contains_key(id));
        self.refresh_people();
        self.try_follow().await;
        // Newcomers learn where everyone is without waiting for them to move.
        self.presence.tell_everyone();
    }

    async fn presence_changed(&mut self, participant: ParticipantId) {
        let cursor = self.session.presence.get(&participant).and_then(|p| {
            let (anchor, head) = p.selections.first().copied()?;
            Some((p.path.clone()?, Selection { anchor, head }))
        });
        let extras: Vec<Selection> = self
            .session
            .presence
            .get(&participant)
            .map(|p| {
                p.selections
                    .iter()
                    .skip(1)
                    .map(|&(anchor, head)| Selection { anchor, head })
                    .collect()
            })
            .unwrap_or_default();
        self.extra_cursors.insert(participant, extras);
        match cursor {
            Some(cursor) => self.cursors.insert(participant, cursor),
            None => self.cursors.remove(&participant),
        };
        self.refresh_people();
        if self.app.following() == Some(participant) {
            self.leader_moved(participant).await;
        }
    }

    /// An answer to one of our requests, handed to whoever asked.
    fn response(&mut self, id: RequestId, done: bool, body: Response) {
        if Some(id) == self.files_request {
            self.files_listed(done, body);
        } else if self.panels.owns(id) {
            self.dirty = true;
            let created = self
                .panels
                .response(id, done, body, &mut self.session, &mut self.app);
            if let Some(path) = created {
                self.open(path);
            }
        } else if self.intel.owns(id) {
            self.intel_answered(id, body);
        } else if self.git.owns(id) {
            self.dirty = true;
            self.git
                .answer(id, done, body, &mut self.session, &mut self.app);
        } else if let Response::Pong = body {
            self.pong(id);
        }
    }

    fn files_listed(&mut self, done: bool, body: Response) {
        match body {
            Response::Files(batch) => {
                self.files_progress = tokio::time::Instant::now();
                self.files.extend(batch.into_iter().map(|file| file.path));
            }
            Response::Error { message } => self.app.message(
                Level::Error,
                format!("cannot list the shared files: {message}"),
            ),
            _ => {}
        }
        if done {
            self.dirty = true;
            self.files_request = None;
            self.app.set_files(std::mem::take(&mut self.files));
        }
    }

    fn intel_answered(&mut self, id: RequestId, body: Response) {
        let Some((ask, body)) = self.intel.answer(id, body) else {
            return;
        };
        if ask.kind == crate::tui::popup::AskKind::InlayHints {
            self.inlay_hints_answered(&ask.path, body);
            self.dirty = true;
            return;
        }
        if ask.kind == crate::tui::popup::AskKind::SemanticTokens {
            self.semantic_tokens_answered(&ask.path, body);
            self.dirty = true;
            return;
        }
        for command in self.app.intel_answer(&ask, body, &self.session) {
            if let AppCommand::Open(path) = command {
                self.open(path);
            }
        }
        self.dirty = true;
    }

    /// The host's repository moved (or our questions were lost): the branch, and the
    /// base of every open document, again.
    pub(super) fn ask_git_again(&mut self) {
        self.git.ask_status(&mut self.session, false);
        let open: Vec<String> = self.session.documents.keys().cloned().collect();
        for path in open {
            self.git.ask_base(&mut self.session, &path);
        }
    }

    fn pong(&mut self, id: RequestId) {
        let shown = self.round_trip.latest();
        if self.round_trip.answered(id, Instant::now().into_std()) {
            self.presence.tell_everyone();
        }
        if self.round_trip.latest() != shown {
            self.refresh_people();
        }
    }

    fn host_message(&mut self, event: message::Event) {
        match event {
            message::Event::Diagnostics { path, items, .. } => {
                self.app.set_diagnostics(&path, items);
            }
            // Files were created, deleted or renamed on the host: list them again, so the
            // picker and the tree show what `cotype ls` would.
            message::Event::FilesChanged => self.ask_for_files(),
            message::Event::FileDeleted { path }
                if self.session.documents.keys().any(|open| {
                    crate::client::session::renamed_path(open, &path, "").is_some()
                }) =>
            {
                self.app.message(
                    Level::Warning,
                    format!("{path} was deleted on the host; its tab keeps the text, and saving writes it again"),
                );
            }
            message::Event::FileRenamed { from, to } => {
                self.app.rename_tabs(&from, &to);
                // The gutter's base was the old path's: ask under the new one.
                self.ask_git_again();
            }
            message::Event::GitChanged => self.ask_git_again(),
            event => tracing::debug!("host event not shown: {event:?}"),
        }
    }
}
