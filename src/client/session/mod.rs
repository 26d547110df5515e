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

mod incoming;
mod responses;
mod terminals;

pub use incoming::renamed_path;

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
    /// A shared terminal changed (`None`: who may type); see `Session::terminals`.
    Terminal {
        id: Option<crate::protocol::message::TerminalId>,
    },
    /// The host refused our keystrokes.
    TerminalRefused {
        id: crate::protocol::message::TerminalId,
        reason: String,
    },
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

/// A host edit message for a document that is catching up, kept for after the catch-up.
enum Arrived {
    Edit(crate::text::RemoteEdit),
    /// The host's acknowledgement of one of our edits: it may name a revision past the
    /// ones this copy has, which the catch-up is bringing.
    Acknowledged {
        id: crate::text::EditId,
        revision: u64,
    },
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
    pending: HashMap<RequestId, Pending>,
    next_request: RequestId,
    outbox: VecDeque<(Route, Message)>,
    events: VecDeque<SessionEvent>,
    /// What arrived for a document while a catch-up for it was in flight; taken after
    /// it, in order (the edits the catch-up already contained are recognised).
    catching_up: HashMap<String, Vec<Arrived>>,
    /// Saves asked for while our edits to the file were unconfirmed: sent once the host
    /// has them all, so a save never writes less than what we typed before it.
    saves_after_sync: Vec<(String, RequestId)>,
    /// Shared terminals: which exist, who may type, the screens we watch.
    pub terminals: crate::client::terminals::ClientTerminals,
}

impl Session {
    pub fn new(me: Member, members: Vec<Member>) -> Self {
        Session {
            members: members.into_iter().map(|m| (m.participant, m)).collect(),
            me,
            documents: HashMap::new(),
            loading: HashMap::new(),
            presence: HashMap::new(),
            held_presence: HashMap::new(),
            files: Vec::new(),
            pending: HashMap::new(),
            next_request: 1,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            catching_up: HashMap::new(),
            saves_after_sync: Vec::new(),
            terminals: Default::default(),
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

    /// Sends again, under the same id, a request of ours whose answer died with the
    /// host's old connection (`resynchronize` forgot it): for a caller still waiting.
    pub fn repeat_request(&mut self, id: RequestId, body: Request) {
        self.pending.insert(id, Pending::Owner);
        self.outbox
            .push_back((Route::Host, Message::Request { id, body }));
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
        let paths: Vec<String> = self.documents.keys().cloned().collect();
        for path in paths {
            self.catch_up(&path);
        }
        let rewatch = self.terminals.rewatch();
        self.send_terminal(rewatch);
    }

    /// Asks the host for the edits to `path` after the revision our copy has; what
    /// arrives for it meanwhile waits for the answer. Our copy and our unconfirmed edits
    /// stay: after the answer, the edit in flight is sent again (the host recognises it
    /// if it already has it).
    pub(super) fn catch_up(&mut self, path: &str) {
        let Some(revision) = self.documents.get(path).map(|d| d.ot.revision()) else {
            return;
        };
        let asked = self
            .pending
            .values()
            .any(|pending| matches!(pending, Pending::CatchUp { path: p } if p == path));
        if asked {
            return;
        }
        self.catching_up.insert(path.to_string(), Vec::new());
        self.send_request(
            Request::CatchUp {
                path: path.to_string(),
                revision,
            },
            Pending::CatchUp {
                path: path.to_string(),
            },
        );
    }
}

#[cfg(test)]
mod tests;
