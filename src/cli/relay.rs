//! `cotype relay`: its options, serving until a signal, and a cluster node's drain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use cotype::relay::{Relay, RelayConfig};

use super::shutdown_signal;

#[derive(clap::Args)]
pub struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7420")]
    listen: SocketAddr,
    /// PEM certificate chain; with --tls-key, the relay speaks TLS (wss://).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Most participants in one session.
    #[arg(long, default_value_t = 64)]
    max_participants: usize,
    /// Most participants in one session waiting for the host to let them in (apart
    /// from the admitted ones).
    #[arg(long, env = "COTYPE_RELAY_MAX_PENDING", default_value_t = 16)]
    max_pending: usize,
    /// Most open connections [default: the open-file limit less 64].
    #[arg(long, env = "COTYPE_RELAY_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Most open connections from one IP address (IPv6: one /64).
    #[arg(
        long,
        env = "COTYPE_RELAY_MAX_CONNECTIONS_PER_IP",
        default_value_t = 256
    )]
    max_connections_per_ip: usize,
    /// New sessions one IP address may create per minute.
    #[arg(
        long,
        env = "COTYPE_RELAY_SESSIONS_PER_IP_PER_MINUTE",
        default_value_t = 30
    )]
    sessions_per_ip_per_minute: u32,
    /// Join attempts (right or wrong) one IP address may make per minute.
    #[arg(
        long,
        env = "COTYPE_RELAY_JOINS_PER_IP_PER_MINUTE",
        default_value_t = 120
    )]
    joins_per_ip_per_minute: u32,
    /// Bytes queued for all receivers together, in MiB, before those with a backlog
    /// are dropped as too slow (each receiver may queue 8 MiB).
    #[arg(long, env = "COTYPE_RELAY_MAX_QUEUED_MIB", default_value_t = 512)]
    max_queued_mib: usize,
    /// Largest frame accepted, in bytes.
    #[arg(long, default_value_t = cotype::protocol::DEFAULT_MAX_FRAME)]
    max_frame: usize,
    /// Serve Prometheus metrics on this address at /metrics, and /healthz for a load
    /// balancer (200 serving, 503 draining); keep it private.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Also be an SSH jump host on this address, so guests join with OpenSSH alone
    /// (`ssh -J`); it only forwards their end-to-end encrypted bytes to the session's host.
    /// Not with --redis: a guest's jump and its host's gateway must meet on one node.
    #[arg(long, value_name = "ADDR", conflicts_with = "redis")]
    ssh_listen: Option<SocketAddr>,
    /// Join a cluster of relays sharing sessions through this Redis (or Valkey):
    /// redis://HOST:PORT[/DB]. Needs --metrics (the balancer checks /healthz there).
    #[arg(long, env = "COTYPE_RELAY_REDIS", requires = "metrics")]
    redis: Option<String>,
    /// This node's name in the cluster, unique among the nodes [default: HOSTNAME-PORT].
    #[arg(long, requires = "redis")]
    node_name: Option<String>,
    /// With --redis, how long SIGTERM waits for members to move before exiting.
    #[arg(long, default_value_t = 30)]
    drain_timeout: u64,
    /// How long a session waits for its host after the host's connection drops, in
    /// seconds (the host tries for 60 s; a shorter grace ends abandoned sessions sooner).
    #[arg(long, default_value_t = 60)]
    host_grace: u64,
}

/// `cotype relay`: serves until Ctrl-C, SIGTERM or SIGHUP.
pub async fn relay(args: RelayArgs) -> anyhow::Result<()> {
    let RelayArgs {
        listen,
        tls_cert,
        tls_key,
        max_participants,
        max_pending,
        max_connections,
        max_connections_per_ip,
        sessions_per_ip_per_minute,
        joins_per_ip_per_minute,
        max_queued_mib,
        max_frame,
        metrics,
        ssh_listen,
        redis,
        node_name,
        drain_timeout,
        host_grace,
    } = args;
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(cotype::net::server_tls_config(&cert, &key)?),
        _ => None,
    };
    // Each connection is a file descriptor: take all the system allows.
    let fd_limit = cotype::relay::limits::raise_fd_limit();
    let defaults = RelayConfig::default();
    let max_connections = max_connections.unwrap_or(defaults.max_connections);
    if let Some(limit) = fd_limit
        && max_connections as u64 + cotype::relay::limits::RESERVED_FDS > limit
    {
        eprintln!(
            "warning: --max-connections {max_connections} leaves too few of the {limit} open files allowed; raise `ulimit -n`"
        );
    }
    let relay = Relay::new(RelayConfig {
        max_participants,
        max_pending,
        max_connections,
        max_connections_per_ip,
        sessions_per_ip_per_minute,
        joins_per_ip_per_minute,
        total_queue_bytes: max_queued_mib.saturating_mul(1 << 20),
        max_frame,
        host_grace: std::time::Duration::from_secs(host_grace),
        ..defaults
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    if let Some(redis_url) = &redis {
        let node_name = node_name.unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "relay".into());
            format!("{host}-{}", listen.port())
        });
        relay
            .join_cluster(cotype::relay::cluster::ClusterConfig::new(
                redis_url.clone(),
                node_name.clone(),
            ))
            .await?;
        eprintln!("cotype relay node {node_name} in the cluster at {redis_url}");
    }
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    eprintln!(
        "cotype relay listening on {scheme}://{}",
        listener.local_addr()?
    );
    if let Some(metrics) = metrics {
        let metrics_listener = tokio::net::TcpListener::bind(metrics)
            .await
            .with_context(|| format!("cannot listen on {metrics}"))?;
        eprintln!(
            "metrics on http://{}/metrics",
            metrics_listener.local_addr()?
        );
        tokio::spawn(relay.clone().serve_metrics(metrics_listener));
    }
    if let Some(ssh_listen) = ssh_listen {
        serve_ssh_jumps(&relay, ssh_listen).await?;
    }
    let serving = relay.clone();
    tokio::select! {
        result = serving.serve(listener, tls) => result?,
        _ = shutdown_signal() => {
            if redis.is_some() {
                drain(&relay, Duration::from_secs(drain_timeout)).await;
            } else {
                eprintln!("cotype relay stopping");
            }
        }
    }
    Ok(())
}

/// `--ssh-listen`: the relay as an SSH jump host for guests with OpenSSH alone, with a
/// host key kept in the state folder.
async fn serve_ssh_jumps(relay: &Relay, ssh_listen: SocketAddr) -> anyhow::Result<()> {
    let key_path = directories::ProjectDirs::from("dev", "cotype", "cotype")
        .map(|dirs| {
            dirs.state_dir()
                .unwrap_or_else(|| dirs.data_local_dir())
                .join("relay-ssh-host-key")
        })
        .context("no state folder for the relay's SSH host key")?;
    let host_key = cotype::crypto::ssh::load_or_create_host_key(&key_path)?;
    let ssh_listener = tokio::net::TcpListener::bind(ssh_listen)
        .await
        .with_context(|| format!("cannot listen on {ssh_listen}"))?;
    eprintln!(
        "SSH jump host on {} (host key {})",
        ssh_listener.local_addr()?,
        cotype::crypto::ssh::fingerprint(host_key.public_key())
    );
    tokio::spawn(relay.clone().serve_ssh(ssh_listener, host_key));
    Ok(())
}

/// How long a draining node keeps saying so on /healthz at least.
const DRAIN_NOTICE: Duration = Duration::from_secs(2);

/// A cluster node's exit: members are told to move to other nodes; it exits when none
/// is left (but not before `DRAIN_NOTICE`), after `timeout`, or at a second signal.
async fn drain(relay: &Relay, timeout: Duration) {
    eprintln!("cotype relay draining: members move to other nodes (a second signal stops at once)");
    relay.drain();
    let gone = async {
        // /healthz answers 503 for a while even when everyone moved at once, so a
        // balancer that polls it sees the drain instead of a node that just vanished.
        tokio::time::sleep(DRAIN_NOTICE.min(timeout)).await;
        while relay.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        _ = gone => eprintln!("cotype relay drained"),
        _ = tokio::time::sleep(timeout) => eprintln!("cotype relay stopping: drain timeout reached"),
        _ = shutdown_signal() => eprintln!("cotype relay stopping"),
    }
    relay.leave_cluster().await;
}
