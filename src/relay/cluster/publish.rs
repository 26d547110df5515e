//! What a node sends to Redis, in the order it was queued: publishes to other nodes'
//! channels and record commands, pipelined in batches. A frame the home forwards to many
//! members of one node goes out once for that node (`DeliverMany`), not once per member,
//! and everything a batch holds for one node between two record commands goes out as one
//! publish (`pack`): Redis, one thread for every node, does a few publishes per batch
//! instead of one per frame and node.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use foldhash::{HashMap, HashMapExt};
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use super::wire::{self, NodeMessage};
use super::{REDIS_TIMEOUT, home, outage};
use crate::protocol::ParticipantId;
use crate::relay::RelayState;
use crate::relay::session::SessionKey;

/// Most items taken into one pipelined batch: a frame to ten members elsewhere is ten
/// items, and each batch waits for Redis's answer, so batches are large.
const BATCH: usize = 4096;

/// A node's messages of one batch share a publish up to about this many bytes.
const MAX_PAYLOAD: usize = 256 * 1024;

pub(super) enum Outbox {
    Publish {
        node: Arc<str>,
        message: NodeMessage,
    },
    /// A frame for one member on `node` of a session homed here.
    Deliver {
        node: Arc<str>,
        session: SessionKey,
        to: ParticipantId,
        frame: Bytes,
    },
    Command(redis::Cmd),
}

/// One publish or command of a batch, deliveries grouped.
pub(super) enum Planned {
    Publish {
        node: Arc<str>,
        message: NodeMessage,
    },
    Deliveries {
        node: Arc<str>,
        session: SessionKey,
        to: Vec<ParticipantId>,
        frame: Bytes,
    },
    Command(redis::Cmd),
}

impl Planned {
    fn one(item: Outbox) -> Planned {
        match item {
            Outbox::Publish { node, message } => Planned::Publish { node, message },
            Outbox::Deliver {
                node,
                session,
                to,
                frame,
            } => Planned::Deliveries {
                node,
                session,
                to: vec![to],
                frame,
            },
            Outbox::Command(command) => Planned::Command(command),
        }
    }

    /// The node and message of a publish, or the command.
    fn into_message(self) -> Result<(Arc<str>, NodeMessage), redis::Cmd> {
        match self {
            Planned::Publish { node, message } => Ok((node, message)),
            Planned::Deliveries {
                node,
                session,
                to,
                frame,
            } => {
                let message = match to.as_slice() {
                    [to] => NodeMessage::Deliver {
                        session,
                        to: *to,
                        frame,
                    },
                    _ => NodeMessage::DeliverMany { session, to, frame },
                };
                Ok((node, message))
            }
            Planned::Command(command) => Err(command),
        }
    }
}

/// One command of a pipeline: a publish of one or more messages to a node, or a record
/// command.
pub(super) enum Packed {
    Publish {
        node: Arc<str>,
        payload: Vec<u8>,
        messages: u64,
    },
    Command(redis::Cmd),
}

impl Packed {
    /// One publish per message (`group_deliveries: false`, kept to measure against).
    fn alone(planned: Planned) -> Packed {
        match planned.into_message() {
            Ok((node, message)) => Packed::Publish {
                node,
                payload: wire::encode(&message),
                messages: 1,
            },
            Err(command) => Packed::Command(command),
        }
    }
}

/// Puts each node's messages between two record commands into one publish (at the place
/// of its first message; a payload closes at `MAX_PAYLOAD` and the next one follows it).
/// Each node reads its channel in order, so every node gets its messages in the order
/// they were planned; a command stays after everything planned before it and before
/// everything planned after it.
pub(super) fn pack(planned: Vec<Planned>) -> Vec<Packed> {
    let mut packed: Vec<Packed> = Vec::new();
    let mut open: HashMap<Arc<str>, usize> = HashMap::new();
    for item in planned {
        match item.into_message() {
            Ok((node, message)) => {
                let slot = open.get(&node).and_then(|&index| match &mut packed[index] {
                    Packed::Publish {
                        payload, messages, ..
                    } if payload.len() < MAX_PAYLOAD => Some((payload, messages)),
                    _ => None,
                });
                match slot {
                    Some((payload, messages)) => {
                        wire::append(&message, payload);
                        *messages += 1;
                    }
                    None => {
                        open.insert(node.clone(), packed.len());
                        packed.push(Packed::Publish {
                            node,
                            payload: wire::encode(&message),
                            messages: 1,
                        });
                    }
                }
            }
            Err(command) => {
                open.clear();
                packed.push(Packed::Command(command));
            }
        }
    }
    packed
}

/// Groups the batch's deliveries of one frame to one node's members into one publish,
/// keeping every member's frames in order: a member joins an earlier group only if its
/// previous frame went out in a group before that one. Any other message to a node closes
/// that node's groups (a kick or a join answer stays after the frames queued before it,
/// and before those queued after it).
///
/// Deliveries of one frame share its buffer (the home clones one `Bytes` per receiver),
/// so the buffer's address names the frame within a batch that holds every copy.
pub(super) fn group(batch: Vec<Outbox>) -> Vec<Planned> {
    type Frame = (Arc<str>, SessionKey, usize, usize);
    let mut planned: Vec<Planned> = Vec::with_capacity(batch.len());
    // Two lookups per delivery, a few thousand deliveries a batch: a fast hasher (the
    // keys are per batch, and it is seeded at random).
    let mut open: HashMap<Frame, usize> = HashMap::new();
    let mut last: HashMap<(Arc<str>, SessionKey, ParticipantId), usize> =
        HashMap::with_capacity(batch.len());
    for item in batch {
        match item {
            Outbox::Deliver {
                node,
                session,
                to,
                frame,
            } => {
                let key = (node.clone(), session, frame.as_ptr() as usize, frame.len());
                let receiver = (node.clone(), session, to);
                let previous = last.get(&receiver).copied();
                let joinable = open
                    .get(&key)
                    .copied()
                    .filter(|&g| previous.is_none_or(|p| p < g));
                let index = match joinable {
                    Some(g) => {
                        if let Planned::Deliveries { to: ids, .. } = &mut planned[g] {
                            ids.push(to);
                        }
                        g
                    }
                    None => {
                        open.insert(key, planned.len());
                        planned.push(Planned::one(Outbox::Deliver {
                            node,
                            session,
                            to,
                            frame,
                        }));
                        planned.len() - 1
                    }
                };
                last.insert(receiver, index);
            }
            Outbox::Publish { node, message } => {
                open.retain(|(n, ..), _| *n != node);
                planned.push(Planned::Publish { node, message });
            }
            Outbox::Command(command) => planned.push(Planned::Command(command)),
        }
    }
    planned
}

/// Sends what the node queued to Redis in order, pipelined in batches (deliveries grouped
/// and packed per node when `grouped`; one publish per receiver otherwise, kept to measure
/// against).
pub(super) async fn publish_loop(
    weak: Weak<RelayState>,
    mut redis: ConnectionManager,
    mut outgoing: mpsc::UnboundedReceiver<Outbox>,
    grouped: bool,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = outgoing.recv().await {
        batch.push(first);
        // The first item woke this task: let the tasks already woken (the sender of the
        // next frame, say) queue theirs before the batch is taken, so that a burst goes
        // out in fewer, larger publishes. (A frame's copies for every receiver are queued
        // together as the home routes it.)
        tokio::task::yield_now().await;
        while batch.len() < BATCH {
            match outgoing.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let packed: Vec<Packed> = if grouped {
            pack(group(std::mem::take(&mut batch)))
        } else {
            batch
                .drain(..)
                .map(Planned::one)
                .map(Packed::alone)
                .collect()
        };
        let mut pipe = redis::pipe();
        let mut publishes = Vec::new();
        let (mut bytes, mut messages) = (0, 0);
        for item in packed {
            match item {
                Packed::Publish {
                    node,
                    payload,
                    messages: count,
                } => {
                    bytes += payload.len();
                    messages += count;
                    pipe.publish(wire::channel(&node), payload);
                    publishes.push(node);
                }
                // Ignored commands give no value: the answers are the publishes' only.
                Packed::Command(command) => {
                    pipe.add_command(command).ignore();
                }
            }
        }
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(
            REDIS_TIMEOUT,
            pipe.query_async::<Vec<redis::Value>>(&mut redis),
        )
        .await;
        let Some(state) = weak.upgrade() else { return };
        let Some(cluster) = state.cluster.get() else {
            return;
        };
        match answer {
            Ok(Ok(values)) => {
                let metrics = &cluster.metrics;
                metrics.publish_batches.fetch_add(1, Ordering::Relaxed);
                metrics
                    .publish_micros
                    .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                metrics.published.fetch_add(messages, Ordering::Relaxed);
                metrics
                    .published_bytes
                    .fetch_add(bytes as u64, Ordering::Relaxed);
                // A publish nobody received: that node no longer reads its channel.
                let gone: HashSet<Arc<str>> = publishes
                    .iter()
                    .zip(values.iter())
                    .filter(|(_, value)| matches!(value, redis::Value::Int(0)))
                    .map(|(node, _)| node.clone())
                    .collect();
                for node in gone {
                    home::node_unreachable(&state, &node);
                }
            }
            Ok(Err(e)) => outage(&state, &format!("a publish failed: {e}")),
            Err(_) => outage(&state, "a publish timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(node: &Arc<str>, to: ParticipantId, frame: &Bytes) -> Outbox {
        Outbox::Deliver {
            node: node.clone(),
            session: [7; 16],
            to,
            frame: frame.clone(),
        }
    }

    /// (node, receivers, first frame byte) of each planned item; "cmd" for a command,
    /// "pub" for another publish.
    fn shape(planned: &[Planned]) -> Vec<(String, Vec<ParticipantId>, u8)> {
        planned
            .iter()
            .map(|p| match p {
                Planned::Deliveries {
                    node, to, frame, ..
                } => (node.to_string(), to.clone(), frame[0]),
                Planned::Publish { node, .. } => (format!("pub {node}"), vec![], 0),
                Planned::Command(_) => ("cmd".into(), vec![], 0),
            })
            .collect()
    }

    #[test]
    fn one_publish_per_node_and_frame_each_receiver_in_order() {
        let (b, c): (Arc<str>, Arc<str>) = ("b".into(), "c".into());
        let (f1, f2) = (Bytes::from(vec![1u8; 8]), Bytes::from(vec![2u8; 8]));
        // Copies queued in turns: receiver 1 gets f1 f2, receiver 2 f1 f2, ...
        let batch = vec![
            deliver(&b, 1, &f1),
            deliver(&b, 1, &f2),
            deliver(&c, 3, &f1),
            deliver(&b, 2, &f1),
            deliver(&c, 3, &f2),
            deliver(&b, 2, &f2),
        ];
        assert_eq!(
            shape(&group(batch)),
            vec![
                ("b".into(), vec![1, 2], 1),
                ("b".into(), vec![1, 2], 2),
                ("c".into(), vec![3], 1),
                ("c".into(), vec![3], 2),
            ]
        );
    }

    #[test]
    fn a_frame_again_to_the_same_receiver_starts_a_new_group() {
        let b: Arc<str> = "b".into();
        let (f1, f2) = (Bytes::from(vec![1u8; 8]), Bytes::from(vec![2u8; 8]));
        // Receiver 1 gets f1, f2, f1 again: its second f1 must come after f2. Receiver 2
        // then joins the newest group of f1, so its f2 goes in a group after that one.
        let batch = vec![
            deliver(&b, 1, &f1),
            deliver(&b, 1, &f2),
            deliver(&b, 1, &f1),
            deliver(&b, 2, &f1),
            deliver(&b, 2, &f2),
        ];
        assert_eq!(
            shape(&group(batch)),
            vec![
                ("b".into(), vec![1], 1),
                ("b".into(), vec![1], 2),
                ("b".into(), vec![1, 2], 1),
                ("b".into(), vec![2], 2),
            ]
        );
        // Receiver 2 joins f1's group after receiving f2 there would reorder it: it
        // starts a group after f2's.
        let batch = vec![
            deliver(&b, 1, &f1),
            deliver(&b, 2, &f2),
            deliver(&b, 2, &f1),
        ];
        assert_eq!(
            shape(&group(batch)),
            vec![
                ("b".into(), vec![1], 1),
                ("b".into(), vec![2], 2),
                ("b".into(), vec![2], 1),
            ]
        );
    }

    #[test]
    fn another_message_to_a_node_closes_its_groups() {
        let (b, c): (Arc<str>, Arc<str>) = ("b".into(), "c".into());
        let f1 = Bytes::from(vec![1u8; 8]);
        let batch = vec![
            deliver(&b, 1, &f1),
            deliver(&c, 3, &f1),
            Outbox::Publish {
                node: b.clone(),
                message: NodeMessage::Left {
                    session: [7; 16],
                    id: 1,
                },
            },
            Outbox::Command(redis::cmd("PING")),
            deliver(&b, 2, &f1),
            deliver(&c, 4, &f1),
        ];
        assert_eq!(
            shape(&group(batch)),
            vec![
                ("b".into(), vec![1], 1),
                ("c".into(), vec![3, 4], 1),
                ("pub b".into(), vec![], 0),
                ("cmd".into(), vec![], 0),
                ("b".into(), vec![2], 1),
            ]
        );
    }

    #[test]
    fn equal_bytes_in_different_buffers_are_not_merged_wrongly() {
        // Two sends of equal content are two frames: each receiver still gets both.
        let b: Arc<str> = "b".into();
        let (x, y) = (Bytes::from(vec![5u8; 4]), Bytes::from(vec![5u8; 4]));
        let batch = vec![deliver(&b, 1, &x), deliver(&b, 1, &y)];
        let planned = group(batch);
        let delivered: usize = planned
            .iter()
            .map(|p| match p {
                Planned::Deliveries { to, .. } => to.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(delivered, 2);
    }

    /// (node, messages) of each publish; "cmd" for a command.
    fn packed_shape(packed: &[Packed]) -> Vec<(String, Vec<NodeMessage>)> {
        packed
            .iter()
            .map(|p| match p {
                Packed::Publish { node, payload, .. } => (
                    node.to_string(),
                    wire::decode(payload).expect("a packed payload decodes"),
                ),
                Packed::Command(_) => ("cmd".into(), vec![]),
            })
            .collect()
    }

    #[test]
    fn a_nodes_messages_go_out_together_and_commands_stay_in_place() {
        let (b, c): (Arc<str>, Arc<str>) = ("b".into(), "c".into());
        let (f1, f2, f3) = (
            Bytes::from(vec![1u8; 4]),
            Bytes::from(vec![2u8; 4]),
            Bytes::from(vec![3u8; 4]),
        );
        let left = NodeMessage::Left {
            session: [7; 16],
            id: 9,
        };
        let batch = vec![
            deliver(&b, 1, &f1),
            deliver(&c, 3, &f1),
            deliver(&b, 2, &f1),
            Outbox::Publish {
                node: b.clone(),
                message: left.clone(),
            },
            deliver(&b, 1, &f2),
            Outbox::Command(redis::cmd("PING")),
            deliver(&b, 1, &f3),
        ];
        let many = |to: Vec<ParticipantId>, frame: &Bytes| NodeMessage::DeliverMany {
            session: [7; 16],
            to,
            frame: frame.clone(),
        };
        let one = |to: ParticipantId, frame: &Bytes| NodeMessage::Deliver {
            session: [7; 16],
            to,
            frame: frame.clone(),
        };
        assert_eq!(
            packed_shape(&pack(group(batch))),
            vec![
                ("b".into(), vec![many(vec![1, 2], &f1), left, one(1, &f2)]),
                ("c".into(), vec![one(3, &f1)]),
                ("cmd".into(), vec![]),
                ("b".into(), vec![one(1, &f3)]),
            ]
        );
    }

    #[test]
    fn a_full_payload_is_followed_by_the_next() {
        let b: Arc<str> = "b".into();
        let big = MAX_PAYLOAD / 2 + 1;
        let frames: Vec<Bytes> = (0..3u8).map(|i| Bytes::from(vec![i; big])).collect();
        let batch = frames.iter().map(|f| deliver(&b, 1, f)).collect();
        let shape = packed_shape(&pack(group(batch)));
        let counts: Vec<usize> = shape.iter().map(|(_, m)| m.len()).collect();
        assert_eq!(counts, vec![2, 1]);
        let firsts: Vec<u8> = shape
            .iter()
            .flat_map(|(_, m)| m.iter())
            .map(|m| match m {
                NodeMessage::Deliver { frame, .. } => frame[0],
                _ => panic!("a delivery"),
            })
            .collect();
        assert_eq!(firsts, vec![0, 1, 2]);
    }
}
