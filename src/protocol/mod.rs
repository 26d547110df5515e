//! The wire format.
//!
//! Every WebSocket binary message is one frame. A frame is either a relay control message
//! (`control`: joining, admission, follow, errors — the only payload the relay parses) or a
//! data frame: the fixed cleartext `header` the relay routes by, followed by an AEAD-sealed
//! `message` that only members can open. See docs/PROTOCOL.md.

pub mod control;
pub mod frame;
pub mod header;
pub mod message;

/// Bumped on any incompatible change to the header, control messages or catalog.
pub const PROTOCOL_VERSION: u8 = 1;

/// The largest frame a relay accepts by default (`--max-frame`), header included.
pub const DEFAULT_MAX_FRAME: usize = 1024 * 1024;

/// Largest piece of a file in one frame; well under `DEFAULT_MAX_FRAME` after sealing.
pub const FILE_CHUNK_LEN: usize = 256 * 1024;

/// Participant ids are assigned by the relay; the host is always 0.
pub type ParticipantId = u32;
pub const HOST_ID: ParticipantId = 0;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty frame")]
    Empty,
    #[error("frame is for protocol version {0}; this build speaks version {PROTOCOL_VERSION}")]
    Version(u8),
    #[error("frame too short for its header ({0} bytes)")]
    Truncated(usize),
    #[error("unknown frame kind {0}")]
    Kind(u8),
    #[error("unknown route {0}")]
    Route(u8),
    #[error("malformed message body")]
    Body,
}
