//! Relay control messages: the only payloads the relay decodes.
//!
//! A control frame is `[PROTOCOL_VERSION, Kind::Control]` followed by a postcard-encoded
//! `ToRelay` or `FromRelay`. They carry ids, hashes and reasons; never names, paths or
//! content.

use serde::{Deserialize, Serialize};

use super::header::Kind;
use super::{DecodeError, PROTOCOL_VERSION, ParticipantId};

/// When to connect again after `FromRelay::Move { within_ms }`: a random moment within
/// it, so the members of a draining node do not all arrive at the next one at once.
pub fn moment_within(within_ms: u32) -> std::time::Duration {
    use rand::RngExt;
    std::time::Duration::from_millis(u64::from(rand::rng().random_range(0..=within_ms)))
}

/// Sent by members to the relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToRelay {
    /// A host opens a session. `verifier` is SHA-256 of the admission token;
    /// `resume_verifier` is SHA-256 of a host-only random token that lets the host
    /// reclaim the session after its connection drops.
    Create {
        session: [u8; 16],
        verifier: [u8; 32],
        resume_verifier: [u8; 32],
    },
    /// The host's connection came back within the grace period.
    Resume {
        session: [u8; 16],
        resume_token: [u8; 32],
    },
    /// A participant proves it holds the link by presenting the admission token.
    Join { session: [u8; 16], token: [u8; 32] },
    /// Follow a member (or stop following with `None`): presence sent to `Route::Followers`
    /// reaches you.
    Follow { leader: Option<ParticipantId> },
    /// Host only: let a waiting participant receive session traffic.
    Admit { participant: ParticipantId },
    /// Host only: disconnect a participant and refuse it from now on.
    Remove { participant: ParticipantId },
    /// Host only: replace the admission verifier (after a rekey the old link stops
    /// working) and announce the key epoch new joiners seal with.
    RotateToken { verifier: [u8; 32], epoch: u32 },
    /// Host only: end the session for everyone.
    End,
    /// Host only: turn away someone waiting for admission.
    Refuse { participant: ParticipantId },
    /// Answered at once with `Pong` carrying the same nonce: the member times its round
    /// trip to the relay.
    Ping { nonce: u64 },
    /// Host only, on a connection of its own: carry this session's SSH guests (see
    /// docs/PROTOCOL.md, "SSH guests"). Proven like `Resume`; answered `SshGatewayReady`.
    SshGateway {
        session: [u8; 16],
        resume_token: [u8; 32],
    },
    /// On the SSH gateway: bytes for guest `stream` (already the guest's SSH encryption).
    SshData { stream: u32, bytes: Vec<u8> },
    /// On the SSH gateway: hang up guest `stream`.
    SshClose { stream: u32 },
}

/// Sent by the relay to members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FromRelay {
    /// Your connection is in the session with this id. A participant is waiting for the
    /// host's admission until `Admitted` arrives.
    Welcome {
        participant: ParticipantId,
        max_frame: u32,
        /// The key epoch the session is in; a joiner seals with this epoch's keys.
        epoch: u32,
    },
    Admitted,
    /// To the host: someone presented a valid token and waits for admission.
    JoinRequest {
        participant: ParticipantId,
    },
    /// An admitted member joined.
    PeerJoined {
        participant: ParticipantId,
    },
    PeerLeft {
        participant: ParticipantId,
    },
    /// The host's connection dropped; the relay keeps the session for `grace_seconds`.
    HostAway {
        grace_seconds: u32,
    },
    HostBack,
    /// A frame of yours was refused; the connection stays open unless `fatal`.
    Error {
        code: ErrorCode,
        fatal: bool,
        message: String,
    },
    /// The answer to `Ping`.
    Pong {
        nonce: u64,
    },
    /// This relay node cannot keep you (it is draining for a restart, or lost what it
    /// needs to serve your session): connect again now, after a random pause below
    /// `within_ms`, and a load balancer sends you to a node that can. Not an error; the
    /// relay closes the connection right after.
    Move {
        within_ms: u32,
    },
    /// To the SSH gateway: it carries the session's guests from now on; guests jump
    /// through the relay's SSH port `port`.
    SshGatewayReady {
        port: u16,
    },
    /// To the SSH gateway: a guest opened a jump channel to the session.
    SshOpened {
        stream: u32,
    },
    /// To the SSH gateway: bytes from guest `stream`, as the guest's SSH client sent them.
    SshData {
        stream: u32,
        bytes: Vec<u8>,
    },
    /// To the SSH gateway: guest `stream` hung up.
    SshClosed {
        stream: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The session does not exist (ended, or never created on this relay).
    NoSession,
    /// The admission token does not match: wrong or outdated link.
    BadToken,
    SessionExists,
    SessionFull,
    FrameTooLarge,
    Malformed,
    /// A control message or route this member may not use.
    NotAllowed,
    /// A frame addressed to a member that is not in the session.
    NoSuchParticipant,
    Removed,
    SessionEnded,
    /// The member did not read its frames fast enough and was disconnected.
    TooSlow,
    /// The frame was sent before the connection joined a session.
    NotJoined,
    /// The host did not let this joiner in.
    Refused,
}

pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut frame = vec![PROTOCOL_VERSION, Kind::Control as u8];
    // Serializing these plain enums into a Vec cannot fail.
    let body = postcard::to_allocvec(message).expect("control messages serialize");
    frame.extend_from_slice(&body);
    frame
}

/// Whether a frame is a control frame (else it is a data frame).
pub fn is_control(frame: &[u8]) -> Result<bool, DecodeError> {
    match frame {
        [] => Err(DecodeError::Empty),
        [version, ..] if *version != PROTOCOL_VERSION => Err(DecodeError::Version(*version)),
        [_] => Err(DecodeError::Truncated(1)),
        [_, kind, ..] => Ok(Kind::from_byte(*kind)? == Kind::Control),
    }
}

pub fn decode<T: for<'de> Deserialize<'de>>(frame: &[u8]) -> Result<T, DecodeError> {
    if !is_control(frame)? {
        return Err(DecodeError::Body);
    }
    postcard::from_bytes(&frame[2..]).map_err(|_| DecodeError::Body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_join() {
        let frame = encode(&ToRelay::Join {
            session: [1; 16],
            token: [2; 32],
        });
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            format!("0200{}{}{}", "02", "01".repeat(16), "02".repeat(32))
        );
        assert_eq!(
            decode::<ToRelay>(&frame).unwrap(),
            ToRelay::Join {
                session: [1; 16],
                token: [2; 32]
            }
        );
    }

    #[test]
    fn known_answer_move() {
        let frame = encode(&FromRelay::Move { within_ms: 1000 });
        assert_eq!(frame, [0x02, 0x00, 0x09, 0xe8, 0x07]);
        assert_eq!(
            decode::<FromRelay>(&frame).unwrap(),
            FromRelay::Move { within_ms: 1000 }
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(decode::<ToRelay>(&[]), Err(DecodeError::Empty));
        assert_eq!(decode::<ToRelay>(&[2]), Err(DecodeError::Truncated(1)));
        assert_eq!(decode::<ToRelay>(&[2, 0, 250, 3]), Err(DecodeError::Body));
        assert_eq!(decode::<ToRelay>(&[9, 0]), Err(DecodeError::Version(9)));
        assert_eq!(decode::<ToRelay>(&[2, 0, 2, 1]), Err(DecodeError::Body));
    }
}
