//! What relay nodes tell each other through Redis pub/sub, one channel per node.
//!
//! A payload is `[CLUSTER_WIRE_VERSION]` followed by one or more postcard `NodeMessage`s,
//! back to back (postcard values delimit themselves): a node sends everything it has for
//! another node in one publish, so Redis's work grows with the batches, not the frames.
//! `frame` fields hold the exact bytes a member sends or receives (a control frame, or a
//! data frame's cleartext header and sealed payload): Redis sees what a relay already sees.

use std::net::SocketAddr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::protocol::ParticipantId;
use crate::protocol::control::ErrorCode;

/// What the home answered a joiner's node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinResult {
    Welcome {
        id: ParticipantId,
        epoch: u32,
    },
    Refused {
        code: ErrorCode,
        message: String,
    },
    /// The home cannot take anyone now (it is draining, or the session left it): the
    /// joiner connects again.
    Retry {
        reason: String,
    },
}

/// 2: a payload may hold several messages (1 held exactly one; a version-1 node would
/// read the first and drop the rest, so it refuses version 2 payloads whole instead).
pub const CLUSTER_WIRE_VERSION: u8 = 2;

/// The channel a node reads its messages from.
pub fn channel(node: &str) -> String {
    format!("cotype:n:{node}")
}

/// Variants are appended, never reordered: their index is on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeMessage {
    /// Home -> a member's node: push `frame` to that local member.
    Deliver {
        session: [u8; 16],
        to: ParticipantId,
        /// `Bytes` (de)serializes as one run of bytes, the same encoding as `Vec<u8>`
        /// but copied whole rather than byte by byte.
        frame: Bytes,
    },
    /// A member's node -> home: a data frame (sender already stamped) or a member control
    /// frame (`Follow`) from a local member.
    ToHome {
        session: [u8; 16],
        from: ParticipantId,
        frame: Vec<u8>,
    },
    /// A joiner's node -> home: the joiner's token matched the verifier of `epoch`.
    JoinAsk {
        session: [u8; 16],
        ask: u64,
        node: String,
        epoch: u32,
        address: SocketAddr,
    },
    /// Home -> the joiner's node: its participant id and the epoch, or why not.
    JoinAnswer {
        session: [u8; 16],
        ask: u64,
        result: JoinResult,
    },
    /// A member's node -> home: that member's connection closed.
    Left {
        session: [u8; 16],
        id: ParticipantId,
    },
    /// Home -> a member's node: close that member's connection with this reason (what
    /// to tell it was delivered before, as a frame).
    Kick {
        session: [u8; 16],
        id: ParticipantId,
        reason: String,
    },
    /// New home -> old home: the host resumed on `home`; give the session up.
    HomeChanged { session: [u8; 16], home: String },
    /// Home -> a member's node: push the same `frame` to each of these local members, in
    /// this order (one publish per node for a frame to many receivers there).
    DeliverMany {
        session: [u8; 16],
        to: Vec<ParticipantId>,
        frame: Bytes,
    },
}

pub fn encode(message: &NodeMessage) -> Vec<u8> {
    let mut payload = vec![CLUSTER_WIRE_VERSION];
    append(message, &mut payload);
    payload
}

/// Appends `message` to a payload begun with `[CLUSTER_WIRE_VERSION]`.
pub fn append(message: &NodeMessage, payload: &mut Vec<u8>) {
    // Plain data into a Vec: cannot fail.
    let body = std::mem::take(payload);
    *payload = postcard::to_extend(message, body).expect("node messages serialize");
}

/// The messages of a payload, in order; none at all if any of it is not a node message.
pub fn decode(payload: &[u8]) -> Option<Vec<NodeMessage>> {
    let [CLUSTER_WIRE_VERSION, body @ ..] = payload else {
        return None;
    };
    let mut rest = body;
    let mut messages = Vec::new();
    while !rest.is_empty() || messages.is_empty() {
        let (message, after) = postcard::take_from_bytes(rest).ok()?;
        messages.push(message);
        rest = after;
    }
    Some(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_deliver() {
        let payload = encode(&NodeMessage::Deliver {
            session: [1; 16],
            to: 3,
            frame: Bytes::from_static(&[2, 0, 7]),
        });
        let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, format!("0200{}0303020007", "01".repeat(16)));
        assert_eq!(
            decode(&payload),
            Some(vec![NodeMessage::Deliver {
                session: [1; 16],
                to: 3,
                frame: Bytes::from_static(&[2, 0, 7])
            }])
        );
    }

    #[test]
    fn known_answer_deliver_many() {
        let message = NodeMessage::DeliverMany {
            session: [1; 16],
            to: vec![3, 300],
            frame: Bytes::from_static(&[2, 0, 7]),
        };
        let payload = encode(&message);
        let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
        // Variant 7, the session, two ids (300 as a varint: ac 02), the frame.
        assert_eq!(hex, format!("0207{}0203ac0203020007", "01".repeat(16)));
        assert_eq!(decode(&payload), Some(vec![message]));
    }

    #[test]
    fn messages_back_to_back_in_one_payload() {
        let first = NodeMessage::Left {
            session: [4; 16],
            id: 9,
        };
        let second = NodeMessage::Deliver {
            session: [4; 16],
            to: 2,
            frame: Bytes::from_static(&[1, 2, 3]),
        };
        let mut payload = encode(&first);
        append(&second, &mut payload);
        let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
        let session = "04".repeat(16);
        // Left (variant 4) then Deliver (variant 0), nothing between them.
        assert_eq!(hex, format!("0204{session}0900{session}0203010203"));
        assert_eq!(decode(&payload), Some(vec![first, second]));
        // A good message followed by anything else: the payload is refused whole.
        payload.push(0xff);
        assert_eq!(decode(&payload), None);
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[2, 0]), None);
        assert_eq!(decode(&[1, 250, 3]), None);
        assert_eq!(decode(&[1, 0, 1]), None);
        assert_eq!(decode(&[CLUSTER_WIRE_VERSION]), None);
        assert_eq!(decode(&[CLUSTER_WIRE_VERSION, 250, 3]), None);
        for len in 0..64 {
            let noise: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = decode(&noise);
        }
    }
}
