//! A member must never make code run on the host's machine. The attack: an editor of the
//! session rewrites the shared crate's `build.rs` to write a file, saves it, and asks a
//! question about the code, so the host's rust-analyzer loads the crate (and, with its
//! defaults, builds and runs the build script, and `cargo check`s on save).
//!
//! Two hosts run the same attack side by side with the real binary and a real
//! rust-analyzer: one started with `--trust-project`, where the build script runs (so the
//! attack is real on this machine and the test can fail), and one without, which must
//! leave no trace. Without trust, the files that choose the host's tools
//! (`.cargo/config.toml` here) are read-only to members too.

#[path = "common/process.rs"]
mod process;

use std::path::Path;
use std::time::{Duration, Instant};

use process::{cotype, run, start_host};

/// A correctness wait for a cold rust-analyzer and a first build on a loaded machine.
const ATTACK_DEADLINE: Duration = Duration::from_secs(240);
/// How long the untrusted host is watched after the trusted one ran the build script.
const AFTER_THE_TRUSTED_RAN: Duration = Duration::from_secs(15);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture file");
        }
    }
}

/// The fixture crate with a harmless build script and a cargo configuration.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust_crate"),
        dir.path(),
    );
    std::fs::write(dir.path().join("build.rs"), "fn main() {}\n").expect("build.rs");
    std::fs::create_dir(dir.path().join(".cargo")).expect(".cargo");
    std::fs::write(dir.path().join(".cargo/config.toml"), "[build]\n").expect("cargo config");
    dir
}

/// `cotype edit` as a member: exit code and stderr.
fn edit(link: &str, path: &str, at: &str, insert: &str) -> (Option<i32>, String) {
    let finished = run(
        cotype().args(["edit", link, path, "--at", at, "--insert", insert, "--save"]),
        b"",
    );
    (finished.code(), finished.stderr)
}

/// The build script a member writes: it leaves `marker` on the host when it runs.
fn plant(link: &str, marker: &Path) {
    let payload = format!(
        "std::fs::write({:?}, \"a member's code ran here\").unwrap();",
        marker.display().to_string()
    );
    let (code, stderr) = edit(link, "build.rs", "1:12", &payload);
    assert_eq!(code, Some(0), "the editor's change to build.rs: {stderr}");
}

/// Asks hover until rust-analyzer answers from the crate: it has loaded the workspace.
fn hover_until_loaded(link: &str) {
    let deadline = Instant::now() + ATTACK_DEADLINE;
    loop {
        let finished = run(cotype().args(["hover", link, "src/lib.rs:1:1"]), b"");
        let answered = finished.code() == Some(0) && !finished.stdout.is_empty();
        if answered && !finished.stderr.contains("syntax tree") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rust-analyzer never answered hover; last: {} {}",
            finished.stdout_text(),
            finished.stderr
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn an_editor_cannot_run_a_build_script_on_the_host_unless_the_host_trusts_the_project() {
    let markers = tempfile::tempdir().expect("marker folder");
    let trusted_marker = markers.path().join("trusted-host-ran-it");
    let untrusted_marker = markers.path().join("untrusted-host-ran-it");
    let trusted_dir = project();
    let untrusted_dir = project();
    let (_trusted, trusted_link) = start_host(trusted_dir.path(), &["--trust-project"]);
    let (_untrusted, untrusted_link) = start_host(untrusted_dir.path(), &[]);

    // The same files that pick the host's tools: refused without trust, taken with it.
    let (code, stderr) = edit(
        &untrusted_link,
        ".cargo/config.toml",
        "2:1",
        "rustc-wrapper = \"/bin/sh\"\n",
    );
    assert_ne!(code, Some(0), "an editor changed .cargo/config.toml");
    assert!(
        stderr.contains("only the host can edit it") && stderr.contains("--trust-project"),
        "the refusal says why and what would allow it: {stderr}"
    );
    let config = std::fs::read_to_string(untrusted_dir.path().join(".cargo/config.toml"))
        .expect("cargo config");
    assert_eq!(config, "[build]\n", "the refused edit left the file alone");
    let (code, stderr) = edit(&trusted_link, ".cargo/config.toml", "2:1", "jobs = 1\n");
    assert_eq!(
        code,
        Some(0),
        "a trusted project's cargo config is editable: {stderr}"
    );

    plant(&trusted_link, &trusted_marker);
    plant(&untrusted_link, &untrusted_marker);
    let build_script =
        std::fs::read_to_string(untrusted_dir.path().join("build.rs")).expect("build.rs");
    assert!(
        build_script.contains("a member's code ran here"),
        "the untrusted host saved the member's build.rs (editing it is allowed; running it is not)"
    );
    hover_until_loaded(&untrusted_link);
    hover_until_loaded(&trusted_link);

    let deadline = Instant::now() + ATTACK_DEADLINE;
    while !trusted_marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the trusted host's rust-analyzer never ran the build script: the attack this test \
             guards against did not happen, so its absence below would prove nothing"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(AFTER_THE_TRUSTED_RAN);
    assert!(
        !untrusted_marker.exists(),
        "a member's build script ran on a host that did not trust the project"
    );
    assert!(
        !untrusted_dir.path().join("target").exists()
            || !std::fs::read_dir(untrusted_dir.path().join("target"))
                .expect("target")
                .flatten()
                .any(|entry| entry.file_name() == "debug"),
        "nothing was built for the untrusted project"
    );
}
