//! `cotype join` where people really run it: over SSH and inside GNU screen, in tmux.
//!
//! - Over `ssh -tt localhost` (a private sshd on a free port, with its own host key and an
//!   authorized key in a temporary folder): bob joins, sees everyone's latency, follows
//!   ada and watches her named cursor move as she types, types himself (she sees his text
//!   and flag), saves, and quits: the pane is back on the normal screen with echo and line
//!   editing. He joins again and the SSH client is hung up (SIGHUP): the cotype process
//!   on the far side must exit (no orphan) and the pane's shell must work.
//! - Inside `screen`: cy joins, edits, quits (the screen window's terminal is restored);
//!   joins again, is detached (as a dropped connection does) and reattached, still
//!   there; then screen is told to quit, which hangs up his terminal: cotype exits and the
//!   tmux pane is clean.
//!
//! These tests fail (never skip) when sshd, ssh, screen or tmux is missing; scripts/test
//! installs them. sshd needs its privilege-separation folder (/run/sshd), which the test
//! creates when it can.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "common/process.rs"]
mod process;

use common::tmux::{DEADLINE, Tmux, flag_near, picker_chose};
use process::{Running, start_host};

/// A child process that dies with the test.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A program the test needs; fails with what to install when it is missing.
fn require(program: &str, package: &str) -> PathBuf {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.exists());
    found.unwrap_or_else(|| {
        panic!("{program} is missing: install {package} (scripts/test installs it)")
    })
}

fn run(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A private sshd on 127.0.0.1 that lets the current user in with a key of its own.
struct Sshd {
    _process: Process,
    dir: tempfile::TempDir,
    port: u16,
    user: String,
}

impl Sshd {
    fn start() -> Self {
        let sshd = require("sshd", "openssh-server");
        let keygen = require("ssh-keygen", "openssh-client");
        require("ssh", "openssh-client");
        if let Err(e) = std::fs::create_dir_all("/run/sshd") {
            panic!(
                "sshd needs the folder /run/sshd and it cannot be created ({e}); create it as root"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        for key in ["host_key", "id"] {
            run(
                &keygen,
                &["-q", "-t", "ed25519", "-N", "", "-f", &path(key)],
            );
        }
        std::fs::copy(path("id.pub"), path("authorized_keys")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            path("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n\
                 AuthorizedKeysFile {keys}\nPidFile {pid}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n",
                host_key = path("host_key"),
                keys = path("authorized_keys"),
                pid = path("sshd.pid"),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(path("sshd.log")).unwrap();
        let process = Process(
            Command::new(&sshd)
                .args(["-D", "-e", "-f", &path("sshd_config")])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("sshd starts"),
        );
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < DEADLINE,
                "sshd did not listen on port {port}: {}",
                std::fs::read_to_string(path("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let user = run(Path::new("id"), &["-un"]).trim().to_owned();
        Sshd {
            _process: process,
            dir,
            port,
            user,
        }
    }

    /// The shell command that runs `remote` on the far side in a terminal of its own.
    fn ssh(&self, remote: &str) -> String {
        let dir = self.dir.path().display();
        format!(
            "ssh -tt -p {port} -i {dir}/id -o BatchMode=yes -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile={dir}/known_hosts -o LogLevel=ERROR {user}@127.0.0.1 \"{remote}\"",
            port = self.port,
            user = self.user,
        )
    }
}

/// A headless host sharing a small project, and the link to it.
struct Shared {
    _host: Running,
    root: tempfile::TempDir,
    link: String,
}

impl Shared {
    fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("project");
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::write(project.join("src/main.rs"), "fn main() {\n}\n").unwrap();
        // An empty HOME: no user config, keymap or theme changes what the test sees.
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        let (host, link) = start_host(&project, &["--name", "hostie"]);
        assert!(link.contains('#'), "the host printed no link: {link:?}");
        Shared {
            _host: host,
            root,
            link,
        }
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn main_rs(&self) -> String {
        std::fs::read_to_string(self.root.path().join("project/src/main.rs")).unwrap()
    }

    /// The command line that joins as `name` and says how it ended.
    fn join(&self, name: &str) -> String {
        format!(
            "env HOME={home} COTYPE_LINK='{link}' {bin} join --name {name}",
            home = self.home().display(),
            link = self.link,
            bin = env!("CARGO_BIN_EXE_cotype"),
        )
    }
}

/// Whether the people panel shows a latency for `name` (on their row or the one below).
fn latency_shown(screen: &str, name: &str) -> bool {
    let panel: Vec<&str> = screen
        .lines()
        .map(|line| line.rsplit('│').next().unwrap_or(""))
        .collect();
    panel.iter().enumerate().any(|(index, row)| {
        row.starts_with(&format!("● {name} "))
            && [Some(row), panel.get(index + 1)]
                .into_iter()
                .flatten()
                .any(|row| row.trim_end().ends_with(" ms"))
    })
}

/// Live processes (zombies aside) that joined with `link` as `name`: `join --name NAME` on
/// the command line and the link in the environment, so other tests' are not counted.
fn cotype_processes(name: &str, link: &str) -> Vec<u32> {
    let marker = format!("join\0--name\0{name}\0");
    let link = format!("COTYPE_LINK={link}\0");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        panic!("this test reads /proc to find processes left behind");
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'));
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            !zombie
                && String::from_utf8_lossy(&cmdline).contains(&marker)
                && String::from_utf8_lossy(&environ).contains(&link)
        })
        .collect()
}

fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < DEADLINE, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `stty -a` in the pane's shell and checks that typing works as usual again: echo,
/// line editing and signal keys.
fn assert_cooked(tmux: &Tmux, pane: &str, scratch: &Path, label: &str) {
    let out = scratch.join(format!("stty-{}", label.replace(' ', "-")));
    let _ = std::fs::remove_file(&out);
    tmux.text(pane, &format!("stty -a > {}", out.display()));
    tmux.keys(pane, &["Enter"]);
    wait_until(&format!("{label}: stty ran in {pane}'s pane"), || {
        std::fs::metadata(&out).is_ok_and(|m| m.len() > 0)
    });
    std::thread::sleep(Duration::from_millis(100));
    let stty = std::fs::read_to_string(&out).unwrap();
    let words: Vec<&str> = stty.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig"] {
        assert!(
            words.contains(&flag),
            "{label}: the terminal was left without {flag}:\n{stty}"
        );
    }
}

fn alternate_screen(tmux: &Tmux, pane: &str) -> bool {
    tmux.run(&["display", "-p", "-t", pane, "#{alternate_on}"])
        .trim()
        == "1"
}

/// Opens `src/main.rs` with the file picker.
fn open_main(tmux: &Tmux, pane: &str) {
    tmux.keys(pane, &["C-p"]);
    tmux.wait(pane, "the file picker", |s| s.contains("Open file"));
    tmux.text(pane, "main");
    tmux.wait(pane, "the match in the picker", |s| {
        picker_chose(s, "src/main.rs")
    });
    tmux.keys(pane, &["Enter"]);
    tmux.wait(pane, "the opened file", |s| s.contains("fn main() {"));
}

#[test]
fn over_ssh_follow_edit_save_quit_and_hang_up() {
    let shared = Shared::start();
    let sshd = Sshd::start();
    let scratch = tempfile::tempdir().unwrap();
    let tmux = Tmux::named("ssh");

    tmux.shell("ada", &shared.home());
    tmux.text(
        "ada",
        &format!("{}; echo ada-exited-$?", shared.join("ada")),
    );
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "ada in the session", |s| s.contains("ada (you)"));

    let bob_over_ssh = format!("{}; echo bob-exited-$?", sshd.ssh(&shared.join("bob")));
    tmux.shell("bob", &shared.home());
    tmux.text("bob", &bob_over_ssh);
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "bob in the session over ssh", |s| {
        s.contains("bob (you)")
    });
    // Everyone's round trip: the host's to the relay, ada's and bob's to the host.
    tmux.wait("bob", "a latency for everyone in the people panel", |s| {
        ["hostie", "ada", "bob"]
            .iter()
            .all(|name| latency_shown(s, name))
    });

    open_main(&tmux, "ada");
    let first = "// ada was here";
    tmux.text("ada", first);
    tmux.wait("ada", "her own text", |s| s.contains(first));

    // bob follows ada with the people picker and lands on her cursor.
    tmux.keys("bob", &["M-f"]);
    tmux.wait("bob", "the follow picker", |s| s.contains("Follow"));
    tmux.text("bob", "ada");
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "ada's text and flag, following her", |s| {
        flag_near(s, first, "ada") && s.contains("following ada")
    });
    // Her flag moves with her as she types on.
    let more = " and more";
    tmux.text("ada", more);
    tmux.wait("bob", "ada's flag after her new text", |s| {
        flag_near(s, &format!("{first}{more}"), "ada")
    });

    // Editing together: bob goes to the end of the file and types; ada sees it, flagged.
    tmux.keys("bob", &["C-End"]);
    let second = "// bob too";
    tmux.text("bob", second);
    tmux.wait("ada", "bob's text with his flag", |s| {
        flag_near(s, second, "bob")
    });

    tmux.keys("bob", &["C-s"]);
    tmux.wait("bob", "the save confirmed", |s| {
        s.contains("saved src/main.rs")
    });
    assert_eq!(
        shared.main_rs(),
        format!("{first}{more}fn main() {{\n}}\n{second}")
    );

    // Quitting gives the terminal back, over ssh as well.
    tmux.keys("bob", &["C-q"]);
    tmux.wait("bob", "the shell after quitting", |s| {
        s.contains("bob-exited-0")
    });
    assert!(
        !alternate_screen(&tmux, "bob"),
        "the pane is back on the normal screen"
    );
    assert_cooked(&tmux, "bob", scratch.path(), "after quitting over ssh");
    wait_until("bob's cotype exits after quitting", || {
        cotype_processes("bob", &shared.link).is_empty()
    });

    // Joins again; then the connection is hung up under him.
    tmux.text("bob", &bob_over_ssh);
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "bob back in the session", |s| {
        s.contains("bob (you)")
    });
    assert_eq!(
        cotype_processes("bob", &shared.link).len(),
        1,
        "bob's cotype runs on the far side"
    );
    let shell = tmux.run(&["display", "-p", "-t", "bob", "#{pane_pid}"]);
    let ssh_client = run(Path::new("pgrep"), &["-P", shell.trim(), "-x", "ssh"]);
    run(Path::new("kill"), &["-HUP", ssh_client.trim()]);
    tmux.wait("bob", "the shell after the hangup", |s| {
        s.contains("bob-exited-")
    });
    wait_until("bob's cotype exits after the hangup (no orphan)", || {
        cotype_processes("bob", &shared.link).is_empty()
    });
    // The far side cannot switch this terminal back from its alternate screen once the
    // connection is gone (no program can); ssh restores the modes, and the shell works.
    assert_cooked(&tmux, "bob", scratch.path(), "after the ssh hangup");
    tmux.wait("ada", "bob gone from the people panel", |s| {
        !s.contains("● bob")
    });
}

/// A screen session that quits with the test: killing tmux only detaches it, and its
/// windows would live on.
struct ScreenSession {
    screen: PathBuf,
    name: String,
}

impl Drop for ScreenSession {
    fn drop(&mut self) {
        let _ = Command::new(&self.screen)
            .args(["-S", &self.name, "-X", "quit"])
            .output();
    }
}

#[test]
fn in_gnu_screen_quit_and_hang_up() {
    let shared = Shared::start();
    let screen = require("screen", "screen");
    let scratch = tempfile::tempdir().unwrap();
    let tmux = Tmux::named("screen");
    let name = format!("cotype-test-{}", std::process::id());
    let _session = ScreenSession {
        screen: screen.clone(),
        name: name.clone(),
    };

    tmux.shell("outer", &shared.home());
    tmux.text("outer", &format!("{} -q -S {name}", screen.display()));
    tmux.keys("outer", &["Enter"]);
    let cy = format!("{}; echo cy-exited-$?", shared.join("cy"));
    tmux.text("outer", &cy);
    tmux.keys("outer", &["Enter"]);
    tmux.wait("outer", "cy in the session inside screen", |s| {
        s.contains("cy (you)")
    });
    tmux.wait("outer", "the host's latency", |s| {
        latency_shown(s, "hostie")
    });

    open_main(&tmux, "outer");
    let typed = "// typed in screen";
    tmux.text("outer", typed);
    tmux.wait("outer", "the typed text", |s| s.contains(typed));
    tmux.keys("outer", &["C-s"]);
    tmux.wait("outer", "the save confirmed", |s| {
        s.contains("saved src/main.rs")
    });
    assert_eq!(shared.main_rs(), format!("{typed}fn main() {{\n}}\n"));

    tmux.keys("outer", &["C-q"]);
    tmux.wait("outer", "screen's shell after quitting", |s| {
        s.contains("cy-exited-0") && !s.contains("People (")
    });
    assert_cooked(
        &tmux,
        "outer",
        scratch.path(),
        "inside screen after quitting",
    );

    // Joins again; then screen quits, hanging up the terminal cotype runs in.
    tmux.text("outer", &cy);
    tmux.keys("outer", &["Enter"]);
    tmux.wait("outer", "cy back in the session", |s| {
        s.contains("cy (you)")
    });
    assert_eq!(
        cotype_processes("cy", &shared.link).len(),
        1,
        "cy's cotype runs in screen"
    );
    // A dropped connection detaches screen and cotype carries on; reattached, it is there.
    run(&screen, &["-S", &name, "-X", "detach"]);
    tmux.wait("outer", "the outer shell while detached", |s| {
        s.contains("[detached") && !s.contains("cy (you)")
    });
    assert_eq!(
        cotype_processes("cy", &shared.link).len(),
        1,
        "cy's cotype runs on, detached"
    );
    tmux.text("outer", &format!("{} -r {name}", screen.display()));
    tmux.keys("outer", &["Enter"]);
    tmux.wait("outer", "cy's editor again after reattaching", |s| {
        s.contains("cy (you)")
    });
    run(&screen, &["-S", &name, "-X", "quit"]);
    wait_until("cy's cotype exits after screen hung up (no orphan)", || {
        cotype_processes("cy", &shared.link).is_empty()
    });
    tmux.wait("outer", "the outer shell again", |s| {
        !s.contains("People (") && !s.contains("cy (you)")
    });
    assert!(
        !alternate_screen(&tmux, "outer"),
        "screen left the outer terminal on its normal screen"
    );
    assert_cooked(&tmux, "outer", scratch.path(), "after screen quit");
}
