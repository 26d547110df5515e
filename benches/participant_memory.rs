//! Memory: a participant holding a 100 MB file open stays under twice the file size.
//!
//! The host and the participant run as child processes (`cotype host DIR --headless` and
//! `cotype edit LINK big.txt --at 1:1 --insert x`), so each one's memory is its own; the
//! participant's peak resident set (VmHWM in /proc/PID/status) is sampled while it opens
//! the file, makes the edit and waits for the host's acknowledgement. The host's resident
//! set is read once the edit is done (it holds the document too).
//!
//! Baseline, in the same run: the same file loaded into a `ropey::Rope` in this process,
//! measured as the growth of this process's resident set: what the text itself costs in
//! the data structure both sides keep it in.
//!
//! Run: `cargo bench --bench participant_memory`; `COTYPE_BIN=path/to/cotype` runs another
//! build of cotype (an older commit, to compare) under the same bench. Without `--bench` (as `cargo test
//! --all-targets` runs it) the file is 4 MB. Last line: one JSON object.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MB: f64 = 1024.0 * 1024.0;

/// (VmHWM, VmRSS) in bytes, or `None` once the process is gone (or a zombie).
fn memory_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn write_file(path: &Path, size: usize) {
    let mut out = BufWriter::new(File::create(path).expect("creates the big file"));
    let mut written = 0;
    let mut i = 0u64;
    while written < size {
        let line = format!("    let value_{i:08} = compute(&input, {i:08}); // generated line\n");
        out.write_all(line.as_bytes()).expect("writes the big file");
        written += line.len();
        i += 1;
    }
    out.flush().expect("writes the big file");
}

/// The file in pieces of the size the host sends (`DocumentText`, 128 Ki chars; the
/// file is ASCII so chars are bytes).
fn pieces(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("reads the big file");
    text.as_bytes()
        .chunks(128 * 1024)
        .map(|c| String::from_utf8(c.to_vec()).expect("ASCII"))
        .collect()
}

/// Growth of this process's resident set while `load` runs; what it returns is kept
/// alive until the caller drops it, so freed memory is not reused by the next
/// measurement.
fn growth<T>(load: impl FnOnce() -> T) -> (u64, T) {
    let before = memory_of(std::process::id()).expect("our own status").1;
    let kept = load();
    let after = memory_of(std::process::id()).expect("our own status").1;
    (after.saturating_sub(before), kept)
}

/// The cotype binary to measure: this build's, or `COTYPE_BIN`.
fn cotype_bin() -> String {
    std::env::var("COTYPE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cotype").to_owned())
}

struct Host {
    child: Child,
    link: String,
}

fn start_host(dir: &Path) -> Host {
    let mut child = Command::new(cotype_bin())
        .args([
            "host",
            dir.to_str().expect("a UTF-8 temp path"),
            "--headless",
        ])
        .arg("--name")
        .arg("bench-host")
        // The console reads commands from stdin; keep it open and silent.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts `cotype host`");
    let mut link = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut link)
        .expect("reads the link");
    Host {
        child,
        link: link.trim().to_string(),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full { 100 << 20 } else { 4 << 20 };
    let dir = tempfile::tempdir().expect("a temp folder");
    let path = dir.path().join("big.txt");
    write_file(&path, size);
    let file_size = std::fs::metadata(&path).expect("the big file").len();

    // Baselines, in this process: the rope alone; the way the participant's session
    // loads a document today (pieces appended to a String, then `Rope::from_str` while
    // the String is alive); and the same pieces fed to a `RopeBuilder`.
    let (rope_bytes, rope) = growth(|| {
        ropey::Rope::from_reader(BufReader::new(File::open(&path).expect("opens")))
            .expect("reads the big file")
    });
    let held = pieces(&path);
    let (string_then_rope_bytes, kept) = {
        let pieces = &held;
        growth(|| {
            let mut text = String::new();
            for piece in pieces {
                text.push_str(piece);
            }
            let rope = ropey::Rope::from_str(&text);
            (text, rope)
        })
    };
    let (builder_bytes, built) = {
        let pieces = &held;
        growth(|| {
            let mut builder = ropey::RopeBuilder::new();
            for piece in pieces {
                builder.append(piece);
            }
            builder.finish()
        })
    };
    assert_eq!(built.len_bytes(), rope.len_bytes());
    drop((rope, kept, built, held));

    let mut host = start_host(dir.path());
    let host_idle = memory_of(host.child.id()).expect("the host runs").1;
    let started = Instant::now();
    let editor = Command::new(cotype_bin())
        .args([
            "edit", &host.link, "big.txt", "--at", "1:1", "--insert", "x",
        ])
        .args(["--name", "bench-editor"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts `cotype edit`");
    let mut peak = 0;
    let mut samples = 0;
    while let Some((hwm, _)) = memory_of(editor.id()) {
        peak = peak.max(hwm);
        samples += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    let output = editor.wait_with_output().expect("`cotype edit` ends");
    let edit_secs = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "`cotype edit` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (host_peak, host_rss) = memory_of(host.child.id()).expect("the host still runs");
    drop(host.child.stdin.take());
    let _ = host.child.kill();
    let _ = host.child.wait();

    let ratio = peak as f64 / file_size as f64;
    let rope_ratio = rope_bytes as f64 / file_size as f64;
    println!(
        "file {:.1} MB; `cotype edit` (open, insert, acknowledged) took {edit_secs:.2} s, {samples} samples",
        file_size as f64 / MB
    );
    println!(
        "participant peak RSS {:.1} MB = {ratio:.2}x the file (target < 2x: {})",
        peak as f64 / MB,
        if ratio < 2.0 { "met" } else { "NOT met" }
    );
    println!(
        "baseline: the file in a ropey::Rope in-process = {:.1} MB = {rope_ratio:.2}x; \
         participant peak / rope = {:.2}",
        rope_bytes as f64 / MB,
        peak as f64 / rope_bytes.max(1) as f64
    );
    println!(
        "  String pieces then Rope::from_str (the session's loading today): {:.1} MB = {:.2}x; \
         RopeBuilder::append per piece: {:.1} MB = {:.2}x",
        string_then_rope_bytes as f64 / MB,
        string_then_rope_bytes as f64 / file_size as f64,
        builder_bytes as f64 / MB,
        builder_bytes as f64 / file_size as f64
    );
    println!(
        "host: idle {:.1} MB, after serving the file peak {:.1} MB ({:.2}x), now {:.1} MB",
        host_idle as f64 / MB,
        host_peak as f64 / MB,
        host_peak as f64 / file_size as f64,
        host_rss as f64 / MB
    );
    println!(
        "{{\"file_mb\":{:.1},\"participant_peak_mb\":{:.1},\"participant_ratio\":{ratio:.3},\"rope_mb\":{:.1},\"rope_ratio\":{rope_ratio:.3},\"string_then_rope_ratio\":{:.3},\"rope_builder_ratio\":{:.3},\"host_peak_mb\":{:.1},\"host_rss_mb\":{:.1},\"edit_secs\":{edit_secs:.2}}}",
        file_size as f64 / MB,
        peak as f64 / MB,
        rope_bytes as f64 / MB,
        string_then_rope_bytes as f64 / file_size as f64,
        builder_bytes as f64 / file_size as f64,
        host_peak as f64 / MB,
        host_rss as f64 / MB
    );
}
