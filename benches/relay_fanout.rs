//! Relay fan-out: one sender, ten receivers, through cotype's relay and through a plain
//! tokio-tungstenite broadcast server written here, measured in the same run.
//!
//! Both servers run in this process on loopback and are driven by the same clients. The
//! sender is a host in a real session (created, receivers joined with the admission token
//! and admitted) sending `Route::Everyone` frames with a valid 40-byte header; the payload
//! is opaque to the relay, so it carries a sequence number and the send time instead of a
//! sealed message (sealing is benched in benches/crypto.rs: this measures the relay).
//! The baseline accepts eleven sockets and forwards each frame from the sender to the ten
//! others through per-receiver bounded queues, like the relay, minus sessions, admission,
//! header checks and the per-frame copy.
//!
//! Two phases per frame size (256 B and 16 KiB):
//! - throughput: the sender keeps up to `WINDOW` frames in flight (ahead of the slowest
//!   receiver, well under the relay's queue bound, so nobody is dropped as a slow reader);
//!   figure: frames delivered per second (each frame counts once per receiver);
//! - latency: one frame in flight at a time; figure: p50/p99 of send-to-receive time over
//!   all receivers.
//!
//! Rounds alternate between the two servers; the median round counts. Targets: at least
//! 0.8x the raw server's throughput, p99 no more than 1 ms above the raw server's.
//!
//! Run: `cargo bench --bench relay_fanout`. The last line is one JSON object of the figures.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a short smoke run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use cotype::crypto::{SessionKeys, admission_verifier};
use cotype::link::{Secret, SessionId};
use cotype::protocol::control::{self, FromRelay, ToRelay};
use cotype::protocol::header::{HEADER_LEN, Header, Kind, Route};
use cotype::relay::RelayConfig;

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

/// A real session on cotype's relay: the sender is its host, the receivers joined with the
/// admission token and were admitted.
async fn ours() -> FanOut {
    let (address, _relay) =
        cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), RelayConfig::default())
            .await
            .expect("relay starts");
    let session = SessionId::random();
    let keys = SessionKeys::derive(&Secret::random(), &session);
    let (mut host_tx, mut host_rx) = connect(address).await;
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
    for _ in 0..RECEIVERS {
        let (mut tx, mut rx) = connect(address).await;
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
    // The host reads what the relay tells it (joins, pings), as a real host does.
    tokio::spawn(async move { while let Some(Ok(_)) = host_rx.next().await {} });
    FanOut {
        sender: host_tx,
        receivers,
        _keep: keep,
    }
}

/// The baseline: accept eleven sockets; the one that says "sender" is read, every frame
/// it sends is queued for each of the others.
async fn raw_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut sender = None;
        let mut queues: Vec<mpsc::Sender<Bytes>> = Vec::new();
        while sender.is_none() || queues.len() < RECEIVERS {
            let (stream, _) = listener.accept().await.expect("accept");
            let _ = stream.set_nodelay(true);
            let mut socket = tokio_tungstenite::accept_async(stream)
                .await
                .expect("handshake");
            match socket.next().await {
                Some(Ok(Message::Text(role))) if role.as_str() == "sender" => sender = Some(socket),
                _ => {
                    let (mut tx, mut rx) = socket.split();
                    let (queue, mut frames) = mpsc::channel::<Bytes>(1024);
                    tokio::spawn(async move {
                        while let Some(frame) = frames.recv().await {
                            if tx.send(Message::Binary(frame)).await.is_err() {
                                break;
                            }
                        }
                    });
                    tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
                    queues.push(queue);
                }
            }
        }
        let mut sender = sender.expect("a sender connected");
        let _ = sender.send(Message::Text("ready".into())).await;
        while let Some(Ok(message)) = sender.next().await {
            if let Message::Binary(frame) = message {
                for queue in &queues {
                    let _ = queue.send(frame.clone()).await;
                }
            }
        }
    });
    address
}

async fn raw() -> FanOut {
    let address = raw_server().await;
    let mut receivers = Vec::new();
    let mut keep = Vec::new();
    for _ in 0..RECEIVERS {
        let (mut tx, rx) = connect(address).await;
        tx.send(Message::Text("receiver".into()))
            .await
            .expect("role");
        receivers.push(rx);
        keep.push(tx);
    }
    let (mut sender, mut sender_rx) = connect(address).await;
    sender
        .send(Message::Text("sender".into()))
        .await
        .expect("role");
    while !matches!(sender_rx.next().await, Some(Ok(Message::Text(_)))) {}
    tokio::spawn(async move { while let Some(Ok(_)) = sender_rx.next().await {} });
    FanOut {
        sender,
        receivers,
        _keep: keep,
    }
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

struct Comparison {
    frame_len: usize,
    ours: [f64; 3],
    raw: [f64; 3],
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 3 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut results = Vec::new();
    for (frame_len, bulk, probes) in [(256usize, 20_000u64, 2_000u64), (16 * 1024, 4_000, 1_000)] {
        let (bulk, probes) = if full { (bulk, probes) } else { (200, 50) };
        let (mut ours_runs, mut raw_runs) = (Vec::new(), Vec::new());
        runtime.block_on(async {
            for _ in 0..rounds {
                ours_runs.push(measure(ours().await, frame_len, bulk, probes).await);
                raw_runs.push(measure(raw().await, frame_len, bulk, probes).await);
            }
        });
        let summary = |runs: &[Figures]| {
            [
                median(runs.iter().map(|r| r.delivered_per_sec).collect()),
                median(runs.iter().map(|r| r.p50_us).collect()),
                median(runs.iter().map(|r| r.p99_us).collect()),
            ]
        };
        let comparison = Comparison {
            frame_len,
            ours: summary(&ours_runs),
            raw: summary(&raw_runs),
        };
        let [tp, p50, p99] = comparison.ours;
        let [raw_tp, raw_p50, raw_p99] = comparison.raw;
        println!(
            "{frame_len:>6} B frames, 1 -> {RECEIVERS}: relay {tp:.0} deliveries/s vs raw {raw_tp:.0}/s = {:.2}x (target >= 0.8x); \
             p50 {p50:.0} us vs {raw_p50:.0} us; p99 {p99:.0} us vs {raw_p99:.0} us, added {:.0} us (target < 1000 us)",
            tp / raw_tp,
            p99 - raw_p99
        );
        results.push(comparison);
    }
    println!("({rounds} alternating rounds per size; median round; loopback, one process)");
    let fields: Vec<String> = results
        .iter()
        .map(|c| {
            let name = if c.frame_len == 256 { "256b" } else { "16kib" };
            format!(
                "\"{name}_per_sec\":{:.0},\"{name}_raw_per_sec\":{:.0},\"{name}_ratio\":{:.3},\
                 \"{name}_p50_us\":{:.1},\"{name}_p99_us\":{:.1},\"{name}_raw_p50_us\":{:.1},\
                 \"{name}_raw_p99_us\":{:.1},\"{name}_added_p99_us\":{:.1}",
                c.ours[0],
                c.raw[0],
                c.ours[0] / c.raw[0],
                c.ours[1],
                c.ours[2],
                c.raw[1],
                c.raw[2],
                c.ours[2] - c.raw[2]
            )
        })
        .collect();
    println!(
        "{{\"bench\":\"relay_fanout\",\"receivers\":{RECEIVERS},\"rounds\":{rounds},{},\"full\":{full}}}",
        fields.join(",")
    );
}
