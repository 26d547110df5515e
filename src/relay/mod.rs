//! The blind relay: routes sealed frames by their cleartext header and stores nothing.
//!
//! Per connection it knows the session id, the participant id it assigned, the peer
//! address, join and leave times, and whether it is the host. It parses control messages
//! and data-frame headers, never payloads. It writes nothing but a connection log (through
//! `tracing`) and metrics (Prometheus text on `--metrics`).

pub mod limits;
pub mod metrics;
pub mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::protocol::control::{self, ErrorCode, FromRelay, ToRelay};
use crate::protocol::header::{Header, Route};
use crate::protocol::{DEFAULT_MAX_FRAME, HOST_ID, ParticipantId};
use limits::{Connections, OutQueue, PerAddressRate, QueuedBytes};
use metrics::Metrics;
use session::{ConnectedMember, Outgoing, Refusal, RoutedSession, SessionKey};

/// Which way a tapped frame went, seen from the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TapDirection {
    Received,
    Sent,
}

/// What the relay rate-limits per address.
#[derive(Clone, Copy, Debug)]
enum Rated {
    Creation,
    Join,
}

/// Observes every frame the relay receives and sends (the leak tests use it).
pub type Tap = Arc<dyn Fn(TapDirection, &[u8]) + Send + Sync>;

#[derive(Clone)]
pub struct RelayConfig {
    /// Admitted participants per session (the host not counted).
    pub max_participants: usize,
    /// Participants per session waiting for the host to admit them, apart from the
    /// admitted ones: joiners that never finish cannot fill the session.
    pub max_pending: usize,
    /// A pending participant that has sent the host nothing (its sealed hello) this long
    /// after joining is disconnected.
    pub hello_timeout: Duration,
    /// A pending participant the host has not admitted this long after joining is
    /// disconnected (the host's user may be asked, so this is generous).
    pub admission_timeout: Duration,
    pub max_frame: usize,
    /// Frames queued for one receiver before it counts as stalled and is dropped.
    pub queue_frames: usize,
    /// Bytes queued for one receiver (until written to its socket) before it counts as
    /// stalled and is dropped. A single frame always fits an empty queue.
    pub queue_bytes: usize,
    /// Bytes queued for all receivers together; past it, receivers with a backlog are
    /// dropped as stalled (those with nothing queued still get their frame).
    pub total_queue_bytes: usize,
    /// Open connections in total; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Open connections from one IP address.
    pub max_connections_per_ip: usize,
    /// Time from accepting a TCP connection to a finished TLS and WebSocket handshake.
    pub handshake_timeout: Duration,
    /// Time from the WebSocket handshake to a successful `Create`, `Join` or `Resume`.
    pub join_timeout: Duration,
    /// New sessions one IP address may create per minute (a bucket that refills evenly).
    pub sessions_per_ip_per_minute: u32,
    /// Join attempts one IP address may make per minute, right or wrong (the same kind of
    /// bucket): a person rejoining never meets it; a script trying links does.
    pub joins_per_ip_per_minute: u32,
    /// How long a session waits for its host to reconnect.
    pub host_grace: Duration,
    pub ping_interval: Duration,
    /// A connection silent for this long (no frame, no pong) is dropped.
    pub idle_timeout: Duration,
    pub tap: Option<Tap>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            max_participants: 64,
            max_pending: 16,
            hello_timeout: Duration::from_secs(10),
            admission_timeout: Duration::from_secs(300),
            max_frame: DEFAULT_MAX_FRAME,
            queue_frames: 1024,
            queue_bytes: 8 << 20,
            total_queue_bytes: 512 << 20,
            max_connections: limits::default_max_connections(),
            max_connections_per_ip: 256,
            handshake_timeout: Duration::from_secs(10),
            join_timeout: Duration::from_secs(10),
            sessions_per_ip_per_minute: 30,
            joins_per_ip_per_minute: 120,
            host_grace: Duration::from_secs(60),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            tap: None,
        }
    }
}

struct RelayState {
    config: RelayConfig,
    sessions: Mutex<HashMap<SessionKey, RoutedSession>>,
    metrics: Metrics,
    next_connection: AtomicU64,
    connections: Arc<Connections>,
    creations: PerAddressRate,
    joins: PerAddressRate,
    queued: Arc<QueuedBytes>,
}

/// A running relay.
#[derive(Clone)]
pub struct Relay {
    state: Arc<RelayState>,
}

impl Relay {
    pub fn new(config: RelayConfig) -> Self {
        Relay {
            state: Arc::new(RelayState {
                creations: PerAddressRate::new(config.sessions_per_ip_per_minute),
                joins: PerAddressRate::new(config.joins_per_ip_per_minute),
                config,
                sessions: Mutex::new(HashMap::new()),
                metrics: Metrics::default(),
                next_connection: AtomicU64::new(1),
                connections: Arc::new(Connections::default()),
                queued: Arc::new(QueuedBytes::default()),
            }),
        }
    }

    /// Prometheus text exposition of the relay's metrics.
    pub fn metrics_text(&self) -> String {
        let (sessions, participants, pending) = {
            let sessions = lock(&self.state.sessions);
            let participants = sessions.values().map(|s| s.participants.len()).sum();
            let pending = sessions.values().map(|s| s.pending_count()).sum();
            (sessions.len(), participants, pending)
        };
        self.state.metrics.render(metrics::Gauges {
            sessions,
            participants,
            pending,
            connections: self.state.connections.open(),
            queued_bytes: self.state.queued.get(),
        })
    }

    /// Accepts connections for good. With `tls`, every connection is TLS. A failing
    /// accept (out of file descriptors, say) is logged and retried after a pause that
    /// grows to a second; it never stops the relay.
    pub async fn serve(
        self,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<()> {
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        self.spawn_grace_reaper();
        let config = &self.state.config;
        let mut pause = ACCEPT_PAUSE_MIN;
        loop {
            let (stream, address) = match listener.accept().await {
                Ok(accepted) => {
                    pause = ACCEPT_PAUSE_MIN;
                    accepted
                }
                Err(e) => {
                    self.state.metrics.accept_failed();
                    tracing::warn!("cannot accept a connection ({e}); pausing {pause:?}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(ACCEPT_PAUSE_MAX);
                    continue;
                }
            };
            let slot = match self.state.connections.try_open(
                limits::peer_key(address.ip()),
                config.max_connections,
                config.max_connections_per_ip,
            ) {
                Ok(slot) => slot,
                Err(crowded) => {
                    self.state.metrics.connection_refused(crowded);
                    tracing::debug!(%address, "too many connections ({crowded:?}); closed");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let relay = self.clone();
            let acceptor = acceptor.clone();
            let deadline = tokio::time::Instant::now() + config.handshake_timeout;
            tokio::spawn(async move {
                let _slot = slot;
                match acceptor {
                    Some(acceptor) => {
                        match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                            Ok(Ok(tls_stream)) => {
                                relay.handle_connection(tls_stream, address, deadline).await
                            }
                            Ok(Err(e)) => tracing::debug!(%address, "TLS handshake failed: {e}"),
                            Err(_) => {
                                relay.state.metrics.handshake_timed_out();
                                tracing::debug!(%address, "TLS handshake timed out");
                            }
                        }
                    }
                    None => relay.handle_connection(stream, address, deadline).await,
                }
            });
        }
    }

    /// Serves the metrics text over plain HTTP on its own listener (keep it private).
    pub async fn serve_metrics(self, listener: TcpListener) -> std::io::Result<()> {
        metrics::serve(listener, move || self.metrics_text()).await
    }

    fn spawn_grace_reaper(&self) {
        let state = Arc::downgrade(&self.state);
        tokio::spawn(async move {
            let mut most_open = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let Some(state) = state.upgrade() else { return };
                let grace = state.config.host_grace;
                state.creations.forget_full();
                state.joins.forget_full();
                let open = state.connections.open();
                most_open = most_open.max(open);
                if most_open - open >= limits::TRIM_AFTER_CLOSED {
                    limits::return_freed_memory();
                    most_open = open;
                }
                let mut sessions = lock(&state.sessions);
                for (key, session) in sessions.iter_mut() {
                    end_overdue_pending(&state, key, session);
                }
                let expired: Vec<SessionKey> = sessions
                    .iter()
                    .filter(|(_, s)| s.host_grace_expired(grace))
                    .map(|(k, _)| *k)
                    .collect();
                for key in expired {
                    if let Some(session) = sessions.remove(&key) {
                        tracing::info!(session = %short(&key), "host did not come back; session ended");
                        end_session(&state, session, "the host left and did not come back");
                    }
                }
            }
        });
    }

    async fn handle_connection<S>(
        &self,
        stream: S,
        address: SocketAddr,
        handshake_deadline: tokio::time::Instant,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = &self.state.config;
        // A small read buffer: most connections are idle most of the time, and a large
        // frame grows the buffer to its size anyway.
        let websocket =
            crate::net::websocket_config(config.max_frame).read_buffer_size(READ_BUFFER);
        let handshake = tokio_tungstenite::accept_async_with_config(stream, Some(websocket));
        let socket = match tokio::time::timeout_at(handshake_deadline, handshake).await {
            Ok(Ok(socket)) => socket,
            Ok(Err(e)) => {
                tracing::debug!(%address, "WebSocket handshake failed: {e}");
                return;
            }
            Err(_) => {
                self.state.metrics.handshake_timed_out();
                tracing::debug!(%address, "WebSocket handshake timed out");
                return;
            }
        };
        let join_deadline = tokio::time::Instant::now() + config.join_timeout;
        let (mut sink, mut source) = socket.split();
        let (queue, mut outgoing, release) = OutQueue::new(
            config.queue_frames,
            config.queue_bytes,
            self.state.queued.clone(),
            config.total_queue_bytes,
        );
        let (kick, mut kicked_writer) = tokio::sync::watch::channel(None::<String>);
        let mut kicked_reader = kicked_writer.clone();
        let tap = config.tap.clone();
        let ping_interval = config.ping_interval;
        let writer = tokio::spawn(async move {
            let mut ping = tokio::time::interval(ping_interval);
            ping.tick().await;
            let send = |frame: bytes::Bytes| {
                if let Some(tap) = &tap {
                    tap(TapDirection::Sent, &frame);
                }
                WsMessage::Binary(frame)
            };
            loop {
                tokio::select! {
                    next = outgoing.recv() => match next {
                        Some(Outgoing::Frame(frame)) => {
                            // Everything already queued goes out in one flush; its bytes
                            // count against the budgets until then.
                            let mut taken = frame.len();
                            let mut batch = sink.feed(send(frame)).await;
                            while batch.is_ok() {
                                match outgoing.try_recv() {
                                    Ok(Outgoing::Frame(frame)) => {
                                        taken += frame.len();
                                        batch = sink.feed(send(frame)).await;
                                    }
                                    Err(_) => break,
                                }
                            }
                            let flushed = batch.is_ok() && sink.flush().await.is_ok();
                            release.written(taken);
                            if !flushed {
                                break;
                            }
                        }
                        None => break,
                    },
                    _ = kicked_writer.changed() => {
                        // Flush what was queued before the kick (e.g. the reason), but never
                        // wait long on a peer that stopped reading.
                        let reason = kicked_writer.borrow().clone().unwrap_or_default();
                        let mut taken = 0;
                        let flush = async {
                            while let Ok(Outgoing::Frame(frame)) = outgoing.try_recv() {
                                taken += frame.len();
                                sink.send(send(frame)).await?;
                            }
                            sink.send(WsMessage::Close(Some(close_frame(&reason)))).await
                        };
                        let _ = tokio::time::timeout(Duration::from_secs(1), flush).await;
                        release.written(taken);
                        break;
                    }
                    _ = ping.tick() => {
                        if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                            break;
                        }
                    }
                }
            }
            // Frames still queued are dropped: their bytes are free.
            outgoing.close();
            while let Ok(Outgoing::Frame(frame)) = outgoing.try_recv() {
                release.written(frame.len());
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
        });
        let mut connection = Connection {
            relay: self.clone(),
            id: self.state.next_connection.fetch_add(1, Ordering::Relaxed),
            address,
            queue,
            kick: Arc::new(kick),
            membership: None,
            frames_in: 0,
            frames_out_refused: 0,
            opened: Instant::now(),
        };
        let idle_timeout = config.idle_timeout;
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(idle_timeout, source.next()) => next,
                _ = kicked_reader.changed() => break,
                _ = tokio::time::sleep_until(join_deadline), if connection.membership.is_none() => {
                    self.state.metrics.join_timed_out();
                    tracing::debug!(%address, "no session joined in time; dropping the connection");
                    connection.refuse_fatally(
                        ErrorCode::NotJoined,
                        "join or create a session as soon as you connect",
                    );
                    break;
                }
            };
            let message = match next {
                Err(_) => {
                    tracing::debug!(%address, "connection idle; dropping it");
                    break;
                }
                Ok(None) | Ok(Some(Err(_))) => break,
                Ok(Some(Ok(message))) => message,
            };
            match message {
                WsMessage::Binary(frame) => {
                    if let Some(tap) = &self.state.config.tap {
                        tap(TapDirection::Received, &frame);
                    }
                    if !connection.handle_frame(&frame) {
                        break;
                    }
                }
                WsMessage::Text(_) => {
                    connection.refuse(Refusal::new(
                        ErrorCode::Malformed,
                        "text messages are not part of the protocol",
                    ));
                }
                WsMessage::Close(_) => break,
                // Pings are answered by tungstenite; pongs only prove liveness.
                _ => {}
            }
        }
        connection.leave();
        drop(connection);
        let _ = writer.await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The first bytes of a session id: enough to correlate log lines, not to guess the id.
fn short(key: &SessionKey) -> String {
    key[..4].iter().map(|b| format!("{b:02x}")).collect()
}

fn send_control(queue: &OutQueue, message: &FromRelay) -> bool {
    queue.try_send(control::encode(message).into())
}

/// Tells a member why, then closes its connection.
fn close_with(
    queue: &OutQueue,
    kick: &tokio::sync::watch::Sender<Option<String>>,
    code: ErrorCode,
    message: &str,
) {
    let _ = send_control(
        queue,
        &FromRelay::Error {
            code,
            fatal: true,
            message: message.to_string(),
        },
    );
    kick.send_replace(Some(message.to_string()));
}

fn end_session(state: &RelayState, session: RoutedSession, why: &str) {
    state
        .metrics
        .session_ended(session.created.elapsed(), session.peak_participants);
    for member in session.participants.values() {
        close_with(&member.queue, &member.kick, ErrorCode::SessionEnded, why);
    }
    if let Some(host) = &session.host {
        close_with(&host.queue, &host.kick, ErrorCode::SessionEnded, why);
    }
}

struct Membership {
    session: SessionKey,
    participant: ParticipantId,
}

struct Connection {
    relay: Relay,
    id: u64,
    address: SocketAddr,
    queue: OutQueue,
    kick: Arc<tokio::sync::watch::Sender<Option<String>>>,
    membership: Option<Membership>,
    frames_in: u64,
    frames_out_refused: u64,
    opened: Instant,
}

impl Connection {
    fn state(&self) -> &RelayState {
        &self.relay.state
    }

    fn refuse(&mut self, refusal: Refusal) {
        self.frames_out_refused += 1;
        send_control(
            &self.queue,
            &FromRelay::Error {
                code: refusal.code,
                fatal: false,
                message: refusal.message,
            },
        );
    }

    /// Takes one from this address's bucket for `what`; when it is empty, counts it,
    /// refuses the connection with the reason and returns false.
    fn within_rate(&mut self, what: Rated) -> bool {
        let state = self.state();
        let (limiter, reason) = match what {
            Rated::Creation => (
                &state.creations,
                "too many new sessions from your address; try again in a minute",
            ),
            Rated::Join => (
                &state.joins,
                "too many join attempts from your address; try again in a minute",
            ),
        };
        if limiter.allow(limits::peer_key(self.address.ip())) {
            return true;
        }
        match what {
            Rated::Creation => state.metrics.session_rate_limited(),
            Rated::Join => state.metrics.join_rate_limited(),
        }
        tracing::info!(address = %self.address, ?what, "rate-limited");
        self.refuse_fatally(ErrorCode::NotAllowed, reason)
    }

    fn refuse_fatally(&mut self, code: ErrorCode, message: &str) -> bool {
        close_with(&self.queue, &self.kick, code, message);
        false
    }

    fn member(&self, role_is_host: bool) -> ConnectedMember {
        ConnectedMember {
            queue: self.queue.clone(),
            kick: self.kick.clone(),
            admitted: role_is_host,
            address: self.address,
            joined: Instant::now(),
            connection: self.id,
            said_hello: false,
        }
    }

    /// Handles one frame; returns false when the connection must close.
    fn handle_frame(&mut self, frame: &[u8]) -> bool {
        self.frames_in += 1;
        let max_frame = self.state().config.max_frame;
        if frame.len() > max_frame {
            self.refuse(Refusal::new(
                ErrorCode::FrameTooLarge,
                format!(
                    "frame of {} bytes exceeds the relay's limit of {max_frame}",
                    frame.len()
                ),
            ));
            return true;
        }
        match control::is_control(frame) {
            Ok(true) => match control::decode::<ToRelay>(frame) {
                Ok(message) => self.handle_control(message),
                Err(e) => {
                    self.refuse(Refusal::new(ErrorCode::Malformed, e.to_string()));
                    true
                }
            },
            Ok(false) => {
                self.handle_data(frame);
                true
            }
            Err(e) => {
                self.refuse(Refusal::new(ErrorCode::Malformed, e.to_string()));
                true
            }
        }
    }

    fn handle_data(&mut self, frame: &[u8]) {
        let Some(membership) = &self.membership else {
            self.refuse(Refusal::new(
                ErrorCode::NotJoined,
                "join or create a session before sending frames",
            ));
            return;
        };
        let header = match Header::decode(frame) {
            Ok(header) => header,
            Err(e) => {
                self.refuse(Refusal::new(ErrorCode::Malformed, e.to_string()));
                return;
            }
        };
        let (session_key, sender) = (membership.session, membership.participant);
        // The sender id is the connection's, whatever the frame claims; a forged id was
        // sealed into the associated data and now fails to open at every receiver.
        let mut frame = frame.to_vec();
        Header::stamp_sender(&mut frame, sender);
        let frame_len = frame.len();
        let result = {
            let mut sessions = lock(&self.state().sessions);
            match sessions.get_mut(&session_key) {
                Some(session) => {
                    if header.route == Route::Host
                        && let Some(pending) = session
                            .participants
                            .get_mut(&sender)
                            .filter(|m| !m.admitted)
                    {
                        // Its sealed hello: the hello timeout no longer applies.
                        pending.said_hello = true;
                    }
                    session.route(sender, header.route, bytes::Bytes::from(frame))
                }
                None => Err(Refusal::new(
                    ErrorCode::SessionEnded,
                    "the session has ended",
                )),
            }
        };
        self.state().metrics.frame_routed(header.kind, frame_len);
        match result {
            Ok(overflowed) => self.drop_stalled(session_key, overflowed),
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// Disconnects members whose queues are full: they stopped reading, and waiting for
    /// them would slow everyone else down.
    fn drop_stalled(&self, session_key: SessionKey, stalled: Vec<ParticipantId>) {
        if stalled.is_empty() {
            return;
        }
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&session_key) else {
            return;
        };
        for id in stalled {
            let Some(member) = session.member(id) else {
                continue;
            };
            tracing::info!(session = %short(&session_key), participant = id, "receiver too slow; dropped");
            self.state().metrics.slow_reader_dropped();
            member.kick.send_replace(Some(
                "you did not keep up with the session; reconnect".into(),
            ));
            if id == HOST_ID {
                // The host's own connection ends; its reader starts the grace period.
                continue;
            }
            let connection = member.connection;
            session.remove_participant(id, connection);
            let notice = FromRelay::PeerLeft { participant: id };
            // Announcing cannot recurse: a full queue here is handled on the next frame.
            let _ = session.announce(&notice, None);
        }
    }

    fn handle_control(&mut self, message: ToRelay) -> bool {
        match message {
            ToRelay::Create {
                session,
                verifier,
                resume_verifier,
            } => self.create(session, verifier, resume_verifier),
            ToRelay::Resume {
                session,
                resume_token,
            } => self.resume(session, resume_token),
            ToRelay::Join { session, token } => self.join(session, token),
            ToRelay::Ping { nonce } => {
                send_control(&self.queue, &FromRelay::Pong { nonce });
                true
            }
            other => self.member_control(other),
        }
    }

    fn create(&mut self, key: SessionKey, verifier: [u8; 32], resume_verifier: [u8; 32]) -> bool {
        if self.membership.is_some() {
            return self.refuse_fatally(
                ErrorCode::NotAllowed,
                "this connection is already in a session",
            );
        }
        if !self.within_rate(Rated::Creation) {
            return false;
        }
        let mut sessions = lock(&self.state().sessions);
        if sessions.contains_key(&key) {
            drop(sessions);
            return self.refuse_fatally(
                ErrorCode::SessionExists,
                "a session with this id already exists",
            );
        }
        sessions.insert(
            key,
            RoutedSession::new(verifier, resume_verifier, self.member(true)),
        );
        drop(sessions);
        self.membership = Some(Membership {
            session: key,
            participant: HOST_ID,
        });
        self.state().metrics.session_created();
        tracing::info!(session = %short(&key), address = %self.address, "session created");
        send_control(
            &self.queue,
            &FromRelay::Welcome {
                participant: HOST_ID,
                max_frame: self.state().config.max_frame as u32,
                epoch: 0,
            },
        );
        true
    }

    fn resume(&mut self, key: SessionKey, token: [u8; 32]) -> bool {
        if self.membership.is_some() {
            return self.refuse_fatally(
                ErrorCode::NotAllowed,
                "this connection is already in a session",
            );
        }
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&key) else {
            drop(sessions);
            return self.refuse_fatally(ErrorCode::NoSession, "the session has ended");
        };
        if !session.resume_token_matches(&token) {
            drop(sessions);
            return self.refuse_fatally(ErrorCode::BadToken, "not the host of this session");
        }
        if let Some(old) = session.host.take() {
            close_with(
                &old.queue,
                &old.kick,
                ErrorCode::NotAllowed,
                "the host reconnected elsewhere",
            );
        }
        session.host = Some(self.member(true));
        session.host_away_since = None;
        let max_frame = self.state().config.max_frame as u32;
        send_control(
            &self.queue,
            &FromRelay::Welcome {
                participant: HOST_ID,
                max_frame,
                epoch: session.epoch,
            },
        );
        // Tell the resumed host who is here, so it can re-greet them.
        for (&id, member) in &session.participants {
            let message = if member.admitted {
                FromRelay::PeerJoined { participant: id }
            } else {
                FromRelay::JoinRequest { participant: id }
            };
            send_control(&self.queue, &message);
        }
        let overflowed = session.announce(&FromRelay::HostBack, Some(HOST_ID));
        drop(sessions);
        self.drop_stalled(key, overflowed);
        self.membership = Some(Membership {
            session: key,
            participant: HOST_ID,
        });
        self.state().metrics.host_resumed();
        tracing::info!(session = %short(&key), address = %self.address, "host resumed");
        true
    }

    fn join(&mut self, key: SessionKey, token: [u8; 32]) -> bool {
        if self.membership.is_some() {
            return self.refuse_fatally(
                ErrorCode::NotAllowed,
                "this connection is already in a session",
            );
        }
        if !self.within_rate(Rated::Join) {
            return false;
        }
        let max_participants = self.state().config.max_participants;
        let max_pending = self.state().config.max_pending;
        let max_frame = self.state().config.max_frame as u32;
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&key) else {
            drop(sessions);
            return self.refuse_fatally(
                ErrorCode::NoSession,
                "no such session on this relay: it has ended, or the link is wrong",
            );
        };
        if !session.token_matches(&token) {
            drop(sessions);
            self.state().metrics.bad_token();
            return self.refuse_fatally(
                ErrorCode::BadToken,
                "the link's secret does not match this session: copy the whole link, or ask the host for the current one",
            );
        }
        if session.admitted_count() >= max_participants {
            drop(sessions);
            return self.refuse_fatally(ErrorCode::SessionFull, "the session is full");
        }
        if session.pending_count() >= max_pending {
            drop(sessions);
            self.state().metrics.pending_full();
            return self.refuse_fatally(
                ErrorCode::SessionFull,
                "too many people are waiting to join this session; try again in a minute",
            );
        }
        let participant = session.add_participant(self.member(false));
        let epoch = session.epoch;
        if let Some(host) = &session.host {
            send_control(&host.queue, &FromRelay::JoinRequest { participant });
        }
        drop(sessions);
        self.membership = Some(Membership {
            session: key,
            participant,
        });
        tracing::info!(session = %short(&key), participant, address = %self.address, "participant joined (awaiting admission)");
        send_control(
            &self.queue,
            &FromRelay::Welcome {
                participant,
                max_frame,
                epoch,
            },
        );
        true
    }

    fn member_control(&mut self, message: ToRelay) -> bool {
        let Some(membership) = &self.membership else {
            self.refuse(Refusal::new(
                ErrorCode::NotJoined,
                "join or create a session first",
            ));
            return true;
        };
        let (key, me) = (membership.session, membership.participant);
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&key) else {
            drop(sessions);
            return self.refuse_fatally(ErrorCode::SessionEnded, "the session has ended");
        };
        let is_host = me == HOST_ID;
        let host_only = || Refusal::new(ErrorCode::NotAllowed, "only the host can do that");
        let mut overflowed = Vec::new();
        let result: Result<(), Refusal> = match message {
            ToRelay::Follow { leader } => {
                if session.is_admitted(me) {
                    session.set_follow(me, leader);
                    Ok(())
                } else {
                    Err(Refusal::new(
                        ErrorCode::NotAllowed,
                        "waiting for the host to admit you",
                    ))
                }
            }
            ToRelay::Admit { participant }
                if is_host
                    && !session.is_admitted(participant)
                    && session.admitted_count() >= self.state().config.max_participants =>
            {
                match session.participants.get(&participant) {
                    Some(member) => {
                        let connection = member.connection;
                        close_with(
                            &member.queue,
                            &member.kick,
                            ErrorCode::SessionFull,
                            "the session is full",
                        );
                        session.remove_participant(participant, connection);
                        send_control(&self.queue, &FromRelay::PeerLeft { participant });
                        Err(Refusal::new(ErrorCode::SessionFull, "the session is full"))
                    }
                    None => Err(Refusal::new(
                        ErrorCode::NoSuchParticipant,
                        format!("no participant {participant}"),
                    )),
                }
            }
            ToRelay::Admit { participant } if is_host => session.admit(participant).map(|()| {
                if let Some(member) = session.participants.get(&participant) {
                    send_control(&member.queue, &FromRelay::Admitted);
                }
                overflowed =
                    session.announce(&FromRelay::PeerJoined { participant }, Some(participant));
            }),
            ToRelay::Remove { participant } if is_host => {
                match session.participants.get(&participant) {
                    Some(member) => {
                        let connection = member.connection;
                        close_with(
                            &member.queue,
                            &member.kick,
                            ErrorCode::Removed,
                            "the host removed you from the session",
                        );
                        session.remove_participant(participant, connection);
                        overflowed = session.announce(&FromRelay::PeerLeft { participant }, None);
                        Ok(())
                    }
                    None => Err(Refusal::new(
                        ErrorCode::NoSuchParticipant,
                        format!("no participant {participant}"),
                    )),
                }
            }
            ToRelay::RotateToken { verifier, epoch } if is_host => {
                session.rotate_verifier(verifier);
                session.epoch = epoch;
                Ok(())
            }
            ToRelay::Refuse { participant } if is_host => {
                match session.participants.get(&participant) {
                    Some(member) if !member.admitted => {
                        let connection = member.connection;
                        close_with(
                            &member.queue,
                            &member.kick,
                            ErrorCode::Refused,
                            "the host did not let you in",
                        );
                        session.remove_participant(participant, connection);
                        Ok(())
                    }
                    _ => Err(Refusal::new(
                        ErrorCode::NoSuchParticipant,
                        format!("no participant {participant} is waiting"),
                    )),
                }
            }
            ToRelay::End if is_host => {
                if let Some(session) = sessions.remove(&key) {
                    tracing::info!(session = %short(&key), "host ended the session");
                    end_session(self.state(), session, "the host ended the session");
                }
                return false;
            }
            ToRelay::Admit { .. }
            | ToRelay::Remove { .. }
            | ToRelay::RotateToken { .. }
            | ToRelay::Refuse { .. }
            | ToRelay::End => Err(host_only()),
            ToRelay::Create { .. }
            | ToRelay::Resume { .. }
            | ToRelay::Join { .. }
            | ToRelay::Ping { .. } => {
                unreachable!("handled before member_control")
            }
        };
        drop(sessions);
        self.drop_stalled(key, overflowed);
        if let Err(refusal) = result {
            self.refuse(refusal);
        }
        true
    }

    /// The connection closed: leave the session (or start the host's grace period).
    fn leave(&mut self) {
        let Some(membership) = self.membership.take() else {
            return;
        };
        let (key, me) = (membership.session, membership.participant);
        let mut sessions = lock(&self.state().sessions);
        let Some(session) = sessions.get_mut(&key) else {
            return;
        };
        if me == HOST_ID {
            if session
                .host
                .as_ref()
                .is_some_and(|h| h.connection == self.id)
            {
                session.host = None;
                session.host_away_since = Some(Instant::now());
                let grace = self.state().config.host_grace.as_secs() as u32;
                session.announce(
                    &FromRelay::HostAway {
                        grace_seconds: grace,
                    },
                    None,
                );
                tracing::info!(session = %short(&key), "host connection lost; waiting {grace}s for it");
            }
        } else {
            let was_admitted = session.is_admitted(me);
            if session.remove_participant(me, self.id) {
                let notice = FromRelay::PeerLeft { participant: me };
                if was_admitted {
                    session.announce(&notice, None);
                } else if let Some(host) = &session.host {
                    send_control(&host.queue, &notice);
                }
            }
        }
        drop(sessions);
        tracing::info!(
            session = %short(&key),
            participant = me,
            address = %self.address,
            seconds = self.opened.elapsed().as_secs(),
            frames_in = self.frames_in,
            refused = self.frames_out_refused,
            "connection closed"
        );
    }
}

/// First pause after a failed accept, and the longest.
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// The WebSocket read buffer each connection starts with (tungstenite's default is 128 KiB).
const READ_BUFFER: usize = 8 * 1024;

/// Disconnects pending participants that did not say hello, or were not admitted, in time.
fn end_overdue_pending(state: &RelayState, key: &SessionKey, session: &mut RoutedSession) {
    let config = &state.config;
    for id in session.overdue_pending(config.hello_timeout, config.admission_timeout) {
        let Some(member) = session.participants.get(&id) else {
            continue;
        };
        let connection = member.connection;
        close_with(
            &member.queue,
            &member.kick,
            ErrorCode::Refused,
            "you did not finish joining in time; join again",
        );
        session.remove_participant(id, connection);
        state.metrics.pending_timed_out();
        tracing::info!(session = %short(key), participant = id, "pending participant timed out");
        if let Some(host) = &session.host {
            send_control(&host.queue, &FromRelay::PeerLeft { participant: id });
        }
    }
}

/// A relay connection without a socket, fed one frame at a time: the relay's own frame
/// handling (control messages, admission, routing, slow-reader drops) with nothing
/// between it and the bytes. The fuzz target `relay_control` (fuzz/) drives several of
/// these at once. Dropping it is the connection closing.
#[doc(hidden)]
pub struct OfflineConnection {
    connection: Connection,
    outgoing: tokio::sync::mpsc::Receiver<Outgoing>,
    release: limits::Release,
    kicked: tokio::sync::watch::Receiver<Option<String>>,
    closed: bool,
}

impl Relay {
    #[doc(hidden)]
    pub fn offline_connection(&self, address: SocketAddr) -> OfflineConnection {
        let config = &self.state.config;
        let (queue, outgoing, release) = OutQueue::new(
            config.queue_frames,
            config.queue_bytes,
            self.state.queued.clone(),
            config.total_queue_bytes,
        );
        let (kick, kicked) = tokio::sync::watch::channel(None::<String>);
        OfflineConnection {
            connection: Connection {
                relay: self.clone(),
                id: self.state.next_connection.fetch_add(1, Ordering::Relaxed),
                address,
                queue,
                kick: Arc::new(kick),
                membership: None,
                frames_in: 0,
                frames_out_refused: 0,
                opened: Instant::now(),
            },
            outgoing,
            release,
            kicked,
            closed: false,
        }
    }
}

impl OfflineConnection {
    /// Handles `frame` as if it had arrived on the socket; false once the connection has
    /// closed (its own frame ended it, or the relay kicked it), as the reader loop would.
    pub fn receive(&mut self, frame: &[u8]) -> bool {
        if self.closed || self.kicked.borrow().is_some() {
            self.close();
            return false;
        }
        if !self.connection.handle_frame(frame) || self.kicked.borrow().is_some() {
            self.close();
            return false;
        }
        true
    }

    /// The frames the relay queued for this connection since the last call, written.
    pub fn sent(&mut self) -> Vec<bytes::Bytes> {
        let mut frames = Vec::new();
        while let Ok(Outgoing::Frame(frame)) = self.outgoing.try_recv() {
            self.release.written(frame.len());
            frames.push(frame);
        }
        frames
    }

    /// Closes the connection as the reader loop does when its socket ends.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.connection.leave();
        }
        self.sent();
    }
}

impl Drop for OfflineConnection {
    fn drop(&mut self) {
        self.close();
    }
}

/// Close frame for a connection that is being dropped.
pub fn close_frame(reason: &str) -> CloseFrame {
    CloseFrame {
        code: CloseCode::Policy,
        reason: reason.to_string().into(),
    }
}

/// Starts a relay on `listen` in the background (the host's embedded relay and tests).
pub async fn spawn(
    listen: SocketAddr,
    config: RelayConfig,
) -> std::io::Result<(SocketAddr, Relay)> {
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let relay = Relay::new(config);
    let serving = relay.clone();
    tokio::spawn(async move {
        if let Err(e) = serving.serve(listener, None).await {
            tracing::error!("relay stopped: {e}");
        }
    });
    Ok((address, relay))
}
