//! The wire format.
//!
//! Every WebSocket binary message is one frame. A frame is either a relay control message
//! (`control`: joining, admission, follow, errors — the only payload the relay parses) or a
//! data frame: the fixed cleartext `header` the relay routes by, followed by an AEAD-sealed
//! `message` that only members can open. See docs/PROTOCOL.md.

pub mod control;
pub mod frame;
pub mod git;
pub mod header;
pub mod hints;
pub mod language;
pub mod message;
pub mod search;
pub mod semantic;

/// Bumped on any incompatible change to the header, control messages or catalog.
pub const PROTOCOL_VERSION: u8 = 2;

/// The largest frame a relay accepts by default (`--max-frame`), header included.
pub const DEFAULT_MAX_FRAME: usize = 1024 * 1024;

/// The most one sequenced edit may take in the host's broadcast, by
/// `message::applied_size`: with the header, the seal and the batch around it, a broadcast
/// of one such edit still fits `DEFAULT_MAX_FRAME`. The host refuses a larger edit before
/// applying it (it could not tell anyone), and ends a batch before an edit that would
/// take it past this.
pub const MAX_EDIT_BYTES: usize = DEFAULT_MAX_FRAME - 1024;

/// Largest piece of a file in one frame; well under `DEFAULT_MAX_FRAME` after sealing, and
/// 256 bytes short of 256 KiB so that a full chunk with its response around it pads to
/// exactly 256 KiB (`frame::padded_len`), not the next 64 KiB.
pub const FILE_CHUNK_LEN: usize = 256 * 1024 - 256;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SessionKeys;
    use crate::link::{Secret, SessionId};
    use crate::protocol::frame::FrameSealer;
    use crate::protocol::header::Route;
    use crate::protocol::message::{AppliedEdit, EditMessage, Message, applied_size};
    use crate::text::{EditId, Operation, RemoteEdit};

    /// The largest edit the host accepts, broadcast alone with the largest ids and a
    /// long path, still fits a frame the relay accepts.
    #[test]
    fn the_largest_accepted_edit_fits_one_broadcast_frame() {
        let path = "some/deeply/nested/folder/".repeat(40) + "file.txt";
        let text_len = MAX_EDIT_BYTES - applied_size(&path, &Operation::insert(0, 0, "").unwrap());
        let op = Operation::insert(
            u32::MAX as usize,
            u32::MAX as usize,
            &"é".repeat((text_len - 16) / 2),
        )
        .unwrap();
        let size = applied_size(&path, &op);
        assert!(
            size <= MAX_EDIT_BYTES && size > MAX_EDIT_BYTES - 32,
            "{size}"
        );
        let message = Message::Edit(EditMessage::Applied {
            edits: vec![AppliedEdit {
                path,
                edit: RemoteEdit {
                    revision: u64::MAX,
                    author: EditId {
                        instance: [0xff; 16],
                        seq: u64::MAX,
                    },
                    op,
                },
                by: ParticipantId::MAX,
            }],
        });
        let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
        // Applied edits come from the host, whose frames also carry its signature.
        let mut sealer = FrameSealer::new(keys.sending_key(u32::MAX), HOST_ID);
        sealer.sign_with(std::sync::Arc::new(crate::crypto::HostIdentity::generate()));
        let frame = sealer.seal(Route::Everyone, &message).unwrap();
        assert!(frame.len() <= DEFAULT_MAX_FRAME, "{} bytes", frame.len());
    }
}
