//! Memory of a host whose SSH guests come and go (issue 18): 20 guests (the real `ssh -tt
//! -J …` the host printed, with a key) connect at once, are admitted and run the editor,
//! then their clients are killed (a dropped connection, not a goodbye); that, ROUNDS times.
//! The host's resident memory after the first round is the baseline, in the same run;
//! after the last round it must not have grown past it by more than noise, and no guest
//! editor thread may be left. Needs ssh and ssh-keygen.
//!
//! `cargo bench --bench ssh_guest_memory`

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const GUESTS: usize = 20;
const ROUNDS: usize = 20;

fn fail(message: &str) -> ! {
    eprintln!("ssh_guest_memory: {message}");
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

/// Waits for `count` lines containing `marker`.
fn count_lines(lines: &mpsc::Receiver<String>, marker: &str, count: usize) {
    for _ in 0..count {
        line_with(lines, marker);
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

fn ssh_config(home: &Path) -> String {
    let key = home.join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap_or_else(|e| fail(&format!("ssh-keygen is needed: {e}")));
    if !made.success() {
        fail("ssh-keygen failed");
    }
    let config = home.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             StrictHostKeyChecking accept-new\n  LogLevel ERROR\n",
            key.display(),
            home.join("known_hosts").display()
        ),
    )
    .unwrap_or_else(|e| fail(&e.to_string()));
    config.display().to_string()
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap_or_else(|e| fail(&e.to_string()));
    let (project, home) = (root.path().join("project"), root.path().join("home"));
    for dir in [&project, &home] {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&e.to_string()));
    }
    std::fs::write(project.join("notes.txt"), "hello\n").unwrap_or_else(|e| fail(&e.to_string()));
    let (_relay, _, relay_err) = spawn(
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
    line_with(&host_out, "#");
    let command = line_with(&host_out, "ssh: ");
    let command = command.trim_start_matches("ssh: ").replacen(
        "ssh -t",
        &format!("ssh -tt -F {}", ssh_config(&home)),
        1,
    );
    let mut rss_after = Vec::new();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let guests: Vec<Reaped> = (0..GUESTS)
            .map(|i| {
                let pasted = command.replacen(
                    "ssh -tt",
                    &format!("ssh -tt -o SetEnv=COTYPE_NAME=g{round}x{i}"),
                    1,
                );
                spawn(Command::new("sh").arg("-c").arg(format!("exec {pasted}"))).0
            })
            .collect();
        count_lines(&host_err, "joined as", GUESTS);
        if guest_threads(pid) != GUESTS {
            fail(&format!(
                "{} guest editors running, {GUESTS} expected",
                guest_threads(pid)
            ));
        }
        drop(guests);
        count_lines(&host_err, ") left", GUESTS);
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
            "round {}: {GUESTS} guests in and dropped, host RSS {rss} KiB, threads {}",
            round + 1,
            status_kib(pid, "Threads:")
        );
        rss_after.push(rss);
    }
    let baseline = rss_after[0];
    let last = *rss_after.last().unwrap_or(&0);
    let ratio = last as f64 / baseline.max(1) as f64;
    println!(
        "{ROUNDS} rounds of {GUESTS} SSH guests in {:.1} s: host RSS after the first round {baseline} KiB, after the last {last} KiB ({ratio:.3}x); no guest thread left",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{{\"bench\":\"ssh_guest_memory\",\"guests\":{GUESTS},\"rounds\":{ROUNDS},\"rss_first_round_kib\":{baseline},\"rss_last_round_kib\":{last},\"ratio\":{ratio:.3},\"rss_kib\":{rss_after:?}}}"
    );
}
