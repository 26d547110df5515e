//! Load for the relay cluster bench (`benches/relay_cluster.rs`): many sessions of three
//! members (a host and two participants) as raw protocol clients over real sockets, each
//! member sending a presence frame to everyone every second, stamped with its send time.
//! Members reconnect by themselves as the real clients do (the host resumes with its
//! resume token, a participant joins again and the host admits it), so a node can be
//! killed under the load and the time until every member is back measured.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use cotype::crypto::{SessionKeys, admission_verifier};
use cotype::link::{Secret, SessionId};
use cotype::protocol::control::{self, FromRelay, ToRelay};
use cotype::protocol::header::{HEADER_LEN, Header, Kind, Route};

/// Members per session: the host and two participants.
pub const MEMBERS: usize = 3;
/// A presence frame's size (a cursor and a selection, sealed, are about this).
const FRAME_LEN: usize = 96;
/// Latency histogram: 10 µs buckets up to 500 ms, then 1 ms buckets up to 10 s; the last
/// counts everything slower.
const FINE_BUCKETS: usize = 50_000;
const BUCKETS: usize = FINE_BUCKETS + 9_500;

fn bucket_of(micros: u64) -> usize {
    let micros = micros as usize;
    if micros < FINE_BUCKETS * 10 {
        micros / 10
    } else {
        (FINE_BUCKETS + (micros - FINE_BUCKETS * 10) / 1000).min(BUCKETS)
    }
}

/// The middle of a bucket, in µs.
fn micros_of(bucket: usize) -> f64 {
    if bucket < FINE_BUCKETS {
        bucket as f64 * 10.0 + 5.0
    } else {
        (FINE_BUCKETS * 10) as f64 + (bucket - FINE_BUCKETS) as f64 * 1000.0 + 500.0
    }
}
/// Sessions set up at once.
const SETUP_BATCH: usize = 50;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Tx = SplitSink<Socket, Message>;
type Rx = SplitStream<Socket>;

/// What the members do now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Connected, sending nothing.
    Idle,
    /// Sending, every frame counted and timed.
    Measure,
    /// Sending, nothing counted (a node is being killed).
    Load,
    Stop,
}

#[derive(Clone)]
struct Secrets {
    session: [u8; 16],
    token: [u8; 32],
    resume_token: [u8; 32],
}

/// Counters every member adds to.
struct Tally {
    sent: AtomicU64,
    delivered: AtomicU64,
    doubled: AtomicU64,
    latency_buckets: Vec<AtomicU64>,
    /// Members without a connection now.
    away: AtomicUsize,
    /// Since the mark (a kill): members that lost their connection, and when each came
    /// back (ms after the mark).
    dropped: AtomicUsize,
    back_ms: Mutex<Vec<u64>>,
    mark: Mutex<Option<Instant>>,
}

/// The figures of one measured window.
pub struct Measured {
    pub seconds: f64,
    pub sent: u64,
    pub delivered: u64,
    pub doubled: u64,
    pub p50_us: f64,
    pub p99_us: f64,
}

impl Measured {
    /// Deliveries over what should have arrived (every frame to the two others).
    pub fn delivered_share(&self) -> f64 {
        self.delivered as f64 / (self.sent as f64 * (MEMBERS - 1) as f64).max(1.0)
    }

    /// Frames sent over what the members should have sent (one a second each): below 1
    /// when the load generator itself cannot keep up.
    pub fn sent_share(&self, connections: usize) -> f64 {
        self.sent as f64 / (connections as f64 * self.seconds)
    }

    pub fn delivered_per_sec(&self) -> f64 {
        self.delivered as f64 / self.seconds
    }
}

/// How the members of a killed node came back.
pub struct Recovery {
    pub dropped: usize,
    pub back: usize,
    pub last_back_ms: u64,
    pub median_back_ms: u64,
}

/// Sessions of three members connected to one address, running until `stop`.
pub struct Load {
    phase: watch::Sender<Phase>,
    tally: Arc<Tally>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    epoch: Instant,
}

impl Load {
    /// Sets up `sessions` sessions through `address`, every member connected and
    /// admitted, sending nothing yet.
    pub async fn start(address: SocketAddr, sessions: usize) -> Load {
        let (phase, phase_rx) = watch::channel(Phase::Idle);
        let tally = Arc::new(Tally {
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            doubled: AtomicU64::new(0),
            latency_buckets: (0..=BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            away: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            back_ms: Mutex::new(Vec::new()),
            mark: Mutex::new(None),
        });
        let epoch = Instant::now();
        let mut tasks = Vec::new();
        let all: Vec<usize> = (0..sessions).collect();
        for batch in all.chunks(SETUP_BATCH) {
            let started = futures_util::future::join_all(batch.iter().map(|&index| {
                set_up_session(address, index, phase_rx.clone(), tally.clone(), epoch)
            }))
            .await;
            tasks.extend(started.into_iter().flatten());
        }
        Load {
            phase,
            tally,
            tasks,
            epoch,
        }
    }

    pub fn connections(&self) -> usize {
        self.tasks.len()
    }

    pub fn set(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    /// Every member sends for `seconds`; frames still on their way are waited for.
    pub async fn measure(&self, seconds: u64) -> Measured {
        let tally = &self.tally;
        tally.sent.store(0, Ordering::SeqCst);
        tally.delivered.store(0, Ordering::SeqCst);
        tally.doubled.store(0, Ordering::SeqCst);
        for bucket in &tally.latency_buckets {
            bucket.store(0, Ordering::Relaxed);
        }
        self.set(Phase::Measure);
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        self.set(Phase::Idle);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let counts: Vec<u64> = tally
            .latency_buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let percentile = |p: f64| {
            let wanted = (total as f64 * p).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (index, count) in counts.iter().enumerate() {
                seen += count;
                if seen >= wanted {
                    return micros_of(index);
                }
            }
            micros_of(BUCKETS)
        };
        Measured {
            seconds: seconds as f64,
            sent: tally.sent.load(Ordering::SeqCst),
            delivered: tally.delivered.load(Ordering::SeqCst),
            doubled: tally.doubled.load(Ordering::SeqCst),
            p50_us: percentile(0.50),
            p99_us: percentile(0.99),
        }
    }

    /// From now, members losing their connection are counted, with the time each takes
    /// to be back.
    pub fn mark(&self) {
        self.tally.dropped.store(0, Ordering::SeqCst);
        self.tally.back_ms.lock().unwrap().clear();
        *self.tally.mark.lock().unwrap() = Some(Instant::now());
    }

    /// Waits (at least `settle`, at most `limit` after the mark) until every member that
    /// lost its connection since the mark is back.
    pub async fn recovery(&self, settle: Duration, limit: Duration) -> Recovery {
        let marked = self.tally.mark.lock().unwrap().expect("marked");
        loop {
            let elapsed = marked.elapsed();
            let away = self.tally.away.load(Ordering::SeqCst);
            if (elapsed >= settle && away == 0) || elapsed >= limit {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut back = self.tally.back_ms.lock().unwrap().clone();
        back.sort_unstable();
        Recovery {
            dropped: self.tally.dropped.load(Ordering::SeqCst),
            back: back.len(),
            last_back_ms: back.last().copied().unwrap_or(0),
            median_back_ms: back.get(back.len() / 2).copied().unwrap_or(0),
        }
    }

    /// Closes every connection.
    pub async fn stop(self) {
        self.set(Phase::Stop);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let _ = self.epoch;
    }
}

async fn open(address: SocketAddr) -> Result<(Tx, Rx), String> {
    let connect =
        tokio_tungstenite::connect_async_with_config(format!("ws://{address}/ws"), None, true);
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok((socket, _))) => Ok(socket.split()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}

async fn send_control(tx: &mut Tx, message: &ToRelay) -> Result<(), String> {
    tx.send(Message::Binary(control::encode(message).into()))
        .await
        .map_err(|e| e.to_string())
}

async fn next_control(rx: &mut Rx) -> Result<FromRelay, String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), rx.next()).await {
            Ok(Some(Ok(Message::Binary(frame)))) if control::is_control(&frame) == Ok(true) => {
                return control::decode(&frame).map_err(|e| e.to_string());
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => return Err(format!("closed: {other:?}")),
            Err(_) => return Err("no answer".into()),
        }
    }
}

/// Connects member `index` of a session: the host creates (or resumes) it, a
/// participant joins and waits until the host admits it.
async fn connect(
    address: SocketAddr,
    secrets: &Secrets,
    index: usize,
    create: bool,
) -> Result<(Tx, Rx), String> {
    let (mut tx, mut rx) = open(address).await?;
    let ask = match (index, create) {
        (0, true) => ToRelay::Create {
            session: secrets.session,
            verifier: admission_verifier(&secrets.token),
            resume_verifier: admission_verifier(&secrets.resume_token),
        },
        (0, false) => ToRelay::Resume {
            session: secrets.session,
            resume_token: secrets.resume_token,
        },
        _ => ToRelay::Join {
            session: secrets.session,
            token: secrets.token,
        },
    };
    send_control(&mut tx, &ask).await?;
    match next_control(&mut rx).await? {
        FromRelay::Welcome { .. } => {}
        other => return Err(format!("not welcome: {other:?}")),
    }
    if index > 0 {
        loop {
            match next_control(&mut rx).await? {
                FromRelay::Admitted => break,
                FromRelay::Error { fatal: true, .. } | FromRelay::Move { .. } => {
                    return Err("refused".into());
                }
                _ => {}
            }
        }
    }
    Ok((tx, rx))
}

async fn set_up_session(
    address: SocketAddr,
    index: usize,
    phase: watch::Receiver<Phase>,
    tally: Arc<Tally>,
    epoch: Instant,
) -> Vec<tokio::task::JoinHandle<()>> {
    let id = SessionId::random();
    let keys = SessionKeys::derive(&Secret::random(), &id);
    let mut resume_token = [0u8; 32];
    rand::fill(&mut resume_token);
    let secrets = Secrets {
        session: id.0,
        token: keys.admission_token(),
        resume_token,
    };
    let mut tasks = Vec::new();
    for member in 0..MEMBERS {
        let deadline = Instant::now() + Duration::from_secs(60);
        let link = loop {
            match connect(address, &secrets, member, member == 0).await {
                Ok(link) => break link,
                Err(e) if Instant::now() > deadline => {
                    panic!("session {index} member {member} cannot connect: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let member = Member {
            address,
            secrets: secrets.clone(),
            index: member,
            // Spread the members' sends over the second.
            offset: Duration::from_micros(((index * MEMBERS + member) * 7919 % 1_000_000) as u64),
            phase: phase.clone(),
            tally: tally.clone(),
            epoch,
        };
        tasks.push(tokio::spawn(member.run(link)));
    }
    tasks
}

struct Member {
    address: SocketAddr,
    secrets: Secrets,
    index: usize,
    offset: Duration,
    phase: watch::Receiver<Phase>,
    tally: Arc<Tally>,
    epoch: Instant,
}

impl Member {
    async fn run(mut self, link: (Tx, Rx)) {
        let (mut tx, mut rx) = link;
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + self.offset,
            Duration::from_secs(1),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seq = 0u64;
        let mut last_seen = [0u64; MEMBERS];
        let mut frame = vec![0u8; FRAME_LEN];
        loop {
            let connected = tokio::select! {
                _ = tick.tick() => {
                    let phase = *self.phase.borrow();
                    if matches!(phase, Phase::Measure | Phase::Load) {
                        seq += 1;
                        self.stamp(&mut frame, seq, phase);
                        let sent = tx.send(Message::Binary(Bytes::copy_from_slice(&frame))).await;
                        if phase == Phase::Measure && sent.is_ok() {
                            self.tally.sent.fetch_add(1, Ordering::Relaxed);
                        }
                        sent.is_ok()
                    } else {
                        true
                    }
                }
                message = rx.next() => match message {
                    Some(Ok(Message::Binary(frame))) => {
                        self.received(&mut tx, &frame, &mut last_seen).await
                    }
                    Some(Ok(_)) => true,
                    _ => false,
                },
                _ = self.phase.changed() => *self.phase.borrow() != Phase::Stop,
            };
            if *self.phase.borrow() == Phase::Stop {
                return;
            }
            if !connected {
                match self.reconnect().await {
                    Some((new_tx, new_rx)) => (tx, rx) = (new_tx, new_rx),
                    None => return,
                }
            }
        }
    }

    /// Header, then: sender index, phase, sequence number, send time (ns since epoch).
    fn stamp(&self, frame: &mut [u8], seq: u64, phase: Phase) {
        let header = Header {
            kind: Kind::Presence,
            route: Route::Everyone,
            epoch: 0,
            sender: 0,
            instance: [self.index as u8; 16],
            counter: seq,
        };
        frame[..HEADER_LEN].copy_from_slice(&header.encode());
        frame[HEADER_LEN] = self.index as u8;
        frame[HEADER_LEN + 1] = u8::from(phase == Phase::Measure);
        frame[HEADER_LEN + 2..HEADER_LEN + 10].copy_from_slice(&seq.to_le_bytes());
        let now = self.epoch.elapsed().as_nanos() as u64;
        frame[HEADER_LEN + 10..HEADER_LEN + 18].copy_from_slice(&now.to_le_bytes());
    }

    /// One frame from the relay; false when the connection must end.
    async fn received(&self, tx: &mut Tx, frame: &[u8], last_seen: &mut [u64; MEMBERS]) -> bool {
        if control::is_control(frame) == Ok(true) {
            return match control::decode::<FromRelay>(frame) {
                Ok(FromRelay::JoinRequest { participant }) if self.index == 0 => {
                    send_control(tx, &ToRelay::Admit { participant })
                        .await
                        .is_ok()
                }
                Ok(FromRelay::Error { fatal: true, .. }) => false,
                _ => true,
            };
        }
        if frame.len() < HEADER_LEN + 18 {
            return true;
        }
        let now = self.epoch.elapsed().as_nanos() as u64;
        let from = usize::from(frame[HEADER_LEN]).min(MEMBERS - 1);
        let measured = frame[HEADER_LEN + 1] == 1;
        let field = |at: usize| u64::from_le_bytes(frame[at..at + 8].try_into().expect("8 bytes"));
        let (seq, sent) = (field(HEADER_LEN + 2), field(HEADER_LEN + 10));
        if seq <= last_seen[from] {
            self.tally.doubled.fetch_add(1, Ordering::Relaxed);
        }
        last_seen[from] = seq;
        if measured {
            self.tally.delivered.fetch_add(1, Ordering::Relaxed);
            let bucket = bucket_of(now.saturating_sub(sent) / 1000);
            self.tally.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Connects again through the same address until it works (the load balancer picks
    /// a node); `None` when the load stops meanwhile.
    async fn reconnect(&mut self) -> Option<(Tx, Rx)> {
        let tally = &self.tally;
        tally.away.fetch_add(1, Ordering::SeqCst);
        let marked = *tally.mark.lock().unwrap();
        if marked.is_some() {
            tally.dropped.fetch_add(1, Ordering::SeqCst);
        }
        loop {
            if *self.phase.borrow() == Phase::Stop {
                tally.away.fetch_sub(1, Ordering::SeqCst);
                return None;
            }
            if let Ok(link) = connect(self.address, &self.secrets, self.index, false).await {
                if let Some(marked) = marked {
                    let back = marked.elapsed().as_millis() as u64;
                    tally.back_ms.lock().unwrap().push(back);
                }
                tally.away.fetch_sub(1, Ordering::SeqCst);
                return Some(link);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
