//! Getting into a session: prove the link to the relay, say hello to the host (name and
//! an X25519 public key, sealed) and wait for its welcome. `Driver` joins with this, and
//! joins again with it after a dropped connection.

use crate::channel::{Channel, Incoming};
use crate::client::{ADMISSION_TIMEOUT, ClientError, HOST_TIMEOUT, SILENCE_PING, SILENT_PINGS};
use crate::crypto::ReceivingKeys;
use crate::link::Link;
use crate::protocol::control::{ErrorCode, FromRelay, ToRelay};
use crate::protocol::header::Route;
use crate::protocol::message::{Hello, Member, Message, Rejoin};

/// How long a joiner waits for the host to answer its hello (a welcome, or word that the
/// host's user decides) before it takes the hello as lost and joins again.
const HELLO_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A connection the host admitted, and what its welcome said.
pub(crate) struct Joined {
    pub channel: Channel,
    pub me: Member,
    pub members: Vec<Member>,
    /// Ours, sent in the hello: the host wraps new epoch secrets for it.
    pub key_pair: crate::rekey::MemberKeyPair,
    /// The host's, from its welcome: the only key updates are wrapped with accepted.
    pub host_public_key: [u8; 32],
    pub epoch: crate::crypto::Epoch,
}

/// Who we were before a dropped connection: the hello on the new one proves it
/// (`MemberKeyPair::rejoin_proof`), and the host gives back our place (our role) without
/// asking its user again.
pub(crate) struct Previous<'a> {
    pub participant: crate::protocol::ParticipantId,
    pub key_pair: &'a crate::rekey::MemberKeyPair,
    pub host_public_key: &'a [u8; 32],
}

/// Joins; with the host's `OwnerKey` (the host's own terminal UI) the host admits this
/// participant without asking and shows it as the host. `earlier` is what a dropped
/// connection already opened, refused on this one (`ReceivingKeys::inherit_replay_window`);
/// `key_pair` is the one to say hello with (a fresh one if `None`); `waiting` is called if
/// the host says its user decides who gets in.
pub(crate) async fn join(
    link: &Link,
    name: &str,
    owner: Option<&crate::crypto::OwnerKey>,
    earlier: &ReceivingKeys,
    previous: Option<&Previous<'_>>,
    key_pair: Option<&crate::rekey::MemberKeyPair>,
    waiting: &mut (dyn FnMut() + Send),
) -> Result<Joined, ClientError> {
    loop {
        if let Some(joined) =
            join_once(link, name, owner, earlier, previous, key_pair, waiting).await?
        {
            return Ok(joined);
        }
        tracing::info!("the host's answer to our hello was lost; joining again");
    }
}

/// One attempt to join; `None` if the host's own connection came back while we waited
/// for its welcome, or it did not answer our hello: the hello (or the welcome) may have
/// been lost with the host's old connection, so the attempt starts over rather than
/// wait out the admission timeout.
async fn join_once(
    link: &Link,
    name: &str,
    owner: Option<&crate::crypto::OwnerKey>,
    earlier: &ReceivingKeys,
    previous: Option<&Previous<'_>>,
    key_pair: Option<&crate::rekey::MemberKeyPair>,
    waiting: &mut (dyn FnMut() + Send),
) -> Result<Option<Joined>, ClientError> {
    let (mut channel, participant, epoch) = enter(link, earlier).await?;
    let key_pair = key_pair
        .cloned()
        .unwrap_or_else(crate::rekey::MemberKeyPair::generate);
    let public_key = key_pair.public();
    let rejoin = previous.and_then(|previous| {
        let proof = previous
            .key_pair
            .rejoin_proof(
                previous.host_public_key,
                &link.session,
                previous.participant,
                participant,
                &public_key,
            )
            .ok()?;
        Some(Rejoin {
            previous: previous.participant,
            proof,
        })
    });
    channel
        .sender
        .send(
            Route::Host,
            &Message::Hello(Hello {
                name: name.to_string(),
                public_key,
                client_version: env!("CARGO_PKG_VERSION").to_string(),
                owner_proof: owner.map(|owner| owner.proof(&link.session, participant)),
                rejoin,
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
    let mut moved = None;
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
            // The relay closes the connection right after, saying why.
            Incoming::Relay(FromRelay::Move { within_ms }) => moved = Some(within_ms),
            Incoming::Closed { reason } => return Err(closed(reason, moved)),
            _ => {}
        }
    };
    Ok(Some(Joined {
        channel,
        me: welcome.you,
        members: welcome.members,
        key_pair,
        host_public_key: welcome.host_public_key,
        epoch,
    }))
}

/// Proves the link to the relay and takes the participant id and key epoch it gives:
/// a channel keyed for that epoch, refusing what `earlier` already opened.
async fn enter(
    link: &Link,
    earlier: &ReceivingKeys,
) -> Result<
    (
        Channel,
        crate::protocol::ParticipantId,
        crate::crypto::Epoch,
    ),
    ClientError,
> {
    // The epoch is known only after the relay's welcome; the keys are set again then.
    let (mut channel, keys) = Channel::connect(link).await?;
    channel
        .sender
        .control(&ToRelay::Join {
            session: link.session.0,
            token: keys.admission_token(),
        })
        .await?;
    let deadline = tokio::time::Instant::now() + HOST_TIMEOUT;
    let mut moved = None;
    let (participant, epoch) = loop {
        match recv_alive(&mut channel, deadline).await? {
            Incoming::Relay(FromRelay::Welcome {
                participant, epoch, ..
            }) => break (participant, epoch),
            Incoming::Relay(FromRelay::Error { code, message, .. }) => {
                return Err(relay_error(code, message));
            }
            Incoming::Relay(FromRelay::Move { within_ms }) => moved = Some(within_ms),
            Incoming::Closed { reason } => return Err(closed(reason, moved)),
            _ => {}
        }
    };
    if epoch != 0 {
        channel.keys = ReceivingKeys::new(epoch, &keys);
        channel.sender.replace_key(keys.sending_key(epoch));
    }
    channel.keys.inherit_replay_window(earlier);
    channel.sender.set_participant(participant);
    Ok((channel, participant, epoch))
}

/// The connection closed; told to move first, it is a move (reconnect soon).
fn closed(reason: Option<String>, moved: Option<u32>) -> ClientError {
    match moved {
        Some(within_ms) => ClientError::Moved { within_ms, reason },
        None => ClientError::Closed(reason),
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
