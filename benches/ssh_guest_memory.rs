//! Memory of a host whose SSH guests come and go (issue 18): 20 guests (the real `ssh -tt
//! -J …` the host printed, with a key) connect at once, are admitted and run the editor,
//! then their clients are killed (a dropped connection, not a goodbye); that, ROUNDS times,
//! and no guest editor thread may be left after a round. The baseline, in the same host
//! and run: as many rounds of 20 `cotype cat` participants (join, read a file, leave). The
//! figure is how much the host's resident memory grew from each phase's first round to
//! its last, per participant. Needs ssh and ssh-keygen.
//!
//! `cargo bench --bench ssh_guest_memory`

#[path = "common/ssh_client.rs"]
mod ssh_client;

use ssh_client::ssh_config;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const GUESTS: usize = 20;
const ROUNDS: usize = 15;

/// The relay and the host this bench started: `fail` ends them (an exit runs no
/// destructors).
static STARTED: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn fail(message: &str) -> ! {
    eprintln!("ssh_guest_memory: {message}");
    let started = STARTED.lock().map(|pids| pids.clone()).unwrap_or_default();
    for pid in started {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    std::process::exit(1);
}

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process with its stdout and stderr lines on channels.
fn spawn(command: &mut Command) -> (Reaped, mpsc::Receiver<String>, mpsc::Receiver<String>) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start {command:?}: {e}")));
    let lines = |stream: Box<dyn std::io::Read + Send>| {
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        receive
    };
    let out = lines(Box::new(child.stdout.take().unwrap()));
    let err = lines(Box::new(child.stderr.take().unwrap()));
    (Reaped(child), out, err)
}

fn line_with(lines: &mpsc::Receiver<String>, marker: &str) -> String {
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(marker) => return line,
            Ok(_) => {}
            Err(_) => fail(&format!("no line with {marker:?}")),
        }
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn guest_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|task| {
                    std::fs::read_to_string(task.path().join("comm"))
                        .is_ok_and(|name| name.starts_with("cotype-ssh-gue"))
                })
                .count()
        })
        .unwrap_or(0)
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap_or_else(|e| fail(&e.to_string()));
    let (project, home) = (root.path().join("project"), root.path().join("home"));
    for dir in [&project, &home] {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&e.to_string()));
    }
    std::fs::write(project.join("notes.txt"), "hello\n").unwrap_or_else(|e| fail(&e.to_string()));
    let (relay, _, relay_err) = spawn(
        Command::new(bin)
            .args([
                "relay",
                "--listen",
                "127.0.0.1:0",
                "--ssh-listen",
                "127.0.0.1:0",
            ])
            // Every guest comes from this machine: past the per-IP join rate.
            .args(["--joins-per-ip-per-minute", "100000"])
            .env("HOME", &home),
    );
    let ws = line_with(&relay_err, "listening on ws://");
    let ws = ws.rsplit("ws://").next().unwrap_or_default().to_owned();
    let (host, host_out, host_err) = spawn(
        Command::new(bin)
            .args(["host", project.to_str().unwrap_or("."), "--headless"])
            .args(["--relay", &ws, "--approve", "auto"])
            .env("HOME", &home),
    );
    let pid = host.0.id();
    if let Ok(mut started) = STARTED.lock() {
        started.extend([relay.0.id(), pid]);
    }
    let link = line_with(&host_out, "#");
    let command = line_with(&host_out, "ssh: ");
    let command = command.trim_start_matches("ssh: ").replacen(
        "ssh -t",
        &format!(
            "ssh -tt -F {}",
            ssh_config(&home).unwrap_or_else(|e| fail(&e))
        ),
        1,
    );
    // The baseline: as many `cotype cat` participants (join, read a file, leave) in the
    // same host, round for round; then the SSH guests.
    let cat_rss = rounds(
        pid,
        &host_err,
        "cotype cat",
        |_, _| {
            spawn(
                Command::new(bin)
                    .args(["cat", &link, "notes.txt"])
                    .env("HOME", &home),
            )
            .0
        },
        false,
    );
    let ssh_rss = rounds(
        pid,
        &host_err,
        "SSH guests",
        |round, i| {
            let pasted = command.replacen(
                "ssh -tt",
                &format!("ssh -tt -o 'SetEnv=COTYPE_NAME=g{round}x{i} COTYPE_KEYMAP=default'"),
                1,
            );
            spawn(Command::new("sh").arg("-c").arg(format!("exec {pasted}"))).0
        },
        true,
    );
    let growth = |rss: &[u64]| rss.last().unwrap_or(&0).saturating_sub(rss[0]);
    let (cat_growth, ssh_growth) = (growth(&cat_rss), growth(&ssh_rss));
    let per_guest = |kib: u64| kib as f64 / ((ROUNDS - 1) * GUESTS) as f64;
    let ratio = ssh_growth as f64 / cat_growth.max(1) as f64;
    println!(
        "{ROUNDS} rounds of {GUESTS}: host RSS grew {cat_growth} KiB over `cotype cat` participants ({:.2} KiB each), {ssh_growth} KiB over SSH guests ({:.2} KiB each, {ratio:.2}x); no guest thread left",
        per_guest(cat_growth),
        per_guest(ssh_growth)
    );
    println!(
        "{{\"bench\":\"ssh_guest_memory\",\"guests\":{GUESTS},\"rounds\":{ROUNDS},\"cat_growth_kib\":{cat_growth},\"ssh_growth_kib\":{ssh_growth},\"ratio\":{ratio:.3},\"cat_rss_kib\":{cat_rss:?},\"ssh_rss_kib\":{ssh_rss:?}}}"
    );
}

/// ROUNDS times: GUESTS clients from `client` at once, all admitted, then killed (for SSH,
/// waiting for every guest editor thread to end); the host's RSS after each round.
fn rounds(
    pid: u32,
    host_err: &mpsc::Receiver<String>,
    what: &str,
    client: impl Fn(usize, usize) -> Reaped,
    ssh: bool,
) -> Vec<u64> {
    let mut rss_after = Vec::new();
    for round in 0..ROUNDS {
        let clients: Vec<Reaped> = (0..GUESTS).map(|i| client(round, i)).collect();
        let (mut joined, mut left) = (0, 0);
        let mut read_until = |joined_wanted: usize, left_wanted: usize| {
            while joined < joined_wanted || left < left_wanted {
                let line = line_with(host_err, ")");
                joined += usize::from(line.contains("joined as"));
                left += usize::from(line.contains(") left"));
            }
        };
        read_until(GUESTS, 0);
        if ssh && guest_threads(pid) != GUESTS {
            fail(&format!(
                "{} guest editors running, {GUESTS} expected",
                guest_threads(pid)
            ));
        }
        drop(clients);
        read_until(GUESTS, GUESTS);
        let deadline = Instant::now() + Duration::from_secs(30);
        while guest_threads(pid) > 0 {
            if Instant::now() > deadline {
                fail(&format!(
                    "{} guest editor threads left behind",
                    guest_threads(pid)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        let rss = status_kib(pid, "VmRSS:");
        println!(
            "{what}, round {}: {GUESTS} in and gone, host RSS {rss} KiB",
            round + 1
        );
        rss_after.push(rss);
    }
    rss_after
}
