//! Keeps a participant connected: joins, hands over what arrives, and when the link
//! drops, rejoins with backoff and resynchronizes the session (catch up, resend).
//!
//! `next` only touches the driver, never the session, so an event loop can `select!` it
//! against terminal input and apply the result to the session afterwards.

use std::time::Duration;

use crate::channel::{Channel, Incoming};
use crate::client::join::{self, Joined};
use crate::client::session::Session;
use crate::client::{ClientError, SILENCE_PING, SILENT_PINGS};
use crate::link::Link;
use crate::protocol::control::{ErrorCode, FromRelay};
use crate::protocol::header::Header;
use crate::protocol::message::{Member, Message};

const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// How long a participant waits for a host that is gone from the relay (a relay restart,
/// the host's machine asleep) before it says the host is gone: as long as the host tries
/// to come back (`host::session` resumes for 60 s).
pub const HOST_GRACE: Duration = Duration::from_secs(75);
/// Why the connection dropped when the relay gave no reason.
pub const DROPPED: &str = "the connection to the relay dropped";

#[derive(Debug)]
pub enum DriverEvent {
    Message {
        header: Header,
        message: Message,
    },
    Relay(FromRelay),
    /// The connection dropped; the driver is reconnecting.
    Disconnected {
        reason: String,
    },
    /// Back in the session (under a new participant id).
    Reconnected {
        me: Member,
        members: Vec<Member>,
    },
    /// The session is over for us (ended, removed, link no longer valid).
    Fatal(ClientError),
    /// The host rotated the keys (someone was removed); we are in the new epoch.
    Rekeyed {
        epoch: crate::crypto::Epoch,
        verification_code: String,
    },
    /// Something arrived that was dropped (logged); nothing changed.
    Ignored,
}

pub struct Driver {
    link: Link,
    name: String,
    channel: Option<Channel>,
    key_pair: crate::rekey::MemberKeyPair,
    /// Our participant id on the last connection: a reconnect proves it to get our place
    /// back.
    participant: crate::protocol::ParticipantId,
    owner: Option<crate::crypto::OwnerKey>,
    /// What the last connection opened, so a relay cannot replay it after a reconnect.
    replay_window: crate::crypto::ReceivingKeys,
    host_public_key: [u8; 32],
    epoch: crate::crypto::Epoch,
    retry: Duration,
    /// The relay node told us to move (`FromRelay::Move`): the next attempt is within
    /// this many milliseconds, not after the backoff.
    moved: Option<u32>,
    /// The last fatal reason the relay gave before closing, if any.
    fatal: Option<(ErrorCode, String)>,
    /// When to ping the relay if nothing arrives before, and how many pings went
    /// unanswered in a row.
    next_ping: tokio::time::Instant,
    unanswered_pings: u32,
}

impl Driver {
    /// Joins the session and returns the driver with a fresh session state.
    pub async fn join(link: &Link, name: &str) -> Result<(Driver, Session), ClientError> {
        Self::join_as(link, name, None).await
    }

    /// Joins as the host's own user when given the host's `OwnerKey`: the host admits it
    /// without asking and shows it as the host.
    pub async fn join_as(
        link: &Link,
        name: &str,
        owner: Option<crate::crypto::OwnerKey>,
    ) -> Result<(Driver, Session), ClientError> {
        let joined = join::join(
            link,
            name,
            owner.as_ref(),
            &Default::default(),
            None,
            None,
            &mut || {},
        )
        .await?;
        Ok(Self::joined(link, name, owner, joined))
    }

    /// Joins saying hello with `key_pair`: whoever made it knows this participant by its
    /// public half (the host's SSH server tells its session which SSH key a guest proved).
    pub async fn join_with_key(
        link: &Link,
        name: &str,
        key_pair: &crate::rekey::MemberKeyPair,
    ) -> Result<(Driver, Session), ClientError> {
        let joined = join::join(
            link,
            name,
            None,
            &Default::default(),
            None,
            Some(key_pair),
            &mut || {},
        )
        .await?;
        Ok(Self::joined(link, name, None, joined))
    }

    /// Joins, calling `waiting` if the host says its user decides who gets in (the wait
    /// for the welcome may then be long).
    pub async fn join_telling(
        link: &Link,
        name: &str,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<(Driver, Session), ClientError> {
        let joined = join::join(link, name, None, &Default::default(), None, None, waiting).await?;
        Ok(Self::joined(link, name, None, joined))
    }

    fn joined(
        link: &Link,
        name: &str,
        owner: Option<crate::crypto::OwnerKey>,
        joined: Joined,
    ) -> (Driver, Session) {
        let participant = joined.me.participant;
        let session = Session::new(joined.me, joined.members);
        let driver = Driver {
            link: link.clone(),
            name: name.to_string(),
            key_pair: joined.key_pair,
            participant,
            host_public_key: joined.host_public_key,
            epoch: joined.epoch,
            channel: Some(joined.channel),
            owner,
            replay_window: Default::default(),
            retry: FIRST_RETRY,
            moved: None,
            fatal: None,
            next_ping: tokio::time::Instant::now() + SILENCE_PING,
            unanswered_pings: 0,
        };
        (driver, session)
    }

    pub fn is_connected(&self) -> bool {
        self.channel.is_some()
    }

    /// The raw channel, for tools and tests that speak the protocol directly; `None`
    /// while reconnecting.
    pub fn into_channel(self) -> Option<Channel> {
        self.channel
    }

    /// Sends what the session queued. While disconnected nothing is sent; the session's
    /// resynchronization after the reconnect covers edits, and requests are repeated.
    pub async fn flush(&mut self, session: &mut Session) {
        let Some(channel) = &self.channel else {
            return;
        };
        for (route, message) in session.take_outbox() {
            if let Err(e) = channel.sender.send(route, &message).await {
                tracing::debug!("send failed, the connection is closing: {e}");
                break;
            }
        }
    }

    /// Sends a relay control message (follow).
    pub async fn control(&self, message: &crate::protocol::control::ToRelay) {
        if let Some(channel) = &self.channel {
            let _ = channel.sender.control(message).await;
        }
    }

    /// The next thing that happened. Reconnects by itself when the link drops.
    pub async fn next(&mut self) -> DriverEvent {
        loop {
            let Some(channel) = &mut self.channel else {
                return self.reconnect().await;
            };
            let incoming = tokio::select! {
                incoming = channel.recv() => incoming,
                _ = tokio::time::sleep_until(self.next_ping) => {
                    if self.unanswered_pings >= SILENT_PINGS {
                        return self.drop_silent_connection();
                    }
                    self.unanswered_pings += 1;
                    self.next_ping = tokio::time::Instant::now() + SILENCE_PING;
                    let ping = crate::protocol::control::ToRelay::Ping {
                        nonce: u64::from(self.unanswered_pings),
                    };
                    let _ = channel.sender.control(&ping).await;
                    continue;
                }
            };
            self.unanswered_pings = 0;
            self.next_ping = tokio::time::Instant::now() + SILENCE_PING;
            match incoming {
                Incoming::Message {
                    header,
                    message: Message::KeyUpdate(update),
                } => {
                    if header.sender == crate::protocol::HOST_ID {
                        return self.rekey(update);
                    }
                }
                Incoming::Message { header, message } => {
                    return DriverEvent::Message { header, message };
                }
                Incoming::Relay(FromRelay::Error {
                    code,
                    fatal: true,
                    message,
                }) => {
                    self.fatal = Some((code, message.clone()));
                }
                Incoming::Relay(FromRelay::Move { within_ms }) => {
                    self.moved = Some(within_ms);
                    return DriverEvent::Relay(FromRelay::Move { within_ms });
                }
                Incoming::Relay(event) => return DriverEvent::Relay(event),
                Incoming::Rejected { from, error } => {
                    tracing::warn!(
                        participant = from,
                        "dropped a frame that did not open: {error}"
                    );
                }
                Incoming::Closed { reason } => {
                    if let Some(channel) = self.channel.take() {
                        self.replay_window = channel.keys;
                    }
                    if let Some((code, message)) = self.fatal.take() {
                        match code {
                            ErrorCode::TooSlow => {}
                            ErrorCode::BadToken => {
                                return DriverEvent::Fatal(ClientError::WrongSecret(message));
                            }
                            ErrorCode::Removed | ErrorCode::Refused => {
                                return DriverEvent::Fatal(ClientError::NotAdmitted(message));
                            }
                            _ => return DriverEvent::Fatal(ClientError::SessionGone(message)),
                        }
                    }
                    return DriverEvent::Disconnected {
                        reason: reason.unwrap_or_else(|| DROPPED.into()),
                    };
                }
            }
        }
    }

    /// The relay stopped answering: drop the connection and come back on a new one.
    fn drop_silent_connection(&mut self) -> DriverEvent {
        self.unanswered_pings = 0;
        if let Some(channel) = self.channel.take() {
            self.replay_window = channel.keys;
        }
        DriverEvent::Disconnected {
            reason: "the relay stopped answering".into(),
        }
    }

    /// The host removed someone and sent us the next epoch's secret: switch to it, and
    /// remember the new link for reconnecting.
    fn rekey(&mut self, update: crate::protocol::message::KeyUpdate) -> DriverEvent {
        let Some(channel) = &mut self.channel else {
            return DriverEvent::Disconnected {
                reason: "lost the connection during a key change".into(),
            };
        };
        let unwrapped = if update.epoch == self.epoch + 1 {
            self.key_pair
                .unwrap_epoch_secret(
                    &update.wrapped,
                    &self.host_public_key,
                    &self.link.session,
                    update.epoch,
                )
                .map_err(|e| e.to_string())
        } else {
            Err(format!(
                "it is for epoch {}, not {}",
                update.epoch,
                self.epoch + 1
            ))
        };
        let secret = match unwrapped {
            Ok(secret) => secret,
            Err(reason) => {
                tracing::warn!("ignored a key update: {reason}");
                return DriverEvent::Ignored;
            }
        };
        let keys = crate::crypto::SessionKeys::derive(&secret, &self.link.session);
        channel.switch_epoch(update.epoch, &keys);
        self.link.secret = secret;
        self.epoch = update.epoch;
        DriverEvent::Rekeyed {
            epoch: update.epoch,
            verification_code: keys.verification_code(&self.host_public_key),
        }
    }

    /// The code to compare with the host's: it covers the session secret and the host's
    /// key (`SessionKeys::verification_code`).
    pub fn verification_code(&self) -> String {
        crate::crypto::SessionKeys::derive(&self.link.secret, &self.link.session)
            .verification_code(&self.host_public_key)
    }

    /// The current link (it changes when the host rotates the keys).
    pub fn link(&self) -> &Link {
        &self.link
    }

    async fn reconnect(&mut self) -> DriverEvent {
        let since = tokio::time::Instant::now();
        loop {
            let wait = match self.moved.take() {
                Some(within_ms) => crate::protocol::control::moment_within(within_ms),
                None => {
                    let wait = self.retry;
                    self.retry = (self.retry * 2).min(MAX_RETRY);
                    wait
                }
            };
            tokio::time::sleep(wait).await;
            let previous = join::Previous {
                participant: self.participant,
                key_pair: &self.key_pair,
                host_public_key: &self.host_public_key,
            };
            match join::join(
                &self.link,
                &self.name,
                self.owner.as_ref(),
                &self.replay_window,
                Some(&previous),
                None,
                &mut || {},
            )
            .await
            {
                Ok(joined) => {
                    self.retry = FIRST_RETRY;
                    self.key_pair = joined.key_pair;
                    self.participant = joined.me.participant;
                    self.host_public_key = joined.host_public_key;
                    self.epoch = joined.epoch;
                    let (me, members) = (joined.me, joined.members);
                    self.channel = Some(joined.channel);
                    self.next_ping = tokio::time::Instant::now() + SILENCE_PING;
                    self.unanswered_pings = 0;
                    return DriverEvent::Reconnected { me, members };
                }
                Err(
                    error @ (ClientError::WrongSecret(_)
                    | ClientError::NotAdmitted(_)
                    | ClientError::Protocol),
                ) => return DriverEvent::Fatal(error),
                // A relay that restarted knows no session until the host creates it again:
                // wait for the host as long as it may take to come back.
                Err(error @ ClientError::SessionGone(_)) if since.elapsed() >= HOST_GRACE => {
                    return DriverEvent::Fatal(error);
                }
                Err(ClientError::Moved { within_ms, .. }) => {
                    tracing::info!("the relay node asked us to move; connecting again");
                    self.moved = Some(within_ms);
                }
                Err(error) => {
                    tracing::info!("reconnect failed, retrying: {error}");
                }
            }
        }
    }
}

/// Applies a driver event to the session; returns the fatal error, if any.
pub fn apply(session: &mut Session, event: DriverEvent) -> Option<ClientError> {
    match event {
        DriverEvent::Message { header, message } => session.handle(&header, message),
        DriverEvent::Relay(FromRelay::HostBack) => session.resynchronize(),
        DriverEvent::Rekeyed {
            verification_code, ..
        } => session.push_notice(format!(
            "the host removed someone and rotated the session keys; the old link no longer works (new verification code {verification_code})"
        )),
        DriverEvent::Relay(_) | DriverEvent::Disconnected { .. } | DriverEvent::Ignored => {}
        DriverEvent::Reconnected { me, members } => session.reconnected(me, members),
        DriverEvent::Fatal(error) => return Some(error),
    }
    None
}
