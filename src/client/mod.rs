//! The participant side, without any terminal code: joining a session, and asking the
//! host for things. The headless commands, the demo's scripted partner, the TUI and the
//! tests all go through here.

pub mod connection;
pub mod driver;
pub mod follow;
pub mod git;
pub mod headless;
pub mod hints;
pub mod intel;
mod join;
mod participant;
pub mod presence;
pub mod request;
pub mod session;
pub mod terminals;
mod workspace_changes;

/// The key pair a participant says hello with (`Driver::join_with_key`).
pub use crate::rekey::MemberKeyPair;
pub use participant::Participant;

use std::time::Duration;

use crate::channel::ChannelError;
use crate::net::NetError;

/// How long to wait for the host before telling the user it is not answering.
pub const HOST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a joiner waits for the host to admit it.
pub const ADMISSION_TIMEOUT: Duration = Duration::from_secs(300);
/// After this long with nothing from the relay, a participant pings it.
pub(crate) const SILENCE_PING: Duration = Duration::from_secs(5);
/// Pings the relay may leave unanswered, with nothing else arriving either, before the
/// connection is taken as lost: a half-open link (a NAT or proxy that forgot it, a relay
/// gone without a close) gives no error, only silence.
pub(crate) const SILENT_PINGS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Unreachable(#[from] NetError),
    #[error("wrong link: {0}")]
    WrongSecret(String),
    #[error("the session is gone: {0}")]
    SessionGone(String),
    #[error("the relay refused: {0}")]
    Refused(String),
    /// The host turned this joiner away or removed it.
    #[error("{0}")]
    NotAdmitted(String),
    #[error("the host did not answer within {} s; is it still running?", HOST_TIMEOUT.as_secs())]
    HostTimeout,
    #[error("the connection to the relay closed{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
    /// The host answered the request with an error meant for the user.
    #[error("{0}")]
    Host(String),
    /// The relay node asked us to connect again (it is draining or cannot serve the
    /// session): within `within_ms`, not after a backoff; `reason` is why it closed.
    #[error("the relay node asked us to connect again{}", .reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Moved {
        within_ms: u32,
        reason: Option<String>,
    },
    #[error("the host sent an answer this version does not understand")]
    Protocol,
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

impl From<ChannelError> for ClientError {
    fn from(error: ChannelError) -> Self {
        match error {
            ChannelError::Closed => ClientError::Closed(None),
            ChannelError::Crypto(e) => ClientError::Refused(e.to_string()),
        }
    }
}

impl ClientError {
    /// The process exit code for this error (documented in `cotype --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Unreachable(_)
            | ClientError::Closed(_)
            | ClientError::Moved { .. }
            | ClientError::HostTimeout => 3,
            ClientError::WrongSecret(_)
            | ClientError::SessionGone(_)
            | ClientError::Refused(_)
            | ClientError::NotAdmitted(_) => 4,
            ClientError::Host(_) => 5,
            ClientError::Protocol | ClientError::Output(_) => 1,
        }
    }
}
