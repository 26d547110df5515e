//! A connection on a clustered node: creating a session (recorded in Redis), resuming one
//! homed elsewhere (this node becomes its home), joining one homed elsewhere (the home
//! admits), and a member of a session homed elsewhere sending and leaving.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use super::wire::{JoinResult, NodeMessage};
use super::{JOIN_ANSWER_TIMEOUT, PendingAsk, move_member, outage, store};
use crate::crypto::admission_verifier;
use crate::protocol::control::{self, ErrorCode, FromRelay, ToRelay};
use crate::protocol::{HOST_ID, ParticipantId};
use crate::relay::connection::{Connection, Membership};
use crate::relay::session::{RoutedSession, SessionKey};
use crate::relay::{Rated, lock, send_control, short};

const STORE_UNREACHABLE: &str =
    "the relay cannot reach its cluster store (Redis) right now; try again shortly";

impl Connection {
    /// Handles one frame on a clustered node: creates, and joins or resumes of sessions
    /// not homed here, need Redis; everything else is the single relay's code.
    pub(in crate::relay) async fn handle_frame_clustered(&mut self, frame: &[u8]) -> bool {
        let Some(cluster) = self.state().cluster.get().cloned() else {
            return self.handle_frame(frame);
        };
        let entry = match control::is_control(frame) {
            Ok(true) if frame.len() <= self.state().config.max_frame => {
                control::decode::<ToRelay>(frame).ok()
            }
            _ => None,
        };
        let homed_here = match &entry {
            Some(ToRelay::Resume { session, .. } | ToRelay::Join { session, .. }) => {
                lock(&self.state().sessions).contains_key(session)
            }
            _ => false,
        };
        match entry {
            Some(ToRelay::Create {
                session,
                verifier,
                resume_verifier,
            }) => {
                self.frames_in += 1;
                self.create_in_cluster(&cluster, session, verifier, resume_verifier)
                    .await
            }
            Some(ToRelay::Resume {
                session,
                resume_token,
            }) if !homed_here => {
                self.frames_in += 1;
                self.resume_in_cluster(&cluster, session, resume_token)
                    .await
            }
            Some(ToRelay::Join { session, token }) if !homed_here => {
                self.frames_in += 1;
                self.join_in_cluster(&cluster, session, token).await
            }
            _ => self.handle_frame(frame),
        }
    }

    /// Tells this connection to connect again (to another node) and closes it.
    pub(in crate::relay) fn move_away(&mut self, reason: &str) -> bool {
        let member = self.member(false);
        move_member(self.state(), &member, reason);
        false
    }

    fn refuse_for_redis(&mut self, cluster: &super::Cluster) -> bool {
        cluster
            .metrics
            .refused_redis
            .fetch_add(1, Ordering::Relaxed);
        self.move_away(STORE_UNREACHABLE)
    }

    async fn create_in_cluster(
        &mut self,
        cluster: &Arc<super::Cluster>,
        key: SessionKey,
        verifier: [u8; 32],
        resume_verifier: [u8; 32],
    ) -> bool {
        if self.refused_as_already_in_session() || !self.within_rate(Rated::Creation) {
            return false;
        }
        if !cluster.is_up() {
            cluster
                .metrics
                .refused_redis
                .fetch_add(1, Ordering::Relaxed);
            return self.refuse_fatally(ErrorCode::NotAllowed, STORE_UNREACHABLE);
        }
        let mut redis = cluster.redis.clone();
        let created = tokio::time::timeout(
            super::REDIS_TIMEOUT,
            store::CREATE
                .key(store::record_key(&key))
                .arg(&verifier[..])
                .arg(&resume_verifier[..])
                .arg(&*cluster.node)
                .arg(cluster.record_ttl_ms)
                .invoke_async::<i64>(&mut redis),
        )
        .await;
        match created {
            Ok(Ok(1)) => self.open_session(key, verifier, resume_verifier),
            Ok(Ok(_)) => self.refuse_fatally(
                ErrorCode::SessionExists,
                "a session with this id already exists",
            ),
            Ok(Err(e)) => {
                outage(self.state(), &format!("creating a session failed: {e}"));
                cluster
                    .metrics
                    .refused_redis
                    .fetch_add(1, Ordering::Relaxed);
                self.refuse_fatally(ErrorCode::NotAllowed, STORE_UNREACHABLE)
            }
            Err(_) => {
                outage(self.state(), "creating a session timed out");
                cluster
                    .metrics
                    .refused_redis
                    .fetch_add(1, Ordering::Relaxed);
                self.refuse_fatally(ErrorCode::NotAllowed, STORE_UNREACHABLE)
            }
        }
    }

    async fn read_record(
        &mut self,
        cluster: &super::Cluster,
        key: &SessionKey,
    ) -> Result<Option<store::Record>, ()> {
        let mut get = redis::cmd("HGETALL");
        get.arg(store::record_key(key));
        match cluster
            .query::<std::collections::HashMap<String, Vec<u8>>>(&get)
            .await
        {
            Some(fields) => Ok(store::Record::parse(&fields)),
            None => {
                outage(self.state(), "reading a session record failed");
                Err(())
            }
        }
    }

    /// The host reconnected to this node, its session homed elsewhere (or nowhere, its
    /// node gone): this node takes the session over.
    async fn resume_in_cluster(
        &mut self,
        cluster: &Arc<super::Cluster>,
        key: SessionKey,
        token: [u8; 32],
    ) -> bool {
        if self.refused_as_already_in_session() {
            return false;
        }
        if !cluster.is_up() {
            return self.refuse_for_redis(cluster);
        }
        let Ok(record) = self.read_record(cluster, &key).await else {
            return self.refuse_for_redis(cluster);
        };
        let Some(record) = record else {
            return self.refuse_fatally(ErrorCode::NoSession, "the session has ended");
        };
        if !bool::from(admission_verifier(&token).ct_eq(&record.resume)) {
            return self.refuse_fatally(ErrorCode::BadToken, "not the host of this session");
        }
        let mut redis = cluster.redis.clone();
        let claimed = tokio::time::timeout(
            super::REDIS_TIMEOUT,
            store::CLAIM
                .key(store::record_key(&key))
                .key(store::members_key(&key))
                .arg(&*cluster.node)
                .arg(cluster.record_ttl_ms)
                .invoke_async::<Option<Vec<String>>>(&mut redis),
        )
        .await;
        let answer = match claimed {
            Ok(Ok(answer)) => answer,
            _ => {
                outage(self.state(), "claiming a session failed");
                return self.refuse_for_redis(cluster);
            }
        };
        let Some(answer) = answer else {
            return self.refuse_fatally(ErrorCode::NoSession, "the session has ended");
        };
        let old_home = answer.first().cloned().unwrap_or_default();
        let stored_next: ParticipantId = answer.get(1).and_then(|n| n.parse().ok()).unwrap_or(1);
        let gone: Vec<ParticipantId> = answer
            .iter()
            .skip(2)
            .filter_map(|id| id.parse().ok())
            .collect();
        let next = gone
            .iter()
            .map(|id| id.saturating_add(1))
            .fold(stored_next, ParticipantId::max);
        // Members here of the session's old home: they rejoin through the new one.
        if let Some(view) = lock(&cluster.remote).remove(&key) {
            for member in view.members.values() {
                move_member(
                    self.state(),
                    member,
                    "the session moved to another relay node; reconnecting",
                );
            }
        }
        let max_frame = self.state().config.max_frame as u32;
        {
            let mut sessions = lock(&self.state().sessions);
            let session = RoutedSession::restored(
                record.verifier,
                record.resume,
                self.member(true),
                record.epoch,
                next,
            );
            send_control(
                &self.queue,
                &FromRelay::Welcome {
                    participant: HOST_ID,
                    max_frame,
                    epoch: record.epoch,
                },
            );
            // Everyone the old home had rejoins under a new id: the host forgets them.
            for participant in &gone {
                send_control(
                    &self.queue,
                    &FromRelay::PeerLeft {
                        participant: *participant,
                    },
                );
            }
            sessions.insert(key, session);
        }
        self.membership = Some(Membership {
            session: key,
            participant: HOST_ID,
            home: None,
        });
        if !old_home.is_empty() && *old_home != *cluster.node {
            let old: Arc<str> = old_home.as_str().into();
            cluster.send(
                &old,
                &NodeMessage::HomeChanged {
                    session: key,
                    home: cluster.node.to_string(),
                },
            );
        }
        cluster.metrics.home_claims.fetch_add(1, Ordering::Relaxed);
        self.state().metrics.host_resumed();
        tracing::info!(session = %short(&key), address = %self.address, from = %old_home, "host resumed; session homed here now");
        true
    }

    /// A participant joins a session homed on another node: the token is checked here
    /// against the record, the home admits.
    async fn join_in_cluster(
        &mut self,
        cluster: &Arc<super::Cluster>,
        key: SessionKey,
        token: [u8; 32],
    ) -> bool {
        if self.refused_as_already_in_session() || !self.within_rate(Rated::Join) {
            return false;
        }
        if *self.state().draining.borrow() {
            return self.move_away("the relay node is restarting; moving");
        }
        if !cluster.is_up() {
            return self.refuse_for_redis(cluster);
        }
        let Ok(record) = self.read_record(cluster, &key).await else {
            return self.refuse_for_redis(cluster);
        };
        let Some(record) = record else {
            return self.refuse_fatally(
                ErrorCode::NoSession,
                "no such session on this relay: it has ended, or the link is wrong",
            );
        };
        if !bool::from(admission_verifier(&token).ct_eq(&record.verifier)) {
            self.state().metrics.bad_token();
            return self.refuse_fatally(
                ErrorCode::BadToken,
                "the link's secret does not match this session: copy the whole link, or ask the host for the current one",
            );
        }
        let home: Arc<str> = record.home.as_str().into();
        let mut alive = redis::cmd("EXISTS");
        alive.arg(store::node_key(&home));
        let home_alive = *home != *cluster.node && cluster.query::<i64>(&alive).await == Some(1);
        if !home_alive {
            return self.move_away(
                "the session's relay node is gone; reconnecting while the host comes back",
            );
        }
        let ask = cluster.next_ask.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        lock(&cluster.asks).insert(
            ask,
            PendingAsk {
                session: key,
                home: home.clone(),
                member: self.member(false),
                max_frame: self.state().config.max_frame as u32,
                answer,
            },
        );
        cluster.send(
            &home,
            &NodeMessage::JoinAsk {
                session: key,
                ask,
                node: cluster.node.to_string(),
                epoch: record.epoch,
                address: self.address,
            },
        );
        let result = match tokio::time::timeout(JOIN_ANSWER_TIMEOUT, answered).await {
            Ok(Ok(result)) => result,
            _ => {
                lock(&cluster.asks).remove(&ask);
                return self.move_away("the session's relay node did not answer; reconnecting");
            }
        };
        match result {
            JoinResult::Welcome { id, .. } => {
                self.membership = Some(Membership {
                    session: key,
                    participant: id,
                    home: Some(home.clone()),
                });
                tracing::info!(session = %short(&key), participant = id, home = %home, address = %self.address, "participant joined a session homed on another node (awaiting admission)");
                true
            }
            JoinResult::Refused { code, message } => self.refuse_fatally(code, &message),
            JoinResult::Retry { reason } => self.move_away(&reason),
        }
    }

    /// A data frame (sender stamped) from a member of a session homed on `home`.
    pub(in crate::relay) fn send_home(
        &self,
        home: &Arc<str>,
        session: SessionKey,
        from: ParticipantId,
        frame: Vec<u8>,
    ) {
        if let Some(cluster) = self.state().cluster.get() {
            cluster.send(
                home,
                &NodeMessage::ToHome {
                    session,
                    from,
                    frame,
                },
            );
        }
    }

    /// A member of a session homed elsewhere sent a control message: following goes to
    /// the home, the rest is the host's (who is never here).
    pub(in crate::relay) fn control_for_home(&mut self, home: &Arc<str>, message: ToRelay) {
        let Some(membership) = &self.membership else {
            return;
        };
        let (session, me) = (membership.session, membership.participant);
        match message {
            ToRelay::Follow { .. } => {
                self.send_home(home, session, me, control::encode(&message));
            }
            _ => self.refuse(crate::relay::session::Refusal::new(
                ErrorCode::NotAllowed,
                "only the host can do that",
            )),
        }
    }

    /// A member of a session homed elsewhere disconnected.
    pub(in crate::relay) fn leave_home(
        &self,
        home: &Arc<str>,
        session: SessionKey,
        me: ParticipantId,
    ) {
        let Some(cluster) = self.state().cluster.get() else {
            return;
        };
        {
            let mut remote = lock(&cluster.remote);
            if let Some(view) = remote.get_mut(&session) {
                if view
                    .members
                    .get(&me)
                    .is_some_and(|m| m.connection == self.id)
                {
                    view.members.remove(&me);
                }
                if view.members.is_empty() {
                    remote.remove(&session);
                }
            }
        }
        cluster.send(home, &NodeMessage::Left { session, id: me });
    }
}
