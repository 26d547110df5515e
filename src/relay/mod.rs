//! The blind relay: routes sealed frames by their cleartext header and stores nothing.
//!
//! Per connection it knows the session id, the participant id it assigned, the peer
//! address, join and leave times, and whether it is the host. It parses control messages
//! and data-frame headers, never payloads. It writes nothing but a connection log (through
//! `tracing`) and metrics (Prometheus text on `--metrics`).

pub mod cluster;
mod connection;
pub mod limits;
mod members;
pub mod metrics;
mod offline;
pub use offline::OfflineConnection;
pub mod session;
mod socket;
mod ssh;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::protocol::control::{self, ErrorCode, FromRelay};
use crate::protocol::{DEFAULT_MAX_FRAME, ParticipantId};
use limits::{Connections, OutQueue, PerAddressRate, QueuedBytes};
use metrics::Metrics;
use session::{RoutedSession, SessionKey};

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
    ssh: ssh::Gateways,
    /// Set when the relay joined a cluster (`--redis`).
    cluster: OnceLock<Arc<cluster::Cluster>>,
    /// True once the relay drains (SIGTERM on a cluster node): members are told to move.
    draining: tokio::sync::watch::Sender<bool>,
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
                ssh: ssh::Gateways::new(config.joins_per_ip_per_minute),
                config,
                sessions: Mutex::new(HashMap::new()),
                metrics: Metrics::default(),
                next_connection: AtomicU64::new(1),
                connections: Arc::new(Connections::default()),
                queued: Arc::new(QueuedBytes::default()),
                cluster: OnceLock::new(),
                draining: tokio::sync::watch::Sender::new(false),
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
        let mut text = self.state.metrics.render(metrics::Gauges {
            sessions,
            participants,
            pending,
            connections: self.state.connections.open(),
            queued_bytes: self.state.queued.get(),
        });
        self.cluster_metrics(&mut text);
        text
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
        let health = self.clone();
        metrics::serve(
            listener,
            move || self.metrics_text(),
            move || health.healthy(),
        )
        .await
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
                        if let Some(cluster) = state.cluster.get() {
                            cluster.session_ended(&key);
                        }
                        tracing::info!(session = %short(&key), "host did not come back; session ended");
                        end_session(&state, session, "the host left and did not come back");
                    }
                }
            }
        });
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

/// Tells participant `id` why, closes its connection and removes it from the session;
/// false when there is no such participant.
fn expel(session: &mut RoutedSession, id: ParticipantId, code: ErrorCode, why: &str) -> bool {
    let Some(member) = session.participants.get(&id) else {
        return false;
    };
    let connection = member.connection;
    close_with(&member.queue, &member.kick, code, why);
    session.remove_participant(id, connection);
    true
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

/// First pause after a failed accept, and the longest.
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// Disconnects pending participants that did not say hello, or were not admitted, in time.
fn end_overdue_pending(state: &RelayState, key: &SessionKey, session: &mut RoutedSession) {
    let config = &state.config;
    for id in session.overdue_pending(config.hello_timeout, config.admission_timeout) {
        if !expel(
            session,
            id,
            ErrorCode::Refused,
            "you did not finish joining in time; join again",
        ) {
            continue;
        }
        state.metrics.pending_timed_out();
        tracing::info!(session = %short(key), participant = id, "pending participant timed out");
        if let Some(host) = &session.host {
            send_control(&host.queue, &FromRelay::PeerLeft { participant: id });
        }
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
