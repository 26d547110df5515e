//! Bytes per keystroke for a guest who joins with OpenSSH alone (issue 18), against the
//! baseline measured in the same run: `cotype join` making the same edit in the same file
//! at the same terminal size.
//!
//! A relay with `--ssh-listen`, a headless host, ada (`cotype join`) and sam (the real
//! `ssh -tt -J …` the host printed), each in tmux (120x40, xterm-256color), each with the
//! file open at the end of its line 1. Measured for one character typed (after a warm-up
//! character): the bytes written to the terminal (tmux `pipe-pane`: for sam, what the
//! host's writer sent through SSH), and the bytes on the wire to the typist's machine, from
//! a TCP tap in front of the relay (ada: her WebSocket; sam: his jump connection, which
//! carries the inner SSH session). A capture ends when the character is on screen and the
//! pane has written nothing more for a while. Needs tmux, ssh and ssh-keygen.
//!
//! `cargo bench --bench ssh_guest_bytes`

#[path = "common/ssh_client.rs"]
mod ssh_client;

use ssh_client::ssh_config;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const WIDTH: &str = "120";
const HEIGHT: &str = "40";
/// The pane counts as quiet when it wrote nothing for this long.
const QUIET: Duration = Duration::from_millis(400);

/// The processes this bench started: `fail` ends them (an exit runs no destructors).
static STARTED: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn fail(message: &str) -> ! {
    eprintln!("ssh_guest_bytes: {message}");
    let started = STARTED.lock().map(|pids| pids.clone()).unwrap_or_default();
    for pid in started {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    if let Some(socket) = TMUX_SOCKET.get() {
        let _ = Command::new("tmux")
            .args(["-L", socket, "kill-server"])
            .output();
    }
    std::process::exit(1);
}

static TMUX_SOCKET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| fail(&format!("cannot run tmux: {e}")));
        if !output.status.success() {
            fail(&format!(
                "tmux {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn start(&self, name: &str, home: &Path, command: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            WIDTH,
            "-y",
            HEIGHT,
            "-e",
            "TERM=xterm-256color",
            "-e",
            &format!("HOME={}", home.display()),
            command,
        ]);
    }

    fn keys(&self, target: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", target];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn wait(&self, target: &str, what: &str, ready: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", target]);
            if ready(&screen) {
                return;
            }
            if start.elapsed() > Duration::from_secs(30) {
                fail(&format!("{target} never showed {what}:\n{screen}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Terminal bytes and wire bytes (to the typist, from it) while `act` runs and until
    /// `done` is on screen and the pane has gone quiet.
    fn capture(
        &self,
        target: &str,
        file: &Path,
        tap: &Tap,
        act: impl FnOnce(),
        done: impl Fn(&str) -> bool,
    ) -> (u64, u64, u64) {
        let _ = std::fs::remove_file(file);
        self.run(&[
            "pipe-pane",
            "-O",
            "-t",
            target,
            &format!("cat > '{}'", file.display()),
        ]);
        settle(file);
        let before = size(file);
        let (down, up) = tap.counts();
        act();
        self.wait(target, "the change", done);
        settle(file);
        self.run(&["pipe-pane", "-t", target]);
        let (down_after, up_after) = tap.counts();
        (size(file) - before, down_after - down, up_after - up)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn size(file: &Path) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

fn settle(file: &Path) {
    let mut last = size(file);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < QUIET {
        std::thread::sleep(Duration::from_millis(25));
        let now = size(file);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
}

/// A TCP forwarder in front of `target` counting bytes to the client and from it.
struct Tap {
    address: String,
    down: Arc<AtomicU64>,
    up: Arc<AtomicU64>,
}

impl Tap {
    fn start(target: &str) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| fail(&e.to_string()));
        let address = listener.local_addr().unwrap().to_string();
        let (down, up) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (target, counters) = (target.to_owned(), (down.clone(), up.clone()));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                for (mut from, mut to, count) in [
                    (
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        counters.1.clone(),
                    ),
                    (server, client, counters.0.clone()),
                ] {
                    std::thread::spawn(move || {
                        let mut buffer = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buffer) {
                            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                                break;
                            }
                            count.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Tap { address, down, up }
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.down.load(Ordering::Relaxed),
            self.up.load(Ordering::Relaxed),
        )
    }
}

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(
    command: &mut Command,
) -> (
    Reaped,
    BufReader<std::process::ChildStdout>,
    BufReader<std::process::ChildStderr>,
) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start {command:?}: {e}")));
    if let Ok(mut started) = STARTED.lock() {
        started.push(child.id());
    }
    let out = BufReader::new(child.stdout.take().unwrap());
    let err = BufReader::new(child.stderr.take().unwrap());
    (Reaped(child), out, err)
}

fn line_with(reader: &mut impl BufRead, marker: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            fail(&format!("no line with {marker:?}"));
        }
        if line.contains(marker) {
            return line.trim().to_owned();
        }
    }
}

/// A Rust file taller than the screen, as in `terminal_bytes`.
fn sample() -> String {
    std::iter::once("// notes:\n".to_owned())
        .chain(
            (0..200)
                .map(|i| format!("fn item_{i:03}(x: u32) -> u32 {{ x * {i} + 1 }} // line {i}\n")),
        )
        .collect()
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap_or_else(|e| fail(&e.to_string()));
    let (project, home) = (root.path().join("project"), root.path().join("home"));
    for dir in [&project, &home] {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&e.to_string()));
    }
    // One file each (the same text, names of the same length): neither edit moves the other.
    for name in ["ada", "sam"] {
        std::fs::write(project.join(format!("{name}.rs")), sample())
            .unwrap_or_else(|e| fail(&e.to_string()));
    }

    let (_relay, _, mut relay_err) = spawn(
        Command::new(bin)
            .args([
                "relay",
                "--listen",
                "127.0.0.1:0",
                "--ssh-listen",
                "127.0.0.1:0",
            ])
            .env("HOME", &home),
    );
    let ws = line_with(&mut relay_err, "listening on ws://");
    let ws = ws.rsplit("ws://").next().unwrap_or_default().to_owned();
    let ssh = line_with(&mut relay_err, "SSH jump host on ");
    let ssh = ssh["SSH jump host on ".len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    std::thread::spawn(move || for _ in relay_err.lines() {});
    let (ws_tap, ssh_tap) = (Tap::start(&ws), Tap::start(&ssh));
    let (_host, mut host_out, _host_err) = spawn(
        Command::new(bin)
            .args(["host", project.to_str().unwrap_or("."), "--headless"])
            .args(["--relay", &ws, "--approve", "auto"])
            .env("HOME", &home),
    );
    let link = line_with(&mut host_out, "#");
    let command = line_with(&mut host_out, "ssh: ");
    let command = command
        .trim_start_matches("ssh: ")
        .replacen(&ssh, &ssh_tap.address, 1);
    let command = command.replacen(
        "ssh -t",
        &format!(
            "ssh -tt -F {} -o 'SetEnv=COTYPE_NAME=sam COTYPE_KEYMAP=default'",
            ssh_config(&home).unwrap_or_else(|e| fail(&e))
        ),
        1,
    );
    let ada_link = link.replacen(&ws, &ws_tap.address, 1);

    let tmux = Tmux {
        socket: format!("cotype-ssh-bytes-{}", std::process::id()),
    };
    // A failure ends the tmux server too (its panes hold `cotype join` and `ssh`).
    let _ = TMUX_SOCKET.set(tmux.socket.clone());
    tmux.start(
        "ada",
        &home,
        &format!("COTYPE_LINK='{ada_link}' {bin} join --name ada"),
    );
    tmux.start("sam", &home, &command);
    for name in ["ada", "sam"] {
        tmux.wait(name, "the session", |s| {
            s.contains(&format!("{name} (you)"))
        });
        tmux.keys(name, &["C-p"]);
        tmux.wait(name, "the picker", |s| s.contains("Open file"));
        tmux.keys(name, &["-l", &format!("{name}.rs")]);
        tmux.wait(name, "the match", |s| s.contains(&format!("{name}.rs")));
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "the file", |s| s.contains("fn item_000"));
        tmux.keys(name, &["End"]);
    }
    for name in ["ada", "sam"] {
        tmux.wait(name, "an empty message line", |s| {
            s.lines().last().is_some_and(|line| line.trim().is_empty())
        });
    }
    // Each types a warm-up character, then the one measured: steady typing.
    let mut measured = Vec::new();
    for (name, tap) in [("ada", &ws_tap), ("sam", &ssh_tap)] {
        tmux.keys(name, &["-l", "q"]);
        tmux.wait(name, "the warm-up character", |s| s.contains("// notes:q"));
        let file = root.path().join(format!("{name}.bytes"));
        let typed = || tmux.keys(name, &["-l", "Q"]);
        let shown = |s: &str| s.contains("// notes:qQ");
        measured.push(tmux.capture(name, &file, tap, typed, shown));
    }
    let [
        (join_terminal, join_down, join_up),
        (ssh_terminal, ssh_down, ssh_up),
    ] = measured[..]
    else {
        fail("two measurements");
    };
    let terminal_ratio = ssh_terminal as f64 / join_terminal.max(1) as f64;
    let wire_ratio = ssh_down as f64 / join_down.max(1) as f64;
    println!("terminal {WIDTH}x{HEIGHT}, line 1 of a 200-line Rust file, one character typed");
    println!(
        "  cotype join: {join_terminal:>5} bytes to the terminal, {join_down:>5} bytes on the wire to it, {join_up:>5} from it"
    );
    println!(
        "  ssh guest:   {ssh_terminal:>5} bytes to the terminal, {ssh_down:>5} bytes on the wire to it, {ssh_up:>5} from it"
    );
    println!(
        "  ratio ssh / join: terminal {terminal_ratio:.2}x, wire to the typist {wire_ratio:.2}x"
    );
    println!(
        "{{\"bench\":\"ssh_guest_bytes\",\"join_terminal_bytes\":{join_terminal},\"ssh_terminal_bytes\":{ssh_terminal},\"terminal_ratio\":{terminal_ratio:.3},\"join_wire_down_bytes\":{join_down},\"ssh_wire_down_bytes\":{ssh_down},\"wire_ratio\":{wire_ratio:.3},\"join_wire_up_bytes\":{join_up},\"ssh_wire_up_bytes\":{ssh_up}}}"
    );
}
