//! Relay cluster fan-out: one sender (a host on node A) and ten receivers joined on nodes
//! B and C (five each), every frame crossing Redis pub/sub, against the same session on
//! one relay without a cluster (the baseline), measured in the same run.
//!
//! Redis is a private `redis-server` on a free port started here; the three nodes are
//! relays in this process joined to it (`Relay::join_cluster`). The clients and phases
//! are those of `benches/relay_fanout.rs`: a throughput phase (up to `WINDOW` frames in
//! flight; figure: deliveries per second) and a latency phase (one frame in flight; p50
//! and p99 send-to-receive over all receivers). Rounds alternate; the median counts.
//! Targets (issue 15): at least 0.5x the single relay's deliveries/s, p99 at most 1 ms
//! above it.
//!
//! Run: `cargo bench --bench relay_cluster`. The last line is one JSON object of the
//! figures. Without `--bench` it does a short smoke run. Needs `redis-server` (scripts/test
//! installs it).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use cotype::crypto::{SessionKeys, admission_verifier};
use cotype::link::{Secret, SessionId};
use cotype::protocol::control::{self, FromRelay, ToRelay};
use cotype::protocol::header::{HEADER_LEN, Header, Kind, Route};
use cotype::relay::RelayConfig;
use cotype::relay::cluster::ClusterConfig;

const RECEIVERS: usize = 10;
/// Frames the sender may be ahead of the slowest receiver in the throughput phase; far
/// below the relay's per-receiver queue (1024), so no receiver counts as stalled.
const WINDOW: u64 = 256;
/// Where the payload's sequence number and send time sit (after the header).
const STAMP_AT: usize = HEADER_LEN;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Tx = SplitSink<Socket, Message>;
type Rx = SplitStream<Socket>;

/// One sender and ten receivers, connected and ready.
struct FanOut {
    sender: Tx,
    receivers: Vec<Rx>,
    /// Halves kept open for the duration (dropping them must not end a connection).
    _keep: Vec<Tx>,
}

async fn connect(address: SocketAddr) -> (Tx, Rx) {
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://{address}/ws"), None, true)
            .await
            .expect("connect");
    socket.split()
}

async fn send_control(tx: &mut Tx, message: &ToRelay) {
    tx.send(Message::Binary(control::encode(message).into()))
        .await
        .expect("send control");
}

async fn next_control(rx: &mut Rx) -> FromRelay {
    loop {
        match rx.next().await {
            Some(Ok(Message::Binary(frame))) if control::is_control(&frame) == Ok(true) => {
                return control::decode(&frame).expect("relay control decodes");
            }
            Some(Ok(_)) => {}
            other => panic!("relay connection ended during setup: {other:?}"),
        }
    }
}

/// A session with its host on `host_at` and receiver `i` joined on `receivers_at[i % len]`.
async fn session(host_at: SocketAddr, receivers_at: &[SocketAddr]) -> FanOut {
    let session = SessionId::random();
    let keys = SessionKeys::derive(&Secret::random(), &session);
    let (mut host_tx, mut host_rx) = connect(host_at).await;
    send_control(
        &mut host_tx,
        &ToRelay::Create {
            session: session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: admission_verifier(&[9; 32]),
        },
    )
    .await;
    assert!(matches!(
        next_control(&mut host_rx).await,
        FromRelay::Welcome { .. }
    ));
    let mut receivers = Vec::new();
    let mut keep = Vec::new();
    for index in 0..RECEIVERS {
        let (mut tx, mut rx) = connect(receivers_at[index % receivers_at.len()]).await;
        send_control(
            &mut tx,
            &ToRelay::Join {
                session: session.0,
                token: keys.admission_token(),
            },
        )
        .await;
        let FromRelay::Welcome { participant, .. } = next_control(&mut rx).await else {
            panic!("join refused");
        };
        loop {
            if let FromRelay::JoinRequest {
                participant: asking,
            } = next_control(&mut host_rx).await
                && asking == participant
            {
                break;
            }
        }
        send_control(&mut host_tx, &ToRelay::Admit { participant }).await;
        while next_control(&mut rx).await != FromRelay::Admitted {}
        receivers.push(rx);
        keep.push(tx);
    }
    tokio::spawn(async move { while let Some(Ok(_)) = host_rx.next().await {} });
    FanOut {
        sender: host_tx,
        receivers,
        _keep: keep,
    }
}

/// A private redis-server on a free port; killed on drop.
struct Redis(Child, u16);

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis(child, port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn node(redis: &Redis, name: &str) -> SocketAddr {
    let (address, relay) =
        cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), RelayConfig::default())
            .await
            .expect("relay starts");
    relay
        .join_cluster(ClusterConfig {
            redis_url: format!("redis://127.0.0.1:{}", redis.1),
            node_name: name.into(),
        })
        .await
        .expect("the node joins the cluster");
    std::mem::forget(relay);
    address
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 3 } else { 1 };
    let (bulk, probes) = if full {
        (20_000u64, 2_000u64)
    } else {
        (200, 50)
    };
    let frame_len = 256;
    let redis = Redis::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut cluster_runs, mut single_runs) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        let a = node(&redis, "bench-a").await;
        let b = node(&redis, "bench-b").await;
        let c = node(&redis, "bench-c").await;
        let (single, _relay) =
            cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), RelayConfig::default())
                .await
                .expect("relay starts");
        for _ in 0..rounds {
            cluster_runs.push(measure(session(a, &[b, c]).await, frame_len, bulk, probes).await);
            single_runs
                .push(measure(session(single, &[single]).await, frame_len, bulk, probes).await);
        }
    });
    let summary = |runs: &[Figures]| {
        [
            median(runs.iter().map(|r| r.delivered_per_sec).collect()),
            median(runs.iter().map(|r| r.p50_us).collect()),
            median(runs.iter().map(|r| r.p99_us).collect()),
        ]
    };
    let [tp, p50, p99] = summary(&cluster_runs);
    let [base_tp, base_p50, base_p99] = summary(&single_runs);
    println!(
        "{frame_len} B frames, host on A -> {RECEIVERS} receivers on B and C: cluster {tp:.0} deliveries/s vs one relay {base_tp:.0}/s = {:.2}x (target >= 0.5x); \
         p50 {p50:.0} us vs {base_p50:.0} us; p99 {p99:.0} us vs {base_p99:.0} us, added {:.0} us (target < 1000 us)",
        tp / base_tp,
        p99 - base_p99
    );
    println!(
        "({rounds} alternating rounds; median round; loopback, one process, Redis on loopback)"
    );
    println!(
        "{{\"bench\":\"relay_cluster\",\"receivers\":{RECEIVERS},\"rounds\":{rounds},\"frame_bytes\":{frame_len},\"cluster_per_sec\":{tp:.0},\"single_per_sec\":{base_tp:.0},\"ratio\":{:.3},\"cluster_p50_us\":{p50:.1},\"cluster_p99_us\":{p99:.1},\"single_p50_us\":{base_p50:.1},\"single_p99_us\":{base_p99:.1},\"added_p99_us\":{:.1},\"full\":{full}}}",
        tp / base_tp,
        p99 - base_p99
    );
}

struct Figures {
    delivered_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Drives one fan-out: `bulk` frames with a window, then `probes` frames one at a time.
async fn measure(fan_out: FanOut, frame_len: usize, bulk: u64, probes: u64) -> Figures {
    let FanOut {
        mut sender,
        receivers,
        _keep,
    } = fan_out;
    let total = bulk + probes;
    let epoch = Instant::now();
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..RECEIVERS).map(|_| AtomicU64::new(0)).collect());
    let wake = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    for (index, mut rx) in receivers.into_iter().enumerate() {
        let progress = progress.clone();
        let wake = wake.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(probes as usize);
            while let Some(Ok(message)) = rx.next().await {
                let Message::Binary(frame) = message else {
                    continue;
                };
                if frame.len() < STAMP_AT + 16 || control::is_control(&frame) == Ok(true) {
                    continue;
                }
                let now = epoch.elapsed().as_nanos() as u64;
                let field =
                    |at: usize| u64::from_le_bytes(frame[at..at + 8].try_into().expect("8 bytes"));
                let (seq, sent) = (field(STAMP_AT), field(STAMP_AT + 8));
                if seq >= bulk {
                    latencies.push(now.saturating_sub(sent));
                }
                progress[index].store(seq + 1, Ordering::Release);
                wake.notify_one();
                if seq + 1 == total {
                    break;
                }
            }
            latencies
        }));
    }
    let slowest = || {
        progress
            .iter()
            .map(|p| p.load(Ordering::Acquire))
            .min()
            .unwrap_or(0)
    };
    let mut template = vec![0u8; frame_len];
    let mut bulk_secs = 0.0;
    let started = Instant::now();
    for seq in 0..total {
        let window = if seq < bulk { WINDOW } else { 1 };
        while slowest() + window <= seq {
            wake.notified().await;
        }
        if seq == bulk {
            bulk_secs = started.elapsed().as_secs_f64();
        }
        let header = Header {
            kind: Kind::Event,
            route: Route::Everyone,
            epoch: 0,
            sender: 0,
            instance: [1; 16],
            counter: seq + 1,
        };
        template[..HEADER_LEN].copy_from_slice(&header.encode());
        template[STAMP_AT..STAMP_AT + 8].copy_from_slice(&seq.to_le_bytes());
        let sent = epoch.elapsed().as_nanos() as u64;
        template[STAMP_AT + 8..STAMP_AT + 16].copy_from_slice(&sent.to_le_bytes());
        sender
            .send(Message::Binary(Bytes::copy_from_slice(&template)))
            .await
            .expect("send");
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("receiver task"));
    }
    assert_eq!(
        latencies.len() as u64,
        probes * RECEIVERS as u64,
        "every receiver got every frame"
    );
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p) as usize).min(latencies.len() - 1);
        latencies[index] as f64 / 1000.0
    };
    Figures {
        delivered_per_sec: (bulk * RECEIVERS as u64) as f64 / bulk_secs,
        p50_us: percentile(0.50),
        p99_us: percentile(0.99),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
