//! The relay over TLS, as someone running it on-premises would: `cotype relay` with a
//! certificate from a private CA, a host and participants that trust that CA through
//! `COTYPE_CA_CERT`, and the same participants refused when they do not. Also the relay's
//! Prometheus endpoint while a session is open.

mod common;
#[path = "common/process.rs"]
mod process;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::write_tree;
use process::{Running, cotype, run};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// A throwaway CA and a certificate it issued for `localhost`, as PEM files.
struct Certificates {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    relay_cert: PathBuf,
    relay_key: PathBuf,
}

fn certificates() -> Certificates {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cotype test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let relay_key = KeyPair::generate().unwrap();
    let relay_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&relay_key, &ca)
        .unwrap();

    let paths = Certificates {
        ca: dir.path().join("ca.pem"),
        relay_cert: dir.path().join("relay.pem"),
        relay_key: dir.path().join("relay-key.pem"),
        _dir: dir,
    };
    std::fs::write(&paths.ca, ca.pem()).unwrap();
    std::fs::write(&paths.relay_cert, relay_cert.pem()).unwrap();
    std::fs::write(&paths.relay_key, relay_key.serialize_pem()).unwrap();
    paths
}

/// A TLS relay with metrics; returns it with its port and its metrics address.
fn start_tls_relay(certs: &Certificates) -> (Running, u16, String) {
    let mut command = cotype();
    command
        .args([
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ])
        .arg("--tls-cert")
        .arg(&certs.relay_cert)
        .arg("--tls-key")
        .arg(&certs.relay_key);
    let mut relay = Running::spawn(command);
    let listening = relay.stderr_line_with("cotype relay listening on ");
    let address = listening
        .rsplit_once("wss://")
        .unwrap_or_else(|| panic!("the relay announces wss://: {listening:?}"))
        .1;
    let port: u16 = address
        .rsplit_once(':')
        .and_then(|(_, port)| port.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {listening:?}"));
    let metrics_line = relay.stderr_line_with("metrics on http://");
    let metrics = metrics_line
        .split_once("http://")
        .and_then(|(_, rest)| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {metrics_line:?}"))
        .to_string();
    (relay, port, metrics)
}

fn start_host_over_tls(dir: &Path, port: u16, ca: &Path) -> (Running, String) {
    let mut command = cotype();
    command
        .arg("host")
        .arg(dir)
        .args([
            "--headless",
            "--relay",
            &format!("https://localhost:{port}"),
        ])
        .env("COTYPE_CA_CERT", ca);
    let mut host = Running::spawn(command);
    let link = host.next_stdout_line();
    (host, link)
}

fn get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(process::DEADLINE))
        .expect("a read timeout can be set");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn ls_and_cat_work_over_tls_with_the_relays_ca_and_fail_without_it() {
    let certs = certificates();
    let dir = tempfile::tempdir().unwrap();
    let contents = "pub fn answer() -> u32 {\r\n    42 // \u{2713}\r\n}\n";
    write_tree(
        dir.path(),
        &[("src/lib.rs", contents.as_bytes()), ("notes.md", b"tls\n")],
    );
    let (_relay, port, metrics) = start_tls_relay(&certs);
    let (_host, link) = start_host_over_tls(dir.path(), port, &certs.ca);
    assert!(
        link.starts_with(&format!("https://localhost:{port}/s/")),
        "an https link: {link:?}"
    );
    let secret = link.split_once('#').unwrap().1;

    let listed = run(
        cotype()
            .args(["ls", &link])
            .env("COTYPE_CA_CERT", &certs.ca),
        b"",
    );
    assert_eq!(listed.code(), Some(0), "stderr: {}", listed.stderr);
    assert_eq!(listed.stdout_text(), "notes.md\nsrc/lib.rs\n");

    let read = run(
        cotype()
            .args(["cat", &link, "src/lib.rs"])
            .env("COTYPE_CA_CERT", &certs.ca),
        b"",
    );
    assert_eq!(read.code(), Some(0), "stderr: {}", read.stderr);
    assert_eq!(read.stdout, contents.as_bytes());

    // Without the CA, the relay's certificate is unknown: the client refuses to talk.
    for args in [vec!["ls", &link], vec!["cat", &link, "src/lib.rs"]] {
        let refused = run(cotype().args(&args), b"");
        let line = refused.assert_failure(3, "cannot reach the relay", secret);
        assert!(
            line.to_lowercase().contains("certificate"),
            "the reason names the certificate: {line:?}"
        );
    }

    let response = get(&metrics, "/metrics");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "metrics answer: {response:?}"
    );
    assert!(
        response
            .lines()
            .any(|l| l == "cotype_relay_sessions_active 1"),
        "one session is open while the host runs:\n{response}"
    );
    assert!(
        response.contains("# TYPE cotype_relay_sessions_active gauge"),
        "Prometheus text format:\n{response}"
    );
    assert!(!response.contains(secret));
    assert!(get(&metrics, "/").starts_with("HTTP/1.1 404"));
}

#[test]
fn a_host_that_does_not_trust_the_relay_does_not_start() {
    let certs = certificates();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"a\n")]);
    let (_relay, port, _metrics) = start_tls_relay(&certs);
    let refused = run(
        cotype().arg("host").arg(dir.path()).args([
            "--headless",
            "--relay",
            &format!("https://localhost:{port}"),
        ]),
        b"",
    );
    // Exit code 3, as for any relay the host cannot reach.
    let line = refused.assert_failure(3, "cannot reach the relay", "");
    assert!(
        line.to_lowercase().contains("certificate"),
        "the reason names the certificate: {line:?}"
    );
}

#[test]
fn connections_that_never_finish_the_tls_handshake_are_closed() {
    let certs = certificates();
    let (mut relay, port, metrics) = start_tls_relay(&certs);
    // Ten say nothing at all; ten start a TLS record and stop.
    let mut silent: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    for stream in &mut silent[10..] {
        stream.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
    }
    let started = std::time::Instant::now();
    for mut stream in silent {
        let left = std::time::Duration::from_secs(40).saturating_sub(started.elapsed());
        stream
            .set_read_timeout(Some(left.max(std::time::Duration::from_millis(1))))
            .unwrap();
        let mut buf = [0u8; 64];
        let closed = loop {
            match stream.read(&mut buf) {
                Ok(0) => break true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break false;
                }
                Err(_) => break true,
            }
        };
        assert!(
            closed,
            "a connection that never finished its TLS handshake is still open after 40 s"
        );
    }
    assert!(!relay.has_exited());
    // The relay counts a timeout as it closes the connection, which the reader above may
    // see first: wait for the count, not for a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = get(&metrics, "/metrics");
        if text.contains("cotype_relay_handshake_timeouts_total 20") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
