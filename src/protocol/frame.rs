//! Sealing catalog messages into data frames and opening them again.

use super::header::{HEADER_LEN, Header, Kind, Route};
use super::message::Message;
use super::{DecodeError, ParticipantId};
use crate::crypto::{CryptoError, HostIdentity, HostKey, ReceivingKeys, SIGNATURE_LEN, SendingKey};

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
    /// A member sent what only the host may send (an answer, an applied edit, an event).
    #[error("a member sent a {kind:?} message, which only the host may send")]
    HostOnly { kind: super::header::Kind },
    #[error("the frame's header says {header:?} but its message is a {actual:?}")]
    KindMismatch {
        header: super::header::Kind,
        actual: super::header::Kind,
    },
}

/// The smallest padded payload: a keystroke's edit and a short answer look alike.
const SMALLEST_BUCKET: usize = 128;
/// Above this, payloads are padded to a multiple of it rather than a power of two.
const LARGEST_BUCKET: usize = 64 * 1024;

/// How long a payload of `len` bytes is sent: the next power of two from 128 B, then the
/// next multiple of 64 KiB, never past what fits a frame (`DEFAULT_MAX_FRAME`). The relay
/// then learns which bucket a file, an answer or an edit falls in, not its size.
pub fn padded_len(len: usize) -> usize {
    let bucket = if len <= LARGEST_BUCKET {
        len.max(SMALLEST_BUCKET).next_power_of_two()
    } else {
        len.div_ceil(LARGEST_BUCKET) * LARGEST_BUCKET
    };
    let most = super::DEFAULT_MAX_FRAME - HEADER_LEN - crate::crypto::TAG_LEN;
    bucket.min(most).max(len)
}

/// One member's outgoing side: its sending key and the participant id the relay gave it.
pub struct FrameSealer {
    key: SendingKey,
    sender: ParticipantId,
    /// Pad requests, responses and edits to `padded_len` (on unless `COTYPE_PADDING=off`).
    padding: bool,
    /// The host signs every frame (see `crypto::HostIdentity`); members do not.
    signer: Option<std::sync::Arc<HostIdentity>>,
}

impl FrameSealer {
    pub fn new(key: SendingKey, sender: ParticipantId) -> Self {
        let padding = std::env::var("COTYPE_PADDING").is_ok_and(|value| value == "off");
        FrameSealer {
            key,
            sender,
            padding: !padding,
            signer: None,
        }
    }

    /// Signs every frame from now on with the host's key.
    pub fn sign_with(&mut self, identity: std::sync::Arc<HostIdentity>) {
        self.signer = Some(identity);
    }

    pub fn signer(&self) -> Option<std::sync::Arc<HostIdentity>> {
        self.signer.clone()
    }

    /// Turns padding on or off (`COTYPE_PADDING=off` starts with it off).
    pub fn set_padding(&mut self, padding: bool) {
        self.padding = padding;
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
        // A host frame's plaintext starts with the signature, filled in below.
        let signature_len = if self.signer.is_some() {
            SIGNATURE_LEN
        } else {
            0
        };
        let mut plaintext = vec![0; signature_len];
        postcard::to_io(message, &mut plaintext).expect("catalog messages serialize");
        // Zeros after the message: the decoder stops at the message's end, and the seal
        // covers them. Presence and events stay small: they are frequent and say little.
        // Terminal output is what people type and read, sent as events: padded too.
        let padded = matches!(header.kind, Kind::Request | Kind::Response | Kind::Edit)
            || matches!(message, Message::Terminal(_));
        if self.padding && padded {
            plaintext.resize(padded_len(plaintext.len()), 0);
        }
        if let Some(signer) = &self.signer {
            let signature = signer.sign(&header_bytes, &plaintext[SIGNATURE_LEN..]);
            plaintext[..SIGNATURE_LEN].copy_from_slice(&signature);
        }
        let sealed = self
            .key
            .seal(self.sender, header.counter, &header_bytes, &plaintext);
        let mut frame = Vec::with_capacity(HEADER_LEN + sealed.len());
        frame.extend_from_slice(&header_bytes);
        frame.extend_from_slice(&sealed);
        Ok(frame)
    }
}

/// Opens a data frame: checks the header, the seal and the counter, and for a frame from
/// the host's id its signature by `host`, then decodes.
pub fn open_frame(
    keys: &mut ReceivingKeys,
    host: &HostKey,
    frame: &[u8],
) -> Result<(Header, Message), FrameError> {
    let header = Header::decode(frame)?;
    let header_bytes = &frame[..HEADER_LEN];
    let from_host = header.sender == super::HOST_ID;
    let plaintext = keys.open(
        header.epoch,
        header.sender,
        &header.instance,
        header.counter,
        header_bytes,
        &frame[HEADER_LEN..],
        |plaintext| {
            !from_host
                || plaintext
                    .split_first_chunk::<SIGNATURE_LEN>()
                    .is_some_and(|(signature, body)| host.verify(header_bytes, body, signature))
        },
    )?;
    let body = if from_host {
        &plaintext[SIGNATURE_LEN..]
    } else {
        &plaintext[..]
    };
    let message: Message = postcard::from_bytes(body).map_err(|_| DecodeError::Body)?;
    if message.kind() != header.kind {
        return Err(FrameError::KindMismatch {
            header: header.kind,
            actual: message.kind(),
        });
    }
    Ok((header, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SessionKeys;
    use crate::link::{Secret, SessionId};
    use crate::protocol::message::Response;

    #[test]
    fn payloads_are_padded_to_buckets_that_still_fit_a_frame() {
        assert_eq!(padded_len(1), 128);
        assert_eq!(padded_len(128), 128);
        assert_eq!(padded_len(129), 256);
        assert_eq!(padded_len(40_000), 65_536);
        assert_eq!(padded_len(65_537), 131_072);
        assert_eq!(padded_len(200_000), 262_144);
        let most = crate::protocol::DEFAULT_MAX_FRAME - HEADER_LEN - crate::crypto::TAG_LEN;
        assert_eq!(padded_len(most - 10), most);
        assert_eq!(
            padded_len(most + 10),
            most + 10,
            "never shorter than the payload"
        );
    }

    /// Two answers of different sizes in one bucket are the same size at the relay, and
    /// each opens to exactly what was sealed.
    #[test]
    fn sizes_within_a_bucket_look_alike_and_open_unchanged() {
        let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
        let host = std::sync::Arc::new(HostIdentity::generate());
        let mut sealer = FrameSealer::new(keys.sending_key(0), 0);
        sealer.sign_with(host.clone());
        sealer.set_padding(true);
        let chunk = |len: usize| Message::Response {
            id: 1,
            done: true,
            body: Response::FileChunk {
                offset: 0,
                total: len as u64,
                data: vec![b'x'; len],
            },
        };
        let small = sealer.seal(Route::Participant(3), &chunk(10)).unwrap();
        let larger = sealer.seal(Route::Participant(3), &chunk(40)).unwrap();
        assert_eq!(small.len(), larger.len());
        let mut receiving = ReceivingKeys::new(0, &keys);
        let host_key = host.public();
        assert_eq!(
            open_frame(&mut receiving, &host_key, &small).unwrap().1,
            chunk(10)
        );
        assert_eq!(
            open_frame(&mut receiving, &host_key, &larger).unwrap().1,
            chunk(40)
        );

        sealer.set_padding(false);
        let unpadded = sealer.seal(Route::Participant(3), &chunk(10)).unwrap();
        assert!(unpadded.len() < small.len());
    }

    /// Attack: a member holds the content key, so it can seal a frame under the host's id
    /// (a relay on its side delivers it as is). Without the host's signature it does not
    /// open, and the host's own frames keep opening after it.
    #[test]
    fn only_the_host_key_makes_a_host_frame() {
        let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
        let host = std::sync::Arc::new(HostIdentity::generate());
        let mut genuine = FrameSealer::new(keys.sending_key(0), crate::protocol::HOST_ID);
        genuine.sign_with(host.clone());
        let mut forger = FrameSealer::new(keys.sending_key(0), crate::protocol::HOST_ID);
        let pretender = std::sync::Arc::new(HostIdentity::generate());
        let mut impostor = FrameSealer::new(keys.sending_key(0), crate::protocol::HOST_ID);
        impostor.sign_with(pretender);
        let message = Message::Response {
            id: 1,
            done: true,
            body: Response::Pong,
        };
        let mut receiving = ReceivingKeys::new(0, &keys);
        for forged in [&mut forger, &mut impostor] {
            let frame = forged.seal(Route::Everyone, &message).unwrap();
            assert_eq!(
                open_frame(&mut receiving, &host.public(), &frame),
                Err(FrameError::Crypto(CryptoError::NotSignedByHost))
            );
        }
        let frame = genuine.seal(Route::Everyone, &message).unwrap();
        assert_eq!(
            open_frame(&mut receiving, &host.public(), &frame)
                .unwrap()
                .1,
            message
        );
    }

    /// The encoding of terminal messages is fixed within a protocol version: catalog
    /// index 8, then the variant, then postcard's varints and length-prefixed bytes.
    #[test]
    fn terminal_messages_have_a_known_encoding_and_kind() {
        use crate::protocol::message::TerminalMessage;
        let output = Message::Terminal(TerminalMessage::Output {
            id: 1,
            seq: 2,
            bytes: b"hi".to_vec(),
        });
        assert_eq!(
            postcard::to_allocvec(&output).unwrap(),
            [8, 1, 1, 2, 2, b'h', b'i']
        );
        let input = Message::Terminal(TerminalMessage::Input {
            id: 3,
            bytes: b"ls\r".to_vec(),
        });
        assert_eq!(
            postcard::to_allocvec(&input).unwrap(),
            [8, 10, 3, 3, b'l', b's', b'\r']
        );
        assert_eq!(output.kind(), Kind::Event);
        assert_eq!(input.kind(), Kind::Request);
        assert_eq!(
            Message::Terminal(TerminalMessage::Watch { id: 1 }).kind(),
            Kind::Request
        );
        assert_eq!(
            Message::Terminal(TerminalMessage::Grants { writers: vec![4] }).kind(),
            Kind::Event
        );
        let seen = Message::Terminal(TerminalMessage::Seen { id: 1, seq: 300 });
        assert_eq!(
            postcard::to_allocvec(&seen).unwrap(),
            [8, 14, 1, 0xac, 0x02]
        );
        assert_eq!(seen.kind(), Kind::Request);
        let catch_up = Message::Terminal(TerminalMessage::CatchUp {
            id: 1,
            seq: 2,
            cols: 80,
            rows: 24,
            state: b"x".to_vec(),
        });
        assert_eq!(
            postcard::to_allocvec(&catch_up).unwrap(),
            [8, 15, 1, 2, 80, 24, 1, b'x']
        );
        assert_eq!(catch_up.kind(), Kind::Event);
    }

    /// Terminal output is sealed, signed by the host and padded like answers: a short and
    /// a longer tick of output look alike at the relay, and each opens unchanged.
    #[test]
    fn terminal_output_is_padded_signed_and_opens_unchanged() {
        use crate::protocol::message::TerminalMessage;
        let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
        let host = std::sync::Arc::new(HostIdentity::generate());
        let mut sealer = FrameSealer::new(keys.sending_key(0), crate::protocol::HOST_ID);
        sealer.sign_with(host.clone());
        sealer.set_padding(true);
        let output = |text: &[u8]| {
            Message::Terminal(TerminalMessage::Output {
                id: 1,
                seq: 7,
                bytes: text.to_vec(),
            })
        };
        let short = sealer.seal(Route::Everyone, &output(b"a")).unwrap();
        let longer = sealer
            .seal(Route::Everyone, &output(b"\x1b[31mred\x1b[0m\r\n$ "))
            .unwrap();
        assert_eq!(short.len(), longer.len());
        let mut receiving = ReceivingKeys::new(0, &keys);
        assert_eq!(
            open_frame(&mut receiving, &host.public(), &longer)
                .unwrap()
                .1,
            output(b"\x1b[31mred\x1b[0m\r\n$ ")
        );
        // A member holding the content key cannot make output that opens as the host's.
        let mut forger = FrameSealer::new(keys.sending_key(0), crate::protocol::HOST_ID);
        let forged = forger.seal(Route::Everyone, &output(b"$ rm -rf")).unwrap();
        assert_eq!(
            open_frame(&mut receiving, &host.public(), &forged),
            Err(FrameError::Crypto(CryptoError::NotSignedByHost))
        );
    }
}
