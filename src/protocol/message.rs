//! The encrypted message catalog: what members say to each other inside sealed frames.
//!
//! Encoded with postcard (compact, schema in these types). New variants go at the end of
//! each enum so that the encoding of existing ones never changes within a protocol version.

use serde::{Deserialize, Serialize};

use super::ParticipantId;
use super::header::Kind;

pub type RequestId = u64;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// First frame of a participant, to the host: who it is.
    Hello(Hello),
    /// The host's answer to a hello, once the participant is admitted.
    Welcome(Welcome),
    Request {
        id: RequestId,
        body: Request,
    },
    /// One or more responses per request; the last one has `done` set.
    Response {
        id: RequestId,
        done: bool,
        body: Response,
    },
    Event(Event),
}

impl Message {
    /// The coarse kind the relay sees for this message.
    pub fn kind(&self) -> Kind {
        match self {
            Message::Hello(_) => Kind::Hello,
            Message::Welcome(_) => Kind::Event,
            Message::Request { .. } => Kind::Request,
            Message::Response { .. } => Kind::Response,
            Message::Event(_) => Kind::Event,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub name: String,
    /// The participant's X25519 public key, for the host to wrap new epoch secrets to.
    pub public_key: [u8; 32],
    pub client_version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Host,
    Editor,
    ReadOnly,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub participant: ParticipantId,
    pub name: String,
    pub role: Role,
    /// Index into the palette, the same for everyone in the session.
    pub color: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub you: Member,
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    ListFiles,
    /// Up to `len` bytes of a file from `offset`. Participants pull large files chunk by
    /// chunk, a few requests ahead, so no queue on the way ever holds a whole file.
    ReadFile {
        path: String,
        offset: u64,
        len: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative, with '/' separators.
    pub path: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Files(Vec<FileEntry>),
    FileChunk {
        offset: u64,
        total: u64,
        #[serde(with = "serde_bytes_vec")]
        data: Vec<u8>,
    },
    /// The request failed; `message` is meant for the person who asked.
    Error {
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    MemberJoined(Member),
    MemberLeft {
        participant: ParticipantId,
    },
    /// Shown to the person concerned, e.g. why the host refused something.
    Notice {
        message: String,
    },
}

/// Byte vectors as one length-prefixed blob (postcard's default for `Vec<u8>` is the
/// same on the wire; this keeps the intent visible and the serializer on the fast path).
mod serde_bytes_vec {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}
