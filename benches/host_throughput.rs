//! Host throughput: how many edits per second one host sequences with 10 participants.
//!
//! A real relay and a real host (in this process, over loopback WebSockets); 10
//! participants, each through its own `Driver` and `Session` as the TUI runs them. The OT
//! protocol allows one batch in flight per participant per document, so:
//!
//! 1. Single-character submissions: 16 shared documents, every participant has all of them
//!    open and keeps one single-character edit in flight in each (it types the next one the
//!    moment the previous is acknowledged): up to 160 submissions in flight, each
//!    transformed past the others' concurrent ones at the host.
//! 2. Composed typing: every participant types into one shared document as fast as it can;
//!    what it types while a batch is in flight is composed into the next one, so the host
//!    applies many characters per submission.
//!
//! An observer (one more member, raw channel) counts what the host broadcasts; rates run
//! from the first keystroke to the last broadcast it receives. The relay and the host run
//! on threads of their own (each with a single-threaded runtime), so the CPU time the host
//! spends per sequenced edit, and so the rate one CPU of host sustains, is read apart from
//! the participants' (who share the same two CPUs here, where in real use each has its
//! own machine). Baseline, in the same run:
//! `AuthoritativeDocument::submit` called directly in a loop with the same kind of
//! submissions (10 concurrent authors), i.e. the sequencing cost with no network, no
//! crypto and no session loop; plus the cost of sealing and opening one frame.
//!
//! Run: `cargo bench --bench host_throughput`. Without `--bench` it runs briefly.
//! Last line: one JSON object.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use cotype::channel::Incoming;
use cotype::client::Participant;
use cotype::client::driver::{Driver, apply};
use cotype::client::headless::open;
use cotype::client::session::Session;
use cotype::crypto::{ReceivingKeys, SessionKeys};
use cotype::host::session::Approval;
use cotype::host::{HostOptions, HostSession};
use cotype::link::{Link, Secret, SessionId};
use cotype::protocol::frame::{FrameSealer, open_frame};
use cotype::protocol::header::Route;
use cotype::protocol::message::{AppliedEdit, EditMessage, Message};
use cotype::relay::RelayConfig;
use cotype::text::{AuthoritativeDocument, EditId, Operation, RemoteEdit, Submission};
use tokio::sync::watch;

const PARTICIPANTS: usize = 10;
const DOCUMENTS: usize = 16;
const LINES: usize = 1_000;

fn document_path(d: usize) -> String {
    format!("doc{d:02}.rs")
}

/// Where the relay and the host run: each on a thread of its own with its own runtime, so
/// the CPU time each uses can be read apart from the participants' (which share the
/// bench's runtime).
struct Started {
    link: Link,
    relay_thread: u32,
    host_thread: u32,
}

/// Runs `serve` on a new thread with a single-threaded runtime; returns what it sends back
/// and the thread's id.
fn on_own_thread<T, F>(
    name: &str,
    serve: impl FnOnce(std::sync::mpsc::Sender<T>) -> F + Send + 'static,
) -> (T, u32)
where
    T: Send + 'static,
    F: std::future::Future<Output = ()>,
{
    let (sender, receiver) = std::sync::mpsc::channel();
    let (tid_sender, tid_receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = tid_sender.send(current_thread_id());
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(serve(sender));
        })
        .expect("a thread");
    let tid = tid_receiver.recv().expect("the thread starts");
    (receiver.recv().expect("the thread reports back"), tid)
}

fn start(dir: &Path) -> Started {
    let (relay, relay_thread) = on_own_thread("relay", |ready| async move {
        let (address, _relay) = cotype::relay::spawn(
            "127.0.0.1:0".parse().expect("an address"),
            RelayConfig::default(),
        )
        .await
        .expect("the relay starts on loopback");
        let _ = ready.send(address);
        std::future::pending::<()>().await;
    });
    let root = dir.to_path_buf();
    let (link, host_thread) = on_own_thread("host", move |ready| async move {
        let host = HostSession::start(HostOptions {
            root,
            relay: relay.to_string(),
            insecure: false,
            hide: vec![],
            name: "host".into(),
            approval: Approval::Auto,
            trust_project: false,
        })
        .await
        .expect("the host starts");
        let _ = ready.send(host.link.clone());
        if let Err(e) = host.run().await {
            eprintln!("host stopped: {e:#}");
        }
    });
    Started {
        link,
        relay_thread,
        host_thread,
    }
}

/// This thread's id (the kernel's, as in /proc/self/task).
fn current_thread_id() -> u32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|path| path.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds a thread of this process has used.
fn thread_cpu_secs(tid: u32) -> f64 {
    ticks_to_secs(
        &std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default(),
    )
}

/// CPU seconds of the host: its thread and the threads talking to its language servers.
fn host_cpu_secs(started: &Started) -> f64 {
    let mut total = thread_cpu_secs(started.host_thread);
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.starts_with("lsp-") {
            total += ticks_to_secs(
                &std::fs::read_to_string(task.path().join("stat")).unwrap_or_default(),
            );
        }
    }
    total
}

/// What the observer saw: broadcast edits, characters they inserted, and the time of the last.
struct Observed {
    /// Broadcast frames, each carrying one or more edits.
    frames: u64,
    edits: u64,
    chars: u64,
    last: Option<Instant>,
}

/// Counts the host's broadcasts until `stop` turns true.
async fn observe(
    link: &Link,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Observed> {
    let mut channel = Participant::join(link, "observer")
        .await
        .expect("joins")
        .into_channel();
    tokio::spawn(async move {
        let mut seen = Observed {
            frames: 0,
            edits: 0,
            chars: 0,
            last: None,
        };
        loop {
            tokio::select! {
                incoming = channel.recv() => match incoming {
                    Incoming::Message { message: Message::Edit(EditMessage::Applied { edits }), .. } => {
                        seen.frames += 1;
                        for AppliedEdit { edit, .. } in edits {
                            seen.edits += 1;
                            seen.chars += (edit.op.target_len() - edit.op.base_len()) as u64;
                        }
                        seen.last = Some(Instant::now());
                    }
                    Incoming::Closed { reason } => panic!("the observer was closed: {reason:?}"),
                    _ => {}
                },
                _ = stop.changed() => return seen,
            }
        }
    })
}

/// Runs one participant: `type_now` decides, after every event, which edits to make.
/// Returns how many local edits it made. Stops typing at `until`, then waits until synced.
async fn participate(
    mut driver: Driver,
    mut session: Session,
    paths: Vec<String>,
    until: Instant,
    one_in_flight: bool,
    index: usize,
) -> u64 {
    let mut typed = 0u64;
    let letter = (b'a' + index as u8) as char;
    let letter = letter.to_string();
    loop {
        let typing = Instant::now() < until;
        if typing {
            for path in &paths {
                if one_in_flight && !session.is_synced(path) {
                    continue;
                }
                // Each participant types at its own place: line `index * 50`.
                let rope = &session.documents[path].rope;
                let at = rope.line_to_char(index * 50);
                let op =
                    Operation::insert(rope.len_chars(), at, &letter).expect("inside the document");
                session.local_edit(path, op).expect("participants may edit");
                typed += 1;
            }
            driver.flush(&mut session).await;
        } else if paths.iter().all(|p| session.is_synced(p)) {
            return typed;
        }
        let event = if typing && !one_in_flight {
            // Keep typing even when nothing arrives.
            match tokio::time::timeout(Duration::from_micros(200), driver.next()).await {
                Ok(event) => event,
                Err(_) => continue,
            }
        } else {
            driver.next().await
        };
        if let Some(fatal) = apply(&mut session, event) {
            panic!("a participant lost the session: {fatal}");
        }
        while session.next_event().is_some() {}
        driver.flush(&mut session).await;
    }
}

/// CPU time this process has used so far (every thread: relay, host, participants).
fn cpu_secs() -> f64 {
    ticks_to_secs(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// utime + stime of a /proc `stat` line, in seconds.
fn ticks_to_secs(stat: &str) -> f64 {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

struct Phase {
    cpu: f64,
    /// CPU seconds of the host alone (its thread and its language-server threads).
    host_cpu: f64,
    relay_cpu: f64,
    typed: u64,
    frames: u64,
    edits: u64,
    chars: u64,
    secs: f64,
}

async fn phase(
    started: &Started,
    paths: &[String],
    run_for: Duration,
    one_in_flight: bool,
) -> Phase {
    let link = &started.link;
    let mut members = Vec::new();
    for i in 0..PARTICIPANTS {
        let (mut driver, mut session) = Driver::join(link, &format!("editor{i}"))
            .await
            .expect("joins");
        for path in paths {
            open(&mut driver, &mut session, path).await.expect("opens");
        }
        members.push((driver, session));
    }
    let (stop, stopped) = watch::channel(false);
    let observer = observe(link, stopped).await;
    let began = Instant::now();
    let cpu_before = cpu_secs();
    let host_before = host_cpu_secs(started);
    let relay_before = thread_cpu_secs(started.relay_thread);
    let until = began + run_for;
    let tasks: Vec<_> = members
        .into_iter()
        .enumerate()
        .map(|(i, (driver, session))| {
            tokio::spawn(participate(
                driver,
                session,
                paths.to_vec(),
                until,
                one_in_flight,
                i,
            ))
        })
        .collect();
    let mut typed = 0;
    for task in tasks {
        typed += task.await.expect("a participant finishes");
    }
    // Every participant has its own edits acknowledged; let the observer drain the rest.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(true).expect("the observer listens");
    let seen = observer.await.expect("the observer finishes");
    let last = seen.last.expect("the host broadcast something");
    Phase {
        cpu: cpu_secs() - cpu_before,
        host_cpu: host_cpu_secs(started) - host_before,
        relay_cpu: thread_cpu_secs(started.relay_thread) - relay_before,
        typed,
        frames: seen.frames,
        edits: seen.edits,
        chars: seen.chars,
        secs: (last - began).as_secs_f64(),
    }
}

/// The relay alone: one member broadcasts frames shaped like the host's `Applied` to 11
/// raw receivers as fast as they take them (at most `WINDOW` unreceived per receiver, so
/// none is dropped as too slow). No host, no OT, no session: the transport's ceiling.
async fn relay_fan_out(link: &Link, total: usize) -> (f64, f64) {
    const WINDOW: usize = 160;
    let sender = Participant::join(link, "raw-sender")
        .await
        .expect("joins")
        .into_channel();
    let mut credits = Vec::new();
    let mut receivers = Vec::new();
    for i in 0..=PARTICIPANTS {
        let mut channel = Participant::join(link, &format!("raw{i}"))
            .await
            .expect("joins")
            .into_channel();
        let credit = std::sync::Arc::new(tokio::sync::Semaphore::new(WINDOW));
        credits.push(credit.clone());
        receivers.push(tokio::spawn(async move {
            let mut received = 0;
            while received < total {
                match channel.recv().await {
                    // A member may not send `Applied` (only the host may), so receivers
                    // refuse it, after the same opening and decoding: the transport's
                    // cost is what this measures.
                    Incoming::Message {
                        message: Message::Edit(EditMessage::Applied { .. }),
                        ..
                    }
                    | Incoming::Rejected {
                        error: cotype::protocol::frame::FrameError::HostOnly { .. },
                        ..
                    } => {
                        received += 1;
                        credit.add_permits(1);
                    }
                    Incoming::Closed { reason } => panic!("a raw receiver was closed: {reason:?}"),
                    _ => {}
                }
            }
        }));
    }
    let message = broadcast_message();
    let started = Instant::now();
    let cpu_before = cpu_secs();
    for _ in 0..total {
        for credit in &credits {
            credit.acquire().await.expect("open").forget();
        }
        sender
            .sender
            .send(Route::Everyone, &message)
            .await
            .expect("the sender can send");
    }
    for receiver in receivers {
        receiver.await.expect("a raw receiver finishes");
    }
    let secs = started.elapsed().as_secs_f64();
    (
        total as f64 / secs,
        (cpu_secs() - cpu_before) / total as f64,
    )
}

fn broadcast_message() -> Message {
    Message::Edit(EditMessage::Applied {
        edits: vec![AppliedEdit {
            path: document_path(3),
            edit: RemoteEdit {
                revision: 12345,
                author: EditId {
                    instance: [9; 16],
                    seq: 77,
                },
                op: Operation::insert(40_000, 20_000, "x").expect("inside"),
            },
            by: 3,
        }],
    })
}

/// The raw sequencing cost: submissions shaped like phase 1's (10 authors, each edit based
/// on the revision its author last saw, so it is transformed past the others' concurrent
/// ones), straight into `AuthoritativeDocument::submit`.
fn direct_submit(text: &str, rounds: usize) -> (usize, f64) {
    let mut document = AuthoritativeDocument::new(text, 0);
    let mut submissions = Vec::with_capacity(rounds * PARTICIPANTS);
    let mut scratch = AuthoritativeDocument::new(text, 0);
    for round in 0..rounds {
        let base = scratch.revision();
        let len = scratch.rope().len_chars();
        let mut this_round = Vec::new();
        for author in 0..PARTICIPANTS {
            let at = scratch.rope().line_to_char(author * 50);
            let submission = Submission {
                id: EditId {
                    instance: [author as u8 + 1; 16],
                    seq: round as u64,
                },
                base_revision: base,
                op: Operation::insert(len, at, "x").expect("inside the document"),
            };
            this_round.push(submission);
        }
        for submission in this_round {
            scratch.submit(submission.clone()).expect("valid");
            submissions.push(submission);
        }
    }
    let count = submissions.len();
    let started = Instant::now();
    for submission in submissions {
        black_box(document.submit(submission).expect("valid"));
    }
    (count, started.elapsed().as_secs_f64())
}

/// Sealing and opening one broadcast frame: the crypto, signature and encoding every hop
/// pays (broadcasts come from the host, which signs them).
fn frame_cost(iterations: usize) -> (f64, f64) {
    let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
    let identity = std::sync::Arc::new(cotype::crypto::HostIdentity::generate());
    let host_key = identity.public();
    let mut sealer = FrameSealer::new(keys.sending_key(0), cotype::protocol::HOST_ID);
    sealer.sign_with(identity);
    let message = broadcast_message();
    let started = Instant::now();
    let frames: Vec<Vec<u8>> = (0..iterations)
        .map(|_| sealer.seal(Route::Everyone, &message).expect("seals"))
        .collect();
    let seal = started.elapsed().as_secs_f64() / iterations as f64;
    let mut opener = ReceivingKeys::new(0, &keys);
    let started = Instant::now();
    for frame in &frames {
        black_box(open_frame(&mut opener, &host_key, frame).expect("opens"));
    }
    let open = started.elapsed().as_secs_f64() / iterations as f64;
    (seal * 1e6, open * 1e6)
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let run_for = Duration::from_millis(if full { 5_000 } else { 300 });
    let dir = tempfile::tempdir().expect("a temp folder");
    let text: String = (0..LINES)
        .map(|i| format!("    let value_{i:05} = compute(&input, {i:05});\n"))
        .collect();
    for d in 0..=DOCUMENTS {
        std::fs::write(dir.path().join(document_path(d)), &text).expect("writes a document");
    }
    let started = start(dir.path());

    let single_paths: Vec<String> = (0..DOCUMENTS).map(document_path).collect();
    let single = phase(&started, &single_paths, run_for, true).await;
    let composed = phase(&started, &[document_path(DOCUMENTS)], run_for, false).await;

    let (fan_out_rate, fan_out_cpu) =
        relay_fan_out(&started.link, if full { 30_000 } else { 500 }).await;
    let (direct_count, direct_secs) = direct_submit(&text, if full { 20_000 } else { 500 });
    let (seal_us, open_us) = frame_cost(if full { 100_000 } else { 1_000 });

    let single_rate = single.edits as f64 / single.secs;
    let composed_rate = composed.edits as f64 / composed.secs;
    let composed_chars = composed.chars as f64 / composed.secs;
    let direct_rate = direct_count as f64 / direct_secs;
    println!(
        "{PARTICIPANTS} participants, loopback relay, {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "single-char submissions ({DOCUMENTS} docs, one in flight per participant per doc): \
         {} typed, {} sequenced in {:.2} s = {single_rate:.0} edits/s, {:.1} per broadcast frame",
        single.typed,
        single.edits,
        single.secs,
        single.edits as f64 / single.frames.max(1) as f64
    );
    println!(
        "composed typing (1 doc): {} keystrokes, {} submissions, {} chars in {:.2} s = \
         {composed_rate:.0} submissions/s, {composed_chars:.0} chars/s",
        composed.typed, composed.edits, composed.chars, composed.secs
    );
    println!(
        "CPU per sequenced edit (whole process: relay, host, {PARTICIPANTS} sessions, observer): \
         single-char {:.1} µs, composed {:.1} µs",
        1e6 * single.cpu / single.edits as f64,
        1e6 * composed.cpu / composed.edits as f64
    );
    let host_us = 1e6 * single.host_cpu / single.edits as f64;
    let host_capacity = 1e6 / host_us.max(1e-9);
    println!(
        "  of which the host (its thread and language-server threads): {host_us:.1} µs per edit \
         = {host_capacity:.0} edits/s per CPU; the relay: {:.1} µs; the rest ({PARTICIPANTS} \
         participants applying every edit, the observer): {:.1} µs",
        1e6 * single.relay_cpu / single.edits as f64,
        1e6 * (single.cpu - single.host_cpu - single.relay_cpu) / single.edits as f64
    );
    println!(
        "baseline relay fan-out alone (raw frames to {} receivers, no host): {fan_out_rate:.0} \
         broadcasts/s, {:.1} µs CPU each",
        PARTICIPANTS + 1,
        fan_out_cpu * 1e6
    );
    println!(
        "baseline AuthoritativeDocument::submit direct: {direct_count} in {direct_secs:.3} s = \
         {direct_rate:.0} edits/s; the session path runs at {:.1}% of it",
        100.0 * single_rate / direct_rate
    );
    println!(
        "one broadcast frame: seal {seal_us:.2} µs, open {open_us:.2} µs (each edit: 1 open + 1 seal \
         at the host, {} opens at the members)",
        PARTICIPANTS + 1
    );
    println!(
        "target ≥ 50,000 edits/s: {} on this machine's clock (the participants share its CPUs \
         with the host); the host's own capacity {host_capacity:.0} edits/s per CPU: {}",
        if single_rate >= 50_000.0 {
            "met"
        } else {
            "NOT met"
        },
        if host_capacity >= 50_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "{{\"participants\":{PARTICIPANTS},\"single_edits\":{},\"single_edits_per_s\":{single_rate:.0},\"single_edits_per_frame\":{:.1},\"composed_submissions_per_s\":{composed_rate:.0},\"composed_chars_per_s\":{composed_chars:.0},\"direct_submit_per_s\":{direct_rate:.0},\"relay_fan_out_per_s\":{fan_out_rate:.0},\"cpu_us_per_edit\":{:.1},\"host_cpu_us_per_edit\":{host_us:.1},\"host_capacity_per_cpu\":{host_capacity:.0},\"seal_us\":{seal_us:.2},\"open_us\":{open_us:.2}}}",
        single.edits,
        single.edits as f64 / single.frames.max(1) as f64,
        1e6 * single.cpu / single.edits as f64
    );
}
