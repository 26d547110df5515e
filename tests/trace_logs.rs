//! `COTYPE_LOG=trace` must not write anything derived from the link's secret: the
//! WebSocket and TLS crates log whole frames at trace level, and the `Join` frame carries
//! the admission token. The real host (with its embedded relay) and a real `cotype ls`
//! run with trace logging on stderr, and their logs are searched for the secret and the
//! token in every form a log line could print bytes in.

#[path = "common/process.rs"]
mod process;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cotype::crypto::SessionKeys;
use cotype::link::Link;

/// The forms a 32-byte value takes in a log: hex, Rust's `Debug` of a byte slice (a
/// prefix is enough), and base64.
fn spellings(bytes: &[u8]) -> Vec<String> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let debug = bytes[..8]
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        hex,
        debug,
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ]
}

#[test]
fn trace_logs_hold_no_secret_and_no_admission_token() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "notes\n").unwrap();
    let mut host = process::cotype()
        .args(["host", "--headless"])
        .arg(dir.path())
        .env("COTYPE_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(host.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    let stderr = host.stderr.take().unwrap();
    let host_log = std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.push_str(&line);
            log.push('\n');
        }
        log
    });

    let ls = process::run(
        process::cotype()
            .args(["ls", &url])
            .env("COTYPE_LOG", "trace"),
        b"",
    );
    assert_eq!(ls.code(), Some(0), "{}", ls.stderr);
    assert!(ls.stdout_text().contains("notes.txt"));

    // Let the host log the join, then end it.
    std::thread::sleep(Duration::from_millis(300));
    let _ = host.kill();
    let _ = host.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !host_log.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let host_log = host_log.join().unwrap();
    assert!(
        host_log.lines().count() > 20 && !ls.stderr.is_empty(),
        "trace logging was on: {} host lines, {} client lines",
        host_log.lines().count(),
        ls.stderr.lines().count()
    );

    let link = Link::parse(&url, false).unwrap();
    let keys = SessionKeys::derive(&link.secret, &link.session);
    let secret_text = url.split('#').nth(1).unwrap().to_owned();
    let mut secrets = spellings(&keys.admission_token());
    secrets.push(secret_text);
    for (who, log) in [("host and relay", &host_log), ("client", &ls.stderr)] {
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "the {who} log holds a secret-derived value ({} chars)",
                secret.len()
            );
        }
    }
}
