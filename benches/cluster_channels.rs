//! Issue 15 asks to measure one Redis pub/sub channel per relay node against one per
//! session, and choose. This bench measures the transport alone, on a private
//! `redis-server`: a home publishing (pipelined in batches of 256, awaiting each batch, as
//! `publish_loop` does) to two member nodes, each a subscriber connection in this process.
//!
//! - Fan-out: a frame for ten receivers, five on each node. Per node: two publishes
//!   (`DeliverMany` to `cotype:n:B` and `cotype:n:C`, five ids each). Per session: one
//!   publish (ten ids) to `cotype:s:ID`, which both nodes subscribe to.
//! - Unicast: a frame for one receiver on node B (an answer to one member, a frame to the
//!   host's node). Per node: one publish to B. Per session: one publish, and Redis sends it
//!   to both nodes (C drops it).
//!
//! Figure: frames per second until the last message arrived at every node that must see
//! it; the ratio per session ÷ per node. Median of 3 alternating rounds.
//!
//! Run: `cargo bench --bench cluster_channels` (~20 s). The last line is one JSON object.
//! Without `--bench` a short smoke run.

#[path = "../tests/common/cluster.rs"]
mod cluster;
#[path = "../tests/common/process.rs"]
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use cotype::relay::cluster::wire::{self, NodeMessage};

const FRAME: usize = 256;
const BATCH: usize = 256;

#[derive(Clone, Copy, PartialEq)]
enum Channels {
    PerNode,
    PerSession,
}

/// A subscriber connection counting what it receives.
async fn subscriber(client: &redis::Client, channel: &str) -> Arc<AtomicU64> {
    let mut pubsub = client.get_async_pubsub().await.expect("subscribe");
    pubsub.subscribe(channel).await.expect("subscribe");
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        let (_sink, mut stream) = pubsub.split();
        while let Some(message) = stream.next().await {
            let _ = message.get_payload_bytes();
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });
    count
}

fn payload(to: Vec<u32>) -> Vec<u8> {
    wire::encode(&NodeMessage::DeliverMany {
        session: [7; 16],
        to,
        frame: vec![0xab; FRAME].into(),
    })
}

/// Frames per second for `frames` frames, fan-out (`unicast` false) or to one receiver.
async fn run(client: &redis::Client, channels: Channels, unicast: bool, frames: u64) -> f64 {
    let round = rand_tag();
    let (b, c) = match channels {
        Channels::PerNode => (format!("cotype:n:B{round}"), format!("cotype:n:C{round}")),
        Channels::PerSession => (format!("cotype:s:{round}"), format!("cotype:s:{round}")),
    };
    let at_b = subscriber(client, &b).await;
    let at_c = subscriber(client, &c).await;
    let mut publisher = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    // What each frame costs in publishes, and what each node must have received at the end.
    let publishes: Vec<(String, Vec<u8>)> = match (channels, unicast) {
        (Channels::PerNode, false) => vec![
            (b.clone(), payload((1..=5).collect())),
            (c.clone(), payload((6..=10).collect())),
        ],
        (Channels::PerSession, false) => vec![(b.clone(), payload((1..=10).collect()))],
        (_, true) => vec![(b.clone(), payload(vec![1]))],
    };
    let (want_b, want_c) = match (channels, unicast) {
        (Channels::PerNode, true) => (frames, 0),
        _ => (frames, frames),
    };
    let started = Instant::now();
    let mut sent = 0;
    while sent < frames {
        let mut pipe = redis::pipe();
        let mut in_batch = 0;
        while in_batch < BATCH && sent < frames {
            for (channel, message) in &publishes {
                pipe.publish(channel, message).ignore();
                in_batch += 1;
            }
            sent += 1;
        }
        let _: () = pipe.query_async(&mut publisher).await.expect("publish");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while at_b.load(Ordering::Relaxed) < want_b || at_c.load(Ordering::Relaxed) < want_c {
        assert!(Instant::now() < deadline, "messages lost");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    frames as f64 / started.elapsed().as_secs_f64()
}

fn rand_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, frames) = if full { (3, 50_000) } else { (1, 2_000) };
    let redis = cluster::RedisServer::start();
    let client = redis::Client::open(redis.url()).expect("redis url");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut json = vec!["\"bench\":\"cluster_channels\"".to_string()];
    runtime.block_on(async {
        for (unicast, what) in [(false, "fan_out"), (true, "unicast")] {
            let (mut per_node, mut per_session) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                per_node.push(run(&client, Channels::PerNode, unicast, frames).await);
                per_session.push(run(&client, Channels::PerSession, unicast, frames).await);
            }
            let (node, session) = (median(per_node), median(per_session));
            println!(
                "{what}: one channel per node {node:.0} frames/s, one per session {session:.0} frames/s: per session {:.2}x per node",
                session / node
            );
            json.push(format!("\"{what}_per_node\":{node:.0}"));
            json.push(format!("\"{what}_per_session\":{session:.0}"));
            json.push(format!("\"{what}_ratio\":{:.3}", session / node));
        }
    });
    json.push(format!(
        "\"frames\":{frames},\"rounds\":{rounds},\"full\":{full}"
    ));
    println!("{{{}}}", json.join(","));
}
