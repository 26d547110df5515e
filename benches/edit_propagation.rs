//! Edit propagation: how long a keystroke takes to reach everyone else's screen.
//!
//! A real relay and a real host (in this process, over loopback WebSockets) share a
//! 10,000-line file; 11 participants open it. One types one character per millisecond
//! (1,000 keystrokes per second) through `Session::local_edit` and the driver, exactly as
//! the TUI does; the other ten time each keystroke from the moment it was typed to the
//! moment their session applied it (`SessionEvent::RemoteEdit`). Keystrokes are told apart
//! by count: the typist's edits reach everyone in the order typed, so the n-th character
//! a receiver gets is the n-th keystroke, whichever batch it was composed into.
//!
//! Baseline, in the same run and over the same relay: the plain relay round trip that an
//! edit also makes (sender → relay → one member → relay → everyone), with raw sealed frames
//! of the same message shape, at the same rate, and a member that forwards each frame at
//! once instead of the host. The difference is what the host's sequencing, the participant
//! state machine and the session loops cost.
//!
//! Run: `cargo bench --bench edit_propagation`. Without `--bench` (as `cargo test
//! --all-targets` runs it) it types for a fraction of a second. Last line: one JSON object.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cotype::channel::Incoming;
use cotype::client::Participant;
use cotype::client::driver::{Driver, apply};
use cotype::client::headless::open;
use cotype::client::session::{Session, SessionEvent};
use cotype::host::session::Approval;
use cotype::host::{HostOptions, HostSession};
use cotype::link::Link;
use cotype::protocol::header::Route;
use cotype::protocol::message::Message;
use cotype::relay::RelayConfig;
use cotype::text::Operation;
use tokio::time::MissedTickBehavior;

const RECEIVERS: usize = 10;
const LINES: usize = 10_000;
const PATH: &str = "src/big.rs";
const KEYSTROKE: Duration = Duration::from_millis(1);

/// When each keystroke (by index) was typed or sent, and whether it had to wait behind a
/// batch in flight (composed into the next submission instead of sent at once).
type SendTimes = Arc<Mutex<Vec<(Instant, bool)>>>;

async fn start(dir: &Path) -> Link {
    let (relay, _) = cotype::relay::spawn("127.0.0.1:0".parse().expect("an address"), {
        RelayConfig::default()
    })
    .await
    .expect("the relay starts on loopback");
    let host = HostSession::start(HostOptions {
        root: dir.to_path_buf(),
        relay: relay.to_string(),
        insecure: false,
        hide: vec![],
        name: "host".into(),
        approval: Approval::Auto,
        trust_project: false,
    })
    .await
    .expect("the host starts");
    let link = host.link.clone();
    tokio::spawn(async move {
        if let Err(e) = host.run().await {
            eprintln!("host stopped: {e:#}");
        }
    });
    link
}

async fn join_and_open(link: &Link, name: &str) -> (Driver, Session) {
    let (mut driver, mut session) = Driver::join(link, name).await.expect("joins");
    open(&mut driver, &mut session, PATH).await.expect("opens");
    (driver, session)
}

/// Records, for every keystroke this receiver applies, the time since it was typed.
/// Returns the latencies and the receiver's final text.
async fn receive(
    mut driver: Driver,
    mut session: Session,
    typed: SendTimes,
    total: usize,
) -> (Vec<(Duration, bool)>, String) {
    let mut latencies = Vec::with_capacity(total);
    while latencies.len() < total {
        let event = driver.next().await;
        if let Some(fatal) = apply(&mut session, event) {
            panic!("a receiver lost the session: {fatal}");
        }
        let applied = Instant::now();
        while let Some(event) = session.next_event() {
            if let SessionEvent::RemoteEdit { op, .. } = event {
                let chars = op.target_len() - op.base_len();
                let typed = typed.lock().expect("not poisoned");
                for index in latencies.len()..latencies.len() + chars {
                    let (at, waited) = typed[index];
                    latencies.push((applied - at, waited));
                }
            }
        }
        driver.flush(&mut session).await;
    }
    (latencies, session.documents[PATH].rope.to_string())
}

/// Types `total` characters at one per millisecond into the middle of the file, then
/// waits until the host acknowledged them all. Returns the typist's final text.
async fn type_keystrokes(
    mut driver: Driver,
    mut session: Session,
    typed: SendTimes,
    total: usize,
) -> String {
    let start = session.documents[PATH].rope.line_to_char(LINES / 2);
    let mut tick = tokio::time::interval(KEYSTROKE);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut count = 0;
    while count < total || !session.is_synced(PATH) {
        tokio::select! {
            _ = tick.tick(), if count < total => {
                let len = session.documents[PATH].rope.len_chars();
                let letter = (b'a' + (count % 26) as u8) as char;
                let op = Operation::insert(len, start + count, letter.encode_utf8(&mut [0; 4]))
                    .expect("inside the document");
                let waits = !session.is_synced(PATH);
                typed.lock().expect("not poisoned").push((Instant::now(), waits));
                session.local_edit(PATH, op).expect("the typist may edit");
                count += 1;
            }
            event = driver.next() => {
                if let Some(fatal) = apply(&mut session, event) {
                    panic!("the typist lost the session: {fatal}");
                }
                while session.next_event().is_some() {}
            }
        }
        driver.flush(&mut session).await;
    }
    session.documents[PATH].rope.to_string()
}

async fn edit_propagation(link: &Link, total: usize) -> Vec<(Duration, bool)> {
    let (typist_driver, typist_session) = join_and_open(link, "typist").await;
    let typed: SendTimes = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let mut receivers = Vec::new();
    for i in 0..RECEIVERS {
        let (driver, session) = join_and_open(link, &format!("reader{i}")).await;
        receivers.push(tokio::spawn(receive(driver, session, typed.clone(), total)));
    }
    let typist = tokio::spawn(type_keystrokes(
        typist_driver,
        typist_session,
        typed.clone(),
        total,
    ));
    let typist_text = typist.await.expect("the typist finishes");
    let mut all = Vec::with_capacity(total * RECEIVERS);
    for receiver in receivers {
        let (latencies, text) = receiver.await.expect("a receiver finishes");
        assert!(
            text == typist_text,
            "a receiver's copy differs from the typist's"
        );
        all.extend(latencies);
    }
    all
}

/// What the raw members pass along: a presence (what one member may send another; only
/// the host may send edits to members), small like a keystroke's broadcast, carrying the
/// keystroke's number.
fn relayed(seq: u64, at: usize) -> Message {
    Message::Presence(cotype::protocol::message::Presence {
        seq,
        path: Some(PATH.into()),
        revision: seq,
        selections: vec![(at, at)],
        scroll_line: 0,
        following: None,
        latency_ms: None,
        terminal: None,
    })
}

/// The relay round trip alone: a sender sends a keystroke-sized message per millisecond
/// to a forwarding member, which re-sends it at once to everyone; ten receivers time it.
async fn relay_round_trip(link: &Link, total: usize) -> Vec<Duration> {
    let sender = Participant::join(link, "raw-sender").await.expect("joins");
    let sender_id = sender.me().participant;
    let sender = sender.into_channel();
    let forwarder = Participant::join(link, "raw-forwarder")
        .await
        .expect("joins");
    let forwarder_id = forwarder.me().participant;
    let mut forwarder = forwarder.into_channel();
    let sent: SendTimes = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let mut receivers = Vec::new();
    for i in 0..RECEIVERS {
        let mut channel = Participant::join(link, &format!("raw{i}"))
            .await
            .expect("joins")
            .into_channel();
        let sent = sent.clone();
        receivers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(total);
            while latencies.len() < total {
                match channel.recv().await {
                    Incoming::Message {
                        header,
                        message: Message::Presence(presence),
                    } if header.sender == forwarder_id => {
                        let arrived = Instant::now();
                        latencies.push(
                            arrived - sent.lock().expect("not poisoned")[presence.seq as usize].0,
                        );
                    }
                    Incoming::Closed { reason } => panic!("a raw receiver was closed: {reason:?}"),
                    _ => {}
                }
            }
            latencies
        }));
    }
    let forwarding = tokio::spawn(async move {
        let mut forwarded = 0;
        while forwarded < total {
            match forwarder.recv().await {
                Incoming::Message {
                    header,
                    message: message @ Message::Presence(_),
                } if header.sender == sender_id => {
                    forwarder
                        .sender
                        .send(Route::Everyone, &message)
                        .await
                        .expect("the forwarder can send");
                    forwarded += 1;
                }
                Incoming::Closed { reason } => panic!("the forwarder was closed: {reason:?}"),
                _ => {}
            }
        }
    });
    let len = LINES * 40;
    let mut tick = tokio::time::interval(KEYSTROKE);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for seq in 0..total {
        tick.tick().await;
        let message = relayed(seq as u64, len / 2 + seq);
        sent.lock()
            .expect("not poisoned")
            .push((Instant::now(), false));
        sender
            .sender
            .send(Route::Participant(forwarder_id), &message)
            .await
            .expect("the sender can send");
    }
    forwarding.await.expect("the forwarder finishes");
    let mut all = Vec::new();
    for receiver in receivers {
        all.extend(receiver.await.expect("a raw receiver finishes"));
    }
    all
}

struct Summary {
    p50: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn summarize(mut latencies: Vec<Duration>) -> Summary {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: usize| ms(latencies[(latencies.len() * q / 100).min(latencies.len() - 1)]);
    Summary {
        p50: at(50),
        p99: at(99),
        max: ms(*latencies.last().expect("some latencies")),
        mean: latencies.iter().map(|d| ms(*d)).sum::<f64>() / latencies.len() as f64,
    }
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let keystrokes = if full { 5_000 } else { 200 };
    let dir = tempfile::tempdir().expect("a temp folder");
    let text: String = (0..LINES)
        .map(|i| {
            format!(
                "    let value_{i:05} = compute(&input, {i:05}); // {:>4}\n",
                i % 7919
            )
        })
        .collect();
    std::fs::create_dir_all(dir.path().join("src")).expect("creates src/");
    std::fs::write(dir.path().join(PATH), &text).expect("writes the file");
    let link = start(dir.path()).await;

    let edit_latencies = edit_propagation(&link, keystrokes).await;
    let waited: Vec<Duration> = edit_latencies
        .iter()
        .filter(|(_, w)| *w)
        .map(|(d, _)| *d)
        .collect();
    let direct: Vec<Duration> = edit_latencies
        .iter()
        .filter(|(_, w)| !*w)
        .map(|(d, _)| *d)
        .collect();
    let waited_share = waited.len() as f64 / edit_latencies.len() as f64;
    let edits = summarize(edit_latencies.into_iter().map(|(d, _)| d).collect());
    let sent_at_once = summarize(direct);
    let behind_a_batch = (!waited.is_empty()).then(|| summarize(waited));
    let relay = summarize(relay_round_trip(&link, keystrokes).await);

    println!(
        "{keystrokes} keystrokes at 1 per ms, {RECEIVERS} receivers, {LINES}-line file ({} KB)",
        text.len() / 1024
    );
    println!(
        "keystroke → applied: p50 {:.3} ms, p99 {:.3} ms, mean {:.3} ms, max {:.3} ms",
        edits.p50, edits.p99, edits.mean, edits.max
    );
    println!(
        "  sent at once ({:.0}%): p50 {:.3} ms, p99 {:.3} ms",
        100.0 * (1.0 - waited_share),
        sent_at_once.p50,
        sent_at_once.p99
    );
    if let Some(behind) = &behind_a_batch {
        println!(
            "  typed while a batch was in flight ({:.0}%, sent with the next batch): p50 {:.3} ms, p99 {:.3} ms",
            100.0 * waited_share,
            behind.p50,
            behind.p99
        );
    }
    println!(
        "relay round trip (raw frames, same hops): p50 {:.3} ms, p99 {:.3} ms, mean {:.3} ms, max {:.3} ms",
        relay.p50, relay.p99, relay.mean, relay.max
    );
    println!(
        "edit p99 − round trip p99 = {:.3} ms (target < 2 ms); edit p99 {} 5 ms",
        edits.p99 - relay.p99,
        if edits.p99 < 5.0 { "<" } else { "≥" }
    );
    println!(
        "{{\"keystrokes\":{keystrokes},\"receivers\":{RECEIVERS},\"edit_p50_ms\":{:.3},\"edit_p99_ms\":{:.3},\"edit_mean_ms\":{:.3},\"edit_max_ms\":{:.3},\"relay_p50_ms\":{:.3},\"relay_p99_ms\":{:.3},\"relay_mean_ms\":{:.3},\"relay_max_ms\":{:.3},\"p99_over_relay_ms\":{:.3},\"waited_share\":{waited_share:.3},\"sent_at_once_p99_ms\":{:.3}}}",
        edits.p50,
        edits.p99,
        edits.mean,
        edits.max,
        relay.p50,
        relay.p99,
        relay.mean,
        relay.max,
        edits.p99 - relay.p99,
        sent_at_once.p99
    );
}
