//! The real `cotype relay` binary under a chosen open-file limit, and raw protocol clients
//! that talk to it over real sockets from chosen loopback addresses (127.0.0.0/8 is all
//! local on Linux, so each address is a different "peer IP" to the relay). Used by the
//! relay abuse tests and the relay memory bench. Needs `process.rs` as `process`.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use cotype::protocol::control::{self, FromRelay, ToRelay};

use super::process::{Running, cotype};

pub type Socket = WebSocketStream<TcpStream>;
pub type Tx = SplitSink<Socket, Message>;
pub type Rx = SplitStream<Socket>;

/// A `cotype relay` child process.
pub struct RelayProcess {
    pub process: Running,
    pub address: SocketAddr,
    pub metrics: Option<SocketAddr>,
}

/// Starts `cotype relay --listen 127.0.0.1:0 ARGS` with `env`, its soft and hard open-file
/// limits set to `nofile` (when given) before it runs, so it cannot raise them.
/// `COTYPE_RELAY_BIN` names another binary to run instead (to measure an older build).
pub fn start_relay_process(
    nofile: Option<u64>,
    args: &[&str],
    env: &[(&str, &str)],
) -> RelayProcess {
    let mut command = match std::env::var_os("COTYPE_RELAY_BIN") {
        Some(binary) => std::process::Command::new(binary),
        None => cotype(),
    };
    command
        .args(["relay", "--listen", "127.0.0.1:0"])
        .args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    if let Some(limit) = nofile {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut process = Running::spawn(command);
    let line = process.stderr_line_with("listening on ws://");
    let address = line
        .rsplit("ws://")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let metrics = args.contains(&"--metrics").then(|| {
        let line = process.stderr_line_with("metrics on http://");
        line.rsplit("http://")
            .next()
            .and_then(|a| a.trim().trim_end_matches("/metrics").parse().ok())
            .unwrap_or_else(|| panic!("no metrics address in {line:?}"))
    });
    RelayProcess {
        process,
        address,
        metrics,
    }
}

/// Resident set size of a process in bytes (VmRSS in /proc/PID/status).
pub fn rss_bytes(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

/// Waits until a process's RSS stops changing (it has finished reacting), at most
/// `limit`; returns it.
pub async fn settled_rss(pid: u32, limit: Duration) -> u64 {
    let start = std::time::Instant::now();
    let mut last = rss_bytes(pid);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = rss_bytes(pid);
        if now == last || start.elapsed() > limit {
            return now;
        }
        last = now;
    }
}

/// CPU time a process has used so far (user and system), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is the first, utime
    // the 12th, stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    // SAFETY: sysconf reads a constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / per_second
}

/// Peak resident set size of a process in bytes (VmHWM in /proc/PID/status).
pub fn peak_rss_bytes(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

fn status_field(pid: u32, name: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let line = status
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"));
    let kb: u64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number of kB");
    kb * 1024
}

/// Raises this process's soft open-file limit to its hard limit (floods need many sockets).
pub fn raise_own_nofile() {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// A plain TCP connection to `relay` from the loopback address `from`.
pub async fn tcp_from(from: IpAddr, relay: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    tokio::time::timeout(Duration::from_secs(5), socket.connect(relay))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))?
}

/// A WebSocket to `relay` from `from`, handshake done.
pub async fn ws_from(from: IpAddr, relay: SocketAddr) -> std::io::Result<Socket> {
    let stream = tcp_from(from, relay).await?;
    let (socket, _) = tokio_tungstenite::client_async(format!("ws://{relay}/ws"), stream)
        .await
        .map_err(std::io::Error::other)?;
    Ok(socket)
}

pub async fn send_control(tx: &mut Tx, message: &ToRelay) -> bool {
    tx.send(Message::Binary(control::encode(message).into()))
        .await
        .is_ok()
}

/// The next control message from the relay, `None` once the connection ends.
pub async fn next_control(rx: &mut Rx) -> Option<FromRelay> {
    loop {
        match rx.next().await {
            Some(Ok(Message::Binary(frame))) if control::is_control(&frame) == Ok(true) => {
                return control::decode(&frame).ok();
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Reads until the relay closes the connection; true if it did within `deadline`.
pub async fn closed_within(rx: &mut Rx, deadline: Duration) -> bool {
    tokio::time::timeout(deadline, async {
        while let Some(Ok(_)) = rx.next().await {}
    })
    .await
    .is_ok()
}
