//! Guests with nothing but OpenSSH: a relay with `--ssh-listen`, a headless host that asks
//! before letting anyone in, and the real `ssh` client (a generated key, a throwaway
//! known_hosts) in tmux panes, pasting the command the host printed after its link.
//!
//! - a wrong token (user name) is refused by the host's SSH server before the host's user
//!   hears of it;
//! - samwise's approval prompt shows his SSH key's fingerprint; admitted, he opens a file
//!   with ctrl-p, types and saves (the host's disk has it), sees ada (a `cotype join`
//!   participant) and her flag where she types, and ctrl-q gives his shell back on the
//!   normal screen;
//! - a guest whose connection drops while waiting for approval leaves no editor thread in
//!   the host process;
//! - when the host stops, a guest still in gets its terminal back with a word;
//! - TCP taps in front of the relay's WebSocket and SSH ports (every connection of the host,
//!   of ada and of each guest's jump) record no planted marker (file text, typed text, the
//!   guest's name) nor the guest token.
//!
//! The test fails (never skips) when ssh, ssh-keygen or tmux is missing; scripts/test
//! installs them.

mod common;
#[path = "common/process.rs"]
mod process;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::tmux::{Tmux, flag_near, picker_chose};
use process::{Running, cotype, run};

const FILE_MARKER: &str = "MARKERFILE4417";
const TYPED_MARKER: &str = "MARKERTYPED8812";
const NAME_MARKER: &str = "samwise";

/// A relay on free ports with an SSH jump host; its WebSocket and SSH addresses.
fn start_relay(home: &Path) -> (Running, String, String) {
    let mut command = cotype();
    command.env("HOME", home).args([
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--ssh-listen",
        "127.0.0.1:0",
    ]);
    let mut relay = Running::spawn(command);
    let listening = relay.stderr_line_with("listening on ws://");
    let address = listening.rsplit("ws://").next().unwrap().trim().to_owned();
    let ssh = relay.stderr_line_with("SSH jump host on ");
    let ssh = ssh["SSH jump host on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (relay, address, ssh)
}

/// A TCP forwarder in front of `target` that records every byte both ways.
struct TcpTap {
    address: String,
    recorded: Arc<Mutex<Vec<u8>>>,
}

impl TcpTap {
    fn start(target: &str) -> TcpTap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let (target, tape) = (target.to_owned(), recorded.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let tape = tape.clone();
                    std::thread::spawn(move || {
                        let mut buffer = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buffer) {
                            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                                break;
                            }
                            tape.lock().unwrap().extend_from_slice(&buffer[..n]);
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        TcpTap { address, recorded }
    }

    fn contains(&self, needle: &str) -> bool {
        let tape = self.recorded.lock().unwrap();
        tape.windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

/// An ssh_config for the jump connection (the printed command pins the host's key
/// itself): the generated key, and the relay's key accepted into a throwaway file.
fn ssh_config(home: &Path) -> (PathBuf, String) {
    let key = home.join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen must be installed (scripts/test installs openssh-client)");
    assert!(made.success());
    let listed = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    let fingerprint = String::from_utf8_lossy(&listed.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
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
    .unwrap();
    (config, fingerprint)
}

/// The participant id in a console line `NAME (id N) asks to join: …`.
fn asking_id(line: &str) -> String {
    let at = line.find("(id ").expect("an id in the prompt") + 4;
    line[at..].split(')').next().unwrap().to_owned()
}

/// Threads of `pid` running a guest's editor (named `cotype-ssh-guest`, cut to 15 bytes).
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

fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The host's `ssh: …` line with the jump through `tap` instead of the relay's port.
fn through_tap(command: &str, tap: &TcpTap) -> String {
    let jump = command
        .split_whitespace()
        .skip_while(|word| *word != "-J")
        .nth(1)
        .expect("a -J jump in the command");
    command.replacen(jump, &tap.address, 1)
}

#[test]
fn a_guest_with_only_ssh_is_approved_by_key_edits_saves_and_sees_others() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("notes.txt"), format!("{FILE_MARKER} first\n")).unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let (_relay, relay_address, ssh_address) = start_relay(&home);
    let ws_tap = TcpTap::start(&relay_address);
    let ssh_tap = TcpTap::start(&ssh_address);
    let mut host_command = cotype();
    host_command
        .env("HOME", &home)
        .arg("host")
        .arg(&project)
        .args([
            "--headless",
            "--relay",
            &ws_tap.address,
            "--name",
            "hostie",
            "--approve",
            "ask",
        ]);
    let (mut host, mut console) = Running::spawn_with_input(host_command);
    let link = host.next_stdout_line();
    assert!(link.contains('#'), "the host printed no link: {link}");
    let ssh_line = host.next_stdout_line();
    let command = ssh_line
        .strip_prefix("ssh: ")
        .unwrap_or_else(|| panic!("the host printed no ssh command after its link: {ssh_line}"));
    assert!(
        command.starts_with("ssh -t -J 127.0.0.1:") && command.contains("KnownHostsCommand"),
        "{command}"
    );
    let command = through_tap(command, &ssh_tap);
    let (config, fingerprint) = ssh_config(&home);
    let (_, target) = command.rsplit_once(' ').unwrap();
    let (token, session) = target.split_once('@').unwrap();

    // A wrong token: refused by the host's SSH server, and the host's user hears nothing.
    let last = if token.ends_with('0') { "1" } else { "0" };
    let wrong_token = format!("{}{last}", &token[..token.len() - 1]);
    let wrong = command.replace(target, &format!("{wrong_token}@{session}"));
    let refused = run(
        Command::new("sh").arg("-c").arg(format!(
            "{} -F {} -o BatchMode=yes -o ConnectTimeout=20 true",
            wrong.replacen("ssh -t", "ssh -T", 1),
            config.display()
        )),
        b"",
    );
    assert!(
        !refused.status.success() && refused.stderr.contains("Permission denied"),
        "a wrong token must be refused: {:?} {}",
        refused.status,
        refused.stderr
    );
    let heard = host.stderr_so_far();
    assert!(
        !heard.iter().any(|line| line.contains("asks to join")),
        "no prompt for a refused guest: {heard:?}"
    );

    // samwise pastes the command (with his ssh_config and his name) into a shell.
    let tmux = Tmux::named("ssh-guest");
    let ssh_guest = |pane: &str, name: &str| {
        tmux.shell(pane, &home);
        let pasted = command.replacen(
            "ssh -t",
            &format!(
                "ssh -t -F {} -o SetEnv=COTYPE_NAME={name}",
                config.display()
            ),
            1,
        );
        tmux.text(pane, &format!("{pasted}; echo {pane}-exited-$?"));
        tmux.keys(pane, &["Enter"]);
        // Asked on entry, as the command did not say: the default keymap.
        tmux.wait(pane, "the keymap question", |s| {
            s.contains("Keys: enter for the default keymap, v for vim")
        });
        tmux.keys(pane, &["Enter"]);
    };
    ssh_guest("sam", NAME_MARKER);
    tmux.wait("sam", "the wait for approval", |s| {
        s.contains("waiting for the host")
    });
    let prompt = host.stderr_line_with("asks to join");
    assert!(
        prompt.starts_with(&format!("{NAME_MARKER} (over SSH, key {fingerprint})")),
        "the prompt shows the guest's key: {prompt} (key {fingerprint})"
    );
    writeln!(console, "admit {}", asking_id(&prompt)).unwrap();
    tmux.wait("sam", "the editor with samwise in the people panel", |s| {
        s.contains(&format!("{NAME_MARKER} (you)"))
    });

    // ada joins with cotype (through the same tap).
    tmux.shell("ada", &home);
    let bin = env!("CARGO_BIN_EXE_cotype");
    tmux.text(
        "ada",
        &format!("COTYPE_LINK='{link}' {bin} join --name ada; echo ada-exited-$?"),
    );
    tmux.keys("ada", &["Enter"]);
    let prompt = host.stderr_line_with("asks to join");
    assert!(prompt.starts_with("ada (id "), "{prompt}");
    writeln!(console, "admit {}", asking_id(&prompt)).unwrap();
    tmux.wait("ada", "ada's editor", |s| s.contains("ada (you)"));
    tmux.wait("sam", "ada in samwise's people panel", |s| {
        s.contains("ada")
    });

    tmux.keys("sam", &["C-p"]);
    tmux.wait("sam", "the file picker", |s| s.contains("Open file"));
    tmux.text("sam", "notes");
    tmux.wait("sam", "the match in the picker", |s| {
        picker_chose(s, "notes.txt")
    });
    tmux.keys("sam", &["Enter"]);
    tmux.wait("sam", "the opened file", |s| s.contains(FILE_MARKER));
    let typed = format!("{TYPED_MARKER} over ssh ");
    tmux.text("sam", &typed);
    tmux.wait("sam", "his own text", |s| s.contains(&typed));
    tmux.keys("sam", &["C-s"]);
    tmux.wait("sam", "the save confirmed", |s| {
        s.contains("saved notes.txt")
    });
    let on_disk = std::fs::read_to_string(project.join("notes.txt")).unwrap();
    assert_eq!(on_disk, format!("{typed}{FILE_MARKER} first\n"));

    // ada opens the file at the end and types: samwise sees her text and her flag there.
    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "ada's picker", |s| s.contains("Open file"));
    tmux.text("ada", "notes");
    tmux.wait("ada", "the match", |s| picker_chose(s, "notes.txt"));
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "samwise's text", |s| s.contains(TYPED_MARKER));
    tmux.keys("ada", &["C-End"]);
    tmux.text("ada", "ada-was-here");
    tmux.wait("sam", "ada's text and flag", |s| {
        flag_near(s, "ada-was-here", "ada")
    });

    // ctrl-q ends the guest's editor and its SSH session; the shell is back.
    tmux.keys("sam", &["C-q"]);
    tmux.wait("sam", "the shell after quitting", |s| {
        s.contains("sam-exited-0")
    });
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "sam", "#{alternate_on}"])
            .trim(),
        "0",
        "the pane is back on the normal screen"
    );
    wait_until("samwise's editor thread to end", || {
        guest_threads(host.pid()) == 0
    });

    // A guest who hangs up while waiting for approval leaves nothing running.
    ssh_guest("pip", "pip");
    host.stderr_line_with("pip (over SSH");
    assert_eq!(
        guest_threads(host.pid()),
        1,
        "pip's editor waits for approval"
    );
    tmux.run(&["kill-session", "-t", "pip"]);
    wait_until("pip's editor thread to end", || {
        guest_threads(host.pid()) == 0
    });

    // What the relay (and the jump connection) carried: ciphertext only.
    assert!(
        ssh_tap.contains("SSH-2.0-"),
        "the jump went through the tap"
    );
    assert!(ws_tap.contains("HTTP/1.1"), "the host went through the tap");
    for tap in [&ws_tap, &ssh_tap] {
        for secret in [
            FILE_MARKER,
            TYPED_MARKER,
            NAME_MARKER,
            "ada-was-here",
            token,
        ] {
            assert!(!tap.contains(secret), "the relay saw {secret}");
        }
    }

    // The host stops (SIGTERM) while zoe is in: her terminal is given back with a word.
    ssh_guest("zoe", "zoe");
    let prompt = host.stderr_line_with("zoe (over SSH");
    writeln!(console, "admit {}", asking_id(&prompt)).unwrap();
    tmux.wait("zoe", "zoe's editor", |s| s.contains("zoe (you)"));
    host.signal(15);
    tmux.wait("zoe", "the shell after the host left", |s| {
        s.contains("the host ended the session") && s.contains("zoe-exited-")
    });
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "zoe", "#{alternate_on}"])
            .trim(),
        "0",
        "zoe's pane is back on the normal screen"
    );
}

/// Runs `command` (the host's `ssh: …` line) without a terminal, `true` as the remote
/// command: the host's SSH server authenticates, then refuses anything but the editor.
fn try_ssh(command: &str, config: &Path) -> process::Finished {
    run(
        Command::new("sh").arg("-c").arg(format!(
            "{} -F {} -o BatchMode=yes -o ConnectTimeout=20 true",
            command.replacen("ssh -t", "ssh -T", 1),
            config.display()
        )),
        b"",
    )
}

#[test]
fn a_listed_key_gets_in_without_asking_and_a_removal_changes_the_command() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("notes.txt"), "hello\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (config, _) = ssh_config(&home);
    let listed = home.join("authorized_keys");
    std::fs::copy(home.join("id_ed25519.pub"), &listed).unwrap();

    let (_relay, relay_address, _) = start_relay(&home);
    let mut host_command = cotype();
    host_command
        .env("HOME", &home)
        .arg("host")
        .arg(&project)
        .args([
            "--headless",
            "--relay",
            &relay_address,
            "--approve",
            "ask",
            "--ssh-authorized-keys",
        ]);
    host_command.arg(&listed);
    let (mut host, mut console) = Running::spawn_with_input(host_command);
    host.next_stdout_line();
    let command = host.next_stdout_line().replacen("ssh: ", "", 1);

    let tmux = Tmux::named("ssh-listed");
    tmux.shell("sam", &home);
    tmux.text(
        "sam",
        &command.replacen("ssh -t", &format!("ssh -t -F {}", config.display()), 1),
    );
    tmux.keys("sam", &["Enter"]);
    // No name and no keymap in the command: both asked on entry.
    tmux.wait("sam", "the name question", |s| {
        s.contains("Your name (enter: ssh-")
    });
    tmux.text("sam", "sam");
    tmux.keys("sam", &["Enter"]);
    tmux.wait("sam", "the keymap question", |s| s.contains("v for vim"));
    tmux.text("sam", "v");
    tmux.wait("sam", "the editor, without anyone asked", |s| {
        s.contains("sam (you)")
    });
    tmux.keys("sam", &["C-p"]);
    tmux.wait("sam", "the file picker", |s| s.contains("Open file"));
    tmux.text("sam", "notes");
    tmux.wait("sam", "the match in the picker", |s| {
        picker_chose(s, "notes.txt")
    });
    tmux.keys("sam", &["Enter"]);
    tmux.wait("sam", "vim's normal mode", |s| {
        s.contains("hello") && s.contains("NORMAL")
    });
    let joined = host.stderr_line_with("joined as");
    let heard = host.stderr_so_far();
    assert!(
        !heard.iter().any(|line| line.contains("asks to join")),
        "a listed key is not asked about: {heard:?}"
    );

    // The host removes sam: keys rotate, a new link and a new ssh command follow.
    writeln!(console, "remove {}", asking_id(&joined)).unwrap();
    tmux.wait("sam", "the removal", |s| !s.contains("sam (you)"));
    host.stdout_line_with("#");
    let renewed = host.stdout_line_with("ssh: ").replacen("ssh: ", "", 1);
    assert_ne!(renewed, command, "a removal changes the token");
    let old = try_ssh(&command, &config);
    assert!(
        old.stderr.contains("Permission denied"),
        "the old command is refused: {}",
        old.stderr
    );
    let new = try_ssh(&renewed, &config);
    assert!(
        !new.stderr.contains("Permission denied"),
        "the new command authenticates: {}",
        new.stderr
    );
    // Authenticated, the host's SSH server still forwards nowhere (`-W`: a direct-tcpip
    // channel to the relay's own port, from the host's machine).
    let forward = run(
        Command::new("sh").arg("-c").arg(format!(
            "{} -F {} -o BatchMode=yes -o ConnectTimeout=20 </dev/null",
            renewed.replacen("ssh -t", &format!("ssh -W {relay_address}"), 1),
            config.display()
        )),
        b"",
    );
    assert!(
        !forward.status.success() && forward.stderr.contains("forwarding failed"),
        "no forwarding through the host: {:?} {}",
        forward.status,
        forward.stderr
    );
}

#[test]
fn the_hosts_editor_shows_the_ssh_command_on_the_session_card() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("notes.txt"), "hello\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (_relay, relay_address, _) = start_relay(&home);
    let tmux = Tmux::named("ssh-card");
    tmux.shell("host", &home);
    let bin = env!("CARGO_BIN_EXE_cotype");
    tmux.text(
        "host",
        &format!("{bin} host {} --relay {relay_address}", project.display()),
    );
    tmux.keys("host", &["Enter"]);
    let card = tmux.wait("host", "the session card with the ssh command", |s| {
        s.contains("nothing but OpenSSH") && s.contains("ssh: ssh -t -J 127.0.0.1:")
    });
    assert!(card.contains("Share this link"), "{card}");
    assert!(
        card.contains("Guests' ssh shows this host key: SHA256:"),
        "{card}"
    );
    // `s` copies the command as one line (the card wraps it), through OSC 52.
    tmux.run(&["set", "-g", "set-clipboard", "on"]);
    tmux.keys("host", &["s"]);
    tmux.wait("host", "the copy confirmed", |s| {
        s.contains("copied the ssh command")
    });
    let copied = tmux.run(&["show-buffer"]);
    assert!(
        copied.starts_with("ssh -t -J 127.0.0.1:") && !copied.contains('\n'),
        "{copied:?}"
    );
    let target = copied.rsplit(' ').next().unwrap();
    assert_eq!(
        target
            .split_once('@')
            .map(|(user, session)| (user.len(), session.len())),
        Some((32, 32))
    );
}

#[test]
fn a_relay_cluster_refuses_ssh_guests_at_start() {
    let refused = run(
        cotype().args([
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--ssh-listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--redis",
            "redis://127.0.0.1:1",
        ]),
        b"",
    );
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("--ssh-listen") && refused.stderr.contains("--redis"),
        "{}",
        refused.stderr
    );
}
