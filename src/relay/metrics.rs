//! Relay metrics in the Prometheus text format: counts and durations, never contents.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::protocol::header::Kind;

const KINDS: [(Kind, &str); 8] = [
    (Kind::Control, "control"),
    (Kind::Hello, "hello"),
    (Kind::Edit, "edit"),
    (Kind::Presence, "presence"),
    (Kind::Request, "request"),
    (Kind::Response, "response"),
    (Kind::Event, "event"),
    (Kind::KeyUpdate, "key_update"),
];

#[derive(Default)]
pub struct Metrics {
    sessions_created: AtomicU64,
    sessions_ended: AtomicU64,
    session_seconds_sum: AtomicU64,
    session_peak_participants_sum: AtomicU64,
    frames_by_kind: [AtomicU64; 8],
    bytes_routed: AtomicU64,
    bad_tokens: AtomicU64,
    slow_readers_dropped: AtomicU64,
    host_resumes: AtomicU64,
    accept_errors: AtomicU64,
    refused_total_cap: AtomicU64,
    refused_per_ip_cap: AtomicU64,
    handshake_timeouts: AtomicU64,
    join_timeouts: AtomicU64,
    pending_timeouts: AtomicU64,
    pending_full: AtomicU64,
    sessions_rate_limited: AtomicU64,
    joins_rate_limited: AtomicU64,
}

/// What is true right now, read when the metrics are rendered.
pub struct Gauges {
    pub sessions: usize,
    /// Participants in sessions (pending ones included), hosts excluded.
    pub participants: usize,
    pub pending: usize,
    pub connections: usize,
    pub queued_bytes: usize,
}

impl Metrics {
    pub fn session_created(&self) {
        self.sessions_created.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_ended(&self, duration: Duration, peak_participants: usize) {
        self.sessions_ended.fetch_add(1, Ordering::Relaxed);
        self.session_seconds_sum
            .fetch_add(duration.as_secs(), Ordering::Relaxed);
        self.session_peak_participants_sum
            .fetch_add(peak_participants as u64, Ordering::Relaxed);
    }

    pub fn frame_routed(&self, kind: Kind, bytes: usize) {
        self.frames_by_kind[kind as usize].fetch_add(1, Ordering::Relaxed);
        self.bytes_routed.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn bad_token(&self) {
        self.bad_tokens.fetch_add(1, Ordering::Relaxed);
    }

    pub fn host_resumed(&self) {
        self.host_resumes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn slow_reader_dropped(&self) {
        self.slow_readers_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn accept_failed(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_refused(&self, why: super::limits::Crowded) {
        let counter = match why {
            super::limits::Crowded::Total => &self.refused_total_cap,
            super::limits::Crowded::PerAddress => &self.refused_per_ip_cap,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn handshake_timed_out(&self) {
        self.handshake_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn join_timed_out(&self) {
        self.join_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn pending_timed_out(&self) {
        self.pending_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn pending_full(&self) {
        self.pending_full.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_rate_limited(&self) {
        self.sessions_rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn join_rate_limited(&self) {
        self.joins_rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Each counter with its name and help text, in the order they are listed.
    fn counters(&self) -> [(&'static str, &'static str, &AtomicU64); 15] {
        [
            (
                "cotype_relay_accept_errors_total",
                "Failed accepts (e.g. out of file descriptors); each pauses accepting briefly.",
                &self.accept_errors,
            ),
            (
                "cotype_relay_handshake_timeouts_total",
                "Connections closed for not finishing their TLS/WebSocket handshake in time.",
                &self.handshake_timeouts,
            ),
            (
                "cotype_relay_join_timeouts_total",
                "Connections closed for not creating, joining or resuming a session in time.",
                &self.join_timeouts,
            ),
            (
                "cotype_relay_pending_timeouts_total",
                "Pending participants closed for not saying hello or not being admitted in time.",
                &self.pending_timeouts,
            ),
            (
                "cotype_relay_pending_full_total",
                "Joins refused because too many participants were already waiting.",
                &self.pending_full,
            ),
            (
                "cotype_relay_sessions_rate_limited_total",
                "Session creations refused by the per-address rate limit.",
                &self.sessions_rate_limited,
            ),
            (
                "cotype_relay_joins_rate_limited_total",
                "Join attempts refused by the per-address rate limit.",
                &self.joins_rate_limited,
            ),
            (
                "cotype_relay_sessions_created_total",
                "Sessions created.",
                &self.sessions_created,
            ),
            (
                "cotype_relay_sessions_ended_total",
                "Sessions ended.",
                &self.sessions_ended,
            ),
            (
                "cotype_relay_session_duration_seconds_sum",
                "Total duration of ended sessions.",
                &self.session_seconds_sum,
            ),
            (
                "cotype_relay_session_peak_participants_sum",
                "Sum over ended sessions of their largest participant count.",
                &self.session_peak_participants_sum,
            ),
            (
                "cotype_relay_bytes_routed_total",
                "Bytes of data frames routed.",
                &self.bytes_routed,
            ),
            (
                "cotype_relay_bad_tokens_total",
                "Join attempts with a wrong admission token.",
                &self.bad_tokens,
            ),
            (
                "cotype_relay_slow_readers_dropped_total",
                "Connections dropped because they stopped reading.",
                &self.slow_readers_dropped,
            ),
            (
                "cotype_relay_host_resumes_total",
                "Hosts that reclaimed their session after losing their connection.",
                &self.host_resumes,
            ),
        ]
    }

    pub fn render(&self, gauges: Gauges) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let now: [(&str, &str, usize); 5] = [
            (
                "cotype_relay_sessions_active",
                "Sessions open now.",
                gauges.sessions,
            ),
            (
                "cotype_relay_participants_active",
                "Participants connected now, hosts excluded.",
                gauges.participants,
            ),
            (
                "cotype_relay_participants_pending",
                "Participants waiting for the host to admit them.",
                gauges.pending,
            ),
            (
                "cotype_relay_connections_open",
                "Client connections open now, joined or not.",
                gauges.connections,
            ),
            (
                "cotype_relay_queued_bytes",
                "Bytes queued for receivers and not yet written to their sockets.",
                gauges.queued_bytes,
            ),
        ];
        for (name, help, value) in now {
            metric(name, "gauge", help, value as u64);
        }
        let counted = self.counters();
        for (name, help, counter) in counted {
            metric(name, "counter", help, get(counter));
        }
        let _ = writeln!(
            out,
            "# HELP cotype_relay_connections_refused_total Connections closed at accept by the connection caps.\n# TYPE cotype_relay_connections_refused_total counter\ncotype_relay_connections_refused_total{{reason=\"total\"}} {}\ncotype_relay_connections_refused_total{{reason=\"per_ip\"}} {}",
            get(&self.refused_total_cap),
            get(&self.refused_per_ip_cap)
        );
        let _ = writeln!(
            out,
            "# HELP cotype_relay_frames_routed_total Data frames routed, by coarse kind.\n# TYPE cotype_relay_frames_routed_total counter"
        );
        for (kind, name) in KINDS {
            let _ = writeln!(
                out,
                "cotype_relay_frames_routed_total{{kind=\"{name}\"}} {}",
                get(&self.frames_by_kind[kind as usize])
            );
        }
        out
    }
}

/// A minimal HTTP/1.1 responder for `GET /metrics` and `GET /healthz` (200 while
/// serving, 503 while draining); anything else gets 404.
pub async fn serve(
    listener: TcpListener,
    render: impl Fn() -> String + Send + Sync + 'static,
    healthy: impl Fn() -> bool + Send + Sync + 'static,
) -> std::io::Result<()> {
    let render = std::sync::Arc::new(render);
    let healthy = std::sync::Arc::new(healthy);
    loop {
        // A failed accept (out of descriptors, say) is retried, never fatal.
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let render = render.clone();
        let healthy = healthy.clone();
        tokio::spawn(async move {
            // Read until the end of the headers: a request may arrive in several pieces.
            let mut request = Vec::with_capacity(1024);
            let read_head = async {
                let mut piece = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
                    match stream.read(&mut piece).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => request.extend_from_slice(&piece[..read]),
                    }
                }
            };
            if tokio::time::timeout(Duration::from_secs(5), read_head)
                .await
                .is_err()
            {
                return;
            }
            let request = String::from_utf8_lossy(&request);
            let (status, body) = if request.starts_with("GET /metrics ") {
                ("200 OK", render())
            } else if request.starts_with("GET /healthz ") {
                // What a load balancer checks: a draining node gets no new connections.
                if healthy() {
                    ("200 OK", "ok\n".to_string())
                } else {
                    ("503 Service Unavailable", "draining\n".to_string())
                }
            } else {
                ("404 Not Found", "not found; try /metrics\n".to_string())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
