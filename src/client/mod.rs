//! The participant side, without any terminal code: joining a session, and asking the
//! host for things. The headless commands, the demo's scripted partner, the TUI and the
//! tests all go through here.

pub mod driver;
pub mod headless;
pub mod intel;
pub mod presence;

pub mod session;

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use crate::channel::{Channel, ChannelError, Incoming};
use crate::crypto::{ReceivingKeys, SessionKeys};
use crate::link::Link;
use crate::net::NetError;
use crate::protocol::control::{ErrorCode, FromRelay, ToRelay};
use crate::protocol::header::Route;
use crate::protocol::message::{FileEntry, Hello, Member, Message, Request, RequestId, Response};
use crate::protocol::{FILE_CHUNK_LEN, ParticipantId};

/// How long to wait for the host before telling the user it is not answering.
pub const HOST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a joiner waits for the host to admit it.
pub const ADMISSION_TIMEOUT: Duration = Duration::from_secs(300);
/// File chunks requested ahead of the one being written.
const READ_AHEAD: usize = 4;
/// How long a joiner waits for the host to answer its hello (a welcome, or word that the
/// host's user decides) before it takes the hello as lost and joins again.
const HELLO_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
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
            ClientError::Unreachable(_) | ClientError::Closed(_) | ClientError::HostTimeout => 3,
            ClientError::WrongSecret(_)
            | ClientError::SessionGone(_)
            | ClientError::Refused(_)
            | ClientError::NotAdmitted(_) => 4,
            ClientError::Host(_) => 5,
            ClientError::Protocol | ClientError::Output(_) => 1,
        }
    }
}

fn relay_error(code: ErrorCode, message: String) -> ClientError {
    match code {
        ErrorCode::BadToken => ClientError::WrongSecret(message),
        ErrorCode::Refused => ClientError::NotAdmitted(message),
        ErrorCode::NoSession | ErrorCode::SessionEnded => ClientError::SessionGone(message),
        ErrorCode::Removed => ClientError::NotAdmitted(message),
        _ => ClientError::Refused(message),
    }
}

/// A participant admitted to a session.
pub struct Participant {
    channel: Channel,
    pub me: Member,
    pub members: Vec<Member>,
    /// Ours, sent in the hello: the host wraps new epoch secrets for it.
    pub key_pair: crate::rekey::MemberKeyPair,
    /// The host's, from its welcome: the only key updates are wrapped with accepted.
    pub host_public_key: [u8; 32],
    pub epoch: crate::crypto::Epoch,
    next_request: RequestId,
    /// Messages that arrived while waiting for something else, in order.
    backlog: VecDeque<Incoming>,
}

impl Participant {
    /// Connects, proves knowledge of the link, says hello and waits for the host's welcome.
    pub async fn join(link: &Link, name: &str) -> Result<Participant, ClientError> {
        Self::join_as(link, name, None).await
    }

    /// Joins, calling `waiting` if the host says its user decides who gets in (the wait
    /// for the welcome may then be long).
    pub async fn join_telling(
        link: &Link,
        name: &str,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Participant, ClientError> {
        Self::connect(link, name, None, &ReceivingKeys::default(), waiting).await
    }

    /// Joins; with the host's `OwnerKey` (the host's own terminal UI) the host admits
    /// this participant without asking and shows it as the host.
    pub async fn join_as(
        link: &Link,
        name: &str,
        owner: Option<&crate::crypto::OwnerKey>,
    ) -> Result<Participant, ClientError> {
        Self::rejoin(link, name, owner, &ReceivingKeys::default()).await
    }

    /// Joins again after a dropped connection, refusing anything the earlier connection
    /// already opened (`ReceivingKeys::inherit_replay_window`).
    pub async fn rejoin(
        link: &Link,
        name: &str,
        owner: Option<&crate::crypto::OwnerKey>,
        earlier: &ReceivingKeys,
    ) -> Result<Participant, ClientError> {
        Self::connect(link, name, owner, earlier, &mut || {}).await
    }

    async fn connect(
        link: &Link,
        name: &str,
        owner: Option<&crate::crypto::OwnerKey>,
        earlier: &ReceivingKeys,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Participant, ClientError> {
        loop {
            if let Some(participant) =
                Self::connect_once(link, name, owner, earlier, waiting).await?
            {
                return Ok(participant);
            }
            tracing::info!("the host's answer to our hello was lost; joining again");
        }
    }

    /// One attempt to join; `None` if the host's own connection came back while we waited
    /// for its welcome, or it did not answer our hello: the hello (or the welcome) may have
    /// been lost with the host's old connection, so the attempt starts over rather than
    /// wait out the admission timeout.
    async fn connect_once(
        link: &Link,
        name: &str,
        owner: Option<&crate::crypto::OwnerKey>,
        earlier: &ReceivingKeys,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Option<Participant>, ClientError> {
        let keys = SessionKeys::derive(&link.secret, &link.session);
        let socket = crate::net::connect(link, crate::protocol::DEFAULT_MAX_FRAME).await?;
        // The epoch is known only after the relay's welcome; the keys are set again then.
        let mut channel = Channel::new(
            socket,
            keys.sending_key(0),
            ReceivingKeys::new(0, &keys),
            link.host_key,
        );
        channel
            .sender
            .control(&ToRelay::Join {
                session: link.session.0,
                token: keys.admission_token(),
            })
            .await?;
        let deadline = tokio::time::Instant::now() + HOST_TIMEOUT;
        let (participant, epoch) = loop {
            match recv_alive(&mut channel, deadline).await? {
                Incoming::Relay(FromRelay::Welcome {
                    participant, epoch, ..
                }) => break (participant, epoch),
                Incoming::Relay(FromRelay::Error { code, message, .. }) => {
                    return Err(relay_error(code, message));
                }
                Incoming::Closed { reason } => return Err(ClientError::Closed(reason)),
                _ => {}
            }
        };
        if epoch != 0 {
            channel.keys = ReceivingKeys::new(epoch, &keys);
            channel.sender.replace_key(keys.sending_key(epoch));
        }
        channel.keys.inherit_replay_window(earlier);
        channel.sender.set_participant(participant);
        let key_pair = crate::rekey::MemberKeyPair::generate();
        let public_key = key_pair.public();
        channel
            .sender
            .send(
                Route::Host,
                &Message::Hello(Hello {
                    name: name.to_string(),
                    public_key,
                    client_version: env!("CARGO_PKG_VERSION").to_string(),
                    owner_proof: owner.map(|owner| owner.proof(&link.session, participant)),
                }),
            )
            .await?;
        // A host that asks before admitting may take a while to decide.
        let deadline = tokio::time::Instant::now() + ADMISSION_TIMEOUT;
        // A host answers a hello at once, with its welcome or word that its user decides.
        // Without either, the hello or the answer was lost (the host's own connection
        // dropped in between): start over instead of waiting out the admission timeout.
        let answer_deadline = tokio::time::Instant::now() + HELLO_ANSWER_TIMEOUT;
        let mut answered = false;
        let welcome = loop {
            let wait_until = if answered {
                deadline
            } else {
                answer_deadline.min(deadline)
            };
            let incoming = match recv_alive(&mut channel, wait_until).await {
                Err(ClientError::HostTimeout) if !answered && wait_until < deadline => {
                    return Ok(None);
                }
                other => other?,
            };
            match incoming {
                Incoming::Message {
                    message: Message::Welcome(welcome),
                    ..
                } => break welcome,
                Incoming::Message {
                    header,
                    message: Message::Event(crate::protocol::message::Event::AwaitingAdmission),
                } if header.sender == crate::protocol::HOST_ID => {
                    answered = true;
                    waiting()
                }
                // The host's first words do not verify with the key in the link: the link's
                // last part was changed, or someone else is answering in its place.
                Incoming::Rejected {
                    from: crate::protocol::HOST_ID,
                    error:
                        crate::protocol::frame::FrameError::Crypto(
                            crate::crypto::CryptoError::NotSignedByHost,
                        ),
                } => return Err(ClientError::WrongSecret(
                    "the host's answer is not signed by the host key in the link: copy the whole link again".into(),
                )),
                Incoming::Relay(FromRelay::Error {
                    code,
                    message,
                    fatal,
                    ..
                }) if fatal => return Err(relay_error(code, message)),
                Incoming::Relay(FromRelay::HostBack) => return Ok(None),
                Incoming::Closed { reason } => return Err(ClientError::Closed(reason)),
                _ => {}
            }
        };
        Ok(Some(Participant {
            channel,
            me: welcome.you,
            members: welcome.members,
            key_pair,
            host_public_key: welcome.host_public_key,
            epoch,
            next_request: 1,
            backlog: VecDeque::new(),
        }))
    }

    pub fn id(&self) -> ParticipantId {
        self.me.participant
    }

    /// Sends a request to the host and returns its id.
    pub async fn send_request(&mut self, body: Request) -> Result<RequestId, ClientError> {
        let id = self.next_request;
        self.next_request += 1;
        self.channel
            .sender
            .send(Route::Host, &Message::Request { id, body })
            .await?;
        Ok(id)
    }

    /// Waits for the next response to request `id`; other traffic is kept for later.
    pub async fn next_response(&mut self, id: RequestId) -> Result<(Response, bool), ClientError> {
        let wanted = |incoming: &Incoming| matches!(incoming, Incoming::Message { message: Message::Response { id: answered, .. }, .. } if *answered == id);
        match self.next_matching(wanted).await? {
            Incoming::Message {
                message: Message::Response { done, body, .. },
                ..
            } => Ok((body, done)),
            _ => Err(ClientError::Protocol),
        }
    }

    /// The next incoming item `wanted` accepts: from what was kept earlier first, then from
    /// the connection. Everything else is kept, in order, for whoever waits for it.
    pub(crate) async fn next_matching(
        &mut self,
        wanted: impl Fn(&Incoming) -> bool,
    ) -> Result<Incoming, ClientError> {
        if let Some(found) = self
            .backlog
            .iter()
            .position(&wanted)
            .and_then(|at| self.backlog.remove(at))
        {
            return Ok(found);
        }
        loop {
            match timeout(self.channel.recv()).await? {
                incoming if wanted(&incoming) => return Ok(incoming),
                Incoming::Relay(FromRelay::Error {
                    code,
                    message,
                    fatal: true,
                }) => return Err(relay_error(code, message)),
                Incoming::Closed { reason } => return Err(ClientError::Closed(reason)),
                other => self.backlog.push_back(other),
            }
        }
    }

    /// Every file the host shares, sorted by path.
    pub async fn list_files(&mut self) -> Result<Vec<FileEntry>, ClientError> {
        let id = self.send_request(Request::ListFiles).await?;
        let mut files = Vec::new();
        loop {
            match self.next_response(id).await? {
                (Response::Files(batch), done) => {
                    files.extend(batch);
                    if done {
                        return Ok(files);
                    }
                }
                (Response::Error { message }, _) => return Err(ClientError::Host(message)),
                _ => return Err(ClientError::Protocol),
            }
        }
    }

    /// Streams a file as everyone sees it into `out`: its shared text when someone has
    /// unsaved edits in it, else its exact bytes on the host's disk. Returns the number of
    /// bytes written.
    pub async fn read_file(
        &mut self,
        path: &str,
        out: &mut impl Write,
    ) -> Result<u64, ClientError> {
        self.read(path, false, out).await
    }

    /// Streams a file's exact bytes as saved on the host's disk into `out`.
    pub async fn read_saved_file(
        &mut self,
        path: &str,
        out: &mut impl Write,
    ) -> Result<u64, ClientError> {
        self.read(path, true, out).await
    }

    /// Reads a few chunks ahead, in bounded memory.
    async fn read(
        &mut self,
        path: &str,
        saved: bool,
        out: &mut impl Write,
    ) -> Result<u64, ClientError> {
        let chunk = FILE_CHUNK_LEN as u64;
        let mut in_flight: VecDeque<(RequestId, u64)> = VecDeque::new();
        let mut next_offset = 0u64;
        let mut total: Option<u64> = None;
        let mut written = 0u64;
        loop {
            while in_flight.len() < READ_AHEAD && total.is_none_or(|t| next_offset < t) {
                let id = self
                    .send_request(Request::ReadFile {
                        path: path.to_string(),
                        offset: next_offset,
                        len: chunk as u32,
                        saved,
                    })
                    .await?;
                in_flight.push_back((id, next_offset));
                next_offset += chunk;
                if total.is_none() {
                    // Learn the size from the first answer before reading further ahead.
                    break;
                }
            }
            let Some((id, offset)) = in_flight.pop_front() else {
                break;
            };
            match self.next_response(id).await? {
                (
                    Response::FileChunk {
                        offset: got,
                        total: size,
                        data,
                    },
                    _,
                ) if got == offset => {
                    if total.is_some_and(|t| t != size) {
                        return Err(ClientError::Host(format!(
                            "{path} changed on the host while it was being read; try again"
                        )));
                    }
                    total = Some(size);
                    out.write_all(&data).map_err(ClientError::Output)?;
                    written += data.len() as u64;
                    if data.is_empty() && written < size {
                        return Err(ClientError::Host(format!(
                            "{path} shrank on the host while it was being read; try again"
                        )));
                    }
                }
                (Response::Error { message }, _) => return Err(ClientError::Host(message)),
                _ => return Err(ClientError::Protocol),
            }
            if total.is_some_and(|t| written >= t) && in_flight.is_empty() {
                break;
            }
        }
        out.flush().map_err(ClientError::Output)?;
        Ok(written)
    }

    /// Says goodbye by closing the connection.
    pub async fn leave(self) {
        drop(self.channel);
    }

    /// The raw channel, for tools and tests that speak the protocol directly.
    pub fn into_channel(self) -> Channel {
        self.channel
    }

    /// Follow another member's presence (or stop).
    pub async fn follow(&self, leader: Option<ParticipantId>) -> Result<(), ClientError> {
        Ok(self
            .channel
            .sender
            .control(&ToRelay::Follow { leader })
            .await?)
    }
}

/// The next thing to arrive before `deadline`, pinging the relay while it is silent: a
/// connection that stops answering is reported closed instead of waited on until the
/// deadline (which for admission is minutes).
async fn recv_alive(
    channel: &mut Channel,
    deadline: tokio::time::Instant,
) -> Result<Incoming, ClientError> {
    let mut unanswered = 0;
    loop {
        let ping_at = (tokio::time::Instant::now() + SILENCE_PING).min(deadline);
        tokio::select! {
            incoming = channel.recv() => return Ok(incoming),
            _ = tokio::time::sleep_until(ping_at) => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(ClientError::HostTimeout);
                }
                if unanswered >= SILENT_PINGS {
                    return Err(ClientError::Closed(Some("the relay stopped answering".into())));
                }
                unanswered += 1;
                let ping = ToRelay::Ping { nonce: u64::from(unanswered) };
                let _ = channel.sender.control(&ping).await;
            }
        }
    }
}

async fn timeout<T>(future: impl std::future::Future<Output = T>) -> Result<T, ClientError> {
    tokio::time::timeout(HOST_TIMEOUT, future)
        .await
        .map_err(|_| ClientError::HostTimeout)
}
