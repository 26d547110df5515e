//! Sealing catalog messages into data frames and opening them again.

use super::header::{HEADER_LEN, Header, Route};
use super::message::Message;
use super::{DecodeError, ParticipantId};
use crate::crypto::{CryptoError, ReceivingKeys, SendingKey};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Authentic, but addressed to someone else: a relay misdelivered it.
    #[error("the frame was addressed to {route:?}, not to this member")]
    Misrouted { route: super::header::Route },
    /// Sealed in a key epoch this member has moved past (see `Channel::switch_epoch`).
    #[error("the frame was sealed in the retired key epoch {epoch}")]
    RetiredEpoch { epoch: crate::crypto::Epoch },
    #[error("the frame's header says {header:?} but its message is a {actual:?}")]
    KindMismatch {
        header: super::header::Kind,
        actual: super::header::Kind,
    },
}

/// One member's outgoing side: its sending key and the participant id the relay gave it.
pub struct FrameSealer {
    key: SendingKey,
    sender: ParticipantId,
}

impl FrameSealer {
    pub fn new(key: SendingKey, sender: ParticipantId) -> Self {
        FrameSealer { key, sender }
    }

    pub fn sender(&self) -> ParticipantId {
        self.sender
    }

    pub fn set_sender(&mut self, sender: ParticipantId) {
        self.sender = sender;
    }

    pub fn seal(&mut self, route: Route, message: &Message) -> Result<Vec<u8>, CryptoError> {
        let header = Header {
            kind: message.kind(),
            route,
            epoch: self.key.epoch(),
            sender: self.sender,
            instance: self.key.instance(),
            counter: self.key.next_counter()?,
        };
        let header_bytes = header.encode();
        let plaintext = postcard::to_allocvec(message).expect("catalog messages serialize");
        let sealed = self.key.seal(header.counter, &header_bytes, &plaintext);
        let mut frame = Vec::with_capacity(HEADER_LEN + sealed.len());
        frame.extend_from_slice(&header_bytes);
        frame.extend_from_slice(&sealed);
        Ok(frame)
    }
}

/// Opens a data frame: checks the header, the seal and the counter, then decodes.
pub fn open_frame(keys: &mut ReceivingKeys, frame: &[u8]) -> Result<(Header, Message), FrameError> {
    let header = Header::decode(frame)?;
    let plaintext = keys.open(
        header.epoch,
        &header.instance,
        header.counter,
        &frame[..HEADER_LEN],
        &frame[HEADER_LEN..],
    )?;
    let message: Message = postcard::from_bytes(&plaintext).map_err(|_| DecodeError::Body)?;
    if message.kind() != header.kind {
        return Err(FrameError::KindMismatch {
            header: header.kind,
            actual: message.kind(),
        });
    }
    Ok((header, message))
}
