//! A host paused past the relay's idle timeout (a laptop lid closed, SIGSTOP) comes back:
//! the relay dropped its connection, and on waking the host resumes the session (or
//! creates it again if the relay gave up on it), so the link keeps working. The relay runs
//! in this process with short timeouts; the host is the real binary, stopped with SIGSTOP.

mod common;
#[path = "common/process.rs"]
mod process;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cotype::relay::RelayConfig;

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Pauses the host past the relay's idle timeout, then past its grace too: both times the
/// host comes back and an edit through the same link reaches its disk.
#[test]
fn a_host_paused_past_the_relays_timeouts_comes_back_on_the_same_link() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
    let relay = common::relay_on_thread(RelayConfig {
        idle_timeout: Duration::from_secs(6),
        host_grace: Duration::from_secs(4),
        ..RelayConfig::default()
    });
    let (mut host, link) = process::start_host(dir.path(), &["--relay", &relay.to_string()]);

    let edit = |text: &str| {
        process::run(
            process::cotype().args([
                "edit", &link, "a.txt", "--at", "1:1", "--insert", text, "--save",
            ]),
            b"",
        )
    };
    let first = edit("1");
    assert_eq!(first.code(), Some(0), "{}", first.stderr);

    // Stopped past the idle timeout (6 s) and the grace (4 s): the relay has dropped the
    // host and ended the session.
    signal(host.pid(), "STOP");
    std::thread::sleep(Duration::from_secs(13));
    signal(host.pid(), "CONT");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let second = loop {
        let second = edit("2");
        if second.code() == Some(0) || std::time::Instant::now() > deadline {
            break second;
        }
        assert!(
            !host.has_exited(),
            "the host exited after waking: {}",
            second.stderr
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(second.code(), Some(0), "{}", second.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "21a\n"
    );
    // Dropping `host` kills it.
}

/// A host whose relay is gone for good ends after trying for its resume window, and the
/// edits nobody saved are kept in its data folder, named in its last words.
#[test]
fn a_host_that_loses_its_relay_for_good_keeps_the_unsaved_edits() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut relay = Command::new(env!("CARGO_BIN_EXE_cotype"))
        .args(["relay", "--listen", &address])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(relay.stderr.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let mut host = Command::new(env!("CARGO_BIN_EXE_cotype"))
        .args(["host", "--headless", "--relay", &address])
        .arg(dir.path())
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut link = String::new();
    BufReader::new(host.stdout.take().unwrap())
        .read_line(&mut link)
        .unwrap();
    let link = link.trim().to_owned();
    let session = cotype::link::Link::parse(&link, false).unwrap().session;
    let unsaved = process::run(
        process::cotype().args([
            "edit", &link, "a.txt", "--at", "1:1", "--insert", "unsaved ",
        ]),
        b"",
    );
    assert_eq!(unsaved.code(), Some(0), "{}", unsaved.stderr);

    relay.kill().unwrap();
    relay.wait().unwrap();
    // The host tries for 60 s; this waits for it to give up, not for a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while host.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the host never gave up"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut host.stderr.take().unwrap(), &mut stderr).unwrap();
    let folder = home
        .path()
        .join(".local/share/cotype/sessions")
        .join(session.to_string());
    assert!(
        stderr.contains("kept in") && stderr.contains(&folder.display().to_string()),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("a.txt")).unwrap(),
        "unsaved a\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "a\n"
    );
}
