//! The relay cluster, four figures, each against its baseline in the same run:
//!
//! 1. Fan-out: one sender (a host on node A) and ten receivers joined on nodes B and C
//!    (five each), every frame crossing Redis pub/sub, against the same session with all
//!    eleven on node A (same node, no Redis on the way) and on one relay without a cluster.
//!    A throughput phase (up to `WINDOW` frames in flight; deliveries per second) and a
//!    latency phase (one frame in flight; p50 and p99 send-to-receive over all receivers).
//!    Rounds alternate, each measuring the cross-node case and then the single relay right
//!    after it, so that both see the same moment of a shared machine: the ratio and the
//!    added p99 are the median over rounds of each round's own, the other figures the
//!    median round. (A ratio of two medians taken apart swung 0.26-0.75x on a loaded
//!    machine with the relays unchanged.) These nodes are relays in this process
//!    (`Relay::join_cluster`). The cross-node case runs twice: as built (a frame to several
//!    receivers on a node is one `DeliverMany` publish) and on three nodes with
//!    `group_deliveries: false` (one publish per receiver, as before), to show the change.
//!    Each case also gives the CPU time this process (relays and clients) and Redis spent
//!    per delivery: what a CPU-bound machine would divide its cores by. It varies with the
//!    machine's load too (idle workers park and wake more on a quieter machine), less than
//!    rates do.
//!    Targets (issue 15): cross-node at least 0.5x the single relay's deliveries/s, p99 at
//!    most 1 ms above it.
//! 2. Capacity: `SESSIONS` sessions of three members (a host and two participants, raw
//!    protocol clients, `common/cluster_load.rs`), each member sending a presence frame
//!    to everyone every second for `SECONDS`: first against one `cotype relay` process
//!    (clients connect to it directly), then against three `cotype relay --redis` processes
//!    behind HAProxy (round-robin, no stickiness). Figures: share delivered, deliveries/s,
//!    p50/p99 latency, frames doubled, Redis CPU, and relay RSS per connection with the
//!    members connected and idle (before the load) — the sum over the three nodes for the
//!    cluster.
//! 3. Kill -9 under that load: two sessions of real participants (Session + Driver, as
//!    the terminal UI runs them, with a real host on a real folder) type through the
//!    balancer too; the node homing the first of them is killed with -9. Figures: how many
//!    load members lost their connection (on the node, or moved off it), the time until
//!    the last of them was back (host resumed, participant admitted again), and of the
//!    real participants' tokens, how many are missing or doubled on the host's disk.
//!
//! Run: `cargo bench --bench relay_cluster` (3,000 sessions, 20 s; `COTYPE_BENCH_SESSIONS`
//! and `COTYPE_BENCH_SECONDS` set others). The last line is one JSON object of the figures.
//! `COTYPE_BENCH_FAN_OUT_ONLY=1` runs the fan-out part alone (to compare builds);
//! `COTYPE_BENCH_FAN_OUT_ONLY=cross` only the cross-node case, ten rounds, then the cluster
//! counters of the home and of a receiving node (to profile it: `perf record`).
//! Without `--bench` it does a short smoke run (20 sessions, 3 s). Needs `redis-server` and
//! `haproxy` (scripts/test installs them).

#[path = "../tests/common/cluster.rs"]
mod cluster;
#[path = "common/cluster_load.rs"]
mod cluster_load;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "../tests/common/relay_process.rs"]
mod relay_process;
#[path = "../tests/common/typists.rs"]
mod typists;

use std::net::SocketAddr;
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
use cotype::relay::cluster::ClusterConfig;
use cotype::relay::{Relay, RelayConfig};

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

/// A relay in this process joined to the cluster; `grouped` false publishes a frame once
/// per receiver on another node (how the home forwarded before `DeliverMany`).
async fn node(redis: &cluster::RedisServer, name: &str, grouped: bool) -> (SocketAddr, Relay) {
    let (address, relay) =
        cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), RelayConfig::default())
            .await
            .expect("relay starts");
    relay
        .join_cluster(ClusterConfig {
            group_deliveries: grouped,
            ..ClusterConfig::new(redis.url(), name)
        })
        .await
        .expect("the node joins the cluster");
    std::mem::forget(relay.clone());
    (address, relay)
}

/// Relay arguments for the capacity phases: every connection comes from 127.0.0.1 (the
/// bench, or HAProxy in front of the nodes), so the per-address limits go up.
const LIMITS: &[&str] = &[
    "--max-connections-per-ip",
    "30000",
    "--sessions-per-ip-per-minute",
    "1000000",
    "--joins-per-ip-per-minute",
    "1000000",
];

/// The figures for the last line, in order.
#[derive(Default)]
struct Json(Vec<String>);

impl Json {
    fn add(&mut self, key: &str, value: impl std::fmt::Display) {
        self.0.push(format!("\"{key}\":{value}"));
    }
}

fn from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sessions = from_env("COTYPE_BENCH_SESSIONS", if full { 3000 } else { 20 }) as usize;
    let seconds = from_env("COTYPE_BENCH_SECONDS", if full { 20 } else { 3 });
    relay_process::raise_own_nofile();
    let redis = cluster::RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut json = Json::default();
    json.add("bench", "\"relay_cluster\"");
    runtime.block_on(async {
        fan_out(&redis, full, &mut json).await;
        if std::env::var_os("COTYPE_BENCH_FAN_OUT_ONLY").is_none() {
            capacity(&redis, sessions, seconds, &mut json).await;
        }
    });
    json.add("full", full);
    println!("{{{}}}", json.0.join(","));
}

/// Phase 1: cross-node and same-node fan-out in a cluster against one relay.
async fn fan_out(redis: &cluster::RedisServer, full: bool, json: &mut Json) {
    let rounds = if full { 5 } else { 1 };
    let (bulk, probes) = if full {
        (40_000u64, 2_000u64)
    } else {
        (200, 50)
    };
    let frame_len = 256;
    let (mut cross_runs, mut same_runs, mut single_runs) = (Vec::new(), Vec::new(), Vec::new());
    let mut ungrouped_runs = Vec::new();
    let (a, relay_a) = node(redis, "bench-a", true).await;
    let (b, relay_b) = node(redis, "bench-b", true).await;
    let (c, _) = node(redis, "bench-c", true).await;
    if std::env::var("COTYPE_BENCH_FAN_OUT_ONLY").as_deref() == Ok("cross") {
        return cross_only(a, &[b, c], &[relay_a, relay_b], frame_len, bulk, probes).await;
    }
    let (old_a, _) = node(redis, "bench-old-a", false).await;
    let (old_b, _) = node(redis, "bench-old-b", false).await;
    let (old_c, _) = node(redis, "bench-old-c", false).await;
    let (single, _relay) =
        cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), RelayConfig::default())
            .await
            .expect("relay starts");
    let redis_pid = redis.pid().expect("redis runs");
    for _ in 0..rounds {
        let run = |fan_out| with_cpu(redis_pid, measure(fan_out, frame_len, bulk, probes));
        cross_runs.push(run(session(a, &[b, c]).await).await);
        single_runs.push(run(session(single, &[single]).await).await);
        same_runs.push(run(session(a, &[a]).await).await);
        ungrouped_runs.push(run(session(old_a, &[old_b, old_c]).await).await);
    }
    let paired = |of: fn(&Figures, &Figures) -> f64| {
        median(
            cross_runs
                .iter()
                .zip(&single_runs)
                .map(|(cross, single)| of(cross, single))
                .collect(),
        )
    };
    let ratio = paired(|cross, single| cross.delivered_per_sec / single.delivered_per_sec);
    let added_p99 = paired(|cross, single| cross.p99_us - single.p99_us);
    let cpu = |runs: &[Figures]| {
        [
            median(runs.iter().map(|r| r.cpu_us_per_delivery).collect()),
            median(runs.iter().map(|r| r.redis_cpu_us_per_delivery).collect()),
        ]
    };
    let [cross_cpu, cross_redis_cpu] = cpu(&cross_runs);
    let [single_cpu, _] = cpu(&single_runs);
    let [same_cpu, _] = cpu(&same_runs);
    let ratios: Vec<String> = cross_runs
        .iter()
        .zip(&single_runs)
        .map(|(cross, single)| format!("{:.2}", cross.delivered_per_sec / single.delivered_per_sec))
        .collect();
    let summary = |runs: &[Figures]| {
        [
            median(runs.iter().map(|r| r.delivered_per_sec).collect()),
            median(runs.iter().map(|r| r.p50_us).collect()),
            median(runs.iter().map(|r| r.p99_us).collect()),
        ]
    };
    let [tp, p50, p99] = summary(&cross_runs);
    let [old_tp, old_p50, old_p99] = summary(&ungrouped_runs);
    let [same_tp, same_p50, same_p99] = summary(&same_runs);
    let [base_tp, base_p50, base_p99] = summary(&single_runs);
    println!(
        "fan-out, {frame_len} B frames, host on A -> {RECEIVERS} receivers: on B and C {tp:.0} deliveries/s, on A too {same_tp:.0}/s, one relay {base_tp:.0}/s: cross-node {ratio:.2}x the single relay (target >= 0.5x; rounds {}), {:.2}x same-node",
        ratios.join(" "),
        tp / same_tp
    );
    println!(
        "  before grouping (one publish per receiver): {old_tp:.0} deliveries/s, {:.2}x the single relay; grouping per node: {:.2}x that",
        old_tp / base_tp,
        tp / old_tp
    );
    println!(
        "  latency p50/p99: cross-node {p50:.0}/{p99:.0} us (before grouping {old_p50:.0}/{old_p99:.0} us), same node {same_p50:.0}/{same_p99:.0} us, one relay {base_p50:.0}/{base_p99:.0} us; cross-node adds {added_p99:.0} us at p99 to the single relay (target < 1000 us), {:.0} us to the same node",
        p99 - same_p99
    );
    println!(
        "  CPU per delivery (this process: relays and clients, plus Redis): cross-node {cross_cpu:.2} us ({cross_redis_cpu:.2} of it Redis), same node {same_cpu:.2} us, one relay {single_cpu:.2} us: cross-node costs {:.2}x the single relay",
        cross_cpu / single_cpu
    );
    println!(
        "  ({rounds} alternating rounds; median round, the ratio and added p99 the median of each round's own; nodes in this process, Redis on loopback)"
    );
    json.add("receivers", RECEIVERS);
    json.add("rounds", rounds);
    json.add("frame_bytes", frame_len);
    json.add("cluster_per_sec", format!("{tp:.0}"));
    json.add("same_node_per_sec", format!("{same_tp:.0}"));
    json.add("single_per_sec", format!("{base_tp:.0}"));
    json.add("ratio", format!("{ratio:.3}"));
    json.add("round_ratios", format!("[{}]", ratios.join(",")));
    json.add("ungrouped_per_sec", format!("{old_tp:.0}"));
    json.add("ungrouped_ratio", format!("{:.3}", old_tp / base_tp));
    json.add("ungrouped_p50_us", format!("{old_p50:.1}"));
    json.add("ungrouped_p99_us", format!("{old_p99:.1}"));
    json.add("cluster_p50_us", format!("{p50:.1}"));
    json.add("cluster_p99_us", format!("{p99:.1}"));
    json.add("same_node_p50_us", format!("{same_p50:.1}"));
    json.add("same_node_p99_us", format!("{same_p99:.1}"));
    json.add("single_p50_us", format!("{base_p50:.1}"));
    json.add("single_p99_us", format!("{base_p99:.1}"));
    json.add("added_p99_us", format!("{added_p99:.1}"));
    json.add("cluster_cpu_us_per_delivery", format!("{cross_cpu:.3}"));
    json.add(
        "cluster_redis_cpu_us_per_delivery",
        format!("{cross_redis_cpu:.3}"),
    );
    json.add("same_node_cpu_us_per_delivery", format!("{same_cpu:.3}"));
    json.add("single_cpu_us_per_delivery", format!("{single_cpu:.3}"));
    json.add("cpu_ratio", format!("{:.3}", cross_cpu / single_cpu));
    json.add(
        "added_p99_vs_same_node_us",
        format!("{:.1}", p99 - same_p99),
    );
}

/// `COTYPE_BENCH_FAN_OUT_ONLY=cross`: the cross-node case alone, ten rounds (to profile
/// it), then the cluster counters of the home and of one receiving node.
async fn cross_only(
    home: SocketAddr,
    receivers_at: &[SocketAddr],
    relays: &[Relay],
    frame_len: usize,
    bulk: u64,
    probes: u64,
) {
    for _ in 0..10 {
        let figures = measure(session(home, receivers_at).await, frame_len, bulk, probes).await;
        println!(
            "cross-node: {:.0} deliveries/s, p50 {:.0} us, p99 {:.0} us",
            figures.delivered_per_sec, figures.p50_us, figures.p99_us
        );
    }
    for relay in relays {
        for line in relay.metrics_text().lines() {
            if line.starts_with("cotype_cluster_") {
                println!("  {line}");
            }
        }
    }
}

/// What one capacity run gave.
struct Capacity {
    measured: cluster_load::Measured,
    idle_kb_per_connection: f64,
    relay_cpu_percent: f64,
    setup_secs: f64,
}

impl Capacity {
    fn print(&self, what: &str, connections: usize) {
        let m = &self.measured;
        println!(
            "  {what}: {connections} connections set up in {:.0} s; {:.3} of the frames due sent (the load generator keeping up); {:.4} of those delivered ({} of {}), {:.0} deliveries/s, latency p50 {:.0} us p99 {:.0} us, {} doubled; relay CPU {:.0}% of a core; {:.1} kB RSS per idle member connection",
            self.setup_secs,
            m.sent_share(connections),
            m.delivered_share(),
            m.delivered,
            m.sent * (cluster_load::MEMBERS as u64 - 1),
            m.delivered_per_sec(),
            m.p50_us,
            m.p99_us,
            m.doubled,
            self.relay_cpu_percent,
            self.idle_kb_per_connection,
        );
    }

    fn add_to(&self, json: &mut Json, prefix: &str, connections: usize) {
        let m = &self.measured;
        json.add(
            &format!("{prefix}_sent_share"),
            format!("{:.3}", m.sent_share(connections)),
        );
        json.add(
            &format!("{prefix}_delivered_share"),
            format!("{:.5}", m.delivered_share()),
        );
        json.add(
            &format!("{prefix}_deliveries_per_sec"),
            format!("{:.0}", m.delivered_per_sec()),
        );
        json.add(&format!("{prefix}_p50_us"), format!("{:.0}", m.p50_us));
        json.add(&format!("{prefix}_p99_us"), format!("{:.0}", m.p99_us));
        json.add(&format!("{prefix}_doubled"), m.doubled);
        json.add(
            &format!("{prefix}_relay_cpu_percent"),
            format!("{:.0}", self.relay_cpu_percent),
        );
        json.add(
            &format!("{prefix}_idle_kb_per_connection"),
            format!("{:.1}", self.idle_kb_per_connection),
        );
    }
}

/// Sets up the load through `address`, measures idle memory of `relays`, then `seconds`
/// of presence at one frame per member per second. The load is left running (idle).
async fn run_capacity(
    address: SocketAddr,
    relays: &[u32],
    sessions: usize,
    seconds: u64,
) -> (cluster_load::Load, Capacity) {
    let rss = |limit| async move {
        let mut total = 0;
        for pid in relays {
            total += relay_process::settled_rss(*pid, limit).await;
        }
        total
    };
    let cpu = || {
        relays
            .iter()
            .map(|p| relay_process::cpu_seconds(*p))
            .sum::<f64>()
    };
    let base = rss(Duration::from_secs(2)).await;
    let started = Instant::now();
    let load = cluster_load::Load::start(address, sessions).await;
    let setup_secs = started.elapsed().as_secs_f64();
    let idle = rss(Duration::from_secs(3)).await;
    let (cpu_before, clock) = (cpu(), Instant::now());
    let measured = load.measure(seconds).await;
    let relay_cpu_percent = (cpu() - cpu_before) / clock.elapsed().as_secs_f64() * 100.0;
    let capacity = Capacity {
        measured,
        idle_kb_per_connection: idle.saturating_sub(base) as f64
            / load.connections() as f64
            / 1000.0,
        relay_cpu_percent,
        setup_secs,
    };
    (load, capacity)
}

/// Phases 2 and 3: the same load on one relay and on three nodes behind HAProxy, then a
/// node killed with -9 under it.
async fn capacity(redis: &cluster::RedisServer, sessions: usize, seconds: u64, json: &mut Json) {
    let connections = sessions * cluster_load::MEMBERS;
    println!(
        "capacity: {sessions} sessions x {} members, a presence frame from each member every second for {seconds} s:",
        cluster_load::MEMBERS
    );
    let single_relay = relay_process::start_relay_process(None, LIMITS, &[]);
    let (load, single) = run_capacity(
        single_relay.address,
        &[single_relay.process.pid()],
        sessions,
        seconds,
    )
    .await;
    single.print("one relay", connections);
    load.stop().await;
    drop(single_relay);

    let mut nodes: Vec<cluster::Node> = (1..=3)
        .map(|i| cluster::Node::start_with(&format!("cap{i}"), redis, LIMITS))
        .collect();
    // HAProxy needs two sockets a connection and stops short of the open-file limit
    // (20,000 here): 9,900 at the most.
    let maxconn = (connections + 500).min(9_900);
    let balancer = cluster::Haproxy::start_with_maxconn(&nodes.iter().collect::<Vec<_>>(), maxconn);
    let pids: Vec<u32> = nodes.iter_mut().map(|n| n.running().pid()).collect();
    let redis_pid = redis.pid().expect("redis runs");
    let (redis_cpu, redis_clock) = (relay_process::cpu_seconds(redis_pid), Instant::now());
    let (load, clustered) = run_capacity(balancer.address(), &pids, sessions, seconds).await;
    let redis_cpu_percent = (relay_process::cpu_seconds(redis_pid) - redis_cpu)
        / redis_clock.elapsed().as_secs_f64()
        * 100.0;
    clustered.print("3 nodes behind HAProxy", connections);
    println!(
        "  cluster vs one relay: {:.2}x the deliveries/s, p99 {:+.0} us, {:.2}x the memory per idle connection; Redis CPU {redis_cpu_percent:.0}% of a core (setup and load)",
        clustered.measured.delivered_per_sec() / single.measured.delivered_per_sec(),
        clustered.measured.p99_us - single.measured.p99_us,
        clustered.idle_kb_per_connection / single.idle_kb_per_connection,
    );
    json.add("sessions", sessions);
    json.add("connections", connections);
    json.add("seconds", seconds);
    single.add_to(json, "single_load", connections);
    clustered.add_to(json, "cluster_load", connections);
    json.add(
        "cluster_load_ratio",
        format!(
            "{:.3}",
            clustered.measured.delivered_per_sec() / single.measured.delivered_per_sec()
        ),
    );
    json.add("redis_cpu_percent", format!("{redis_cpu_percent:.0}"));
    kill_under_load(redis, &mut nodes, &balancer, load, json).await;
}

/// Phase 3: real participants type through the balancer while the load runs; the node
/// homing the first real session is killed with -9.
async fn kill_under_load(
    redis: &cluster::RedisServer,
    nodes: &mut [cluster::Node],
    balancer: &cluster::Haproxy,
    load: cluster_load::Load,
    json: &mut Json,
) {
    load.set(cluster_load::Phase::Load);
    let mut real = Vec::new();
    for index in 0..2 {
        let dir = typists::project();
        let link =
            common::start_host(dir.path(), balancer.address(), &format!("host{index}"), &[]).await;
        let crowd = typists::Crowd::start(&[link.clone(), link.clone()]).await;
        real.push((dir, link, crowd));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let record = cotype::relay::cluster::store::record_key(&real[0].1.session.0);
    let home = redis.cli(&["HGET", &record, "home"]);
    let victim = nodes
        .iter()
        .position(|n| n.name == home.trim())
        .unwrap_or_else(|| panic!("no node homes the real session ({home:?})"));
    load.mark();
    nodes[victim].kill_nine();
    let recovery = load
        .recovery(Duration::from_secs(8), Duration::from_secs(120))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (mut typed, mut lost, mut doubled) = (0, 0, 0);
    for (dir, link, crowd) in &mut real {
        crowd.check_running();
        let tokens = crowd.settle().await;
        let text = typists::saved_text(link, dir.path()).await;
        let (missing, twice) = typists::lost_and_doubled(&text, &tokens);
        typed += tokens.len();
        lost += missing;
        doubled += twice;
    }
    load.stop().await;
    println!(
        "kill -9 of the node homing a typed-in session, under that load: {} members lost their connection (on the node, or moved off it), {} back; the last back after {:.1} s (median {:.1} s); of {typed} tokens typed by 4 real participants in 2 sessions: {lost} lost, {doubled} doubled",
        recovery.dropped,
        recovery.back,
        recovery.last_back_ms as f64 / 1000.0,
        recovery.median_back_ms as f64 / 1000.0,
    );
    json.add("kill_members_dropped", recovery.dropped);
    json.add("kill_members_back", recovery.back);
    json.add("kill_last_back_ms", recovery.last_back_ms);
    json.add("kill_median_back_ms", recovery.median_back_ms);
    json.add("kill_tokens_typed", typed);
    json.add("kill_tokens_lost", lost);
    json.add("kill_tokens_doubled", doubled);
}

struct Figures {
    delivered_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    /// Frames received, all receivers together (throughput and latency phases).
    deliveries: u64,
    /// CPU time of this process (relays and clients) and Redis, per delivery.
    cpu_us_per_delivery: f64,
    /// Redis's part of it.
    redis_cpu_us_per_delivery: f64,
}

/// `measure`, with the CPU time this process and Redis spent on it per delivery: unlike
/// deliveries per second, it does not depend on what else the shared machine runs.
async fn with_cpu(redis_pid: u32, measuring: impl Future<Output = Figures>) -> Figures {
    let own = std::process::id();
    let (own_before, redis_before) = (
        relay_process::cpu_seconds(own),
        relay_process::cpu_seconds(redis_pid),
    );
    let mut figures = measuring.await;
    let redis = relay_process::cpu_seconds(redis_pid) - redis_before;
    let own = relay_process::cpu_seconds(own) - own_before;
    let deliveries = figures.deliveries as f64;
    figures.cpu_us_per_delivery = (own + redis) * 1e6 / deliveries;
    figures.redis_cpu_us_per_delivery = redis * 1e6 / deliveries;
    figures
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
        deliveries: total * RECEIVERS as u64,
        cpu_us_per_delivery: 0.0,
        redis_cpu_us_per_delivery: 0.0,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
