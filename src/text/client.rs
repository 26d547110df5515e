//! The participant's side of one shared document (the Jupiter / ot.js client).
//!
//! A participant applies its own edits at once, so typing never waits for the network.
//! At most one batch of its edits is in flight to the host (`outstanding`); whatever the
//! user types meanwhile is composed into one `buffer`. Edits from others arrive already
//! sequenced by the host; they are transformed past the pending local edits before they
//! touch the local rope, and the pending edits are rebased past them.
//!
//! Reconnecting must neither lose nor repeat an edit. Every submission carries an
//! [`EditId`], and the host applies each id at most once. After a reconnect the caller
//! asks the host for `edits_since(client.revision())` and sends
//! [`Client::resend_after_reconnect`]; if the lost message was the host's acknowledgement,
//! the catch-up contains the client's own edit, which [`Client::on_remote`] recognises by
//! its author id and treats as the acknowledgement.

use serde::{Deserialize, Serialize};

use super::operation::{Operation, OtError};

/// Names one submission: the submitting client's random instance id (chosen once per
/// [`Client`], kept across reconnects) and a sequence number that grows with each submission.
///
/// The instance is a secret between the client and the host: the host takes a submission
/// whose instance and sequence it has seen as a resend and applies nothing. Broadcasts
/// therefore name the author by [`EditId::public`], a one-way tag of the instance, so a
/// member who reads them cannot submit under someone else's instance and make the host
/// drop that person's next edits as "already applied".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EditId {
    pub instance: [u8; 16],
    pub seq: u64,
}

impl EditId {
    /// How a broadcast names this edit: the instance replaced by its tag.
    pub fn public(self) -> EditId {
        EditId {
            instance: author_tag(&self.instance),
            seq: self.seq,
        }
    }
}

/// The first 16 bytes of SHA-256 over a domain label and the instance.
fn author_tag(instance: &[u8; 16]) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"cotype edit author v1\0")
        .chain_update(instance)
        .finalize();
    let mut tag = [0; 16];
    tag.copy_from_slice(&digest[..16]);
    tag
}

/// An edit on its way to the host: `op` applies to the document at `base_revision`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub id: EditId,
    pub base_revision: u64,
    pub op: Operation,
}

/// An edit the host sequenced: `op` turns revision `revision - 1` into `revision`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteEdit {
    pub revision: u64,
    pub author: EditId,
    pub op: Operation,
}

/// What the caller does with an edit from the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteOutcome {
    /// Someone else's edit, rebased onto the local text: apply it to the local rope (and
    /// map cursors and the undo history through it).
    Apply(Operation),
    /// It was this client's own outstanding edit coming back: it counts as the host's
    /// acknowledgement. Nothing to apply; send `send` if there is one.
    Confirmed { send: Option<Submission> },
    /// An edit this client already has (catch-up and live broadcast can overlap). Ignore it.
    AlreadySeen,
}

#[derive(Clone, Debug)]
enum State {
    Synchronized,
    /// `sent` is kept exactly as sent, for resending; `rebased` is the same edit rebased
    /// past every remote edit received since, i.e. what it means to the local text now.
    AwaitingConfirm {
        sent: Submission,
        rebased: Operation,
    },
    AwaitingWithBuffer {
        sent: Submission,
        rebased: Operation,
        buffer: Operation,
    },
}

/// The client state machine for one document. It holds no text: the caller owns the
/// rope, applies its own edits before calling [`Client::local_edit`] and applies what
/// [`Client::on_remote`] returns.
#[derive(Clone, Debug)]
pub struct Client {
    instance: [u8; 16],
    next_seq: u64,
    revision: u64,
    state: State,
}

impl Client {
    /// A client for a document just loaded at `revision`. `instance` must be random and
    /// new for every `Client` (it is kept across reconnects, not across reloads): the host
    /// takes a known instance with a sequence number it has seen for a resend.
    pub fn new(instance: [u8; 16], revision: u64) -> Self {
        Client {
            instance,
            next_seq: 0,
            revision,
            state: State::Synchronized,
        }
    }

    /// The last host revision this copy contains.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn instance(&self) -> [u8; 16] {
        self.instance
    }

    /// True while some local edit is not yet acknowledged by the host.
    pub fn has_pending(&self) -> bool {
        !matches!(self.state, State::Synchronized)
    }

    /// The submission in flight, if any.
    pub fn outstanding(&self) -> Option<&Submission> {
        match &self.state {
            State::Synchronized => None,
            State::AwaitingConfirm { sent, .. } | State::AwaitingWithBuffer { sent, .. } => {
                Some(sent)
            }
        }
    }

    /// The local edits the host has not sequenced yet, as they apply to the host's text at
    /// [`Client::revision`], in order: the one in flight, then the buffer. Mapping a
    /// position through them takes it from the host's text to the local text.
    pub fn pending(&self) -> impl Iterator<Item = &Operation> {
        let (rebased, buffer) = match &self.state {
            State::Synchronized => (None, None),
            State::AwaitingConfirm { rebased, .. } => (Some(rebased), None),
            State::AwaitingWithBuffer {
                rebased, buffer, ..
            } => (Some(rebased), Some(buffer)),
        };
        rebased.into_iter().chain(buffer)
    }

    fn submit(&mut self, op: Operation) -> Submission {
        let sent = Submission {
            id: EditId {
                instance: self.instance,
                seq: self.next_seq,
            },
            base_revision: self.revision,
            op: op.clone(),
        };
        self.next_seq += 1;
        self.state = State::AwaitingConfirm {
            sent: sent.clone(),
            rebased: op,
        };
        sent
    }

    /// The user changed the text (the caller has already applied `op` to its rope).
    /// Returns the submission to send now, if the host is not still busy with an earlier one.
    pub fn local_edit(&mut self, op: Operation) -> Result<Option<Submission>, OtError> {
        if op.is_noop() {
            return Ok(None);
        }
        match &mut self.state {
            State::Synchronized => Ok(Some(self.submit(op))),
            State::AwaitingConfirm { sent, rebased } => {
                if rebased.target_len() != op.base_len() {
                    return Err(OtError::ComposeMismatch {
                        first_target: rebased.target_len(),
                        second_base: op.base_len(),
                    });
                }
                self.state = State::AwaitingWithBuffer {
                    sent: sent.clone(),
                    rebased: rebased.clone(),
                    buffer: op,
                };
                Ok(None)
            }
            State::AwaitingWithBuffer { buffer, .. } => {
                *buffer = buffer.compose(&op)?;
                Ok(None)
            }
        }
    }

    /// The host acknowledged submission `id` as `revision` (for a first delivery, or as
    /// `Duplicate` for a resend). Returns the buffered edits to send next, if any.
    ///
    /// An acknowledgement for an edit that is no longer outstanding (the catch-up already
    /// confirmed it), or for an edit of an earlier copy of the document (another
    /// instance), is ignored. One that skips revisions is refused with
    /// [`OtError::MissedEdits`]: catch up first; the catch-up will confirm the edit.
    pub fn on_ack(&mut self, id: EditId, revision: u64) -> Result<Option<Submission>, OtError> {
        match self.outstanding() {
            Some(sent) if sent.id == id => {}
            _ if id.instance != self.instance || id.seq < self.next_seq => return Ok(None),
            _ => return Err(OtError::UnexpectedAck),
        }
        if revision <= self.revision {
            return Err(OtError::UnexpectedAck);
        }
        if revision != self.revision + 1 {
            return Err(OtError::MissedEdits {
                synced: self.revision,
                received: revision,
            });
        }
        Ok(self.confirm(revision))
    }

    fn confirm(&mut self, revision: u64) -> Option<Submission> {
        self.revision = revision;
        match std::mem::replace(&mut self.state, State::Synchronized) {
            State::AwaitingWithBuffer { buffer, .. } => Some(self.submit(buffer)),
            _ => None,
        }
    }

    /// An edit sequenced by the host, in revision order. Refuses (changing nothing) an
    /// edit that skips revisions, or one that does not fit this copy's text.
    pub fn on_remote(&mut self, edit: RemoteEdit) -> Result<RemoteOutcome, OtError> {
        if edit.revision <= self.revision {
            return Ok(RemoteOutcome::AlreadySeen);
        }
        if edit.revision != self.revision + 1 {
            return Err(OtError::MissedEdits {
                synced: self.revision,
                received: edit.revision,
            });
        }
        if self
            .outstanding()
            .is_some_and(|sent| sent.id.public() == edit.author)
        {
            return Ok(RemoteOutcome::Confirmed {
                send: self.confirm(edit.revision),
            });
        }
        if edit.author.instance == author_tag(&self.instance) {
            // The host applied an edit of ours that we are not waiting for; applying it
            // again would duplicate our own text.
            return Err(OtError::UnexpectedAck);
        }
        // The host sequenced `edit` before our pending edits, so it is the first argument
        // of transform and wins ties (see `Operation::transform`).
        let (apply, state) = match &self.state {
            State::Synchronized => (edit.op, State::Synchronized),
            State::AwaitingConfirm { sent, rebased } => {
                let (remote, rebased) = Operation::transform(&edit.op, rebased)?;
                let sent = sent.clone();
                (remote, State::AwaitingConfirm { sent, rebased })
            }
            State::AwaitingWithBuffer {
                sent,
                rebased,
                buffer,
            } => {
                let (remote, rebased) = Operation::transform(&edit.op, rebased)?;
                let (remote, buffer) = Operation::transform(&remote, buffer)?;
                let sent = sent.clone();
                (
                    remote,
                    State::AwaitingWithBuffer {
                        sent,
                        rebased,
                        buffer,
                    },
                )
            }
        };
        self.state = state;
        self.revision = edit.revision;
        Ok(RemoteOutcome::Apply(apply))
    }

    /// The submission to send again on a new connection: the same id, base revision and
    /// edit as the first time, so the host can recognise it if it already applied it.
    pub fn resend_after_reconnect(&self) -> Option<Submission> {
        self.outstanding().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::operation::OperationBuilder;
    use crate::text::server::{AuthoritativeDocument, SubmitOutcome};

    fn ins(len: usize, at: usize, text: &str) -> Operation {
        Operation::insert(len, at, text).unwrap()
    }

    const A: [u8; 16] = [1; 16];
    const B: [u8; 16] = [2; 16];

    #[test]
    fn one_batch_in_flight_and_typing_meanwhile_is_buffered() {
        let mut client = Client::new(A, 0);
        let first = client.local_edit(ins(0, 0, "a")).unwrap().unwrap();
        assert_eq!(first.base_revision, 0);
        assert_eq!(client.local_edit(ins(1, 1, "b")).unwrap(), None);
        assert_eq!(client.local_edit(ins(2, 2, "c")).unwrap(), None);
        let second = client.on_ack(first.id, 1).unwrap().unwrap();
        assert_eq!(second.base_revision, 1);
        assert_eq!(second.id.seq, first.id.seq + 1);
        assert_eq!(second.op.apply_to_string("a").unwrap(), "abc");
        assert_eq!(client.on_ack(second.id, 2).unwrap(), None);
        assert!(!client.has_pending());
        assert_eq!(client.revision(), 2);
    }

    #[test]
    fn remote_edits_are_rebased_past_pending_ones() {
        // Both start from "xy". We typed "A" at 1 (unacknowledged), and "C" at the end.
        let mut client = Client::new(A, 5);
        let mut local = "xy".to_string();
        let mine = ins(2, 1, "A");
        local = mine.apply_to_string(&local).unwrap();
        client.local_edit(mine).unwrap();
        let more = ins(3, 3, "C");
        local = more.apply_to_string(&local).unwrap();
        client.local_edit(more).unwrap();
        // The host sequenced B's insert of "B" at 1 first.
        let remote = RemoteEdit {
            revision: 6,
            author: EditId {
                instance: B,
                seq: 0,
            },
            op: ins(2, 1, "B"),
        };
        let RemoteOutcome::Apply(op) = client.on_remote(remote).unwrap() else {
            panic!("someone else's edit must be applied");
        };
        local = op.apply_to_string(&local).unwrap();
        assert_eq!(local, "xBAyC");
        assert_eq!(client.revision(), 6);
        // Our outstanding edit is still resent exactly as first sent.
        let resend = client.resend_after_reconnect().unwrap();
        assert_eq!(resend.base_revision, 5);
        assert_eq!(resend.op, ins(2, 1, "A"));
    }

    #[test]
    fn skipped_revisions_are_refused_and_old_ones_ignored() {
        let mut client = Client::new(A, 3);
        let edit = |revision| RemoteEdit {
            revision,
            author: EditId {
                instance: B,
                seq: revision,
            },
            op: Operation::identity(0),
        };
        assert_eq!(
            client.on_remote(edit(5)),
            Err(OtError::MissedEdits {
                synced: 3,
                received: 5
            })
        );
        assert_eq!(client.on_remote(edit(3)), Ok(RemoteOutcome::AlreadySeen));
        assert_eq!(client.revision(), 3);
        assert_eq!(
            client.on_ack(
                EditId {
                    instance: A,
                    seq: 0
                },
                4
            ),
            Err(OtError::UnexpectedAck)
        );
    }

    /// The host applied our edit, but the connection dropped before the acknowledgement
    /// arrived. The reconnect must neither lose nor duplicate it.
    #[test]
    fn reconnect_after_a_lost_ack() {
        let mut host = AuthoritativeDocument::new("hello", 0);
        let mut client = Client::new(A, 0);
        let mut text = "hello".to_string();
        let op = ins(5, 5, " world");
        text = op.apply_to_string(&text).unwrap();
        let sent = client.local_edit(op).unwrap().unwrap();
        assert!(matches!(
            host.submit(sent).unwrap(),
            SubmitOutcome::Applied(_)
        ));
        // (ack lost) The user keeps typing while offline.
        let op = ins(11, 0, ">");
        text = op.apply_to_string(&text).unwrap();
        assert_eq!(client.local_edit(op).unwrap(), None);

        // Reconnect: resend the outstanding edit and ask for the edits since our revision.
        let resend = client.resend_after_reconnect().unwrap();
        let duplicate = host.submit(resend.clone()).unwrap();
        assert_eq!(duplicate, SubmitOutcome::Duplicate { revision: 1 });
        assert_eq!(host.rope().to_string(), "hello world");
        // The catch-up answer contains our own edit: that is the acknowledgement.
        let mut next = None;
        for edit in host.edits_since(client.revision()).unwrap() {
            match client.on_remote(edit).unwrap() {
                RemoteOutcome::Confirmed { send } => next = send,
                other => panic!("only our own edit was pending, got {other:?}"),
            }
        }
        // The late duplicate ack is for an edit no longer outstanding: ignored.
        assert_eq!(client.on_ack(resend.id, 1).unwrap(), None);
        let next = next.expect("the buffered typing goes out after the confirmation");
        let SubmitOutcome::Applied(edit) = host.submit(next.clone()).unwrap() else {
            panic!("a new edit must be applied");
        };
        assert_eq!(
            client.on_remote(edit).unwrap(),
            RemoteOutcome::Confirmed { send: None }
        );
        assert_eq!(host.rope().to_string(), text);
        assert_eq!(text, ">hello world");
        assert!(!client.has_pending());
    }

    #[test]
    fn an_ack_that_skips_remote_edits_asks_for_a_catch_up() {
        let mut host = AuthoritativeDocument::new("", 0);
        let mut client = Client::new(A, 0);
        let sent = client.local_edit(ins(0, 0, "a")).unwrap().unwrap();
        let other = Submission {
            id: EditId {
                instance: B,
                seq: 0,
            },
            base_revision: 0,
            op: ins(0, 0, "b"),
        };
        host.submit(other).unwrap();
        host.submit(sent.clone()).unwrap();
        // Suppose we lost both broadcasts and only hear the resend's duplicate ack.
        let SubmitOutcome::Duplicate { revision } = host.submit(sent.clone()).unwrap() else {
            panic!("a resend must be recognised");
        };
        assert_eq!(
            client.on_ack(sent.id, revision),
            Err(OtError::MissedEdits {
                synced: 0,
                received: 2
            })
        );
        let mut text = "a".to_string();
        for edit in host.edits_since(client.revision()).unwrap() {
            if let RemoteOutcome::Apply(op) = client.on_remote(edit).unwrap() {
                text = op.apply_to_string(&text).unwrap();
            }
        }
        assert_eq!(text, host.rope().to_string());
        assert!(!client.has_pending());
    }

    /// The worked example of docs/ARCHITECTURE.md ("Editing model"), step by step.
    #[test]
    fn architecture_worked_example() {
        let mut host = AuthoritativeDocument::new("hello world", 4);
        let (mut ana, mut ben) = (Client::new(A, 4), Client::new(B, 4));
        let mut ana_text = "hello world".to_string();
        let mut ben_text = ana_text.clone();

        let ana_op = ins(11, 6, "dear ");
        ana_text = ana_op.apply_to_string(&ana_text).unwrap();
        let ana_sub = ana.local_edit(ana_op).unwrap().unwrap();
        let ben_op = Operation::replace(11, 6..11, "🌍").unwrap();
        ben_text = ben_op.apply_to_string(&ben_text).unwrap();
        let ben_sub = ben.local_edit(ben_op).unwrap().unwrap();
        assert_eq!(
            (ana_text.as_str(), ben_text.as_str()),
            ("hello dear world", "hello 🌍")
        );

        // Ana's edit reaches the host first: revision 5, unchanged.
        let SubmitOutcome::Applied(r5) = host.submit(ana_sub).unwrap() else {
            panic!("applied");
        };
        // Ben's, based on revision 4, is transformed past it: revision 6.
        let SubmitOutcome::Applied(r6) = host.submit(ben_sub).unwrap() else {
            panic!("applied");
        };
        assert_eq!(
            r6.op,
            OperationBuilder::new()
                .retain(11)
                .insert("🌍")
                .delete(5)
                .build()
        );
        assert_eq!(host.rope().to_string(), "hello dear 🌍");

        // Ben rebases Ana's edit past his pending one.
        let RemoteOutcome::Apply(for_ben) = ben.on_remote(r5.clone()).unwrap() else {
            panic!("apply");
        };
        assert_eq!(
            for_ben,
            OperationBuilder::new()
                .retain(6)
                .insert("dear ")
                .retain(1)
                .build()
        );
        ben_text = for_ben.apply_to_string(&ben_text).unwrap();
        assert_eq!(
            ana.on_remote(r5).unwrap(),
            RemoteOutcome::Confirmed { send: None }
        );
        let RemoteOutcome::Apply(for_ana) = ana.on_remote(r6.clone()).unwrap() else {
            panic!("apply");
        };
        ana_text = for_ana.apply_to_string(&ana_text).unwrap();
        assert_eq!(
            ben.on_remote(r6).unwrap(),
            RemoteOutcome::Confirmed { send: None }
        );
        assert_eq!(ana_text, "hello dear 🌍");
        assert_eq!(ben_text, "hello dear 🌍");
    }
}
