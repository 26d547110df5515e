//! Workspace replace against `rg --replace`, and a typist's keystrokes during it.
//!
//! A generated tree of 1,000 files holds 10,000 lines with the literal `old_name` (ten per
//! file, one per line). A real relay and a real host run in this process over loopback.
//! Measured, as medians of a few runs in the same process:
//! - ours: a member's `Request::Replace` (literal, not saved) from sending it to the
//!   answer, which comes after the host applied every change as its own edits and sent
//!   them to everyone (runs alternate `old_name` -> `new_name` and back);
//! - baseline: `rg --replace new_name -F old_name` over the same tree producing the same
//!   10,000 replaced lines (rg prints them; it writes no file);
//! - the echo of a typist's keystrokes in one of the replaced files: from typing a
//!   character (`Session::local_edit`, as the TUI does) to the host's confirmation of it
//!   (`SessionEvent::Synced`), one keystroke every 5 ms, while no replace runs and while
//!   one does (the replace must not delay it).
//!
//! Run: `cargo bench --bench replace`. Without `--bench` (as `cargo test --all-targets`
//! runs it) it makes one run of each on a tenth of the tree. Last line: one JSON object.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cotype::client::Participant;
use cotype::client::driver::{Driver, apply};
use cotype::client::headless::open;
use cotype::client::session::{Session, SessionEvent};
use cotype::host::session::Approval;
use cotype::host::{HostOptions, HostSession};
use cotype::link::Link;
use cotype::protocol::search::{ReplaceRequest, SearchQuery};
use cotype::relay::RelayConfig;
use cotype::text::Operation;

const MATCHES_PER_FILE: usize = 10;
const KEYSTROKE: Duration = Duration::from_millis(5);

fn tree(files: usize) -> PathBuf {
    let root = std::env::temp_dir().join(format!("cotype-replace-bench-{files}"));
    let _ = std::fs::remove_dir_all(&root);
    for index in 0..files {
        let path = root.join(format!("crate{:02}/src/file{index:04}.rs", index % 20));
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the temp folder");
        let mut text = String::new();
        for line in 0..60 {
            if line % 6 == 0 {
                text.push_str(&format!("    let v{line} = old_name(request, {line});\n"));
            } else {
                text.push_str(&format!(
                    "    let w{line} = other_call(value, {line}) + index;\n"
                ));
            }
        }
        std::fs::write(&path, text).expect("the temp folder");
    }
    root
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p) as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One run of `rg --replace` over the tree: (time, replaced lines printed).
fn ripgrep(root: &Path) -> (Duration, usize) {
    let start = Instant::now();
    let output = Command::new("rg")
        .current_dir(root)
        .args(["--no-config", "--hidden", "--no-require-git", "-n", "-F"])
        .args(["--replace", "new_name", "old_name"])
        .stdout(Stdio::piped())
        .output()
        .expect("rg must be installed (apt-get install ripgrep)");
    let elapsed = start.elapsed();
    let lines = output.stdout.iter().filter(|b| **b == b'\n').count();
    (elapsed, lines)
}

async fn start(dir: &Path) -> Link {
    let (relay, _) = cotype::relay::spawn(
        "127.0.0.1:0".parse().expect("an address"),
        RelayConfig::default(),
    )
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

fn request(from: &str, to: &str) -> ReplaceRequest {
    let mut query = SearchQuery::literal(from);
    query.fixed_strings = true;
    query.max_matches = 100_000;
    ReplaceRequest {
        query,
        replacement: to.into(),
        excluded: Vec::new(),
        dry_run: false,
        save: false,
    }
}

/// One replace through the host: (time to its answer, changes made).
async fn replace(member: &mut Participant, from: &str, to: &str) -> (Duration, u64) {
    let start = Instant::now();
    let (_, summary) = member
        .replace(request(from, to))
        .await
        .expect("the replace is answered");
    (start.elapsed(), summary.changes)
}

/// Types into `path` one character every [`KEYSTROKE`] until `stop`, timing each from
/// typing to the host's confirmation; returns (when typed, echo time) per keystroke.
async fn type_and_time(
    mut driver: Driver,
    mut session: Session,
    path: String,
    stop: Arc<AtomicBool>,
) -> Vec<(Instant, Duration)> {
    let mut echoes = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let typed = Instant::now();
        let len = session.documents[&path].rope.len_chars();
        let op = Operation::insert(len, 0, "x").expect("an insertion at the start");
        session.local_edit(&path, op).expect("the typist may edit");
        driver.flush(&mut session).await;
        'confirmed: loop {
            let event = driver.next().await;
            if let Some(fatal) = apply(&mut session, event) {
                panic!("the typist lost the session: {fatal}");
            }
            while let Some(event) = session.next_event() {
                if matches!(event, SessionEvent::Synced { .. }) {
                    break 'confirmed;
                }
            }
            driver.flush(&mut session).await;
        }
        echoes.push((typed, typed.elapsed()));
        tokio::time::sleep_until((typed + KEYSTROKE).into()).await;
    }
    echoes
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (files, runs) = if full { (1_000, 5) } else { (100, 1) };
    let root = tree(files);
    let expected = files * MATCHES_PER_FILE;

    let (_, rg_lines) = ripgrep(&root);
    assert_eq!(rg_lines, expected, "rg printed every replaced line");
    let rg: Vec<Duration> = (0..runs.max(3)).map(|_| ripgrep(&root).0).collect();

    let link = start(&root).await;
    let mut member = Participant::join(&link, "replacer").await.expect("joins");
    // The typist works in the file the replace reaches last (paths are sorted).
    let last = format!("crate{:02}/src/file{:04}.rs", (files - 1) % 20, files - 1);
    let (mut driver, mut session) = Driver::join(&link, "typist").await.expect("joins");
    open(&mut driver, &mut session, &last).await.expect("opens");

    let stop = Arc::new(AtomicBool::new(false));
    let typist = tokio::spawn(type_and_time(driver, session, last, stop.clone()));
    // Idle: the typist alone for a while.
    tokio::time::sleep(Duration::from_millis(if full { 1500 } else { 300 })).await;
    let mut ours = Vec::new();
    let mut windows = Vec::new();
    for run in 0..runs {
        let (from, to) = if run % 2 == 0 {
            ("old_name", "new_name")
        } else {
            ("new_name", "old_name")
        };
        let began = Instant::now();
        let (took, changes) = replace(&mut member, from, to).await;
        windows.push((began, Instant::now()));
        assert_eq!(changes as usize, expected, "every match replaced");
        ours.push(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let echoes = typist.await.expect("the typist finishes");
    let first_replace = windows[0].0;
    let during: Vec<Duration> = echoes
        .iter()
        .filter(|(at, _)| windows.iter().any(|(from, to)| at >= from && at < to))
        .map(|(_, echo)| *echo)
        .collect();
    let idle: Vec<Duration> = echoes
        .iter()
        .filter(|(at, _)| *at < first_replace)
        .map(|(_, echo)| *echo)
        .collect();
    assert!(!during.is_empty() && !idle.is_empty(), "keystrokes in both");

    let (ours, rg) = (median(ours), median(rg));
    let ratio = ours.as_secs_f64() / rg.as_secs_f64();
    let (idle_p50, idle_p99) = (
        percentile(idle.clone(), 0.5),
        percentile(idle.clone(), 0.99),
    );
    let (during_p50, during_max) = (
        percentile(during.clone(), 0.5),
        percentile(during.clone(), 1.0),
    );
    println!("workspace replace, {files} files, {expected} matches (literal), {runs} runs");
    println!(
        "  cotype replace (applied, broadcast, answered): {:.1} ms",
        ms(ours)
    );
    println!(
        "  rg --replace (same lines printed):             {:.1} ms",
        ms(rg)
    );
    println!("  ratio: {ratio:.2}x (target < 3x)");
    println!(
        "  typist's keystroke to host confirmation: idle p50 {:.2} ms p99 {:.2} ms ({} keys); during the replace p50 {:.2} ms max {:.2} ms ({} keys)",
        ms(idle_p50),
        ms(idle_p99),
        idle.len(),
        ms(during_p50),
        ms(during_max),
        during.len()
    );
    println!(
        "{{\"bench\":\"replace\",\"files\":{files},\"matches\":{expected},\"cotype_ms\":{:.2},\"rg_ms\":{:.2},\"ratio\":{ratio:.3},\"echo_idle_p50_ms\":{:.3},\"echo_idle_p99_ms\":{:.3},\"echo_during_p50_ms\":{:.3},\"echo_during_max_ms\":{:.3},\"keys_during\":{}}}",
        ms(ours),
        ms(rg),
        ms(idle_p50),
        ms(idle_p99),
        ms(during_p50),
        ms(during_max),
        during.len()
    );
    let _ = std::fs::remove_dir_all(&root);
}
