//! When the host is gone for good (killed, its machine off), a participant in the real
//! editor is told so plainly, keeps every document it had, unsaved edits included, in a
//! folder of its data folder named after the session, and ctrl-s writes there from then
//! on. The relay runs in this process with a 2 s grace for the host (60 s by default),
//! the host is the real binary killed with SIGKILL, the participant is `cotype join` in
//! tmux.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tmux::{Tmux, picker_chose};
use cotype::relay::RelayConfig;

#[test]
fn a_participant_keeps_every_document_when_the_host_is_gone_for_good() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {\n}\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let relay = common::relay_on_thread(RelayConfig {
        host_grace: Duration::from_secs(2),
        ..RelayConfig::default()
    });
    let mut host = Command::new(bin)
        .args(["host", project.to_str().unwrap(), "--headless", "--relay"])
        .arg(relay.to_string())
        .env("HOME", &home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut link = String::new();
    BufReader::new(host.stdout.take().unwrap())
        .read_line(&mut link)
        .unwrap();
    let link = link.trim().to_owned();
    let session = cotype::link::Link::parse(&link, false).unwrap().session;

    let tmux = Tmux::named("host_gone");
    tmux.shell("ada", &home);
    tmux.text(
        "ada",
        &format!("COTYPE_LINK='{link}' {bin} join --name ada; echo ada-exited-$?"),
    );
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "ada in the session", |s| s.contains("ada (you)"));
    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "the file picker", |s| s.contains("Open file"));
    tmux.text("ada", "main");
    tmux.wait("ada", "the match", |s| picker_chose(s, "src/main.rs"));
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the file", |s| s.contains("fn main() {"));
    tmux.text("ada", "// typed by ada");
    tmux.wait("ada", "her text", |s| s.contains("// typed by adafn main"));

    host.kill().unwrap();
    host.wait().unwrap();
    let screen = tmux.wait("ada", "the session's end, said plainly", |s| {
        s.contains("open file(s) are kept in")
    });
    assert!(!screen.contains("reconnecting"), "{screen}");
    let kept = home
        .join(".local/share/cotype/sessions")
        .join(session.to_string())
        .join("src/main.rs");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "// typed by adafn main() {\n}\n"
    );

    // She goes on typing; ctrl-s keeps a local copy and says where.
    tmux.text("ada", " and more");
    tmux.keys("ada", &["C-s"]);
    tmux.wait("ada", "the local save", |s| {
        s.contains("saved a local copy")
    });
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "// typed by ada and morefn main() {\n}\n"
    );
    tmux.keys("ada", &["C-q"]);
    tmux.wait("ada", "a clean exit", |s| s.contains("ada-exited-0"));
    assert_eq!(
        std::fs::read_to_string(project.join("src/main.rs")).unwrap(),
        "fn main() {\n}\n",
        "the host's disk was never written"
    );
}
