//! A participant's session state, with no I/O: documents as ropes with their OT state,
//! members, presence, and the requests in flight.
//!
//! The owner (the TUI's event loop, a headless command, the demo's partner) feeds it what
//! arrives (`handle`), calls it for local actions (`open_document`, `local_edit`, `save`,
//! `request`), sends what it queued (`take_outbox`) and reacts to what changed
//! (`next_event`). Keeping it synchronous means a local edit is applied to the rope and
//! to the OT state in one step, with no network event in between.

use std::collections::{BTreeMap, HashMap, VecDeque};

use ropey::Rope;

use crate::client::presence::{EditLog, Localized, localize};
use crate::protocol::header::{Header, Route};
use crate::protocol::message::{
    AppliedEdit, EditMessage, Event, FileEntry, Member, Message, Presence, Request, RequestId,
    Response, Role,
};
use crate::protocol::{HOST_ID, ParticipantId};
use crate::text::{Client, Operation, OtError, RemoteOutcome};

/// One open document.
pub struct ClientDocument {
    pub rope: Rope,
    pub ot: Client,
    pub read_only: bool,
    /// The revision last saved on the host, if known.
    pub saved_revision: Option<u64>,
    /// The host's word on whether the shared text differs from its disk (`Event::Unsaved`).
    pub unsaved: bool,
    /// The host's last edits, to map the others' presence from the revision they sent it at.
    pub log: EditLog,
}

/// A document whose text is still arriving: shown as far as it came, never edited. Its
/// OT state starts only with the complete text, whose revision is the one the pieces
/// carry, so no edit can apply to half a document.
pub struct LoadingDocument {
    /// The pieces so far, appended as they come: a large file is never held twice.
    pub rope: Rope,
    pub received_bytes: u64,
    /// The whole text's length, when the host announced it.
    pub total_bytes: Option<u64>,
    /// Edits the host sent while the text was still arriving, applied once it is whole.
    waiting: Vec<crate::text::RemoteEdit>,
}

impl LoadingDocument {
    fn new() -> Self {
        LoadingDocument {
            rope: Rope::new(),
            received_bytes: 0,
            total_bytes: None,
            waiting: Vec::new(),
        }
    }

    /// How much has arrived, 0 to 99 (100 is an open document), if the length is known.
    pub fn percent(&self) -> Option<u8> {
        let total = self.total_bytes.filter(|&total| total > 0)?;
        Some((self.received_bytes.saturating_mul(100) / total).min(99) as u8)
    }
}

/// What changed, for whoever draws or scripts the session.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionEvent {
    DocumentOpened {
        path: String,
    },
    /// More of a document being opened arrived (sent for the first piece and whenever the
    /// percentage changes); see [`Session::loading`]. If it no longer is loading and not
    /// open either, opening it failed (a `Failed` event says why).
    DocumentLoading {
        path: String,
    },
    /// Someone else's edit was applied: `before` is the text it applied to; `by` typed
    /// it, when known (not for edits caught up after a reconnect).
    RemoteEdit {
        path: String,
        before: Rope,
        op: Operation,
        by: Option<ParticipantId>,
    },
    /// The host refused one of our edits; the document was reloaded.
    EditRefused {
        path: String,
        reason: String,
    },
    /// All our edits to `path` are acknowledged.
    Synced {
        path: String,
    },
    Saved {
        path: String,
        revision: u64,
        /// Who saved it: `None` for our own save's answer.
        by: Option<ParticipantId>,
    },
    /// Whether `path` is unsaved may have changed (`Session::is_unsaved`).
    Unsaved {
        path: String,
    },
    MembersChanged,
    PresenceChanged {
        participant: ParticipantId,
    },
    FollowMe {
        leader: ParticipantId,
    },
    Notice {
        message: String,
    },
    /// A response to a request made through `request`.
    Response {
        id: RequestId,
        done: bool,
        body: Response,
    },
    /// A request made by the session itself failed (e.g. opening a document).
    Failed {
        what: String,
        message: String,
    },
    /// Any other event from the host (diagnostics, files changed on disk…).
    Host(Event),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("{0} is not open")]
    NotOpen(String),
    #[error("you are read-only in this session")]
    ReadOnly,
    #[error("{0} is still loading; edit it once all of it has arrived")]
    Loading(String),
    #[error("the edit does not fit the document: {0}")]
    Edit(#[from] OtError),
}

enum Pending {
    /// The text so far is in `Session::loading`.
    Open {
        path: String,
        revision: u64,
        read_only: bool,
    },
    CatchUp {
        path: String,
    },
    Save {
        path: String,
    },
    /// Made through `request`: responses go to the owner as events.
    Owner,
}

pub struct Session {
    pub me: Member,
    pub members: BTreeMap<ParticipantId, Member>,
    pub documents: HashMap<String, ClientDocument>,
    /// Documents being opened whose text is still arriving (not in `documents` yet).
    loading: HashMap<String, LoadingDocument>,
    /// The others' last presence. Positions in a document we have open are in our text
    /// as it was when the presence was taken in (see `client::presence`); the owner
    /// carries them over later edits.
    pub presence: HashMap<ParticipantId, Presence>,
    /// Presence that refers to a revision of its document we have not received yet.
    held_presence: HashMap<ParticipantId, Presence>,
    pub files: Vec<FileEntry>,
    /// The instance id our edits carry; kept across reconnects so resends are recognised.
    instance: [u8; 16],
    pending: HashMap<RequestId, Pending>,
    next_request: RequestId,
    outbox: VecDeque<(Route, Message)>,
    events: VecDeque<SessionEvent>,
    /// Edits that arrived while a catch-up for their document was in flight; applied
    /// after it, in order (the ones the catch-up already contained are recognised).
    catching_up: HashMap<String, Vec<crate::text::RemoteEdit>>,
    /// Saves asked for while our edits to the file were unconfirmed: sent once the host
    /// has them all, so a save never writes less than what we typed before it.
    saves_after_sync: Vec<(String, RequestId)>,
}

impl Session {
    pub fn new(me: Member, members: Vec<Member>) -> Self {
        let mut instance = [0u8; 16];
        rand::fill(&mut instance);
        Session {
            members: members.into_iter().map(|m| (m.participant, m)).collect(),
            me,
            documents: HashMap::new(),
            loading: HashMap::new(),
            presence: HashMap::new(),
            held_presence: HashMap::new(),
            files: Vec::new(),
            instance,
            pending: HashMap::new(),
            next_request: 1,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            catching_up: HashMap::new(),
            saves_after_sync: Vec::new(),
        }
    }

    /// Queues a notice for the user (from outside the session: the driver, the UI).
    pub fn push_notice(&mut self, message: String) {
        self.events.push_back(SessionEvent::Notice { message });
    }

    pub fn next_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Messages queued for the relay, oldest first.
    pub fn take_outbox(&mut self) -> Vec<(Route, Message)> {
        self.outbox.drain(..).collect()
    }

    pub fn has_outbox(&self) -> bool {
        !self.outbox.is_empty()
    }

    fn send_request(&mut self, body: Request, pending: Pending) -> RequestId {
        let id = self.next_request;
        self.next_request += 1;
        self.pending.insert(id, pending);
        self.outbox
            .push_back((Route::Host, Message::Request { id, body }));
        id
    }

    /// Sends a request whose responses arrive as `SessionEvent::Response`.
    pub fn request(&mut self, body: Request) -> RequestId {
        self.send_request(body, Pending::Owner)
    }

    /// Sends a typed request; read its answers with `client::request::answer::<R>`.
    pub fn ask<R: crate::client::request::HostRequest>(&mut self, request: R) -> RequestId {
        self.request(request.into_request())
    }

    pub fn open_document(&mut self, path: &str) -> RequestId {
        // Opening again (e.g. after a reconnect) starts the text over.
        self.loading.remove(path);
        self.send_request(
            Request::OpenDocument {
                path: path.to_string(),
            },
            Pending::Open {
                path: path.to_string(),
                revision: 0,
                read_only: false,
            },
        )
    }

    /// A document being opened whose text is still arriving, as far as it came.
    pub fn loading(&self, path: &str) -> Option<&LoadingDocument> {
        self.loading.get(path)
    }

    pub fn close_document(&mut self, path: &str) {
        if self.documents.remove(path).is_some() {
            self.request(Request::CloseDocument {
                path: path.to_string(),
            });
        }
    }

    pub fn save(&mut self, path: &str) -> RequestId {
        if self.documents.get(path).is_some_and(|d| d.ot.has_pending()) {
            let id = self.next_request;
            self.next_request += 1;
            self.pending.insert(
                id,
                Pending::Save {
                    path: path.to_string(),
                },
            );
            self.saves_after_sync.push((path.to_string(), id));
            return id;
        }
        self.send_request(
            Request::Save {
                path: path.to_string(),
            },
            Pending::Save {
                path: path.to_string(),
            },
        )
    }

    /// Applies our own edit at once and queues it for the host.
    pub fn local_edit(&mut self, path: &str, op: Operation) -> Result<(), SessionError> {
        let document = self.documents.get_mut(path).ok_or_else(|| {
            if self.loading.contains_key(path) {
                SessionError::Loading(path.to_string())
            } else {
                SessionError::NotOpen(path.to_string())
            }
        })?;
        if document.read_only {
            return Err(SessionError::ReadOnly);
        }
        op.apply(&mut document.rope)?;
        if let Some(submission) = document.ot.local_edit(op)? {
            self.outbox.push_back((
                Route::Host,
                Message::Edit(EditMessage::Submit {
                    path: path.to_string(),
                    submission,
                }),
            ));
        }
        Ok(())
    }

    /// Queues our presence (cursor, selection, view) for `route`. The owner decides how
    /// often: presence is advisory, so a throttled stream loses nothing that matters.
    pub fn send_presence(&mut self, route: Route, presence: Presence) {
        self.outbox.push_back((route, Message::Presence(presence)));
    }

    /// Whether every edit we made to `path` has been acknowledged by the host.
    /// Whether `path` shows as unsaved (`[+]`): its shared text differs from the host's
    /// disk, or it holds our edits the host has not confirmed yet. The same for everyone
    /// once the host has confirmed them.
    pub fn is_unsaved(&self, path: &str) -> bool {
        self.documents
            .get(path)
            .is_some_and(|d| d.unsaved || d.ot.has_pending())
    }

    pub fn is_synced(&self, path: &str) -> bool {
        self.documents
            .get(path)
            .is_some_and(|d| !d.ot.has_pending())
    }

    pub fn role(&self) -> Role {
        self.me.role
    }

    /// After a reconnect: our participant id changed; catch up on every open document and
    /// resend what the host has not acknowledged (it ignores what it already applied).
    pub fn reconnected(&mut self, me: Member, members: Vec<Member>) {
        self.me = me;
        self.members = members.into_iter().map(|m| (m.participant, m)).collect();
        self.presence.clear();
        self.held_presence.clear();
        self.resynchronize();
        self.events.push_back(SessionEvent::MembersChanged);
    }

    /// After our connection or the host's came back: repeat the requests that were in
    /// flight, catch up every open document and resend unacknowledged edits.
    pub fn resynchronize(&mut self) {
        // What was queued for the old connection is sent again below or after the
        // catch-up; cleared first, so the requests repeated here do go out.
        self.outbox.clear();
        // Requests in flight died with the old connection.
        let stale: Vec<RequestId> = self.pending.keys().copied().collect();
        for id in stale {
            if let Some(Pending::Open { path, .. }) = self.pending.remove(&id) {
                self.open_document(&path);
            }
        }
        let paths: Vec<(String, u64)> = self
            .documents
            .iter()
            .map(|(path, d)| (path.clone(), d.ot.revision()))
            .collect();
        for (path, revision) in paths {
            self.catching_up.insert(path.clone(), Vec::new());
            self.send_request(
                Request::CatchUp {
                    path: path.clone(),
                    revision,
                },
                Pending::CatchUp { path },
            );
        }
    }

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
            // Key updates are the driver's business (it owns the keys).
            Message::Hello(_)
            | Message::Welcome(_)
            | Message::Request { .. }
            | Message::KeyUpdate(_) => {}
        }
    }

    fn on_event(&mut self, from: ParticipantId, event: Event) {
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
            other => self.events.push_back(SessionEvent::Host(other)),
        }
    }

    fn on_edit(&mut self, edit: EditMessage) {
        match edit {
            EditMessage::Applied { edits } => {
                for AppliedEdit { path, edit, by } in edits {
                    if let Some(waiting) = self.catching_up.get_mut(&path) {
                        waiting.push(edit);
                    } else if let Some(loading) = self.loading.get_mut(&path) {
                        loading.waiting.push(edit);
                    } else {
                        self.on_remote(&path, edit, Some(by));
                    }
                }
            }
            EditMessage::Acknowledged { path, id, revision } => {
                let Some(document) = self.documents.get_mut(&path) else {
                    return;
                };
                match document.ot.on_ack(id, revision) {
                    Ok(Some(submission)) => self.outbox.push_back((
                        Route::Host,
                        Message::Edit(EditMessage::Submit { path, submission }),
                    )),
                    Ok(None) => {
                        self.send_saves_waiting_for(&path);
                        self.events.push_back(SessionEvent::Synced { path });
                    }
                    Err(e) => self.resync(&path, e.to_string()),
                }
            }
            EditMessage::Refused { path, reason, .. } => self.resync(&path, reason),
            EditMessage::Submit { .. } => {}
        }
    }

    /// One of the host's sequenced edits to `path`.
    /// Applies a sequenced edit from the host; `by` is its typist when known.
    fn on_remote(&mut self, path: &str, edit: crate::text::RemoteEdit, by: Option<ParticipantId>) {
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
    fn take_presence(&mut self, from: ParticipantId, mut presence: Presence) {
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
    fn release_presence(&mut self, path: &str) {
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

    fn apply_outcome(
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
            Err(e) => self.resync(path, e.to_string()),
        }
    }

    /// Our copy can no longer follow the host's: drop it and open the document again.
    /// Unacknowledged local edits are lost, and the user is told so.
    fn resync(&mut self, path: &str, reason: String) {
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
    fn send_saves_waiting_for(&mut self, path: &str) {
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

    fn on_response(&mut self, id: RequestId, done: bool, body: Response) {
        let Some(pending) = self.pending.get_mut(&id) else {
            return;
        };
        match (pending, body) {
            (Pending::Owner, body) => {
                if done {
                    self.pending.remove(&id);
                }
                self.events
                    .push_back(SessionEvent::Response { id, done, body });
            }
            (Pending::Open { path, .. }, Response::DocumentLength { bytes }) => {
                let loading = self
                    .loading
                    .entry(path.clone())
                    .or_insert_with(LoadingDocument::new);
                loading.total_bytes = Some(bytes);
            }
            (
                Pending::Open {
                    path,
                    revision,
                    read_only,
                },
                Response::DocumentText {
                    revision: at,
                    text: piece,
                    read_only: ro,
                },
            ) => {
                *revision = at;
                *read_only = ro;
                let path = path.clone();
                let loading = self
                    .loading
                    .entry(path.clone())
                    .or_insert_with(LoadingDocument::new);
                let (first, before) = (loading.received_bytes == 0, loading.percent());
                loading.rope.append(Rope::from_str(&piece));
                loading.received_bytes += piece.len() as u64;
                if !done {
                    if first || loading.percent() != before {
                        self.events
                            .push_back(SessionEvent::DocumentLoading { path });
                    }
                    return;
                }
                let Some(Pending::Open {
                    revision,
                    read_only,
                    ..
                }) = self.pending.remove(&id)
                else {
                    return;
                };
                let Some(loaded) = self.loading.remove(&path) else {
                    return;
                };
                let document = ClientDocument {
                    rope: loaded.rope,
                    ot: Client::new(self.instance, revision),
                    read_only,
                    saved_revision: None,
                    unsaved: false,
                    log: EditLog::default(),
                };
                self.documents.insert(path.clone(), document);
                self.events
                    .push_back(SessionEvent::DocumentOpened { path: path.clone() });
                // Sent while the text was arriving; the ones it already holds are
                // recognised by their revision.
                for edit in loaded.waiting {
                    self.on_remote(&path, edit, None);
                }
                self.release_presence(&path);
            }
            (Pending::CatchUp { path }, Response::Edits(edits)) => {
                let path = path.clone();
                self.pending.remove(&id);
                let waiting = self.catching_up.remove(&path).unwrap_or_default();
                for edit in edits.into_iter().chain(waiting) {
                    if !self.documents.contains_key(&path) {
                        return;
                    }
                    self.on_remote(&path, edit, None);
                }
                if let Some(submission) = self
                    .documents
                    .get(&path)
                    .and_then(|d| d.ot.resend_after_reconnect())
                {
                    self.outbox.push_back((
                        Route::Host,
                        Message::Edit(EditMessage::Submit { path, submission }),
                    ));
                }
            }
            (Pending::Save { path }, Response::Saved { revision }) => {
                let path = path.clone();
                self.pending.remove(&id);
                if let Some(document) = self.documents.get_mut(&path) {
                    document.saved_revision = Some(revision);
                }
                self.events.push_back(SessionEvent::Saved {
                    path,
                    revision,
                    by: None,
                });
            }
            (pending, Response::Error { message }) => {
                let what = match pending {
                    Pending::Open { path, .. } => {
                        let path = path.clone();
                        if self.loading.remove(&path).is_some() {
                            self.events
                                .push_back(SessionEvent::DocumentLoading { path: path.clone() });
                        }
                        format!("opening {path}")
                    }
                    Pending::CatchUp { path } => {
                        let path = path.clone();
                        self.pending.remove(&id);
                        self.catching_up.remove(&path);
                        self.resync(&path, message);
                        return;
                    }
                    Pending::Save { path } => format!("saving {path}"),
                    Pending::Owner => unreachable!("handled above"),
                };
                self.pending.remove(&id);
                self.events
                    .push_back(SessionEvent::Failed { what, message });
            }
            (_, other) => {
                tracing::warn!("unexpected response {other:?}");
                self.pending.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::Kind;
    use crate::text::{EditId, RemoteEdit};

    const BEN: ParticipantId = 2;

    fn member(participant: ParticipantId, name: &str) -> Member {
        Member {
            participant,
            name: name.into(),
            role: Role::Editor,
            color: 0,
        }
    }

    fn from(sender: ParticipantId, kind: Kind) -> Header {
        Header {
            kind,
            route: Route::Everyone,
            epoch: 0,
            sender,
            instance: [0; 16],
            counter: 0,
        }
    }

    /// Ana's session with `main.rs` open at revision 4: "hello world".
    fn session_with_document() -> Session {
        let mut session = Session::new(member(1, "ana"), vec![member(BEN, "ben")]);
        let id = session.open_document("main.rs");
        session.handle(
            &from(HOST_ID, Kind::Response),
            Message::Response {
                id,
                done: true,
                body: Response::DocumentText {
                    revision: 4,
                    text: "hello world".into(),
                    read_only: false,
                },
            },
        );
        while session.next_event().is_some() {}
        session
    }

    /// A save asked for while our typing is still on its way waits for the host to confirm
    /// all of it: the host saves its text, which would otherwise miss the rest (seen in
    /// GNU screen: "// typed" saved as "/").
    #[test]
    fn a_save_waits_for_our_unconfirmed_edits() {
        let mut ana = session_with_document();
        ana.take_outbox();
        let requests = |outbox: &[(Route, Message)]| -> Vec<&'static str> {
            outbox
                .iter()
                .map(|(_, message)| match message {
                    Message::Edit(EditMessage::Submit { .. }) => "submit",
                    Message::Request {
                        body: Request::Save { .. },
                        ..
                    } => "save",
                    _ => "other",
                })
                .collect()
        };
        let insert = |at: usize, text: &str| Operation::insert(11 + at, 11 + at, text).unwrap();
        ana.local_edit("main.rs", insert(0, "/")).unwrap();
        ana.local_edit("main.rs", insert(1, "/")).unwrap();
        ana.save("main.rs");
        assert_eq!(requests(&ana.take_outbox()), ["submit"]);
        let ack = |ana: &mut Session, revision: u64| {
            let id = ana.documents["main.rs"]
                .ot
                .outstanding()
                .expect("an edit in flight")
                .id;
            ana.handle(
                &from(HOST_ID, Kind::Edit),
                Message::Edit(EditMessage::Acknowledged {
                    path: "main.rs".into(),
                    id,
                    revision,
                }),
            );
        };
        ack(&mut ana, 5);
        assert_eq!(
            requests(&ana.take_outbox()),
            ["submit"],
            "the second edit, not the save"
        );
        ack(&mut ana, 6);
        assert_eq!(requests(&ana.take_outbox()), ["save"]);
    }

    /// A document still being opened when the connection (ours or the host's) dropped is
    /// asked for again: the repeated request goes out, with nothing else left over.
    #[test]
    fn an_open_cut_short_by_a_lost_connection_is_asked_again() {
        let mut ana = Session::new(member(1, "ana"), vec![]);
        ana.open_document("big.txt");
        assert_eq!(ana.take_outbox().len(), 1, "the first request went out");
        ana.resynchronize();
        let outbox = ana.take_outbox();
        assert!(
            matches!(
                outbox.as_slice(),
                [(Route::Host, Message::Request { body: Request::OpenDocument { path }, .. })]
                    if path == "big.txt"
            ),
            "{outbox:?}"
        );
    }

    /// The host's "everyone follow me" reaches everyone, the host's own editor too: Ben
    /// is asked to follow; the leader is not asked to follow itself.
    #[test]
    fn follow_me_asks_everyone_but_the_leader() {
        let follow_me = |leader| Message::Event(Event::FollowMe { leader });
        let mut ana = session_with_document();
        ana.handle(&from(HOST_ID, Kind::Event), follow_me(1));
        let mut events = std::iter::from_fn(|| ana.next_event());
        assert!(
            !events.any(|event| matches!(event, SessionEvent::FollowMe { .. })),
            "the leader follows itself"
        );
        ana.handle(&from(HOST_ID, Kind::Event), follow_me(BEN));
        let mut events = std::iter::from_fn(|| ana.next_event());
        assert!(events.any(|event| matches!(event, SessionEvent::FollowMe { leader: BEN })));
    }

    fn bens_cursor(session: &mut Session, seq: u64, revision: u64, at: usize) {
        let presence = Presence {
            seq,
            path: Some("main.rs".into()),
            revision,
            selections: vec![(at, at)],
            scroll_line: 0,
            following: None,
            latency_ms: None,
        };
        session.handle(&from(BEN, Kind::Presence), Message::Presence(presence));
    }

    fn host_edit(session: &mut Session, revision: u64, op: Operation) {
        let edit = RemoteEdit {
            revision,
            author: EditId {
                instance: [7; 16],
                seq: revision,
            },
            op,
        };
        session.handle(
            &from(HOST_ID, Kind::Edit),
            Message::Edit(EditMessage::Applied {
                edits: vec![AppliedEdit {
                    path: "main.rs".into(),
                    edit,
                    by: HOST_ID,
                }],
            }),
        );
    }

    fn presence_events(session: &mut Session) -> usize {
        std::iter::from_fn(|| session.next_event())
            .filter(|event| matches!(event, SessionEvent::PresenceChanged { participant: BEN }))
            .count()
    }

    #[test]
    fn presence_from_an_older_revision_is_mapped_to_our_text() {
        let mut session = session_with_document();
        // Revision 5 puts "dear " before "world"; Ben's cursor, sent at revision 4 in
        // "wo|rld" (8), is still there: 13 in the host's text.
        host_edit(&mut session, 5, Operation::insert(11, 6, "dear ").unwrap());
        // And we typed "// " at the start, not yet confirmed: 16 in ours.
        session
            .local_edit("main.rs", Operation::insert(16, 0, "// ").unwrap())
            .unwrap();
        while session.next_event().is_some() {}
        bens_cursor(&mut session, 1, 4, 8);
        assert_eq!(presence_events(&mut session), 1);
        assert_eq!(session.presence[&BEN].selections, vec![(16, 16)]);
    }

    #[test]
    fn presence_from_a_newer_revision_waits_for_it() {
        let mut session = session_with_document();
        // Ben already has revision 5 ("hello dear world") and is after "dear " (11).
        bens_cursor(&mut session, 1, 5, 11);
        assert_eq!(presence_events(&mut session), 0, "held back");
        assert!(!session.presence.contains_key(&BEN));
        host_edit(&mut session, 5, Operation::insert(11, 6, "dear ").unwrap());
        assert_eq!(presence_events(&mut session), 1, "released with the edit");
        assert_eq!(session.presence[&BEN].selections, vec![(11, 11)]);
        assert_eq!(
            session.documents["main.rs"].rope.to_string(),
            "hello dear world"
        );
    }

    #[test]
    fn a_held_presence_is_replaced_by_a_newer_one() {
        let mut session = session_with_document();
        bens_cursor(&mut session, 1, 6, 3);
        bens_cursor(&mut session, 2, 4, 2);
        assert_eq!(presence_events(&mut session), 1, "the newer one, at once");
        assert_eq!(session.presence[&BEN].selections, vec![(2, 2)]);
        bens_cursor(&mut session, 1, 4, 9);
        assert_eq!(presence_events(&mut session), 0, "an older one is dropped");
    }

    #[test]
    fn a_remote_edit_says_who_typed_it() {
        let mut session = session_with_document();
        let edit = RemoteEdit {
            revision: 5,
            author: EditId {
                instance: [8; 16],
                seq: 1,
            },
            op: Operation::insert(11, 11, "!").unwrap(),
        };
        session.handle(
            &from(HOST_ID, Kind::Edit),
            Message::Edit(EditMessage::Applied {
                edits: vec![AppliedEdit {
                    path: "main.rs".into(),
                    edit,
                    by: BEN,
                }],
            }),
        );
        let typists: Vec<_> = std::iter::from_fn(|| session.next_event())
            .filter_map(|event| match event {
                SessionEvent::RemoteEdit { by, .. } => Some(by),
                _ => None,
            })
            .collect();
        assert_eq!(typists, [Some(BEN)]);
    }
}
