//! One connection's standing with the relay: its membership, its refusals and rate
//! limits, and the frames it sends — data routed to the session, control messages handed
//! to the membership steps in `members.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, watch};

use super::limits::{self, OutQueue};
use super::session::{ConnectedMember, Outgoing, Refusal, RoutedSession, SessionKey};
use super::{Rated, Relay, RelayState, close_with, lock, send_control, short};
use crate::protocol::control::{self, ErrorCode, FromRelay, ToRelay};
use crate::protocol::header::{Header, Route};
use crate::protocol::{HOST_ID, ParticipantId};

/// The session a connection is in, and who it is there.
pub(super) struct Membership {
    pub(super) session: SessionKey,
    pub(super) participant: ParticipantId,
    /// The node the session is homed on, when it is not this one (a cluster node).
    pub(super) home: Option<Arc<str>>,
}

/// One connection's standing with the relay, whatever carries its bytes.
pub(super) struct Connection {
    pub(super) relay: Relay,
    pub(super) id: u64,
    pub(super) address: SocketAddr,
    pub(super) queue: OutQueue,
    pub(super) kick: Arc<watch::Sender<Option<String>>>,
    pub(super) membership: Option<Membership>,
    /// The session whose SSH guests this connection carries (`ssh.rs`), if it does.
    pub(super) ssh_gateway: Option<SessionKey>,
    pub(super) frames_in: u64,
    pub(super) frames_out_refused: u64,
    pub(super) opened: Instant,
}

/// The other ends of a new connection's queue and kick signal: whoever writes to the
/// peer reads frames from `frames`, releases their bytes once written, and stops on a kick.
pub(super) struct Outbound {
    pub(super) frames: mpsc::Receiver<Outgoing>,
    pub(super) release: limits::Release,
    pub(super) kicked: watch::Receiver<Option<String>>,
}

impl RelayState {
    /// A new member's queue (within this relay's limits) and kick signal, and their other
    /// ends for whoever writes to the member: a connection's writer, or for a member on
    /// another cluster node the task that publishes its kick.
    pub(super) fn outbound(&self) -> (OutQueue, Arc<watch::Sender<Option<String>>>, Outbound) {
        let config = &self.config;
        let (queue, frames, release) = OutQueue::new(
            config.queue_frames,
            config.queue_bytes,
            self.queued.clone(),
            config.total_queue_bytes,
        );
        let (kick, kicked) = watch::channel(None::<String>);
        let outbound = Outbound {
            frames,
            release,
            kicked,
        };
        (queue, Arc::new(kick), outbound)
    }

    /// Why a newcomer cannot wait in `session` for the host to admit it, if so: the
    /// session is full, or too many wait already (counted).
    pub(super) fn refuse_newcomer(&self, session: &RoutedSession) -> Option<Refusal> {
        if session.admitted_count() >= self.config.max_participants {
            return Some(Refusal::new(ErrorCode::SessionFull, "the session is full"));
        }
        if session.pending_count() >= self.config.max_pending {
            self.metrics.pending_full();
            return Some(Refusal::new(
                ErrorCode::SessionFull,
                "too many people are waiting to join this session; try again in a minute",
            ));
        }
        None
    }
}

impl Connection {
    /// A new connection to `relay` from `address`, not yet in a session.
    pub(super) fn open(relay: &Relay, address: SocketAddr) -> (Connection, Outbound) {
        let state = &relay.state;
        let (queue, kick, outbound) = state.outbound();
        let connection = Connection {
            relay: relay.clone(),
            id: state.next_connection.fetch_add(1, Ordering::Relaxed),
            address,
            queue,
            kick,
            membership: None,
            ssh_gateway: None,
            frames_in: 0,
            frames_out_refused: 0,
            opened: Instant::now(),
        };
        (connection, outbound)
    }

    pub(super) fn state(&self) -> &RelayState {
        &self.relay.state
    }

    pub(super) fn refuse(&mut self, refusal: Refusal) {
        self.frames_out_refused += 1;
        send_control(
            &self.queue,
            &FromRelay::Error {
                code: refusal.code,
                fatal: false,
                message: refusal.message,
            },
        );
    }

    /// Takes one from this address's bucket for `what`; when it is empty, counts it,
    /// refuses the connection with the reason and returns false.
    pub(super) fn within_rate(&mut self, what: Rated) -> bool {
        let state = self.state();
        let (limiter, reason) = match what {
            Rated::Creation => (
                &state.creations,
                "too many new sessions from your address; try again in a minute",
            ),
            Rated::Join => (
                &state.joins,
                "too many join attempts from your address; try again in a minute",
            ),
        };
        if limiter.allow(limits::peer_key(self.address.ip())) {
            return true;
        }
        match what {
            Rated::Creation => state.metrics.session_rate_limited(),
            Rated::Join => state.metrics.join_rate_limited(),
        }
        tracing::info!(address = %self.address, ?what, "rate-limited");
        self.refuse_fatally(ErrorCode::NotAllowed, reason)
    }

    pub(super) fn refuse_fatally(&mut self, code: ErrorCode, message: &str) -> bool {
        close_with(&self.queue, &self.kick, code, message);
        false
    }

    pub(super) fn member(&self, role_is_host: bool) -> ConnectedMember {
        ConnectedMember {
            queue: self.queue.clone(),
            kick: self.kick.clone(),
            admitted: role_is_host,
            address: self.address,
            joined: Instant::now(),
            connection: self.id,
            said_hello: false,
        }
    }

    /// Handles one frame; returns false when the connection must close.
    pub(super) fn handle_frame(&mut self, frame: &[u8]) -> bool {
        self.frames_in += 1;
        let max_frame = self.state().config.max_frame;
        if frame.len() > max_frame {
            self.refuse(Refusal::new(
                ErrorCode::FrameTooLarge,
                format!(
                    "frame of {} bytes exceeds the relay's limit of {max_frame}",
                    frame.len()
                ),
            ));
            return true;
        }
        match control::is_control(frame) {
            Ok(true) => match control::decode::<ToRelay>(frame) {
                Ok(message) => self.handle_control(message),
                Err(e) => {
                    self.refuse(Refusal::new(ErrorCode::Malformed, e.to_string()));
                    true
                }
            },
            Ok(false) => {
                self.handle_data(frame);
                true
            }
            Err(e) => {
                self.refuse(Refusal::new(ErrorCode::Malformed, e.to_string()));
                true
            }
        }
    }

    pub(super) fn handle_data(&mut self, frame: &[u8]) {
        let Some(membership) = self.membership.as_ref() else {
            self.refuse(Refusal::new(
                ErrorCode::NotJoined,
                "join or create a session before sending frames",
            ));
            return;
        };
        let header = match Header::decode(frame) {
            Ok(header) => header,
            Err(e) => {
                self.refuse(Refusal::new(ErrorCode::Malformed, e.to_string()));
                return;
            }
        };
        let (session_key, sender) = (membership.session, membership.participant);
        let home = membership.home.clone();
        // The sender id is the connection's, whatever the frame claims; a forged id was
        // sealed into the associated data and now fails to open at every receiver.
        let mut frame = frame.to_vec();
        Header::stamp_sender(&mut frame, sender);
        if let Some(home) = home {
            // Homed on another node: it routes (and refuses, if it must).
            self.state().metrics.frame_routed(header.kind, frame.len());
            self.send_home(&home, session_key, sender, frame);
            return;
        }
        if let Err(refusal) = route_data(self.state(), session_key, sender, &header, frame) {
            self.refuse(refusal);
        }
    }

    /// Disconnects members whose queues are full: they stopped reading, and waiting for
    /// them would slow everyone else down.
    pub(super) fn drop_stalled(&self, session_key: SessionKey, stalled: Vec<ParticipantId>) {
        drop_stalled(self.state(), session_key, stalled);
    }

    pub(super) fn handle_control(&mut self, message: ToRelay) -> bool {
        match message {
            ToRelay::Create {
                session,
                verifier,
                resume_verifier,
            } => self.create(session, verifier, resume_verifier),
            ToRelay::Resume {
                session,
                resume_token,
            } => self.resume(session, resume_token),
            ToRelay::Join { session, token } => self.join(session, token),
            ToRelay::SshGateway {
                session,
                resume_token,
            } => self.ssh_gateway(session, resume_token),
            message @ (ToRelay::SshData { .. } | ToRelay::SshClose { .. }) => {
                self.ssh_from_gateway(message)
            }
            ToRelay::Ping { nonce } => {
                send_control(&self.queue, &FromRelay::Pong { nonce });
                true
            }
            other => {
                if let Some(home) = self.membership.as_ref().and_then(|m| m.home.clone()) {
                    self.control_for_home(&home, other);
                    return true;
                }
                self.member_control(other)
            }
        }
    }
}

/// Routes a data frame (its sender already stamped) from member `sender` of a session
/// homed here, wherever that member is connected.
pub(super) fn route_data(
    state: &RelayState,
    session_key: SessionKey,
    sender: ParticipantId,
    header: &Header,
    frame: Vec<u8>,
) -> Result<(), Refusal> {
    let frame_len = frame.len();
    let result = {
        let mut sessions = lock(&state.sessions);
        match sessions.get_mut(&session_key) {
            Some(session) => {
                if header.route == Route::Host
                    && let Some(pending) = session
                        .participants
                        .get_mut(&sender)
                        .filter(|m| !m.admitted)
                {
                    // Its sealed hello: the hello timeout no longer applies.
                    pending.said_hello = true;
                }
                session.route(sender, header.route, bytes::Bytes::from(frame))
            }
            None => Err(Refusal::new(
                ErrorCode::SessionEnded,
                "the session has ended",
            )),
        }
    };
    state.metrics.frame_routed(header.kind, frame_len);
    drop_stalled(state, session_key, result?);
    Ok(())
}

/// Disconnects members whose queues are full: they stopped reading, and waiting for
/// them would slow everyone else down.
pub(super) fn drop_stalled(
    state: &RelayState,
    session_key: SessionKey,
    stalled: Vec<ParticipantId>,
) {
    if stalled.is_empty() {
        return;
    }
    let mut sessions = lock(&state.sessions);
    let Some(session) = sessions.get_mut(&session_key) else {
        return;
    };
    for id in stalled {
        let Some(member) = session.member(id) else {
            continue;
        };
        tracing::info!(session = %short(&session_key), participant = id, "receiver too slow; dropped");
        state.metrics.slow_reader_dropped();
        member.kick.send_replace(Some(
            "you did not keep up with the session; reconnect".into(),
        ));
        if id == HOST_ID {
            // The host's own connection ends; its reader starts the grace period.
            continue;
        }
        let connection = member.connection;
        session.remove_participant(id, connection);
        let notice = FromRelay::PeerLeft { participant: id };
        // Announcing cannot recurse: a full queue here is handled on the next frame.
        let _ = session.announce(&notice, None);
    }
}
