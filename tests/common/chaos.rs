//! Chaos: a real relay, a real host process and six participants typing at once, every
//! link through a proxy that delays, stalls, cuts and half-opens connections, the host
//! paused with SIGSTOP, one participant killed and another joining in its place.
//! At the end every copy must equal the host's text, every token typed must be in it
//! exactly once, no process may have grown without bound and none may have panicked.
//!
//! Used by `tests/chaos.rs` (one run) and `benches/chaos.rs` (ten). Needs `process.rs`
//! as `process`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cotype::client::connection::Connection;
use cotype::client::driver::{Driver, DriverEvent, apply};
use cotype::client::session::{Session, SessionEvent};
use cotype::link::Link;
use cotype::relay::RelayConfig;
use cotype::text::{Operation, UndoHistory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::process;

#[path = "rng.rs"]
mod rng;
pub use rng::Rng;

/// What the proxies did, summed over every link.
#[derive(Default, Debug)]
pub struct FaultCounts {
    pub connections: AtomicU64,
    /// Chunks held back 0–300 ms (in order) before being passed on.
    pub delayed_chunks: AtomicU64,
    /// Both directions of a connection frozen for a while, then resumed.
    pub stalls: AtomicU64,
    /// Connections closed at a random moment.
    pub cuts: AtomicU64,
    /// Connections that went silent without closing: bytes are swallowed both ways and
    /// each end is left to find out by itself (the other end's close is not passed on).
    pub half_opens: AtomicU64,
}

impl FaultCounts {
    pub fn injected(&self) -> u64 {
        self.stalls.load(Ordering::Relaxed)
            + self.cuts.load(Ordering::Relaxed)
            + self.half_opens.load(Ordering::Relaxed)
    }
}

/// How often a proxy misbehaves.
#[derive(Clone, Copy, Debug)]
pub struct FaultPlan {
    /// Each chunk is held back a uniform random time below this (0 passes it at once).
    pub max_delay: Duration,
    /// Time between two fault decisions on one connection.
    pub between_faults: (Duration, Duration),
    /// Out of 100 decisions: a stall, a cut, a half-open connection (the rest do nothing).
    pub stall_percent: usize,
    pub cut_percent: usize,
    pub half_open_percent: usize,
    pub longest_stall: Duration,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            max_delay: Duration::from_millis(300),
            between_faults: (Duration::from_millis(500), Duration::from_secs(5)),
            stall_percent: 35,
            cut_percent: 15,
            half_open_percent: 10,
            longest_stall: Duration::from_secs(4),
        }
    }
}

/// A TCP proxy in front of the relay for one party, injecting faults by `FaultPlan` from
/// a seeded generator. `calm` stops new faults (delays go on); connections already
/// half-open stay so until an end notices.
pub struct ChaosProxy {
    pub address: SocketAddr,
    calm: Arc<AtomicBool>,
    cut_all: broadcast::Sender<()>,
}

/// One connection's shared state: frozen until, and whether it only swallows now.
struct LinkState {
    stalled_until: Mutex<Instant>,
    swallowing: AtomicBool,
}

impl ChaosProxy {
    pub async fn start(
        target: SocketAddr,
        plan: FaultPlan,
        mut rng: Rng,
        counts: Arc<FaultCounts>,
    ) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let calm = Arc::new(AtomicBool::new(false));
        let (cut_all, _) = broadcast::channel(4);
        let proxy_calm = calm.clone();
        let proxy_cut = cut_all.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                counts.connections.fetch_add(1, Ordering::Relaxed);
                let connection = serve_connection(
                    inbound,
                    target,
                    plan,
                    rng.fork(),
                    counts.clone(),
                    proxy_calm.clone(),
                    proxy_cut.subscribe(),
                );
                tokio::spawn(connection);
            }
        });
        ChaosProxy {
            address,
            calm,
            cut_all,
        }
    }

    /// No more faults from now on (delays go on).
    pub fn calm_down(&self) {
        self.calm.store(true, Ordering::Relaxed);
    }

    /// Closes every connection through this proxy now.
    pub fn cut_all(&self) {
        let _ = self.cut_all.send(());
    }
}

async fn serve_connection(
    inbound: TcpStream,
    target: SocketAddr,
    plan: FaultPlan,
    mut rng: Rng,
    counts: Arc<FaultCounts>,
    calm: Arc<AtomicBool>,
    mut cut_all: broadcast::Receiver<()>,
) {
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let state = Arc::new(LinkState {
        stalled_until: Mutex::new(Instant::now()),
        swallowing: AtomicBool::new(false),
    });
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let mut up = tokio::spawn(pump(
        in_read,
        out_write,
        plan,
        rng.fork(),
        state.clone(),
        counts.clone(),
    ));
    let mut down = tokio::spawn(pump(
        out_read,
        in_write,
        plan,
        rng.fork(),
        state.clone(),
        counts.clone(),
    ));
    let faults = async {
        loop {
            let (low, high) = plan.between_faults;
            tokio::time::sleep(rng.millis(low.as_millis() as u64..high.as_millis() as u64)).await;
            if calm.load(Ordering::Relaxed) {
                continue;
            }
            let roll = rng.below(100);
            if roll < plan.stall_percent {
                counts.stalls.fetch_add(1, Ordering::Relaxed);
                let stall = rng.millis(100..plan.longest_stall.as_millis() as u64);
                *state.stalled_until.lock().unwrap() = Instant::now() + stall;
            } else if roll < plan.stall_percent + plan.cut_percent {
                counts.cuts.fetch_add(1, Ordering::Relaxed);
                return;
            } else if roll < plan.stall_percent + plan.cut_percent + plan.half_open_percent {
                counts.half_opens.fetch_add(1, Ordering::Relaxed);
                state.swallowing.store(true, Ordering::Relaxed);
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = &mut up => {
            // Half-open: one end closed, the other is not told.
            if state.swallowing.load(Ordering::Relaxed) {
                tokio::select! { _ = &mut down => {}, _ = cut_all.recv() => {} }
            }
        }
        _ = &mut down => {
            if state.swallowing.load(Ordering::Relaxed) {
                tokio::select! { _ = &mut up => {}, _ = cut_all.recv() => {} }
            }
        }
        _ = faults => {}
        _ = cut_all.recv() => {}
    }
    up.abort();
    down.abort();
}

/// Moves bytes one way, each chunk held back a random time (keeping their order), frozen
/// during a stall, swallowed once the connection is half-open.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    plan: FaultPlan,
    mut rng: Rng,
    state: Arc<LinkState>,
    counts: Arc<FaultCounts>,
) {
    let (chunks, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer_state = state.clone();
    let writer = async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            loop {
                let until = *writer_state.stalled_until.lock().unwrap();
                if until <= Instant::now() {
                    break;
                }
                tokio::time::sleep_until(until).await;
            }
            if writer_state.swallowing.load(Ordering::Relaxed) {
                continue;
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    let reader = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut last = Instant::now();
        loop {
            let n = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if state.swallowing.load(Ordering::Relaxed) {
                continue;
            }
            let delay = if plan.max_delay.is_zero() {
                Duration::ZERO
            } else {
                counts.delayed_chunks.fetch_add(1, Ordering::Relaxed);
                rng.millis(0..plan.max_delay.as_millis() as u64)
            };
            last = last.max(Instant::now() + delay);
            if chunks.send((last, buffer[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    // The reader ending (EOF) must still let what it queued be written: wait for the
    // writer, which ends when the queue is empty and closed.
    let reader = tokio::spawn(reader);
    writer.await;
    reader.abort();
}

/// Filler never contains a token's characters (brackets, digits, '.').
const FILLER: &[&str] = &[
    "a",
    "é",
    "😀",
    "漢",
    "\r\n",
    "\n",
    " ",
    "e\u{301}",
    "👩‍💻",
    "Ω",
    "\t",
    "x",
];

fn is_token_char(c: char) -> bool {
    matches!(c, '⟦' | '⟧' | '.') || c.is_ascii_digit()
}

fn token(typist: usize, k: usize) -> String {
    format!("⟦{typist}.{k}⟧")
}

fn filler(rng: &mut Rng, pieces: usize) -> String {
    (0..pieces)
        .map(|_| FILLER[rng.below(FILLER.len())])
        .collect()
}

/// A large paste: lines of filler, CRLF and LF mixed, `bytes` long or a little more.
fn paste(rng: &mut Rng, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 64);
    while text.len() < bytes {
        let words = 3 + rng.below(12);
        for _ in 0..words {
            text.push_str(["lorem", "ïpsum", "😀", "漢字", "schön", "ok"][rng.below(6)]);
            text.push(' ');
        }
        text.push_str(if rng.below(2) == 0 { "\r\n" } else { "\n" });
    }
    text
}

/// Moves `at` to the start of the token it falls inside, if any.
fn outside_tokens(rope: &ropey::Rope, at: usize) -> usize {
    let mut chars = rope.chars_at(at);
    let mut j = at;
    while let Some(c) = chars.prev() {
        j -= 1;
        match c {
            '⟧' => return at,
            '⟦' => return j,
            _ => {}
        }
    }
    at
}

/// The tokens in `text` typed by `typist`.
fn tokens_in(text: &str, typist: usize) -> Vec<String> {
    let prefix = format!("⟦{typist}.");
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&prefix) {
        let after = &rest[start..];
        match after.find('⟧') {
            Some(end) => {
                found.push(after[..end + '⟧'.len_utf8()].to_string());
                rest = &after[end..];
            }
            None => break,
        }
    }
    found
}

/// What one typist typed, kept outside its task so it survives the typist being killed.
#[derive(Default)]
pub struct Ledger {
    /// Each token with whether it is in the typist's own copy, and the local edit number
    /// at which that last changed.
    tokens: Vec<(String, bool, u64)>,
    /// Local edits made (typed or undone).
    edits: u64,
    /// Local edits the host had acknowledged when last synced.
    acknowledged: u64,
    /// Edits the host refused (the text they carried is gone): must stay 0.
    refused: Vec<String>,
    /// The host revision the typist's copy is at.
    revision: u64,
    pub reconnects: u64,
    pub undos: u64,
    pub pastes: u64,
}

/// What a typist must find in the host's text, per token: exactly once, not at all, or
/// (for a typist killed before the host acknowledged it) either.
#[derive(Debug, PartialEq)]
enum Expect {
    Once,
    Absent,
    Either,
}

impl Ledger {
    fn expectations(&self, killed: bool) -> Vec<(String, Expect)> {
        self.tokens
            .iter()
            .map(|(token, present, changed_at)| {
                let expect = if killed && *changed_at > self.acknowledged {
                    Expect::Either
                } else if *present {
                    Expect::Once
                } else {
                    Expect::Absent
                };
                (token.clone(), expect)
            })
            .collect()
    }
}

pub const PATH: &str = "shared.txt";

/// One participant: a Session and Driver as the TUI runs them, typing random edits.
struct Typist {
    index: usize,
    rng: Rng,
    connection: Connection,
    session: Session,
    history: UndoHistory,
    ledger: Arc<Mutex<Ledger>>,
}

/// Joins through `link`, retrying while the proxy or a paused host gets in the way.
async fn join_and_open(
    link: &Link,
    name: &str,
    limit: Duration,
) -> Result<(Driver, Session), String> {
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < deadline {
        let attempt = async {
            let (mut driver, mut session) =
                Driver::join(link, name).await.map_err(|e| e.to_string())?;
            cotype::client::headless::open(&mut driver, &mut session, PATH)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((driver, session))
        };
        match tokio::time::timeout(Duration::from_secs(20), attempt).await {
            Ok(Ok(joined)) => return Ok(joined),
            Ok(Err(e)) => last = e,
            Err(_) => last = "timed out".into(),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(format!("{name} could not join within {limit:?}: {last}"))
}

impl Typist {
    fn rope(&self) -> &ropey::Rope {
        &self.session.documents[PATH].rope
    }

    /// Makes one random edit, as a person at a keyboard would.
    fn edit(&mut self) -> Result<(), String> {
        let Some(document) = self.session.documents.get(PATH) else {
            return Ok(()); // reloading after a refusal; type once it is back
        };
        let rope = document.rope.clone();
        let len = rope.len_chars();
        let rng = &mut self.rng;
        let mut new_token = None;
        let op = match rng.below(100) {
            0..=34 => {
                let at = outside_tokens(&rope, rng.below(len + 1));
                let mut ledger = self.ledger.lock().unwrap();
                let text = token(self.index, ledger.tokens.len());
                ledger.tokens.push((text.clone(), true, 0));
                new_token = Some(ledger.tokens.len() - 1);
                Operation::insert(len, at, &text)
            }
            35..=54 => {
                let at = outside_tokens(&rope, rng.below(len + 1));
                let pieces = 1 + rng.below(6);
                Operation::insert(len, at, &filler(rng, pieces))
            }
            55..=79 => {
                // Delete filler only, so tokens survive by construction and only a bug
                // can remove one.
                let start = rng.below(len + 1);
                let want = 1 + rng.below(8);
                let mut end = start;
                let mut chars = rope.chars_at(start);
                while end - start < want {
                    match chars.next() {
                        Some(c) if !is_token_char(c) => end += 1,
                        _ => break,
                    }
                }
                Operation::delete(len, start..end)
            }
            80..=89 => return self.undo(),
            90..=97 => {
                // Two cursors at once: a token at one, filler at the other.
                let a = outside_tokens(&rope, rng.below(len + 1));
                let b = outside_tokens(&rope, rng.below(len + 1));
                let mut ledger = self.ledger.lock().unwrap();
                let text = token(self.index, ledger.tokens.len());
                ledger.tokens.push((text.clone(), true, 0));
                new_token = Some(ledger.tokens.len() - 1);
                let other = filler(rng, 2);
                Operation::from_edits(len, [(a..a, text), (b..b, other)])
            }
            _ => {
                let at = outside_tokens(&rope, rng.below(len + 1));
                let bytes = 8 * 1024 + rng.below(120 * 1024);
                self.ledger.lock().unwrap().pastes += 1;
                Operation::insert(len, at, &paste(rng, bytes))
            }
        }
        .map_err(|e| format!("building an edit: {e}"))?;
        let mut ledger = self.ledger.lock().unwrap();
        ledger.edits += 1;
        if let Some(k) = new_token {
            ledger.tokens[k].2 = ledger.edits;
        }
        drop(ledger);
        self.history
            .record_local(&op, &rope)
            .map_err(|e| format!("undo history: {e}"))?;
        self.history.end_group();
        self.session
            .local_edit(PATH, op)
            .map_err(|e| format!("typist {}: local edit: {e}", self.index))
    }

    /// Undoes our latest step; tokens it takes out are expected gone.
    fn undo(&mut self) -> Result<(), String> {
        let rope = self.rope().clone();
        let Some(op) = self.history.undo(&rope).map_err(|e| format!("undo: {e}"))? else {
            return Ok(());
        };
        let mut deleted = String::new();
        let mut scratch = rope.clone();
        for change in op.changes() {
            deleted.push_str(&scratch.slice(change.range.clone()).to_string());
            scratch.remove(change.range.clone());
            scratch.insert(change.range.start, change.text);
        }
        let mut ledger = self.ledger.lock().unwrap();
        ledger.edits += 1;
        ledger.undos += 1;
        let edits = ledger.edits;
        for gone in tokens_in(&deleted, self.index) {
            if let Some(entry) = ledger.tokens.iter_mut().find(|(t, _, _)| *t == gone) {
                entry.1 = false;
                entry.2 = edits;
            }
        }
        drop(ledger);
        self.session
            .local_edit(PATH, op)
            .map_err(|e| format!("typist {}: undo: {e}", self.index))
    }

    /// Applies what the driver brought; false if the session is over for us.
    fn take(&mut self, event: DriverEvent) -> Result<(), String> {
        match &event {
            DriverEvent::Reconnected { .. } => {
                self.ledger.lock().unwrap().reconnects += 1;
                tracing::info!(typist = self.index, "reconnected");
            }
            DriverEvent::Disconnected { reason } => {
                tracing::info!(typist = self.index, "disconnected: {reason}");
            }
            DriverEvent::Relay(event) => tracing::info!(typist = self.index, "relay: {event:?}"),
            _ => {}
        }
        if let Some(fatal) = apply(&mut self.session, event) {
            return Err(format!("typist {} lost the session: {fatal}", self.index));
        }
        while let Some(event) = self.session.next_event() {
            match event {
                SessionEvent::RemoteEdit { path, op, .. } if path == PATH => {
                    self.history
                        .on_remote(&op)
                        .map_err(|e| format!("undo history on a remote edit: {e}"))?;
                }
                SessionEvent::EditRefused { reason, .. } => {
                    self.ledger.lock().unwrap().refused.push(reason);
                }
                SessionEvent::DocumentOpened { .. } => {
                    // Reloaded: the old history no longer applies.
                    self.history = UndoHistory::new();
                }
                _ => {}
            }
        }
        let mut ledger = self.ledger.lock().unwrap();
        if self.session.is_synced(PATH) {
            ledger.acknowledged = ledger.edits;
        }
        if let Some(document) = self.session.documents.get(PATH) {
            ledger.revision = document.ot.revision();
        }
        Ok(())
    }

    /// Types until `typing` turns false, then keeps following the session until `stop`.
    async fn run(
        mut self,
        mut typing: tokio::sync::watch::Receiver<bool>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Typist, String> {
        let mut next_key = Instant::now() + self.rng.millis(30..400);
        loop {
            let type_now = *typing.borrow();
            tokio::select! {
                _ = tokio::time::sleep_until(next_key), if type_now => {
                    self.edit()?;
                    next_key = Instant::now() + self.rng.millis(30..400);
                }
                event = self.connection.next() => self.take(event)?,
                _ = typing.changed() => {}
                _ = stop.changed() => return Ok(self),
            }
            self.connection.flush(&mut self.session).await;
        }
    }
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// What one run did and found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub seed: u64,
    pub connections: u64,
    pub delayed_chunks: u64,
    pub stalls: u64,
    pub cuts: u64,
    pub half_opens: u64,
    pub faults_injected: u64,
    pub host_pauses: u64,
    pub kills: u64,
    pub reconnects: u64,
    pub edits: u64,
    pub undos: u64,
    pub pastes: u64,
    pub tokens: u64,
    pub final_bytes: usize,
    /// Copies that differ from the host's text at the end.
    pub divergences: u64,
    /// Tokens not in the host's text as often as expected (a lost or doubled edit).
    pub lost: u64,
    pub refused: u64,
    pub host_rss_start_kib: u64,
    pub host_rss_peak_kib: u64,
    pub host_rss_end_kib: u64,
    pub test_rss_start_kib: u64,
    pub test_rss_end_kib: u64,
    pub seconds: f64,
    /// Everything that was wrong, for the failure message.
    pub problems: Vec<String>,
}

impl Report {
    pub fn json(&self) -> String {
        format!(
            "{{\"seed\":{},\"connections\":{},\"delayed_chunks\":{},\"stalls\":{},\"cuts\":{},\"half_opens\":{},\"faults_injected\":{},\"host_pauses\":{},\"kills\":{},\"reconnects\":{},\"edits\":{},\"undos\":{},\"pastes\":{},\"tokens\":{},\"final_bytes\":{},\"divergences\":{},\"lost\":{},\"refused\":{},\"host_rss_peak_kib\":{},\"seconds\":{:.1}}}",
            self.seed,
            self.connections,
            self.delayed_chunks,
            self.stalls,
            self.cuts,
            self.half_opens,
            self.faults_injected,
            self.host_pauses,
            self.kills,
            self.reconnects,
            self.edits,
            self.undos,
            self.pastes,
            self.tokens,
            self.final_bytes,
            self.divergences,
            self.lost,
            self.refused,
            self.host_rss_peak_kib,
            self.seconds
        )
    }
}

/// How long each phase lasts.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Typing under faults.
    pub typing: Duration,
    /// Typing goes on past `typing` (at most as long again) until the typists have typed
    /// this many tokens and reconnected this many times: with some seeds the faults land
    /// on the joins, and a client takes ~20 s to give up on a half-open link while joining
    /// (`client::SILENT_PINGS`), so such a run would otherwise end having typed too little,
    /// or reconnected too rarely, to show anything.
    pub tokens_at_least: usize,
    pub reconnects_at_least: u64,
    /// After typing stops: the faults calm down and everyone must converge within this.
    pub settle: Duration,
}

pub const TYPISTS: usize = 6;

/// One chaos run: returns its report (problems empty when every invariant held).
pub async fn run(seed: u64, timing: Timing, plan: FaultPlan) -> Report {
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let mut report = Report {
        seed,
        ..Report::default()
    };
    let dir = tempfile::tempdir().expect("a temp folder");
    std::fs::write(dir.path().join(PATH), "shared text\r\nsecond line\n").unwrap();

    // The relay pings and times out idle links quickly, so a half-open link is found
    // by the relay within the run (ends find their own; see the report).
    let relay_config = RelayConfig {
        ping_interval: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(8),
        ..RelayConfig::default()
    };
    let (relay, _relay) = cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), relay_config)
        .await
        .expect("the relay starts");
    let counts = Arc::new(FaultCounts::default());
    let host_proxy = ChaosProxy::start(relay, plan, rng.fork(), counts.clone()).await;
    // The host's log (what it lost and resumed) goes with a failure's report.
    let mut command = process::cotype();
    command
        .env("COTYPE_LOG", "cotype=info")
        .arg("host")
        .arg(dir.path())
        .args(["--headless", "--relay", &host_proxy.address.to_string()]);
    let mut host = process::Running::spawn(command);
    let link_text = host.next_stdout_line();
    let link = Link::parse(&link_text, false).expect("the host prints a link");
    let direct = with_relay(&link, relay);
    report.host_rss_start_kib = rss_kib(host.pid()).unwrap_or(0);
    report.test_rss_start_kib = rss_kib(std::process::id()).unwrap_or(0);

    let (typing_tx, typing) = tokio::sync::watch::channel(true);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut proxies = Vec::new();
    let mut ledgers: Vec<(Arc<Mutex<Ledger>>, bool)> = Vec::new();
    let mut tasks = Vec::new();
    let spawn_typist = |index: usize,
                        rng: Rng,
                        proxy: &ChaosProxy,
                        ledgers: &mut Vec<(Arc<Mutex<Ledger>>, bool)>|
     -> tokio::task::JoinHandle<Result<Typist, String>> {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        ledgers.push((ledger.clone(), false));
        let link = with_relay(&link, proxy.address);
        let (typing, stop) = (typing.clone(), stop.clone());
        tokio::spawn(async move {
            let (driver, session) =
                join_and_open(&link, &format!("typist{index}"), Duration::from_secs(60)).await?;
            let typist = Typist {
                index,
                rng,
                connection: Connection::new(driver),
                session,
                history: UndoHistory::new(),
                ledger,
            };
            typist.run(typing, stop).await
        })
    };
    for index in 0..TYPISTS {
        let proxy = ChaosProxy::start(relay, plan, rng.fork(), counts.clone()).await;
        tasks.push(Some(spawn_typist(index, rng.fork(), &proxy, &mut ledgers)));
        proxies.push(proxy);
    }

    // The schedule: the host is paused once, a typist is killed and one joins in its
    // place, each at a random moment while everyone types.
    let typing_ends = Instant::now() + timing.typing;
    let third = timing.typing / 3;
    let pause_at = Instant::now() + third / 2 + rng.millis(0..third.as_millis() as u64);
    let pause_for = rng.millis(2_000..6_000);
    let kill_at = Instant::now() + third + rng.millis(0..third.as_millis() as u64);
    let victim = rng.below(TYPISTS);
    let mut paused = false;
    let mut killed = false;
    let mut host_rss_peak = report.host_rss_start_kib;
    let typing_at_most = typing_ends + timing.typing;
    let typed_enough = |ledgers: &[(Arc<Mutex<Ledger>>, bool)]| {
        let (mut tokens, mut reconnects) = (0, 0);
        for (ledger, _) in ledgers {
            let ledger = ledger.lock().unwrap();
            tokens += ledger.tokens.len();
            reconnects += ledger.reconnects;
        }
        tokens >= timing.tokens_at_least && reconnects >= timing.reconnects_at_least
    };
    while Instant::now() < typing_ends
        || (!typed_enough(&ledgers) && Instant::now() < typing_at_most)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        host_rss_peak = host_rss_peak.max(rss_kib(host.pid()).unwrap_or(0));
        if let Some(problem) = finished_early(&mut tasks).await {
            report.problems.push(problem);
            break;
        }
        if !paused && Instant::now() >= pause_at {
            paused = true;
            report.host_pauses += 1;
            host.signal(libc::SIGSTOP);
            tokio::time::sleep(pause_for).await;
            host.signal(libc::SIGCONT);
        }
        if !killed && Instant::now() >= kill_at {
            killed = true;
            report.kills += 1;
            if let Some(task) = tasks[victim].take() {
                task.abort();
                let _ = task.await;
            }
            ledgers[victim].1 = true;
            // Another participant joins in its place, through the same proxy.
            let index = ledgers.len();
            tasks.push(Some(spawn_typist(
                index,
                rng.fork(),
                &proxies[victim],
                &mut ledgers,
            )));
        }
    }

    // Settle: no more typing, no more faults; everyone must come back and converge.
    let _ = typing_tx.send(false);
    host_proxy.calm_down();
    for proxy in &proxies {
        proxy.calm_down();
    }
    let settle_deadline = Instant::now() + timing.settle;
    let truth = loop {
        host_rss_peak = host_rss_peak.max(rss_kib(host.pid()).unwrap_or(0));
        if let Some(problem) = finished_early(&mut tasks).await {
            report.problems.push(problem);
            break None;
        }
        if host.has_exited() {
            report.problems.push("the host exited".into());
            break None;
        }
        match settled_text(&direct, &ledgers).await {
            Some(text) => break Some(text),
            None if Instant::now() > settle_deadline => {
                let states: Vec<String> = ledgers
                    .iter()
                    .enumerate()
                    .map(|(i, (l, killed))| {
                        let l = l.lock().unwrap();
                        format!(
                            "typist {i}{}: {} edits, {} acknowledged, revision {}, {} reconnects",
                            if *killed { " (killed)" } else { "" },
                            l.edits,
                            l.acknowledged,
                            l.revision,
                            l.reconnects
                        )
                    })
                    .collect();
                report.problems.push(format!(
                    "the session did not settle within {:?} after typing stopped:\n    {}\n    host: {}",
                    timing.settle,
                    states.join("\n    "),
                    host.stderr_so_far().join("\n    host: ")
                ));
                break None;
            }
            None => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    let _ = stop_tx.send(true);
    let mut typists = Vec::new();
    for task in tasks.iter_mut().filter_map(Option::take) {
        match tokio::time::timeout(Duration::from_secs(10), task).await {
            Ok(Ok(Ok(typist))) => typists.push(typist),
            Ok(Ok(Err(problem))) => report.problems.push(problem),
            Ok(Err(join)) => report
                .problems
                .push(format!("a typist task failed: {join}")),
            Err(_) => report.problems.push("a typist did not stop".into()),
        }
    }

    if let Some(truth) = &truth {
        for typist in &typists {
            let copy = typist
                .session
                .documents
                .get(PATH)
                .map(|d| d.rope.to_string());
            if copy.as_deref() != Some(truth.as_str()) {
                report.divergences += 1;
                report.problems.push(format!(
                    "typist {}'s copy differs from the host's ({} bytes vs {})",
                    typist.index,
                    copy.map_or(0, |c| c.len()),
                    truth.len()
                ));
            }
        }
        let on_disk = std::fs::read_to_string(dir.path().join(PATH)).unwrap_or_default();
        if on_disk != *truth {
            report.divergences += 1;
            report
                .problems
                .push("the saved file differs from the host's text".into());
        }
        for (index, (ledger, killed)) in ledgers.iter().enumerate() {
            let ledger = ledger.lock().unwrap();
            for (token, expect) in ledger.expectations(*killed) {
                let found = truth.matches(&token).count();
                report.tokens += 1;
                let fine = match expect {
                    Expect::Once => found == 1,
                    Expect::Absent => found == 0,
                    Expect::Either => found <= 1,
                };
                if !fine {
                    report.lost += 1;
                    if report.lost <= 5 {
                        report.problems.push(format!(
                            "token {token} of typist {index} is in the host's text {found} times (expected {expect:?})"
                        ));
                    }
                }
            }
            report.refused += ledger.refused.len() as u64;
            for reason in ledger.refused.iter().take(3) {
                report
                    .problems
                    .push(format!("typist {index} had an edit refused: {reason}"));
            }
        }
        report.final_bytes = truth.len();
    }

    for (ledger, _) in &ledgers {
        let ledger = ledger.lock().unwrap();
        report.edits += ledger.edits;
        report.undos += ledger.undos;
        report.pastes += ledger.pastes;
        report.reconnects += ledger.reconnects;
    }
    report.host_rss_peak_kib = host_rss_peak;
    report.host_rss_end_kib = rss_kib(host.pid()).unwrap_or(0);
    report.test_rss_end_kib = rss_kib(std::process::id()).unwrap_or(0);
    // Bounded: the host holds the document, its history and its buffers; past a generous
    // multiple of the final text (and the start-up figure) it grew with the traffic.
    let bound = report.host_rss_start_kib + 64 * 1024 + 40 * report.final_bytes as u64 / 1024;
    if report.host_rss_peak_kib > bound {
        report.problems.push(format!(
            "the host grew to {} KiB (started at {} KiB, text {} bytes, bound {bound} KiB)",
            report.host_rss_peak_kib, report.host_rss_start_kib, report.final_bytes
        ));
    }
    drop(typists);
    let stderr = host.stderr_so_far();
    if let Some(panic) = stderr.iter().find(|l| l.contains("panicked")) {
        report.problems.push(format!("the host panicked: {panic}"));
    }
    let faults = &counts;
    report.connections = faults.connections.load(Ordering::Relaxed);
    report.delayed_chunks = faults.delayed_chunks.load(Ordering::Relaxed);
    report.stalls = faults.stalls.load(Ordering::Relaxed);
    report.cuts = faults.cuts.load(Ordering::Relaxed);
    report.half_opens = faults.half_opens.load(Ordering::Relaxed);
    report.faults_injected = faults.injected() + report.host_pauses + report.kills;
    report.seconds = started.elapsed().as_secs_f64();
    drop(host);
    report
}

fn with_relay(link: &Link, address: SocketAddr) -> Link {
    let mut link = link.clone();
    link.relay = address.to_string();
    link
}

/// A typist task that ended while it should still be running: why.
async fn finished_early(
    tasks: &mut [Option<tokio::task::JoinHandle<Result<Typist, String>>>],
) -> Option<String> {
    for slot in tasks.iter_mut() {
        if slot.as_ref().is_some_and(|t| t.is_finished()) {
            let task = slot.take().unwrap();
            return Some(match task.await {
                Ok(Ok(typist)) => format!("typist {} stopped early", typist.index),
                Ok(Err(problem)) => problem,
                Err(join) => format!("a typist task failed: {join}"),
            });
        }
    }
    None
}

/// The host's text, once every live typist has all its edits acknowledged and holds the
/// host's latest revision. A fresh participant straight to the relay (no proxy) reads
/// the host's text and saves it, so the file on disk is the host's text too.
async fn settled_text(direct: &Link, ledgers: &[(Arc<Mutex<Ledger>>, bool)]) -> Option<String> {
    let live = || ledgers.iter().filter(|(_, killed)| !killed).map(|(l, _)| l);
    if !live().all(|l| {
        let ledger = l.lock().unwrap();
        ledger.acknowledged == ledger.edits
    }) {
        return None;
    }
    let (mut driver, mut session) = join_and_open(direct, "checker", Duration::from_secs(20))
        .await
        .ok()?;
    session.save(PATH);
    cotype::client::headless::run_until(
        &mut driver,
        &mut session,
        Duration::from_secs(20),
        |_, event| Ok(matches!(event, Some(SessionEvent::Saved { by: None, .. }))),
    )
    .await
    .ok()?;
    let revision = session.documents[PATH].ot.revision();
    // Everyone has been acknowledged, so nothing newer can come: each copy must reach the
    // checker's revision.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !live().all(|l| l.lock().unwrap().revision == revision) {
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(session.documents[PATH].rope.to_string())
}

/// Runs `run` on a runtime of its own (the test and the bench are plain functions).
pub fn run_blocking(seed: u64, timing: Timing, plan: FaultPlan) -> Report {
    // `COTYPE_LOG=cotype=info` shows the participants' and the relay's side too.
    if std::env::var_os("COTYPE_LOG").is_some() {
        static LOGGING: std::sync::Once = std::sync::Once::new();
        LOGGING.call_once(|| cotype::logging::init(false));
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run(seed, timing, plan))
}
