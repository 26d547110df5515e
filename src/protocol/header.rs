//! The cleartext header of a data frame: everything the relay may know about it.
//!
//! Fixed layout, 40 bytes, big-endian:
//! ```text
//! 0  version  u8      4  epoch    u32     12 target   u32 (for Route::Participant)
//! 1  kind     u8      8  sender   u32     16 instance [u8; 16]
//! 2  route    u8                          32 counter  u64
//! 3  reserved u8 (zero)
//! ```
//! The whole header is the AEAD's associated data: change one bit and the payload no
//! longer opens. The relay overwrites `sender` with the connection's real id; an honest
//! sender already wrote that id, so only a forged sender breaks the seal.

use super::{DecodeError, PROTOCOL_VERSION, ParticipantId};
use crate::crypto::{Epoch, INSTANCE_LEN, InstanceId};

pub const HEADER_LEN: usize = 40;

/// Coarse class of a frame: enough for the relay's metrics and limits, nothing more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A relay control message (not a data frame; see `control`).
    Control = 0,
    Hello = 1,
    Edit = 2,
    Presence = 3,
    Request = 4,
    Response = 5,
    Event = 6,
    KeyUpdate = 7,
}

impl Kind {
    pub fn from_byte(byte: u8) -> Result<Self, DecodeError> {
        Ok(match byte {
            0 => Kind::Control,
            1 => Kind::Hello,
            2 => Kind::Edit,
            3 => Kind::Presence,
            4 => Kind::Request,
            5 => Kind::Response,
            6 => Kind::Event,
            7 => Kind::KeyUpdate,
            other => return Err(DecodeError::Kind(other)),
        })
    }
}

/// Where the relay delivers a data frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    Host,
    Participant(ParticipantId),
    /// Every admitted member except the sender.
    Everyone,
    /// Members who follow the sender (the relay keeps the follow graph).
    Followers,
}

impl Route {
    fn to_bytes(self) -> (u8, ParticipantId) {
        match self {
            Route::Host => (0, 0),
            Route::Participant(id) => (1, id),
            Route::Everyone => (2, 0),
            Route::Followers => (3, 0),
        }
    }

    fn from_bytes(route: u8, target: ParticipantId) -> Result<Self, DecodeError> {
        Ok(match route {
            0 => Route::Host,
            1 => Route::Participant(target),
            2 => Route::Everyone,
            3 => Route::Followers,
            other => return Err(DecodeError::Route(other)),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub route: Route,
    pub epoch: Epoch,
    pub sender: ParticipantId,
    pub instance: InstanceId,
    pub counter: u64,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        let (route, target) = self.route.to_bytes();
        bytes[0] = PROTOCOL_VERSION;
        bytes[1] = self.kind as u8;
        bytes[2] = route;
        bytes[4..8].copy_from_slice(&self.epoch.to_be_bytes());
        bytes[8..12].copy_from_slice(&self.sender.to_be_bytes());
        bytes[12..16].copy_from_slice(&target.to_be_bytes());
        bytes[16..32].copy_from_slice(&self.instance);
        bytes[32..40].copy_from_slice(&self.counter.to_be_bytes());
        bytes
    }

    /// Parses the header at the start of `frame`; the rest of the frame is the payload.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let bytes: &[u8; HEADER_LEN] = frame
            .get(..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(DecodeError::Truncated(frame.len()))?;
        if bytes[0] != PROTOCOL_VERSION {
            return Err(DecodeError::Version(bytes[0]));
        }
        let kind = Kind::from_byte(bytes[1])?;
        if kind == Kind::Control {
            return Err(DecodeError::Kind(0));
        }
        let be32 = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        let route = Route::from_bytes(bytes[2], be32(12))?;
        let mut instance = [0u8; INSTANCE_LEN];
        instance.copy_from_slice(&bytes[16..32]);
        Ok(Header {
            kind,
            route,
            epoch: be32(4),
            sender: be32(8),
            instance,
            counter: u64::from_be_bytes(bytes[32..40].try_into().unwrap_or([0; 8])),
        })
    }

    /// Overwrites the sender id in an encoded frame (the relay's anti-spoofing step).
    pub fn stamp_sender(frame: &mut [u8], sender: ParticipantId) {
        if frame.len() >= HEADER_LEN {
            frame[8..12].copy_from_slice(&sender.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_encoding() {
        let header = Header {
            kind: Kind::Edit,
            route: Route::Participant(0x0102_0304),
            epoch: 2,
            sender: 7,
            instance: [0xaa; 16],
            counter: 0x1122_3344_5566_7788,
        };
        let bytes = header.encode();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "02020100000000020000000701020304aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1122334455667788"
        );
        assert_eq!(Header::decode(&bytes).unwrap(), header);
    }

    #[test]
    fn rejects_what_it_cannot_route() {
        let mut bytes = Header {
            kind: Kind::Hello,
            route: Route::Host,
            epoch: 0,
            sender: 0,
            instance: [0; 16],
            counter: 1,
        }
        .encode();
        assert_eq!(
            Header::decode(&bytes[..39]),
            Err(DecodeError::Truncated(39))
        );
        bytes[2] = 9;
        assert_eq!(Header::decode(&bytes), Err(DecodeError::Route(9)));
        bytes[2] = 0;
        bytes[1] = 200;
        assert_eq!(Header::decode(&bytes), Err(DecodeError::Kind(200)));
        bytes[0] = 1;
        assert_eq!(Header::decode(&bytes), Err(DecodeError::Version(1)));
    }

    #[test]
    fn stamping_the_sender_changes_only_the_sender() {
        let header = Header {
            kind: Kind::Presence,
            route: Route::Followers,
            epoch: 0,
            sender: 5,
            instance: [3; 16],
            counter: 9,
        };
        let mut bytes = header.encode().to_vec();
        Header::stamp_sender(&mut bytes, 6);
        assert_eq!(
            Header::decode(&bytes).unwrap(),
            Header {
                sender: 6,
                ..header
            }
        );
    }
}
