//! `cat` of a 100 MiB file through the relay against the local limit, in the same run.
//!
//! Through the relay: an in-process relay on loopback, a host on a temporary folder, and a
//! participant streaming the file with `Participant::read_file` into a sink — the same
//! path `cotype cat` takes (host reads and seals 256 KiB chunks, the relay routes them,
//! the participant opens them, a few chunks ahead).
//! The limit: read the file in the same chunks, seal and open each locally, write into a
//! sink; no network, no relay, one core. Target: within 3x of the limit.
//!
//! Peak memory: the real `cotype cat - PATH > /dev/null` as a child process against the
//! same host; its VmHWM (peak resident set) is read from /proc while it runs. Target:
//! under 2x the file size. Rounds alternate; the median round counts.
//!
//! Run: `cargo bench --bench cat`. The last line is one JSON object of the figures.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a short smoke run
//! on a 1 MiB file.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cotype::client::Participant;
use cotype::crypto::{ReceivingKeys, SessionKeys};
use cotype::host::{HostOptions, HostSession};
use cotype::link::{Secret, SessionId};
use cotype::protocol::FILE_CHUNK_LEN;
use cotype::relay::RelayConfig;

const MIB: usize = 1024 * 1024;
const FILE: &str = "big.txt";

/// Text lines with no short period (a generator, not a repeated block), so nothing about
/// the contents can flatter the figures.
fn write_text_file(path: &Path, len: usize) {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ 0123456789 {}();,.=\n";
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut contents = Vec::with_capacity(len);
    while contents.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        contents.push(alphabet[(state % alphabet.len() as u64) as usize]);
    }
    std::fs::write(path, contents).expect("write the bench file");
}

/// Read, seal, sign, open and verify every chunk locally (the host signs what it sends):
/// what the bytes cost without any network.
fn local_limit(path: &Path) -> (f64, u64) {
    let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
    let identity = cotype::crypto::HostIdentity::generate();
    let host_key = identity.public();
    let mut sender = keys.sending_key(0);
    let mut receiver = ReceivingKeys::new(0, &keys);
    let instance = sender.instance();
    let header = [3u8; 40];
    let mut sink = std::io::sink();
    let mut buffer = vec![0u8; FILE_CHUNK_LEN];
    let started = Instant::now();
    let mut file = File::open(path).expect("open the bench file");
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < buffer.len() {
            match file.read(&mut buffer[filled..]).expect("read") {
                0 => break,
                read => filled += read,
            }
        }
        if filled == 0 {
            break;
        }
        let counter = sender.next_counter().expect("counter space");
        let signature = identity.sign(&header, &buffer[..filled]);
        let sealed = sender.seal(
            cotype::protocol::HOST_ID,
            counter,
            &header,
            &buffer[..filled],
        );
        let opened = receiver
            .open(
                0,
                cotype::protocol::HOST_ID,
                &instance,
                counter,
                &header,
                &sealed,
                |plaintext| host_key.verify(&header, plaintext, &signature),
            )
            .expect("opens");
        sink.write_all(&opened).expect("sink");
        total += opened.len() as u64;
    }
    (started.elapsed().as_secs_f64(), total)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `cotype cat - FILE > /dev/null` and returns (seconds, peak resident KiB).
fn child_cat(link: &str) -> (f64, u64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cotype"))
        .args(["cat", "-", FILE])
        .env_remove("COTYPE_LINK")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start cotype cat");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    writeln!(stdin, "{link}").expect("write the link");
    drop(stdin);
    let mut peak = 0;
    let status = loop {
        // VmHWM only grows, so the last reading before exit is the peak (to within the
        // final few milliseconds, when the file is already written).
        if let Some(hwm) = vm_hwm_kib(pid) {
            peak = peak.max(hwm);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.success(), "cotype cat failed: {status}");
    (started.elapsed().as_secs_f64(), peak)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (size, rounds) = if full { (100 * MIB, 3) } else { (MIB, 1) };
    let dir = tempfile::tempdir().expect("temp folder");
    let path = dir.path().join(FILE);
    write_text_file(&path, size);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let link = runtime.block_on(async {
        let (address, _relay) =
            cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), RelayConfig::default())
                .await
                .expect("relay starts");
        let session = HostSession::start(HostOptions {
            root: dir.path().to_path_buf(),
            relay: address.to_string(),
            insecure: false,
            hide: Vec::new(),
            name: "bench host".into(),
            approval: Default::default(),
            trust_project: false,
        })
        .await
        .expect("host starts");
        let link = session.link.clone();
        tokio::spawn(session.run());
        link
    });

    let (mut relayed, mut limit, mut child_secs, mut peaks) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let secs = runtime.block_on(async {
            let mut participant = Participant::join(&link, "bench").await.expect("join");
            let started = Instant::now();
            let written = participant
                .read_file(FILE, &mut std::io::sink())
                .await
                .expect("cat through the relay");
            let secs = started.elapsed().as_secs_f64();
            assert_eq!(written as usize, size, "every byte arrived");
            participant.leave().await;
            secs
        });
        relayed.push(secs);
        let (secs, total) = local_limit(&path);
        assert_eq!(total as usize, size);
        limit.push(secs);
        let (secs, peak) = child_cat(&link.to_url());
        child_secs.push(secs);
        peaks.push(peak as f64);
    }
    let mib = size as f64 / MIB as f64;
    let (relayed, limit, child) = (median(relayed), median(limit), median(child_secs));
    let peak_kib = peaks.iter().copied().fold(0.0, f64::max);
    let peak_mib = peak_kib / 1024.0;
    let ratio = relayed / limit;
    let peak_vs_file = peak_mib / mib;
    println!(
        "cat {mib:.0} MiB: through the relay {relayed:.3} s ({:.0} MiB/s); local read+seal+open {limit:.3} s ({:.0} MiB/s): {ratio:.2}x the limit (target <= 3x)",
        mib / relayed,
        mib / limit
    );
    println!(
        "`cotype cat - {FILE} > /dev/null` as a process: {child:.3} s, peak resident {peak_mib:.1} MiB = {peak_vs_file:.3}x the file (target < 2x)"
    );
    println!("({rounds} rounds; median time, largest peak)");
    println!(
        "{{\"bench\":\"cat\",\"file_mib\":{mib:.0},\"rounds\":{rounds},\"relay_secs\":{relayed:.3},\"limit_secs\":{limit:.3},\
         \"ratio_to_limit\":{ratio:.3},\"cli_secs\":{child:.3},\"cli_peak_rss_mib\":{peak_mib:.1},\
         \"peak_vs_file\":{peak_vs_file:.4},\"full\":{full}}}"
    );
}
