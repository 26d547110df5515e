//! What arrives from the network: events, others' edits and presence, and the host's
//! confirmations, applied to the documents and turned into `SessionEvent`s.

use super::*;

impl Session {
    /// Takes in one message from the network.
    pub fn handle(&mut self, header: &Header, message: Message) {
        let from = header.sender;
        match message {
            Message::Response { id, done, body } => self.on_response(id, done, body),
            Message::Edit(edit) => self.on_edit(edit),
            Message::Presence(presence) => {
                let newer = [self.presence.get(&from), self.held_presence.get(&from)]
                    .into_iter()
                    .flatten()
                    .all(|old| presence.seq > old.seq);
                if newer {
                    self.held_presence.remove(&from);
                    self.take_presence(from, presence);
                }
            }
            Message::Event(event) => self.on_event(from, event),
            Message::Terminal(terminal) => self.on_terminal(from, terminal),
            // Key updates are the driver's business (it owns the keys).
            Message::Hello(_)
            | Message::Welcome(_)
            | Message::Request { .. }
            | Message::KeyUpdate(_) => {}
        }
    }

    pub(super) fn on_event(&mut self, from: ParticipantId, event: Event) {
        match event {
            Event::MemberJoined(member) => {
                self.members.insert(member.participant, member);
                self.events.push_back(SessionEvent::MembersChanged);
            }
            Event::MemberLeft { participant } => {
                self.members.remove(&participant);
                self.presence.remove(&participant);
                self.held_presence.remove(&participant);
                self.events.push_back(SessionEvent::MembersChanged);
            }
            Event::RoleChanged { participant, role } if from == HOST_ID => {
                if let Some(member) = self.members.get_mut(&participant) {
                    member.role = role;
                }
                if participant == self.me.participant {
                    self.me.role = role;
                    for document in self.documents.values_mut() {
                        document.read_only = role == Role::ReadOnly;
                    }
                }
                self.events.push_back(SessionEvent::MembersChanged);
            }
            // "Follow me" goes to everyone, the host's own editor included: its leader
            // does not follow itself.
            Event::FollowMe { leader } if from == HOST_ID && leader != self.me.participant => {
                self.events.push_back(SessionEvent::FollowMe { leader });
            }
            Event::FollowMe { .. } => {}
            Event::Notice { message } => self.events.push_back(SessionEvent::Notice { message }),
            Event::Saved { path, revision, by } => {
                if let Some(document) = self.documents.get_mut(&path) {
                    document.saved_revision = Some(revision);
                }
                self.events.push_back(SessionEvent::Saved {
                    path,
                    revision,
                    by: Some(by),
                });
            }
            Event::Unsaved { path, unsaved, .. } => {
                if let Some(document) = self.documents.get_mut(&path) {
                    document.unsaved = unsaved;
                    self.events.push_back(SessionEvent::Unsaved { path });
                }
            }
            Event::FileRenamed { from: old, to } => {
                self.follow_rename(&old, &to);
                self.events
                    .push_back(SessionEvent::Host(Event::FileRenamed { from: old, to }));
            }
            other => self.events.push_back(SessionEvent::Host(other)),
        }
    }

    pub(super) fn on_edit(&mut self, edit: EditMessage) {
        match edit {
            EditMessage::Applied { edits } => {
                for AppliedEdit { path, edit, by } in edits {
                    if let Some(waiting) = self.catching_up.get_mut(&path) {
                        waiting.push(Arrived::Edit(edit));
                    } else if let Some(loading) = self.loading.get_mut(&path) {
                        loading.waiting.push(edit);
                    } else {
                        self.on_remote(&path, edit, Some(by));
                    }
                }
            }
            EditMessage::Acknowledged { path, id, revision } => {
                if let Some(waiting) = self.catching_up.get_mut(&path) {
                    waiting.push(Arrived::Acknowledged { id, revision });
                } else {
                    self.on_acknowledged(&path, id, revision);
                }
            }
            EditMessage::Refused { path, reason, .. } => self.resync(&path, reason),
            EditMessage::Submit { .. } => {}
        }
    }

    /// The host acknowledged our edit `id` as `revision` (a resend it already had).
    pub(super) fn on_acknowledged(&mut self, path: &str, id: crate::text::EditId, revision: u64) {
        let Some(document) = self.documents.get_mut(path) else {
            return;
        };
        match document.ot.on_ack(id, revision) {
            Ok(Some(submission)) => self.outbox.push_back((
                Route::Host,
                Message::Edit(EditMessage::Submit {
                    path: path.to_string(),
                    submission,
                }),
            )),
            Ok(None) => {
                self.send_saves_waiting_for(path);
                self.events.push_back(SessionEvent::Synced {
                    path: path.to_string(),
                });
            }
            Err(e) => self.cannot_follow(path, e),
        }
    }

    /// One of the host's sequenced edits to `path`.
    /// Applies a sequenced edit from the host; `by` is its typist when known.
    pub(super) fn on_remote(
        &mut self,
        path: &str,
        edit: crate::text::RemoteEdit,
        by: Option<ParticipantId>,
    ) {
        let Some(document) = self.documents.get_mut(path) else {
            return;
        };
        let (revision, op) = (edit.revision, edit.op.clone());
        let outcome = document.ot.on_remote(edit);
        if let Ok(RemoteOutcome::Apply(_) | RemoteOutcome::Confirmed { .. }) = outcome {
            document.log.record(revision, op);
        }
        self.apply_outcome(path, outcome, by);
        self.release_presence(path);
    }

    /// Takes in someone's presence with its positions in our text, or holds it until we
    /// have the revision it refers to.
    pub(super) fn take_presence(&mut self, from: ParticipantId, mut presence: Presence) {
        if let Some(document) = presence
            .path
            .as_ref()
            .and_then(|path| self.documents.get(path))
        {
            match localize(
                &presence.selections,
                presence.revision,
                &document.log,
                &document.ot,
            ) {
                Localized::Here(selections) => presence.selections = selections,
                Localized::Ahead => {
                    self.held_presence.insert(from, presence);
                    return;
                }
            }
        }
        self.presence.insert(from, presence);
        self.events
            .push_back(SessionEvent::PresenceChanged { participant: from });
    }

    /// Our copy of `path` moved on (or was opened): presence waiting for it may go.
    pub(super) fn release_presence(&mut self, path: &str) {
        let revision = self.documents.get(path).map(|d| d.ot.revision());
        let ready: Vec<ParticipantId> = self
            .held_presence
            .iter()
            .filter(|(_, p)| {
                p.path.as_deref() == Some(path) && revision.is_none_or(|r| p.revision <= r)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            if let Some(presence) = self.held_presence.remove(&id) {
                self.take_presence(id, presence);
            }
        }
    }

    pub(super) fn apply_outcome(
        &mut self,
        path: &str,
        outcome: Result<RemoteOutcome, OtError>,
        by: Option<ParticipantId>,
    ) {
        let Some(document) = self.documents.get_mut(path) else {
            return;
        };
        match outcome {
            Ok(RemoteOutcome::Apply(op)) => {
                let before = document.rope.clone();
                if let Err(e) = op.apply(&mut document.rope) {
                    self.resync(path, e.to_string());
                    return;
                }
                self.events.push_back(SessionEvent::RemoteEdit {
                    path: path.to_string(),
                    before,
                    op,
                    by,
                });
            }
            Ok(RemoteOutcome::Confirmed { send }) => match send {
                Some(submission) => self.outbox.push_back((
                    Route::Host,
                    Message::Edit(EditMessage::Submit {
                        path: path.to_string(),
                        submission,
                    }),
                )),
                None => {
                    self.send_saves_waiting_for(path);
                    self.events.push_back(SessionEvent::Synced {
                        path: path.to_string(),
                    });
                }
            },
            Ok(RemoteOutcome::AlreadySeen) => {}
            Err(e) => self.cannot_follow(path, e),
        }
    }

    /// Our copy of `path` could not take what the host sent. Missed edits are asked for
    /// (our copy and unconfirmed edits stay); anything else means the copy no longer
    /// matches the host's, and it is loaded again.
    fn cannot_follow(&mut self, path: &str, error: OtError) {
        match error {
            OtError::MissedEdits { synced, received } => {
                tracing::info!(
                    path,
                    synced,
                    received,
                    "edits were missed; asking the host for them"
                );
                self.catch_up(path);
            }
            other => self.resync(path, other.to_string()),
        }
    }

    /// Our copy can no longer follow the host's: drop it and open the document again.
    /// Unacknowledged local edits are lost, and the user is told so.
    pub(super) fn resync(&mut self, path: &str, reason: String) {
        if self.documents.remove(path).is_some() {
            self.events.push_back(SessionEvent::EditRefused {
                path: path.to_string(),
                reason,
            });
            self.open_document(path);
            // Our unconfirmed edits are gone: a save waiting for them saves what is there.
            self.send_saves_waiting_for(path);
        }
    }

    /// Sends the saves of `path` that waited for our edits to be confirmed.
    pub(super) fn send_saves_waiting_for(&mut self, path: &str) {
        let (due, waiting) = std::mem::take(&mut self.saves_after_sync)
            .into_iter()
            .partition(|(waiting_path, _)| waiting_path == path);
        self.saves_after_sync = waiting;
        for (path, id) in due {
            self.pending
                .entry(id)
                .or_insert_with(|| Pending::Save { path: path.clone() });
            self.outbox.push_back((
                Route::Host,
                Message::Request {
                    id,
                    body: Request::Save { path },
                },
            ));
        }
    }
}

/// `path` after `from` (a file, or a folder with everything under it) became `to`.
pub fn renamed_path(path: &str, from: &str, to: &str) -> Option<String> {
    if path == from {
        return Some(to.to_owned());
    }
    let rest = path.strip_prefix(from)?.strip_prefix('/')?;
    Some(format!("{to}/{rest}"))
}

impl Session {
    /// A file or folder was renamed on the host: our documents of it (open, loading,
    /// being caught up or saved) are known by their new paths from now on.
    fn follow_rename(&mut self, from: &str, to: &str) {
        fn rekey<T>(map: &mut HashMap<String, T>, from: &str, to: &str) {
            let moved: Vec<String> = map
                .keys()
                .filter(|path| renamed_path(path, from, to).is_some())
                .cloned()
                .collect();
            for path in moved {
                if let (Some(value), Some(new)) = (map.remove(&path), renamed_path(&path, from, to))
                {
                    map.insert(new, value);
                }
            }
        }
        rekey(&mut self.documents, from, to);
        rekey(&mut self.loading, from, to);
        rekey(&mut self.catching_up, from, to);
        for pending in self.pending.values_mut() {
            if let Pending::Open { path, .. } | Pending::CatchUp { path } | Pending::Save { path } =
                pending
                && let Some(new) = renamed_path(path, from, to)
            {
                *path = new;
            }
        }
        for (path, _) in &mut self.saves_after_sync {
            if let Some(new) = renamed_path(path, from, to) {
                *path = new;
            }
        }
    }
}
