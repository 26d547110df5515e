//! The relay's view of sessions: members, admission, the follow graph, and routing.
//!
//! All of it is plain state behind one mutex per relay; routing a frame is a lookup and
//! a non-blocking `try_send` per receiver, so one slow receiver never holds up a sender:
//! when a receiver's bounded queue is full, that receiver is dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::crypto::admission_verifier;
use crate::protocol::control::{ErrorCode, FromRelay};
use crate::protocol::header::Route;
use crate::protocol::{HOST_ID, ParticipantId};
use subtle::ConstantTimeEq;

/// What a connection's writer task sends.
/// Frames are shared, not copied, between the receivers of one broadcast.
#[derive(Debug)]
pub enum Outgoing {
    Frame(bytes::Bytes),
}

pub type SessionKey = [u8; 16];

/// A member's connection as the relay holds it: where its frames go and how to close it.
pub struct ConnectedMember {
    pub queue: super::limits::OutQueue,
    /// Setting a reason closes the member's connection (removal, slow reader, end).
    pub kick: std::sync::Arc<tokio::sync::watch::Sender<Option<String>>>,
    pub admitted: bool,
    pub address: SocketAddr,
    pub joined: Instant,
    /// Connection serial number, so a stale connection cannot remove its successor.
    pub connection: u64,
    /// Whether this pending member has sent anything to the host (its sealed hello).
    pub said_hello: bool,
}

/// The relay's record of one session: who is connected, who follows whom, and what it
/// needs to admit and resume (verifiers, never keys).
pub struct RoutedSession {
    verifier: [u8; 32],
    resume_verifier: [u8; 32],
    pub host: Option<ConnectedMember>,
    /// When the host's connection dropped; the session ends after the grace period.
    pub host_away_since: Option<Instant>,
    pub participants: HashMap<ParticipantId, ConnectedMember>,
    /// follower -> leader
    follows: HashMap<ParticipantId, ParticipantId>,
    next_participant: ParticipantId,
    pub created: Instant,
    pub peak_participants: usize,
    /// The key epoch joiners seal with (announced by the host at every rekey).
    pub epoch: u32,
}

#[derive(Debug)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// Members whose queues overflowed during a delivery; the caller disconnects them.
pub type Overflowed = Vec<ParticipantId>;

impl RoutedSession {
    pub fn new(verifier: [u8; 32], resume_verifier: [u8; 32], host: ConnectedMember) -> Self {
        RoutedSession {
            verifier,
            resume_verifier,
            host: Some(host),
            host_away_since: None,
            participants: HashMap::new(),
            follows: HashMap::new(),
            next_participant: HOST_ID + 1,
            created: Instant::now(),
            peak_participants: 0,
            epoch: 0,
        }
    }

    /// A session taken over from another relay node: its records, a new host
    /// connection, and no members (they rejoin).
    pub fn restored(
        verifier: [u8; 32],
        resume_verifier: [u8; 32],
        host: ConnectedMember,
        epoch: u32,
        next_participant: ParticipantId,
    ) -> Self {
        let mut session = RoutedSession::new(verifier, resume_verifier, host);
        session.epoch = epoch;
        session.next_participant = next_participant.max(HOST_ID + 1);
        session
    }

    /// The admission and resume verifiers (a cluster node writes them to Redis).
    pub fn verifiers(&self) -> ([u8; 32], [u8; 32]) {
        (self.verifier, self.resume_verifier)
    }

    /// The id the next joiner gets.
    pub fn next_participant(&self) -> ParticipantId {
        self.next_participant
    }

    pub fn token_matches(&self, token: &[u8; 32]) -> bool {
        admission_verifier(token).ct_eq(&self.verifier).into()
    }

    pub fn resume_token_matches(&self, token: &[u8; 32]) -> bool {
        admission_verifier(token)
            .ct_eq(&self.resume_verifier)
            .into()
    }

    pub fn rotate_verifier(&mut self, verifier: [u8; 32]) {
        self.verifier = verifier;
    }

    /// Adds a participant waiting for admission and returns its id.
    pub fn add_participant(&mut self, member: ConnectedMember) -> ParticipantId {
        let id = self.next_participant;
        self.next_participant = self.next_participant.wrapping_add(1).max(HOST_ID + 1);
        self.participants.insert(id, member);
        self.peak_participants = self.peak_participants.max(self.participants.len());
        id
    }

    pub fn remove_participant(&mut self, id: ParticipantId, connection: u64) -> bool {
        if self
            .participants
            .get(&id)
            .is_some_and(|m| m.connection == connection)
        {
            self.participants.remove(&id);
            self.follows.remove(&id);
            self.follows.retain(|_, leader| *leader != id);
            true
        } else {
            false
        }
    }

    pub fn member(&self, id: ParticipantId) -> Option<&ConnectedMember> {
        if id == HOST_ID {
            self.host.as_ref()
        } else {
            self.participants.get(&id)
        }
    }

    /// Participants the host has admitted.
    pub fn admitted_count(&self) -> usize {
        self.participants.values().filter(|m| m.admitted).count()
    }

    /// Participants waiting for the host to admit them.
    pub fn pending_count(&self) -> usize {
        self.participants.values().filter(|m| !m.admitted).count()
    }

    /// Pending participants that did not say hello within `hello`, or were not admitted
    /// within `admission`, since they joined.
    pub fn overdue_pending(&self, hello: Duration, admission: Duration) -> Vec<ParticipantId> {
        self.participants
            .iter()
            .filter(|(_, m)| {
                !m.admitted
                    && (m.joined.elapsed() >= admission
                        || (!m.said_hello && m.joined.elapsed() >= hello))
            })
            .map(|(&id, _)| id)
            .collect()
    }

    pub fn is_admitted(&self, id: ParticipantId) -> bool {
        self.member(id).is_some_and(|m| m.admitted)
    }

    pub fn admit(&mut self, id: ParticipantId) -> Result<(), Refusal> {
        let member = self.participants.get_mut(&id).ok_or_else(|| {
            Refusal::new(ErrorCode::NoSuchParticipant, format!("no participant {id}"))
        })?;
        member.admitted = true;
        Ok(())
    }

    pub fn set_follow(&mut self, follower: ParticipantId, leader: Option<ParticipantId>) {
        match leader {
            Some(leader) if leader != follower => {
                self.follows.insert(follower, leader);
            }
            _ => {
                self.follows.remove(&follower);
            }
        }
    }

    /// Delivers a frame from `sender` along `route`. Pending (unadmitted) members may only
    /// talk to the host, and only the host may talk to them.
    pub fn route(
        &self,
        sender: ParticipantId,
        route: Route,
        frame: bytes::Bytes,
    ) -> Result<Overflowed, Refusal> {
        let sender_admitted = self.is_admitted(sender);
        if !sender_admitted && route != Route::Host {
            return Err(Refusal::new(
                ErrorCode::NotAllowed,
                "waiting for the host to admit you: only the host can be reached",
            ));
        }
        let mut overflowed = Vec::new();
        let mut deliver = |id: ParticipantId, member: &ConnectedMember| {
            if !member.queue.try_send(frame.clone()) {
                overflowed.push(id);
            }
        };
        match route {
            Route::Host => match &self.host {
                Some(host) if sender != HOST_ID => deliver(HOST_ID, host),
                Some(_) => {
                    return Err(Refusal::new(
                        ErrorCode::NotAllowed,
                        "the host cannot send to itself",
                    ));
                }
                None => {
                    return Err(Refusal::new(
                        ErrorCode::NoSuchParticipant,
                        "the host is reconnecting; try again shortly",
                    ));
                }
            },
            Route::Participant(id) => {
                let target = self.participants.get(&id).filter(|m| {
                    // Only the host may address a member it has not admitted yet.
                    m.admitted || sender == HOST_ID
                });
                match target {
                    Some(member) if id != sender => deliver(id, member),
                    _ => {
                        return Err(Refusal::new(
                            ErrorCode::NoSuchParticipant,
                            format!("participant {id} is not in the session"),
                        ));
                    }
                }
            }
            Route::Everyone => {
                if let Some(host) = &self.host
                    && sender != HOST_ID
                {
                    deliver(HOST_ID, host);
                }
                for (&id, member) in &self.participants {
                    if id != sender && member.admitted {
                        deliver(id, member);
                    }
                }
            }
            Route::Followers => {
                for (&follower, &leader) in &self.follows {
                    if leader != sender {
                        continue;
                    }
                    if let Some(member) = self.member(follower).filter(|m| m.admitted) {
                        deliver(follower, member);
                    }
                }
            }
        }
        Ok(overflowed)
    }

    /// Sends a control message to every admitted member except `except`.
    pub fn announce(&self, message: &FromRelay, except: Option<ParticipantId>) -> Overflowed {
        let frame = bytes::Bytes::from(crate::protocol::control::encode(message));
        let mut overflowed = Vec::new();
        let members = self
            .host
            .iter()
            .map(|h| (HOST_ID, h))
            .chain(self.participants.iter().map(|(&id, m)| (id, m)));
        for (id, member) in members {
            if Some(id) == except || !member.admitted {
                continue;
            }
            if !member.queue.try_send(frame.clone()) {
                overflowed.push(id);
            }
        }
        overflowed
    }

    pub fn host_grace_expired(&self, grace: Duration) -> bool {
        self.host_away_since
            .is_some_and(|since| since.elapsed() >= grace)
    }
}
