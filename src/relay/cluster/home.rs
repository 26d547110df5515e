//! Messages from other nodes, and what a node does for the sessions it homes: admitting
//! members who joined elsewhere, routing their frames, forwarding to them, and noticing
//! nodes that are gone.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Instant;

use super::wire::JoinResult;
use super::wire::{self, NodeMessage};
use super::{Cluster, RemoteSession, move_member, store};
use crate::protocol::ParticipantId;
use crate::protocol::control::{self, ErrorCode, FromRelay, ToRelay};
use crate::protocol::header::Header;
use crate::relay::connection::{Outbound, route_data};
use crate::relay::session::{ConnectedMember, SessionKey};
use crate::relay::{RelayState, close_with, lock, send_control, short};

/// One payload from this node's channel: its messages, in order.
pub(super) fn receive(state: &Arc<RelayState>, payload: &[u8]) {
    let Some(cluster) = state.cluster.get() else {
        return;
    };
    let Some(messages) = wire::decode(payload) else {
        tracing::warn!(
            bytes = payload.len(),
            "ignored a message on this node's channel that is not a node message"
        );
        return;
    };
    cluster
        .metrics
        .received
        .fetch_add(messages.len() as u64, Ordering::Relaxed);
    for message in messages {
        receive_one(state, cluster, message);
    }
}

fn receive_one(state: &Arc<RelayState>, cluster: &Cluster, message: NodeMessage) {
    match message {
        NodeMessage::ToHome {
            session,
            from,
            frame,
        } => from_member_elsewhere(state, &session, from, frame),
        NodeMessage::JoinAsk {
            session,
            ask,
            node,
            epoch,
            address,
        } => {
            let node: Arc<str> = node.into();
            let answer = |result| {
                let answer = NodeMessage::JoinAnswer {
                    session,
                    ask,
                    result,
                };
                cluster.send(&node, &answer);
            };
            admit_from_elsewhere(state, cluster, &session, &node, epoch, address, answer);
        }
        NodeMessage::JoinAnswer {
            session: _,
            ask,
            result,
        } => answered(cluster, ask, result),
        NodeMessage::Left { session, id } => member_left_elsewhere(state, &session, id),
        NodeMessage::HomeChanged { session, home } => give_up(state, &session, &home),
        NodeMessage::Deliver { session, to, frame } => {
            deliver_here(state, cluster, &session, &[to], frame);
        }
        NodeMessage::DeliverMany { session, to, frame } => {
            deliver_here(state, cluster, &session, &to, frame);
        }
        NodeMessage::Kick {
            session,
            id,
            reason,
        } => {
            let mut remote = lock(&cluster.remote);
            if let Some(view) = remote.get_mut(&session) {
                if let Some(member) = view.members.remove(&id) {
                    member.kick.send_replace(Some(reason));
                }
                if view.members.is_empty() {
                    remote.remove(&session);
                }
            }
        }
    }
}

/// Pushes a frame from the home to members connected here, in this order; one that
/// cannot keep up is dropped, as on the single relay.
fn deliver_here(
    state: &RelayState,
    cluster: &Cluster,
    session: &SessionKey,
    to: &[ParticipantId],
    frame: bytes::Bytes,
) {
    let overflowed: Vec<ParticipantId> = {
        let remote = lock(&cluster.remote);
        let Some(view) = remote.get(session) else {
            return;
        };
        to.iter()
            .copied()
            .filter(|id| {
                view.members
                    .get(id)
                    .is_some_and(|member| !member.queue.try_send(frame.clone()))
            })
            .collect()
    };
    for id in overflowed {
        let member = lock(&cluster.remote)
            .get_mut(session)
            .and_then(|s| s.members.remove(&id));
        if let Some(member) = member {
            state.metrics.slow_reader_dropped();
            member.kick.send_replace(Some(
                "you did not keep up with the session; reconnect".into(),
            ));
            local_member_gone(cluster, session, id);
        }
    }
}

/// Tells the home that a member of its session connected here is gone.
fn local_member_gone(cluster: &Cluster, session: &SessionKey, id: ParticipantId) {
    let home = {
        let mut remote = lock(&cluster.remote);
        let Some(view) = remote.get(session) else {
            return;
        };
        let home = view.home.clone();
        if view.members.is_empty() {
            remote.remove(session);
        }
        home
    };
    cluster.send(
        &home,
        &NodeMessage::Left {
            session: *session,
            id,
        },
    );
}

/// A frame from a member connected to another node, of a session homed here.
fn from_member_elsewhere(
    state: &Arc<RelayState>,
    session: &SessionKey,
    from: ParticipantId,
    frame: Vec<u8>,
) {
    let known = state.cluster.get().is_some_and(|c| {
        lock(&c.proxies)
            .get(session)
            .is_some_and(|ids| ids.contains_key(&from))
    });
    if !known {
        return;
    }
    let refusal = match control::is_control(&frame) {
        Ok(true) => match control::decode::<ToRelay>(&frame) {
            Ok(ToRelay::Follow { leader }) => {
                let mut sessions = lock(&state.sessions);
                match sessions.get_mut(session) {
                    Some(routed) if routed.is_admitted(from) => {
                        routed.set_follow(from, leader);
                        None
                    }
                    Some(_) => Some((
                        ErrorCode::NotAllowed,
                        "waiting for the host to admit you".to_string(),
                    )),
                    None => None,
                }
            }
            _ => None,
        },
        Ok(false) => match Header::decode(&frame) {
            Ok(header) => route_data(state, *session, from, &header, frame)
                .err()
                .map(|r| (r.code, r.message)),
            Err(e) => Some((ErrorCode::Malformed, e.to_string())),
        },
        Err(e) => Some((ErrorCode::Malformed, e.to_string())),
    };
    if let Some((code, message)) = refusal {
        let sessions = lock(&state.sessions);
        if let Some(member) = sessions
            .get(session)
            .and_then(|s| s.participants.get(&from))
        {
            send_control(
                &member.queue,
                &FromRelay::Error {
                    code,
                    fatal: false,
                    message,
                },
            );
        }
    }
}

/// The home's side of a join at another node (the token was checked there): `answer`
/// queues the answer for the joiner's node.
fn admit_from_elsewhere(
    state: &Arc<RelayState>,
    cluster: &Cluster,
    session: &SessionKey,
    node: &Arc<str>,
    epoch: u32,
    address: std::net::SocketAddr,
    answer: impl FnOnce(JoinResult),
) {
    if *state.draining.borrow() {
        return answer(JoinResult::Retry {
            reason: "the session's relay node is restarting; try again".into(),
        });
    }
    let mut sessions = lock(&state.sessions);
    let Some(routed) = sessions.get_mut(session) else {
        return answer(JoinResult::Retry {
            reason: "the session moved to another relay node; try again".into(),
        });
    };
    if routed.epoch != epoch {
        state.metrics.bad_token();
        return answer(JoinResult::Refused {
            code: ErrorCode::BadToken,
            message: "the link's secret does not match this session: copy the whole link, or ask the host for the current one".into(),
        });
    }
    if let Some(refusal) = state.refuse_newcomer(routed) {
        return answer(JoinResult::Refused {
            code: refusal.code,
            message: refusal.message,
        });
    }
    let (queue, kick, outbound) = state.outbound();
    // Its frames go to the outbox as the session routes them, each frame's copies for
    // one node side by side (one `DeliverMany`), with no task between.
    let id = routed.next_participant();
    let queue = queue.forwarding(cluster.deliverer(node.clone(), *session, id));
    let member = ConnectedMember {
        queue,
        kick,
        admitted: false,
        address,
        joined: Instant::now(),
        connection: state.next_connection.fetch_add(1, Ordering::Relaxed),
        said_hello: false,
    };
    let added = routed.add_participant(member);
    debug_assert_eq!(
        added, id,
        "the id add_participant hands out is next_participant"
    );
    // The joiner's node learns the id before the host does: whatever the host then sends
    // the joiner (its admission) is queued after this answer, and so reaches that node
    // after it (before it, the node would not know the member and drop the frame).
    answer(JoinResult::Welcome {
        id,
        epoch: routed.epoch,
    });
    if let Some(host) = &routed.host {
        send_control(&host.queue, &FromRelay::JoinRequest { participant: id });
    }
    lock(&cluster.proxies)
        .entry(*session)
        .or_default()
        .insert(id, node.clone());
    drop(sessions);
    cluster.member_added(session, id, node);
    tokio::spawn(forward(
        Arc::downgrade(state),
        node.clone(),
        *session,
        id,
        outbound,
    ));
    tracing::info!(session = %short(session), participant = id, node = %node, "participant joined on another node (awaiting admission)");
}

/// Tells a member's node to close its connection when the home removes or kicks it,
/// after the frames routed to it before (they went to the outbox as they were routed,
/// through the member's forwarding queue: `Cluster::deliverer`).
async fn forward(
    state: Weak<RelayState>,
    node: Arc<str>,
    session: SessionKey,
    id: ParticipantId,
    outbound: Outbound,
) {
    let Outbound {
        mut frames,
        release: _,
        mut kicked,
    } = outbound;
    let reason = tokio::select! {
        biased;
        // Nothing is ever queued (the queue forwards): this ends when the member is removed.
        _ = frames.recv() => kicked.borrow().clone(),
        changed = kicked.changed() => match changed {
            Ok(()) => Some(kicked.borrow().clone().unwrap_or_default()),
            // The member is gone with its kick signal: told if it was kicked.
            Err(_) => kicked.borrow().clone(),
        },
    };
    // No frame after the kick: the queue forwards only while this end is open.
    frames.close();
    if let Some(reason) = reason
        && let Some(state) = state.upgrade()
        && let Some(cluster) = state.cluster.get()
    {
        cluster.send(
            &node,
            &NodeMessage::Kick {
                session,
                id,
                reason,
            },
        );
    }
}

/// The answer to a join this node asked a home about.
fn answered(cluster: &Cluster, ask: u64, result: JoinResult) {
    let Some(pending) = lock(&cluster.asks).remove(&ask) else {
        // The joiner gave up waiting: give the id back.
        if let JoinResult::Welcome { id, .. } = result {
            tracing::debug!(participant = id, "late join answer");
        }
        return;
    };
    if let JoinResult::Welcome { id, epoch } = &result {
        if pending.answer.is_closed() {
            cluster.send(
                &pending.home,
                &NodeMessage::Left {
                    session: pending.session,
                    id: *id,
                },
            );
            return;
        }
        // Welcome first, then whatever the home sends: both through this task, in order.
        send_control(
            &pending.member.queue,
            &FromRelay::Welcome {
                participant: *id,
                max_frame: pending.max_frame,
                epoch: *epoch,
            },
        );
        lock(&cluster.remote)
            .entry(pending.session)
            .or_insert_with(|| RemoteSession {
                home: pending.home.clone(),
                members: HashMap::new(),
            })
            .members
            .insert(*id, pending.member);
    }
    let _ = pending.answer.send(result);
}

/// A member of a session homed here, connected to another node, left.
fn member_left_elsewhere(state: &Arc<RelayState>, session: &SessionKey, id: ParticipantId) {
    let Some(cluster) = state.cluster.get() else {
        return;
    };
    let was_proxy = lock(&cluster.proxies)
        .get_mut(session)
        .and_then(|ids| ids.remove(&id))
        .is_some();
    if was_proxy {
        remove_proxy(state, session, id);
    }
}

/// Removes member `id` of a session homed here, telling the others, as when a local
/// connection closes.
fn remove_proxy(state: &RelayState, session: &SessionKey, id: ParticipantId) {
    let mut sessions = lock(&state.sessions);
    let Some(routed) = sessions.get_mut(session) else {
        return;
    };
    let Some(member) = routed.participants.get(&id) else {
        return;
    };
    let (connection, was_admitted) = (member.connection, member.admitted);
    if routed.remove_participant(id, connection) {
        let notice = FromRelay::PeerLeft { participant: id };
        if was_admitted {
            routed.announce(&notice, None);
        } else if let Some(host) = &routed.host {
            send_control(&host.queue, &notice);
        }
    }
}

/// Members on other nodes of a session homed here that cannot be reached any more.
pub(super) fn drop_proxies(
    state: &RelayState,
    session: &SessionKey,
    ids: impl Iterator<Item = ParticipantId>,
) {
    for id in ids {
        remove_proxy(state, session, id);
    }
}

/// The host resumed on `home`: this node gives the session up; its members move there.
fn give_up(state: &Arc<RelayState>, session: &SessionKey, home: &str) {
    let Some(routed) = lock(&state.sessions).remove(session) else {
        return;
    };
    if let Some(cluster) = state.cluster.get() {
        lock(&cluster.proxies).remove(session);
    }
    tracing::info!(session = %short(session), home, "the host resumed on another node; session handed over");
    if let Some(host) = &routed.host {
        close_with(
            &host.queue,
            &host.kick,
            ErrorCode::NotAllowed,
            "the host reconnected elsewhere",
        );
    }
    for member in routed.participants.values() {
        move_member(
            state,
            member,
            "the session moved to another relay node; reconnecting",
        );
    }
}

/// `node` does not read its channel (gone, or cut from Redis): members here of sessions
/// homed there move, members there of sessions homed here leave.
pub(super) fn node_unreachable(state: &RelayState, node: &Arc<str>) {
    let Some(cluster) = state.cluster.get() else {
        return;
    };
    if node == &cluster.node {
        return;
    }
    let mut found = false;
    let orphaned: Vec<RemoteSession> = {
        let mut remote = lock(&cluster.remote);
        let keys: Vec<SessionKey> = remote
            .iter()
            .filter(|(_, s)| &s.home == node)
            .map(|(k, _)| *k)
            .collect();
        keys.iter().filter_map(|k| remote.remove(k)).collect()
    };
    for session in &orphaned {
        found = true;
        for member in session.members.values() {
            move_member(
                state,
                member,
                "the session's relay node is gone; reconnecting while the host comes back",
            );
        }
    }
    let stranded: Vec<(SessionKey, Vec<ParticipantId>)> = {
        let mut proxies = lock(&cluster.proxies);
        proxies
            .iter_mut()
            .map(|(key, ids)| {
                let gone: Vec<ParticipantId> = ids
                    .iter()
                    .filter(|(_, n)| *n == node)
                    .map(|(id, _)| *id)
                    .collect();
                for id in &gone {
                    ids.remove(id);
                }
                (*key, gone)
            })
            .filter(|(_, gone)| !gone.is_empty())
            .collect()
    };
    for (key, ids) in stranded {
        found = true;
        drop_proxies(state, &key, ids.into_iter());
    }
    let asks: Vec<u64> = lock(&cluster.asks)
        .iter()
        .filter(|(_, a)| &a.home == node)
        .map(|(k, _)| *k)
        .collect();
    for ask in asks {
        if let Some(pending) = lock(&cluster.asks).remove(&ask) {
            found = true;
            let _ = pending.answer.send(JoinResult::Retry {
                reason: "the session's relay node is gone; try again".into(),
            });
        }
    }
    if found {
        cluster.metrics.dead_nodes.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(node = %node, "relay node unreachable; its sessions' members here move, its members of sessions here leave");
    }
}

/// Looks up the liveness of every node this one shares a session with.
pub(super) async fn find_dead_nodes(state: &Arc<RelayState>, cluster: &Arc<Cluster>) {
    let mut nodes: HashSet<Arc<str>> = lock(&cluster.remote)
        .values()
        .map(|s| s.home.clone())
        .collect();
    nodes.extend(
        lock(&cluster.proxies)
            .values()
            .flat_map(|ids| ids.values().cloned()),
    );
    nodes.extend(lock(&cluster.asks).values().map(|a| a.home.clone()));
    nodes.remove(&cluster.node);
    if nodes.is_empty() {
        return;
    }
    let nodes: Vec<Arc<str>> = nodes.into_iter().collect();
    let mut mget = redis::cmd("MGET");
    for node in &nodes {
        mget.arg(store::node_key(node));
    }
    let Some(alive) = cluster.query::<Vec<Option<String>>>(&mget).await else {
        return;
    };
    for (node, alive) in nodes.iter().zip(alive) {
        if alive.is_none() {
            node_unreachable(state, node);
        }
    }
}

/// Keeps the records of the sessions this node homes, or holds members of, alive.
pub(super) fn renew_records(state: &RelayState, cluster: &Cluster) {
    let mut keys: HashSet<SessionKey> = lock(&state.sessions).keys().copied().collect();
    keys.extend(lock(&cluster.remote).keys().copied());
    for key in keys {
        cluster.command(store::renew(&key, cluster.record_ttl_ms));
    }
}

/// After an outage Redis may have restarted empty: write again what this node homes.
pub(super) async fn rewrite_records(state: &RelayState, cluster: &Cluster) {
    let grace = state.config.host_grace;
    let mut pipe = redis::pipe();
    {
        let sessions = lock(&state.sessions);
        if sessions.is_empty() {
            return;
        }
        for (key, session) in sessions.iter() {
            let (verifier, resume) = session.verifiers();
            let record = store::record_key(key);
            pipe.cmd("HSET")
                .arg(&record)
                .arg("verifier")
                .arg(&verifier[..])
                .arg("resume")
                .arg(&resume[..])
                .arg("epoch")
                .arg(session.epoch)
                .arg("home")
                .arg(&*cluster.node)
                .arg("next")
                .arg(session.next_participant())
                .ignore();
            pipe.cmd("PEXPIRE")
                .arg(&record)
                .arg(cluster.record_ttl_ms)
                .ignore();
            for id in session.participants.keys() {
                pipe.cmd("HSET")
                    .arg(store::members_key(key))
                    .arg(*id)
                    .arg(&*cluster.node)
                    .ignore();
            }
            if let Some(since) = session.host_away_since {
                let left = grace.saturating_sub(since.elapsed()).as_millis() as u64;
                pipe.add_command(store::host_away(key, left.max(1)))
                    .ignore();
            }
        }
    }
    let mut redis = cluster.redis.clone();
    if let Err(e) = pipe.query_async::<()>(&mut redis).await {
        tracing::warn!("could not rewrite this node's session records: {e}");
    }
}
