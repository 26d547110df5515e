//! How a connection becomes a member of a session and what a member may ask of the
//! relay: create, resume (the host reconnecting), join, the host's controls (admit,
//! refuse, remove, rotate the token, end) and leaving when the connection closes.

use std::time::Instant;

use super::connection::{Connection, Membership};
use super::session::{Refusal, RoutedSession, SessionKey};
use super::{Rated, close_with, end_session, expel, lock, send_control, short};
use crate::protocol::control::{ErrorCode, FromRelay, ToRelay};
use crate::protocol::{HOST_ID, ParticipantId};

impl Connection {
    pub(super) fn create(
        &mut self,
        key: SessionKey,
        verifier: [u8; 32],
        resume_verifier: [u8; 32],
    ) -> bool {
        if self.refused_as_already_in_session() {
            return false;
        }
        if !self.within_rate(Rated::Creation) {
            return false;
        }
        self.open_session(key, verifier, resume_verifier)
    }

    /// Opens the session here, the connection its host (admission checks done).
    pub(super) fn open_session(
        &mut self,
        key: SessionKey,
        verifier: [u8; 32],
        resume_verifier: [u8; 32],
    ) -> bool {
        let mut sessions = lock(&self.state().sessions);
        if sessions.contains_key(&key) {
            drop(sessions);
            return self.refuse_fatally(
                ErrorCode::SessionExists,
                "a session with this id already exists",
            );
        }
        sessions.insert(
            key,
            RoutedSession::new(verifier, resume_verifier, self.member(true)),
        );
        drop(sessions);
        self.membership = Some(Membership {
            session: key,
            participant: HOST_ID,
            home: None,
        });
        self.state().metrics.session_created();
        tracing::info!(session = %short(&key), address = %self.address, "session created");
        send_control(
            &self.queue,
            &FromRelay::Welcome {
                participant: HOST_ID,
                max_frame: self.state().config.max_frame as u32,
                epoch: 0,
            },
        );
        true
    }

    pub(super) fn resume(&mut self, key: SessionKey, token: [u8; 32]) -> bool {
        if self.refused_as_already_in_session() {
            return false;
        }
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&key) else {
            drop(sessions);
            return self.refuse_fatally(ErrorCode::NoSession, "the session has ended");
        };
        if !session.resume_token_matches(&token) {
            drop(sessions);
            return self.refuse_fatally(ErrorCode::BadToken, "not the host of this session");
        }
        if let Some(old) = session.host.take() {
            close_with(
                &old.queue,
                &old.kick,
                ErrorCode::NotAllowed,
                "the host reconnected elsewhere",
            );
        }
        session.host = Some(self.member(true));
        if session.host_away_since.take().is_some()
            && let Some(cluster) = self.state().cluster.get()
        {
            cluster.host_back(&key);
        }
        let max_frame = self.state().config.max_frame as u32;
        send_control(
            &self.queue,
            &FromRelay::Welcome {
                participant: HOST_ID,
                max_frame,
                epoch: session.epoch,
            },
        );
        // Tell the resumed host who is here, so it can re-greet them.
        for (&id, member) in &session.participants {
            let message = if member.admitted {
                FromRelay::PeerJoined { participant: id }
            } else {
                FromRelay::JoinRequest { participant: id }
            };
            send_control(&self.queue, &message);
        }
        let overflowed = session.announce(&FromRelay::HostBack, Some(HOST_ID));
        drop(sessions);
        self.drop_stalled(key, overflowed);
        self.membership = Some(Membership {
            session: key,
            participant: HOST_ID,
            home: None,
        });
        self.state().metrics.host_resumed();
        tracing::info!(session = %short(&key), address = %self.address, "host resumed");
        true
    }

    pub(super) fn join(&mut self, key: SessionKey, token: [u8; 32]) -> bool {
        if self.refused_as_already_in_session() {
            return false;
        }
        if !self.within_rate(Rated::Join) {
            return false;
        }
        let max_frame = self.state().config.max_frame as u32;
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&key) else {
            drop(sessions);
            return self.refuse_fatally(
                ErrorCode::NoSession,
                "no such session on this relay: it has ended, or the link is wrong",
            );
        };
        if !session.token_matches(&token) {
            drop(sessions);
            self.state().metrics.bad_token();
            return self.refuse_fatally(
                ErrorCode::BadToken,
                "the link's secret does not match this session: copy the whole link, or ask the host for the current one",
            );
        }
        if let Some(refusal) = self.state().refuse_newcomer(session) {
            drop(sessions);
            return self.refuse_fatally(refusal.code, &refusal.message);
        }
        let participant = session.add_participant(self.member(false));
        let epoch = session.epoch;
        if let Some(host) = &session.host {
            send_control(&host.queue, &FromRelay::JoinRequest { participant });
        }
        drop(sessions);
        if let Some(cluster) = self.state().cluster.get() {
            cluster.member_added(&key, participant, &cluster.node);
        }
        self.membership = Some(Membership {
            session: key,
            participant,
            home: None,
        });
        tracing::info!(session = %short(&key), participant, address = %self.address, "participant joined (awaiting admission)");
        send_control(
            &self.queue,
            &FromRelay::Welcome {
                participant,
                max_frame,
                epoch,
            },
        );
        true
    }

    /// Refuses (and closes) a connection that asks to create, resume or join a session
    /// while already in one; true when it did.
    pub(super) fn refused_as_already_in_session(&mut self) -> bool {
        if self.membership.is_none() {
            return false;
        }
        self.refuse_fatally(
            ErrorCode::NotAllowed,
            "this connection is already in a session",
        );
        true
    }

    /// A control message from a member of a session: following for everyone, the rest
    /// for the host only.
    pub(super) fn member_control(&mut self, message: ToRelay) -> bool {
        let Some(membership) = &self.membership else {
            self.refuse(Refusal::new(
                ErrorCode::NotJoined,
                "join or create a session first",
            ));
            return true;
        };
        let (key, me) = (membership.session, membership.participant);
        let is_host = me == HOST_ID;
        let mut sessions = lock(&self.state().sessions);
        if !sessions.contains_key(&key) {
            drop(sessions);
            return self.refuse_fatally(ErrorCode::SessionEnded, "the session has ended");
        }
        if is_host && matches!(message, ToRelay::End) {
            if let Some(session) = sessions.remove(&key) {
                if let Some(cluster) = self.state().cluster.get() {
                    cluster.session_ended(&key);
                }
                tracing::info!(session = %short(&key), "host ended the session");
                end_session(self.state(), session, "the host ended the session");
            }
            return false;
        }
        let Some(session) = sessions.get_mut(&key) else {
            unreachable!("the session was there a moment ago, under the same lock");
        };
        let mut overflowed = Vec::new();
        let result: Result<(), Refusal> = match message {
            ToRelay::Follow { leader } => {
                if session.is_admitted(me) {
                    session.set_follow(me, leader);
                    Ok(())
                } else {
                    Err(Refusal::new(
                        ErrorCode::NotAllowed,
                        "waiting for the host to admit you",
                    ))
                }
            }
            ToRelay::Admit { .. }
            | ToRelay::Remove { .. }
            | ToRelay::RotateToken { .. }
            | ToRelay::Refuse { .. }
                if is_host =>
            {
                self.host_control(session, message, &mut overflowed)
            }
            // The host's End was handled above.
            ToRelay::Admit { .. }
            | ToRelay::Remove { .. }
            | ToRelay::RotateToken { .. }
            | ToRelay::Refuse { .. }
            | ToRelay::End => Err(Refusal::new(
                ErrorCode::NotAllowed,
                "only the host can do that",
            )),
            ToRelay::Create { .. }
            | ToRelay::Resume { .. }
            | ToRelay::Join { .. }
            | ToRelay::Ping { .. }
            | ToRelay::SshGateway { .. }
            | ToRelay::SshData { .. }
            | ToRelay::SshClose { .. } => {
                unreachable!("handled before member_control")
            }
        };
        drop(sessions);
        self.drop_stalled(key, overflowed);
        if let Err(refusal) = result {
            self.refuse(refusal);
        }
        true
    }

    /// The host's controls over who is in the session; members whose queues overflowed
    /// while hearing of it go into `overflowed`.
    fn host_control(
        &self,
        session: &mut RoutedSession,
        message: ToRelay,
        overflowed: &mut Vec<ParticipantId>,
    ) -> Result<(), Refusal> {
        match message {
            ToRelay::Admit { participant } => self.admit(session, participant, overflowed),
            ToRelay::Remove { participant } => {
                if !expel(
                    session,
                    participant,
                    ErrorCode::Removed,
                    "the host removed you from the session",
                ) {
                    return Err(no_participant(participant));
                }
                *overflowed = session.announce(&FromRelay::PeerLeft { participant }, None);
                Ok(())
            }
            ToRelay::RotateToken { verifier, epoch } => {
                session.rotate_verifier(verifier);
                session.epoch = epoch;
                if let Some(cluster) = self.state().cluster.get()
                    && let Some(membership) = &self.membership
                {
                    // Joiners at other nodes check their tokens against the record.
                    cluster.token_rotated(&membership.session, verifier, epoch);
                }
                Ok(())
            }
            ToRelay::Refuse { participant } => {
                let waiting = session
                    .participants
                    .get(&participant)
                    .is_some_and(|member| !member.admitted);
                if waiting {
                    expel(
                        session,
                        participant,
                        ErrorCode::Refused,
                        "the host did not let you in",
                    );
                    Ok(())
                } else {
                    Err(Refusal::new(
                        ErrorCode::NoSuchParticipant,
                        format!("no participant {participant} is waiting"),
                    ))
                }
            }
            other => unreachable!("not a host control: {other:?}"),
        }
    }

    /// The host lets `participant` in, unless the session is full: then the participant
    /// is told so and dropped.
    fn admit(
        &self,
        session: &mut RoutedSession,
        participant: ParticipantId,
        overflowed: &mut Vec<ParticipantId>,
    ) -> Result<(), Refusal> {
        let full = !session.is_admitted(participant)
            && session.admitted_count() >= self.state().config.max_participants;
        if full {
            if !expel(
                session,
                participant,
                ErrorCode::SessionFull,
                "the session is full",
            ) {
                return Err(no_participant(participant));
            }
            send_control(&self.queue, &FromRelay::PeerLeft { participant });
            return Err(Refusal::new(ErrorCode::SessionFull, "the session is full"));
        }
        session.admit(participant)?;
        if let Some(member) = session.participants.get(&participant) {
            send_control(&member.queue, &FromRelay::Admitted);
        }
        *overflowed = session.announce(&FromRelay::PeerJoined { participant }, Some(participant));
        Ok(())
    }

    /// The connection closed: leave the session (or start the host's grace period).
    pub(super) fn leave(&mut self) {
        let Some(membership) = self.membership.take() else {
            return;
        };
        let (key, me) = (membership.session, membership.participant);
        if let Some(home) = &membership.home {
            self.leave_home(home, key, me);
            tracing::info!(session = %short(&key), participant = me, address = %self.address, seconds = self.opened.elapsed().as_secs(), frames_in = self.frames_in, "connection closed");
            return;
        }
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&key) else {
            return;
        };
        if me == HOST_ID {
            if session
                .host
                .as_ref()
                .is_some_and(|h| h.connection == self.id)
            {
                session.host = None;
                session.host_away_since = Some(Instant::now());
                let grace = self.state().config.host_grace.as_secs() as u32;
                session.announce(
                    &FromRelay::HostAway {
                        grace_seconds: grace,
                    },
                    None,
                );
                if let Some(cluster) = self.state().cluster.get() {
                    cluster.host_away(&key, self.state().config.host_grace);
                }
                tracing::info!(session = %short(&key), "host connection lost; waiting {grace}s for it");
            }
        } else {
            let was_admitted = session.is_admitted(me);
            if session.remove_participant(me, self.id) {
                let notice = FromRelay::PeerLeft { participant: me };
                if was_admitted {
                    session.announce(&notice, None);
                } else if let Some(host) = &session.host {
                    send_control(&host.queue, &notice);
                }
            }
        }
        drop(sessions);
        tracing::info!(
            session = %short(&key),
            participant = me,
            address = %self.address,
            seconds = self.opened.elapsed().as_secs(),
            frames_in = self.frames_in,
            refused = self.frames_out_refused,
            "connection closed"
        );
    }
}

fn no_participant(participant: ParticipantId) -> Refusal {
    Refusal::new(
        ErrorCode::NoSuchParticipant,
        format!("no participant {participant}"),
    )
}
