//! A relay node in a cluster of nodes that share sessions through Redis.
//!
//! Each session has one *home*: the node its host is connected to. The home makes every
//! decision for the session with the single relay's code (`RoutedSession`); members on
//! other nodes reach it through Redis pub/sub, one channel per node (`wire.rs`). Redis
//! holds records (`store.rs`), never frames. A member of a session homed elsewhere is held
//! here in a `RemoteSession`; a member on another node of a session homed here is a
//! *proxy*: an ordinary `ConnectedMember` whose queue forwards each frame routed to it to
//! the publisher for the member's node (`OutQueue::forwarding`), so routing, limits and
//! kicks are the single relay's.
//!
//! When the home changes (the host resumed on another node), or a node dies, or Redis is
//! unreachable, the members who can no longer be served are told to `Move`: they connect
//! again through the load balancer and rejoin, which the clients already do losslessly
//! after any reconnect.

mod entry;
mod home;
mod publish;
pub mod store;
pub mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot, watch};

use super::session::{ConnectedMember, SessionKey};
use super::{RelayState, lock, send_control};
use crate::protocol::ParticipantId;
use crate::protocol::control::FromRelay;
use publish::Outbox;
use wire::{JoinResult, NodeMessage};

/// How a relay joins a cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// `redis://HOST:PORT[/DB]`
    pub redis_url: String,
    /// This node's name, unique in the cluster (its pub/sub channel and liveness key).
    pub node_name: String,
    /// One publish per node for a frame to several members there (true, the default);
    /// false publishes once per member, as before grouping (kept for the bench to
    /// measure against).
    pub group_deliveries: bool,
}

impl ClusterConfig {
    pub fn new(redis_url: impl Into<String>, node_name: impl Into<String>) -> ClusterConfig {
        ClusterConfig {
            redis_url: redis_url.into(),
            node_name: node_name.into(),
            group_deliveries: true,
        }
    }
}

/// How long a member told to move may wait before connecting again (a random part of
/// it, so a draining node's members do not all arrive at once).
pub const MOVE_WITHIN_MS: u32 = 1000;

/// A Redis command that takes longer than this counts as Redis being unreachable.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a joiner's node waits for the home's answer.
const JOIN_ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// Records are renewed this often (their TTL is the host grace plus 15 s).
const RENEW_EVERY_BEATS: u64 = 5;

/// Members here of a session homed on another node.
pub(super) struct RemoteSession {
    pub(super) home: Arc<str>,
    pub(super) members: HashMap<ParticipantId, ConnectedMember>,
}

struct PendingAsk {
    session: SessionKey,
    home: Arc<str>,
    member: ConnectedMember,
    max_frame: u32,
    answer: oneshot::Sender<JoinResult>,
}

#[derive(Default)]
pub(super) struct ClusterMetrics {
    published: AtomicU64,
    published_bytes: AtomicU64,
    received: AtomicU64,
    publish_batches: AtomicU64,
    publish_micros: AtomicU64,
    outages: AtomicU64,
    pub(super) moves_sent: AtomicU64,
    pub(super) drains: AtomicU64,
    pub(super) refused_redis: AtomicU64,
    dead_nodes: AtomicU64,
    pub(super) home_claims: AtomicU64,
}

pub(super) struct Cluster {
    pub(super) node: Arc<str>,
    boot: String,
    redis: ConnectionManager,
    outbox: mpsc::UnboundedSender<Outbox>,
    /// Redis answers and this node's subscription is live.
    up: AtomicBool,
    subscribed: AtomicBool,
    pub(super) remote: std::sync::Mutex<HashMap<SessionKey, RemoteSession>>,
    /// Sessions homed here: their members on other nodes (id -> node).
    pub(super) proxies: std::sync::Mutex<HashMap<SessionKey, HashMap<ParticipantId, Arc<str>>>>,
    asks: std::sync::Mutex<HashMap<u64, PendingAsk>>,
    next_ask: AtomicU64,
    pub(super) metrics: ClusterMetrics,
    record_ttl_ms: u64,
}

impl Cluster {
    pub(super) fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    fn send(&self, node: &Arc<str>, message: &NodeMessage) {
        let _ = self.outbox.send(Outbox::Publish {
            node: node.clone(),
            message: message.clone(),
        });
    }

    /// What queues the frames for member `to` on `node` of a session homed here for
    /// Redis, as they are routed (the member's `OutQueue::forwarding`).
    fn deliverer(
        &self,
        node: Arc<str>,
        session: SessionKey,
        to: ParticipantId,
    ) -> impl Fn(bytes::Bytes) + Send + Sync + 'static {
        let outbox = self.outbox.clone();
        move |frame| {
            let _ = outbox.send(Outbox::Deliver {
                node: node.clone(),
                session,
                to,
                frame,
            });
        }
    }

    fn command(&self, command: redis::Cmd) {
        let _ = self.outbox.send(Outbox::Command(command));
    }

    /// A participant id handed out at this home: recorded so a later home never hands
    /// it out again and can tell the host it left.
    pub(super) fn member_added(&self, session: &SessionKey, id: ParticipantId, node: &str) {
        let mut add = redis::cmd("HSET");
        add.arg(store::members_key(session)).arg(id).arg(node);
        self.command(add);
        let mut next = redis::cmd("HSET");
        next.arg(store::record_key(session))
            .arg("next")
            .arg(u64::from(id) + 1);
        self.command(next);
    }

    pub(super) fn token_rotated(&self, session: &SessionKey, verifier: [u8; 32], epoch: u32) {
        let mut set = redis::cmd("HSET");
        set.arg(store::record_key(session))
            .arg("verifier")
            .arg(&verifier[..])
            .arg("epoch")
            .arg(epoch);
        self.command(set);
    }

    /// The host of a session homed here left: the session's records now expire at the end
    /// of its grace period, which every node then honors even if this one dies.
    pub(super) fn host_away(&self, session: &SessionKey, grace: Duration) {
        self.command(store::host_away(session, grace.as_millis() as u64));
    }

    /// The host of a session homed here is back.
    pub(super) fn host_back(&self, session: &SessionKey) {
        self.command(store::host_back(session, self.record_ttl_ms));
    }

    /// The session homed here ended: its records go.
    pub(super) fn session_ended(&self, session: &SessionKey) {
        lock(&self.proxies).remove(session);
        let mut del = redis::cmd("DEL");
        del.arg(store::record_key(session))
            .arg(store::members_key(session));
        self.command(del);
    }

    async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Option<T> {
        let mut redis = self.redis.clone();
        match tokio::time::timeout(REDIS_TIMEOUT, command.query_async::<T>(&mut redis)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                tracing::debug!("redis command failed: {e}");
                None
            }
            Err(_) => None,
        }
    }

    fn render(&self, out: &mut String, members_here: usize, homes: usize, draining: bool) {
        use std::fmt::Write;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let node = &self.node;
        let mut line = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{node=\"{node}\"}} {value}"
            );
        };
        line(
            "cotype_cluster_redis_up",
            "gauge",
            "1 while Redis answers and this node's subscription is live.",
            u64::from(self.is_up()),
        );
        line(
            "cotype_cluster_draining",
            "gauge",
            "1 while this node drains (SIGTERM).",
            u64::from(draining),
        );
        line(
            "cotype_cluster_homes",
            "gauge",
            "Sessions homed on this node (their host is connected here).",
            homes as u64,
        );
        line(
            "cotype_cluster_members",
            "gauge",
            "Members connected here of sessions homed on other nodes.",
            members_here as u64,
        );
        let counters: [(&str, &str, &AtomicU64); 11] = [
            (
                "cotype_cluster_published_total",
                "Messages published to other nodes.",
                &self.metrics.published,
            ),
            (
                "cotype_cluster_published_bytes_total",
                "Bytes published to other nodes.",
                &self.metrics.published_bytes,
            ),
            (
                "cotype_cluster_received_total",
                "Messages received from other nodes.",
                &self.metrics.received,
            ),
            (
                "cotype_cluster_publish_batches_total",
                "Pipelined batches sent to Redis.",
                &self.metrics.publish_batches,
            ),
            (
                "cotype_cluster_publish_microseconds_total",
                "Time spent waiting for Redis to answer publish batches.",
                &self.metrics.publish_micros,
            ),
            (
                "cotype_cluster_redis_outages_total",
                "Times Redis became unreachable.",
                &self.metrics.outages,
            ),
            (
                "cotype_cluster_moves_sent_total",
                "Members told to move to another node.",
                &self.metrics.moves_sent,
            ),
            (
                "cotype_cluster_drains_total",
                "Drains started (SIGTERM).",
                &self.metrics.drains,
            ),
            (
                "cotype_cluster_refused_redis_total",
                "Creates, joins and resumes refused because Redis was unreachable.",
                &self.metrics.refused_redis,
            ),
            (
                "cotype_cluster_dead_nodes_total",
                "Times another node was found gone.",
                &self.metrics.dead_nodes,
            ),
            (
                "cotype_cluster_home_claims_total",
                "Sessions this node took over from another node.",
                &self.metrics.home_claims,
            ),
        ];
        for (name, help, counter) in counters {
            line(name, "counter", help, get(counter));
        }
    }
}

/// Tells a member to connect again elsewhere, then closes its connection.
pub(super) fn move_member(state: &RelayState, member: &ConnectedMember, reason: &str) {
    send_control(
        &member.queue,
        &FromRelay::Move {
            within_ms: MOVE_WITHIN_MS,
        },
    );
    member.kick.send_replace(Some(reason.to_string()));
    if let Some(cluster) = state.cluster.get() {
        cluster.metrics.moves_sent.fetch_add(1, Ordering::Relaxed);
    }
}

impl super::Relay {
    /// Joins the cluster whose records are in Redis at `config.redis_url`: takes the node
    /// name, subscribes to its channel and starts the heartbeat. Fails when Redis cannot
    /// be reached or another running node has this name.
    pub async fn join_cluster(&self, config: ClusterConfig) -> anyhow::Result<()> {
        use anyhow::Context;
        let client = redis::Client::open(config.redis_url.as_str())
            .with_context(|| format!("not a Redis URL: {}", config.redis_url))?;
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let redis = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_connection_manager_with_config(manager_config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("Redis at {} did not answer", config.redis_url))?
        .with_context(|| format!("cannot reach Redis at {}", config.redis_url))?;
        let mut boot = [0u8; 8];
        rand::fill(&mut boot);
        let boot: String = boot.iter().map(|b| format!("{b:02x}")).collect();
        // A restarted node's old key may still be there for up to its TTL.
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(store::NODE_TTL_MS + 500);
        loop {
            let taken: i64 = store::NODE_BEAT
                .key(store::node_key(&config.node_name))
                .arg(&boot)
                .arg(store::NODE_TTL_MS)
                .invoke_async(&mut redis.clone())
                .await
                .context("cannot register the node in Redis")?;
            if taken == 1 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "node name {} is in use by another running relay; give each node its own --node-name",
                    config.node_name
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (outbox, outgoing) = mpsc::unbounded_channel();
        let cluster = Arc::new(Cluster {
            node: config.node_name.as_str().into(),
            boot,
            redis: redis.clone(),
            outbox,
            up: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            remote: Default::default(),
            proxies: Default::default(),
            asks: Default::default(),
            next_ask: AtomicU64::new(1),
            metrics: ClusterMetrics::default(),
            record_ttl_ms: (self.state.config.host_grace + Duration::from_secs(15)).as_millis()
                as u64,
        });
        if self.state.cluster.set(cluster.clone()).is_err() {
            anyhow::bail!("this relay is already in a cluster");
        }
        let weak = Arc::downgrade(&self.state);
        let (ready, mut subscribed) = watch::channel(false);
        tokio::spawn(publish::publish_loop(
            weak.clone(),
            redis,
            outgoing,
            config.group_deliveries,
        ));
        tokio::spawn(subscribe_loop(
            weak.clone(),
            client,
            cluster.node.clone(),
            ready,
        ));
        tokio::time::timeout(Duration::from_secs(5), subscribed.wait_for(|s| *s))
            .await
            .map_err(|_| anyhow::anyhow!("cannot subscribe to this node's channel in Redis"))?
            .map_err(|_| anyhow::anyhow!("the subscription task stopped"))?;
        cluster.up.store(true, Ordering::SeqCst);
        tokio::spawn(heartbeat_loop(weak));
        tracing::info!(node = %cluster.node, "joined the cluster");
        Ok(())
    }

    /// Starts draining: `/healthz` answers 503, every member here is told to move (and
    /// every connection that still arrives), members elsewhere of sessions homed here too.
    pub fn drain(&self) {
        if self.state.draining.send_replace(true) {
            return;
        }
        let Some(cluster) = self.state.cluster.get() else {
            return;
        };
        cluster.metrics.drains.fetch_add(1, Ordering::Relaxed);
        tracing::info!(node = %cluster.node, "draining: telling every member to move");
        let proxies = lock(&cluster.proxies).clone();
        let sessions = lock(&self.state.sessions);
        for (key, ids) in proxies {
            let Some(session) = sessions.get(&key) else {
                continue;
            };
            for id in ids.keys() {
                if let Some(member) = session.participants.get(id) {
                    move_member(&self.state, member, "the relay node is restarting; moving");
                }
            }
        }
    }

    /// Whether the relay serves (false while draining): what `/healthz` reports.
    pub fn healthy(&self) -> bool {
        !*self.state.draining.borrow()
    }

    /// Connections still open (a draining node exits when none are left).
    pub fn open_connections(&self) -> usize {
        self.state.connections.open()
    }

    /// Gives the node name back at once (on exit), so other nodes see it gone now
    /// rather than when its liveness key expires.
    pub async fn leave_cluster(&self) {
        let Some(cluster) = self.state.cluster.get() else {
            return;
        };
        let mut del = redis::cmd("DEL");
        del.arg(store::node_key(&cluster.node));
        let _: Option<i64> = cluster.query(&del).await;
    }

    pub(super) fn cluster_metrics(&self, out: &mut String) {
        let Some(cluster) = self.state.cluster.get() else {
            return;
        };
        let members_here = lock(&cluster.remote)
            .values()
            .map(|s| s.members.len())
            .sum();
        let homes = lock(&self.state.sessions).len();
        cluster.render(out, members_here, homes, !self.healthy());
    }
}

/// Reads this node's channel; when the subscription ends, what crossed it may be lost:
/// that is an outage until it is back.
async fn subscribe_loop(
    weak: Weak<RelayState>,
    client: redis::Client,
    node: Arc<str>,
    ready: watch::Sender<bool>,
) {
    loop {
        let attempt = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(wire::channel(&node)).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        if let Ok(Ok(pubsub)) = tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
            {
                let Some(state) = weak.upgrade() else { return };
                if let Some(cluster) = state.cluster.get() {
                    cluster.subscribed.store(true, Ordering::SeqCst);
                }
            }
            ready.send_replace(true);
            let (mut sink, mut stream) = pubsub.split();
            let mut ping = tokio::time::interval(Duration::from_secs(2));
            ping.tick().await;
            loop {
                tokio::select! {
                    message = stream.next() => {
                        let Some(message) = message else { break };
                        let Some(state) = weak.upgrade() else { return };
                        home::receive(&state, message.get_payload_bytes());
                    }
                    _ = ping.tick() => {
                        // A half-open connection would never end the stream. (A subscribed
                        // connection answers PING with ["pong", ""], not +PONG.)
                        let pong = tokio::time::timeout(REDIS_TIMEOUT, sink.ping::<redis::Value>()).await;
                        if !matches!(pong, Ok(Ok(_))) {
                            break;
                        }
                    }
                }
            }
            ready.send_replace(false);
            let Some(state) = weak.upgrade() else { return };
            if let Some(cluster) = state.cluster.get() {
                cluster.subscribed.store(false, Ordering::SeqCst);
            }
            outage(&state, "lost the subscription to this node's channel");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if weak.strong_count() == 0 {
            return;
        }
    }
}

/// Every second: renews the node's liveness key, finds dead nodes, renews records, and
/// brings the node back after an outage.
async fn heartbeat_loop(weak: Weak<RelayState>) {
    let mut beats: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(state) = weak.upgrade() else { return };
        let Some(cluster) = state.cluster.get().cloned() else {
            return;
        };
        beats += 1;
        let mut redis = cluster.redis.clone();
        let beat = tokio::time::timeout(
            REDIS_TIMEOUT,
            store::NODE_BEAT
                .key(store::node_key(&cluster.node))
                .arg(&cluster.boot)
                .arg(store::NODE_TTL_MS)
                .invoke_async::<i64>(&mut redis),
        )
        .await;
        match beat {
            Ok(Ok(1)) => {}
            Ok(Ok(_)) => {
                tracing::error!(node = %cluster.node, "another relay took this node's name; refusing cluster work");
                outage(&state, "another relay took this node's name");
                continue;
            }
            Ok(Err(e)) => {
                outage(&state, &format!("the heartbeat failed: {e}"));
                continue;
            }
            Err(_) => {
                outage(&state, "the heartbeat timed out");
                continue;
            }
        }
        if !cluster.is_up() {
            if !cluster.subscribed.load(Ordering::SeqCst) {
                continue;
            }
            home::rewrite_records(&state, &cluster).await;
            cluster.up.store(true, Ordering::SeqCst);
            tracing::warn!(node = %cluster.node, "Redis is back; serving cluster sessions again");
        }
        if beats.is_multiple_of(RENEW_EVERY_BEATS) {
            home::renew_records(&state, &cluster);
        }
        home::find_dead_nodes(&state, &cluster).await;
    }
}

/// Redis (or this node's subscription) is gone: keep what works without it, move the
/// members who cannot be served, and say so once.
pub(super) fn outage(state: &RelayState, why: &str) {
    let Some(cluster) = state.cluster.get() else {
        return;
    };
    if cluster.up.swap(false, Ordering::SeqCst) {
        cluster.metrics.outages.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(node = %cluster.node, "cluster store unreachable ({why}); serving sessions whose members are all here until it returns");
    }
    let reason = "the relay lost its cluster store; moving to another node";
    let remote = std::mem::take(&mut *lock(&cluster.remote));
    for session in remote.values() {
        for member in session.members.values() {
            move_member(state, member, reason);
        }
    }
    let proxies = std::mem::take(&mut *lock(&cluster.proxies));
    for (key, ids) in proxies {
        home::drop_proxies(state, &key, ids.keys().copied());
    }
    let asks = std::mem::take(&mut *lock(&cluster.asks));
    for (_, ask) in asks {
        let _ = ask.answer.send(JoinResult::Retry {
            reason: reason.into(),
        });
    }
}
