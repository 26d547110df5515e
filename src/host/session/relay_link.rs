//! The host's connection to the relay: pings and the latency they measure, and getting
//! the session back after the connection is lost (resumed, or created again).

use super::*;

/// How long the host keeps trying to get its session back after losing the relay
/// (the relay keeps it for its grace period, 60 s by default).
const HOST_RESUME_WINDOW: Duration = Duration::from_secs(60);

/// Pings (one per `latency::PING_INTERVAL`) the relay may leave unanswered, with nothing
/// else arriving either, before the host takes its connection as lost and resumes: about
/// 15 s of silence, far longer than any stall of a working link.
const SILENT_PINGS_BEFORE_RESUME: u32 = 3;

impl HostSession {
    /// A ping is due: sends it, or takes the connection as lost when the relay left the
    /// last `SILENT_PINGS_BEFORE_RESUME` unanswered with nothing else arriving either.
    pub(super) async fn ping(&mut self) -> anyhow::Result<()> {
        if self.unanswered_pings >= SILENT_PINGS_BEFORE_RESUME {
            self.unanswered_pings = 0;
            tracing::warn!(
                "the relay has not answered {SILENT_PINGS_BEFORE_RESUME} pings; taking the connection as lost"
            );
            return Err(crate::channel::ChannelError::Closed.into());
        }
        self.unanswered_pings += 1;
        self.pings += 1;
        // A lost connection shows up in `recv`, which resumes; not here.
        if self.round_trip.sent(self.pings, std::time::Instant::now())
            && let Err(e) = self.share_latency().await
        {
            tracing::debug!("latency not shared: {e}");
        }
        let ping = ToRelay::Ping { nonce: self.pings };
        if let Err(e) = self.sender().control(&ping).await {
            tracing::debug!("ping to the relay not sent: {e}");
        }
        Ok(())
    }

    /// Tells everyone our round trip to the relay. The host has no cursor: its presence
    /// carries only this.
    pub(super) async fn share_latency(&mut self) -> anyhow::Result<()> {
        let Some(latency_ms) = self.round_trip.latest() else {
            return Ok(());
        };
        self.round_trip.mark_shared();
        self.presence_seq += 1;
        let presence = Presence {
            seq: self.presence_seq,
            path: None,
            revision: 0,
            selections: Vec::new(),
            scroll_line: 0,
            following: None,
            latency_ms: Some(latency_ms),
            terminal: None,
        };
        self.sender()
            .send(Route::Everyone, &Message::Presence(presence))
            .await?;
        Ok(())
    }

    /// Reconnects to the relay and reclaims the session within its grace period.
    pub(super) async fn resume(&mut self) -> anyhow::Result<()> {
        let keys = SessionKeys::derive(&self.link.secret, &self.link.session);
        let deadline = tokio::time::Instant::now() + HOST_RESUME_WINDOW;
        let mut retry = Duration::from_millis(100);
        loop {
            if tokio::time::Instant::now() >= deadline {
                bail!("gave up after {} s", HOST_RESUME_WINDOW.as_secs());
            }
            // Told to move: at a random moment within the time given, not after a backoff.
            let wait = match self.moved.take() {
                Some(within_ms) => crate::protocol::control::moment_within(within_ms),
                None => {
                    let wait = retry;
                    retry = (retry * 2).min(Duration::from_secs(3));
                    wait
                }
            };
            tokio::time::sleep(wait).await;
            let socket =
                match crate::net::connect(&self.link, crate::protocol::DEFAULT_MAX_FRAME).await {
                    Ok(socket) => socket,
                    Err(e) => {
                        tracing::info!("relay still unreachable: {e}");
                        continue;
                    }
                };
            // The same channel on a new connection: every task holding a clone of its
            // sender (request answers, diagnostics) follows.
            self.channel.reattach(socket, keys.sending_key(self.epoch));
            let resume = ToRelay::Resume {
                session: self.link.session.0,
                resume_token: self.resume_token,
            };
            // A connection lost again at once is one more attempt, not the end.
            if let Err(e) = self.channel.sender.control(&resume).await {
                tracing::info!("the new connection closed at once, retrying: {e}");
                continue;
            }
            let answer = tokio::time::timeout(Duration::from_secs(10), self.channel.recv()).await;
            // The relay restarted (or gave up on us) and lost the session: create it again
            // under the same id and keys, so the link keeps working and members come back
            // by themselves.
            let lost = matches!(
                answer,
                Ok(Incoming::Relay(FromRelay::Error {
                    code: ErrorCode::NoSession,
                    ..
                }))
            );
            if lost {
                if self.recreate(&keys).await? {
                    return Ok(());
                }
                continue;
            }
            match answer {
                Ok(Incoming::Relay(FromRelay::Welcome { .. })) => {
                    tracing::info!("session resumed");
                    return Ok(());
                }
                Ok(Incoming::Relay(FromRelay::Move { within_ms })) => {
                    tracing::info!("the relay node asked us to move; resuming elsewhere");
                    self.moved = Some(within_ms);
                }
                Ok(Incoming::Relay(FromRelay::Error {
                    message,
                    fatal: true,
                    ..
                })) => {
                    bail!("the relay refused to resume the session: {message}")
                }
                _ => {}
            }
        }
    }

    /// Creates the session again at a relay that lost it, on a new connection: the same
    /// id, admission verifier, resume token and key epoch. Everyone the relay had is gone
    /// from it, so they leave here too; they rejoin with the same link. False if the relay
    /// did not take it (try again).
    pub(super) async fn recreate(&mut self, keys: &SessionKeys) -> anyhow::Result<bool> {
        let socket = match crate::net::connect(&self.link, crate::protocol::DEFAULT_MAX_FRAME).await
        {
            Ok(socket) => socket,
            Err(_) => return Ok(false),
        };
        self.channel.reattach(socket, keys.sending_key(self.epoch));
        let sender = self.sender();
        let create = ToRelay::Create {
            session: self.link.session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: crate::crypto::admission_verifier(&self.resume_token),
        };
        if sender.control(&create).await.is_err() {
            return Ok(false);
        }
        match tokio::time::timeout(Duration::from_secs(10), self.channel.recv()).await {
            Ok(Incoming::Relay(FromRelay::Welcome { participant, .. }))
                if participant == HOST_ID => {}
            _ => return Ok(false),
        }
        if self.epoch > 0 {
            let rotate = ToRelay::RotateToken {
                verifier: keys.admission_verifier(),
                epoch: self.epoch,
            };
            if sender.control(&rotate).await.is_err() {
                return Ok(false);
            }
        }
        let gone = std::mem::take(&mut self.participants);
        self.owner = None;
        for (id, participant) in gone {
            self.remember_departed(id, &participant);
            if participant.admitted {
                self.tell(HostEvent::MemberLeft(participant.member));
            }
        }
        tracing::info!("the relay had lost the session; created it again");
        Ok(true)
    }
}

/// Whether `error` is a send on a relay connection that has closed.
pub(super) fn connection_lost(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref(),
            Some(crate::channel::ChannelError::Closed)
        )
    })
}

/// Connects to the relay of `link`, creates the session there (the host signing
/// everything it sends) and returns the channel once the relay welcomed the host.
pub(super) async fn create_at_relay(
    link: &Link,
    identity: std::sync::Arc<crate::crypto::HostIdentity>,
    resume_token: &[u8; 32],
) -> anyhow::Result<Channel> {
    let (mut channel, keys) = Channel::connect(link).await?;
    // Everything the host sends carries its signature: members can seal, but only the
    // host can sign.
    channel.sender.sign_as_host(identity);
    channel
        .sender
        .control(&ToRelay::Create {
            session: link.session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: crate::crypto::admission_verifier(resume_token),
        })
        .await?;
    match tokio::time::timeout(Duration::from_secs(10), channel.recv()).await {
        Ok(Incoming::Relay(FromRelay::Welcome { participant, .. })) if participant == HOST_ID => {}
        Ok(Incoming::Relay(FromRelay::Error { message, .. })) => {
            bail!("the relay refused the session: {message}")
        }
        Ok(Incoming::Closed { reason }) => bail!(
            "the relay closed the connection{}",
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        ),
        Ok(other) => bail!("unexpected answer from the relay: {other:?}"),
        Err(_) => bail!("the relay did not answer within 10 s"),
    }
    Ok(channel)
}
