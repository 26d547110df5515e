//! What relay nodes tell each other through Redis pub/sub, one channel per node.
//!
//! A payload is `[CLUSTER_WIRE_VERSION]` followed by a postcard `NodeMessage`. `frame`
//! fields hold the exact bytes a member sends or receives (a control frame, or a data
//! frame's cleartext header and sealed payload): Redis sees what a relay already sees.

use std::net::SocketAddr;

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

pub const CLUSTER_WIRE_VERSION: u8 = 1;

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
        frame: Vec<u8>,
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
        frame: Vec<u8>,
    },
}

pub fn encode(message: &NodeMessage) -> Vec<u8> {
    let mut payload = vec![CLUSTER_WIRE_VERSION];
    // Plain data into a Vec: cannot fail.
    payload.extend(postcard::to_allocvec(message).expect("node messages serialize"));
    payload
}

pub fn decode(payload: &[u8]) -> Option<NodeMessage> {
    match payload {
        [CLUSTER_WIRE_VERSION, body @ ..] => postcard::from_bytes(body).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_deliver() {
        let payload = encode(&NodeMessage::Deliver {
            session: [1; 16],
            to: 3,
            frame: vec![2, 0, 7],
        });
        let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, format!("0100{}0303020007", "01".repeat(16)));
        assert_eq!(
            decode(&payload),
            Some(NodeMessage::Deliver {
                session: [1; 16],
                to: 3,
                frame: vec![2, 0, 7]
            })
        );
    }

    #[test]
    fn known_answer_deliver_many() {
        let message = NodeMessage::DeliverMany {
            session: [1; 16],
            to: vec![3, 300],
            frame: vec![2, 0, 7],
        };
        let payload = encode(&message);
        let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
        // Variant 7, the session, two ids (300 as a varint: ac 02), the frame.
        assert_eq!(hex, format!("0107{}0203ac0203020007", "01".repeat(16)));
        assert_eq!(decode(&payload), Some(message));
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[2, 0]), None);
        assert_eq!(decode(&[1, 250, 3]), None);
        assert_eq!(decode(&[1, 0, 1]), None);
        for len in 0..64 {
            let noise: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = decode(&noise);
        }
    }
}
