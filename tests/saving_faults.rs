//! Saving when the disk says no: a full disk and a read-only file each give the person
//! who saved a clear error, and the file on the host's disk stays exactly as it was.
//!
//! The full disk is a real one: the host runs in a mount namespace of its own
//! (`unshare --mount`, with `--map-root-user` when the tests do not run as root) whose
//! shared folder is a 512 KiB tmpfs, nearly filled before the host starts. The test reads
//! that folder through `/proc/PID/root`, the host's view of the file system.

mod common;
#[path = "common/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::Command;

use cotype::relay::RelayConfig;

fn edit_and_save(link: &str, text: &str) -> process::Finished {
    process::run(
        process::cotype().args([
            "edit",
            link,
            "notes.txt",
            "--at",
            "1:1",
            "--insert",
            text,
            "--save",
        ]),
        b"",
    )
}

/// Names of leftover temporary files of a save in `folder`.
fn leftovers(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".cotype-save-"))
        .collect()
}

#[test]
fn a_full_disk_fails_the_save_clearly_and_leaves_the_file_as_it_was() {
    let relay = common::relay_on_thread(RelayConfig::default());
    let mount_point = tempfile::tempdir().unwrap();
    // 200 KB of notes and 280 KB of other data in 512 KiB: a save's temporary copy of
    // the notes cannot fit.
    let script = r#"
        set -e
        mount -t tmpfs -o size=512k tmpfs "$1"
        yes 'a line of notes' | head -c 200000 > "$1/notes.txt"
        head -c 280000 /dev/zero > "$1/filler.bin"
        exec "$2" host "$1" --headless --relay "$3"
    "#;
    let mut command = Command::new("unshare");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        command.arg("--map-root-user");
    }
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(mount_point.path())
        .arg(env!("CARGO_BIN_EXE_cotype"))
        .arg(relay.to_string());
    let mut host = process::Running::spawn(command);
    let link = host.next_stdout_line();
    let folder: PathBuf =
        format!("/proc/{}/root{}", host.pid(), mount_point.path().display()).into();
    let notes = folder.join("notes.txt");
    let before = std::fs::read(&notes).expect("the host's folder, seen through /proc");
    assert_eq!(before.len(), 200_000);

    let full = edit_and_save(&link, "lost? ");
    assert_eq!(full.code(), Some(5), "stderr: {}", full.stderr);
    assert!(
        full.stderr
            .contains("cannot save notes.txt: the host's disk is full")
            && full
                .stderr
                .contains("the file on the host's disk was not changed"),
        "stderr: {}",
        full.stderr
    );
    assert!(std::fs::read(&notes).unwrap() == before, "the file changed");
    assert_eq!(leftovers(&folder), Vec::<String>::new());

    // Space freed on the host, the same text saves: nothing typed was lost.
    std::fs::remove_file(folder.join("filler.bin")).unwrap();
    let saved = edit_and_save(&link, "kept ");
    assert_eq!(saved.code(), Some(0), "stderr: {}", saved.stderr);
    let after = std::fs::read_to_string(&notes).unwrap();
    assert!(
        after.starts_with("kept lost? a line of notes\n"),
        "{:?}",
        &after[..40]
    );
    assert_eq!(after.len(), 200_000 + "kept lost? ".len());
    assert_eq!(leftovers(&folder), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn a_read_only_file_fails_the_save_clearly_and_keeps_its_text_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let relay = common::relay_on_thread(RelayConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "original\r\n").unwrap();
    std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o444)).unwrap();
    let (_host, link) = process::start_host(dir.path(), &["--relay", &relay.to_string()]);

    let refused = edit_and_save(&link, "edit ");
    assert_eq!(refused.code(), Some(5), "stderr: {}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("cannot save notes.txt: the file is read-only on the host's disk"),
        "stderr: {}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "original\r\n");
    let mode = std::fs::metadata(&notes).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}
