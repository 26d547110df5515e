//! Relay memory: what an idle connection costs, whether it is returned after the
//! connections close, and what a receiver that never reads can make the relay hold.
//!
//! The relay is the real `cotype relay` binary, a child process, so its resident set (VmRSS
//! and VmHWM in /proc/PID/status) is its own. Clients connect from several loopback
//! addresses (127.0.0.0/8), as many peers would, so the per-address cap does not apply;
//! both processes run with their soft open-file limit raised to the hard limit.
//!
//! 1. idle: N WebSocket connections complete the handshake and then hold still; the figure
//!    is (RSS with them − RSS before) / N. (They are measured within the relay's join
//!    timeout, before it closes them.)
//! 2. closed: the same connections closed; RSS once the relay has let them go; then a
//!    second wave of N opened and closed, and RSS again.
//! 3. budget: one connection creates a session, a second joins it and never reads, the
//!    first sends 1 MiB frames to the second; the figure is the relay's peak RSS growth.
//!
//! Run: `cargo bench --bench relay_memory` (N = 2,000, 300 frames; `COTYPE_BENCH_CONNECTIONS`
//! sets another N, e.g. 10000). Without `--bench` (as `cargo test --all-targets` runs it)
//! N = 200 and 40 frames. Last line: one JSON object.

#[path = "../tests/common/process.rs"]
mod process;
#[path = "../tests/common/relay_process.rs"]
mod relay_process;

use std::net::IpAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use cotype::crypto::{SessionKeys, admission_verifier};
use cotype::link::{Secret, SessionId};
use cotype::protocol::control::{FromRelay, ToRelay};
use cotype::protocol::header::{HEADER_LEN, Header, Kind, Route};
use relay_process::*;

const MIB: f64 = 1024.0 * 1024.0;

fn address(i: usize) -> IpAddr {
    // 100 connections per loopback address, from 127.0.1.0 up.
    IpAddr::from([127, 0, 1, (i / 100) as u8])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (connections, frames) = if full { (2000, 300) } else { (200, 40) };
    let connections = std::env::var("COTYPE_BENCH_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(connections);
    raise_own_nofile();
    let hard = {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a plain syscall on a local struct.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        limit.rlim_max
    };
    let relay = start_relay_process(Some(hard), &[], &[]);
    let pid = relay.process.pid();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = rss_bytes(pid);

    // 1. Idle connections.
    // In batches at once, so even 10,000 are all open within the relay's join timeout.
    let open = |connections: usize| async move {
        let mut sockets = Vec::with_capacity(connections);
        let all: Vec<usize> = (0..connections).collect();
        for batch in all.chunks(64) {
            let opened = futures_util::future::join_all(
                batch.iter().map(|&i| ws_from(address(i), relay.address)),
            )
            .await;
            sockets.extend(opened.into_iter().map(|s| s.expect("an idle connection")));
        }
        sockets
    };
    let close = |sockets: Vec<Socket>| async move {
        for mut socket in sockets {
            let _ = socket.close(None).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let sockets = open(connections).await;
    let idle = settled_rss(pid, Duration::from_secs(2)).await;
    let per_idle = idle.saturating_sub(base) as f64 / connections as f64;

    // 2. All of them closed; then a second wave opened and closed (the allocator treats
    // memory freed once differently from fresh memory).
    close(sockets).await;
    let after_close = settled_rss(pid, Duration::from_secs(5)).await;
    close(open(connections).await).await;
    let after_second_wave = settled_rss(pid, Duration::from_secs(5)).await;

    // 3. A receiver that never reads, 1 MiB frames. The peak is reset first (writing 5
    // to clear_refs resets VmHWM), so it is this phase's.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let before_budget = rss_bytes(pid);
    let from = IpAddr::from([127, 0, 2, 1]);
    let session = SessionId::random();
    let keys = SessionKeys::derive(&Secret::random(), &session);
    let (mut sender, mut sender_rx) = ws_from(from, relay.address).await.unwrap().split();
    send_control(
        &mut sender,
        &ToRelay::Create {
            session: session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: admission_verifier(&[7; 32]),
        },
    )
    .await;
    assert!(matches!(
        next_control(&mut sender_rx).await,
        Some(FromRelay::Welcome { .. })
    ));
    let (mut sink_tx, mut sink_rx) = ws_from(from, relay.address).await.unwrap().split();
    send_control(
        &mut sink_tx,
        &ToRelay::Join {
            session: session.0,
            token: keys.admission_token(),
        },
    )
    .await;
    let Some(FromRelay::Welcome { participant, .. }) = next_control(&mut sink_rx).await else {
        panic!("join refused");
    };
    let drain = tokio::spawn(async move { while next_control(&mut sender_rx).await.is_some() {} });
    let mut frame = vec![0x5a; 1024 * 1024 - 64];
    for counter in 1..=frames as u64 {
        let header = Header {
            kind: Kind::Edit,
            route: Route::Participant(participant),
            epoch: 0,
            sender: 0,
            instance: [3; 16],
            counter,
        };
        frame[..HEADER_LEN].copy_from_slice(&header.encode());
        if sender
            .send(Message::Binary(frame.clone().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let held = settled_rss(pid, Duration::from_secs(5)).await;
    let peak = peak_rss_bytes(pid);
    drop((sender, sink_tx, sink_rx));
    drain.abort();

    println!(
        "relay RSS: {:.1} MiB at rest; {connections} idle connections {:.1} MiB ({:.1} kB each); \
         after they closed {:.1} MiB, after a second wave {:.1} MiB; {frames} x 1 MiB to a receiver that never reads: holding {:.1} MiB more, peak {:.1} MiB",
        base as f64 / MIB,
        idle as f64 / MIB,
        per_idle / 1000.0,
        after_close as f64 / MIB,
        after_second_wave as f64 / MIB,
        held.saturating_sub(before_budget) as f64 / MIB,
        peak as f64 / MIB,
    );
    println!(
        "{{\"bench\":\"relay_memory\",\"connections\":{connections},\"base_rss_mib\":{:.1},\"idle_rss_mib\":{:.1},\"idle_kb_per_connection\":{:.1},\"after_close_rss_mib\":{:.1},\"after_second_wave_rss_mib\":{:.1},\"frames\":{frames},\"budget_held_mib\":{:.1},\"peak_rss_mib\":{:.1},\"full\":{full}}}",
        base as f64 / MIB,
        idle as f64 / MIB,
        per_idle / 1000.0,
        after_close as f64 / MIB,
        after_second_wave as f64 / MIB,
        held.saturating_sub(before_budget) as f64 / MIB,
        peak as f64 / MIB,
    );
}
