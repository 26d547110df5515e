//! Hover, peek and go-to-definition in a real terminal, answered by a real rust-analyzer
//! on the host: a participant joins a host sharing the two-file fixture crate, puts the
//! cursor on the call `geometry::area(2, 3)` in src/lib.rs and
//!
//! - ctrl-k shows the function's signature and doc comment in a popup;
//! - ctrl-alt-p shows the definition's lines from src/geometry.rs, without opening it;
//! - F12 opens src/geometry.rs with the cursor on the definition;
//! - typing `are` there and pausing offers `area`, and enter completes the word.
//!
//! rust-analyzer indexes the crate first; until it is ready the host answers "still
//! indexing" (shown as a notice), so the first question is repeated until the popup comes,
//! under a generous deadline: a correctness wait, not a timing. rust-analyzer and tmux
//! must be installed; the test fails (never skips) and says so otherwise.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::tmux::Tmux;

/// Cold indexing of the fixture on a loaded 2-core machine; usually a few seconds.
const INDEXING_DEADLINE: Duration = Duration::from_secs(240);

struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create fixture copy");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// Where rustup and cargo keep their toolchains: the host's rust-analyzer is a rustup
/// proxy, and the test gives the host an empty HOME.
fn toolchain_dirs() -> [(&'static str, PathBuf); 2] {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let dir = |variable: &str, default: &str| {
        std::env::var_os(variable).map_or_else(|| home.join(default), PathBuf::from)
    };
    [
        ("RUSTUP_HOME", dir("RUSTUP_HOME", ".rustup")),
        ("CARGO_HOME", dir("CARGO_HOME", ".cargo")),
    ]
}

/// The status line's `line:column` of the cursor, as shown at the bottom right.
/// Presses `key` until the pane shows what `ready` looks for: a language server on a busy
/// machine may take longer than one wait for its first answer of a kind, and an answer
/// that came too late is dropped, so the question is asked again (at most for
/// `INDEXING_DEADLINE`).
fn ask_until(tmux: &Tmux, key: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        tmux.keys("ada", &[key]);
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(20) {
            let screen = tmux.screen("ada");
            if ready(&screen) {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let screen = tmux.screen("ada");
        assert!(
            start.elapsed() < INDEXING_DEADLINE,
            "no {what} after {INDEXING_DEADLINE:?}; the screen:\n{screen}"
        );
    }
}

fn status_position(screen: &str) -> Option<String> {
    let status = screen.lines().rev().find(|line| line.contains(" ● "))?;
    status.split_whitespace().last().map(str::to_owned)
}

#[test]
fn hover_peek_and_definition_with_rust_analyzer_in_a_real_terminal() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust_crate"),
        &project,
    );
    let geometry = std::fs::read_to_string(project.join("src/geometry.rs")).unwrap();
    let definition_line = geometry
        .lines()
        .position(|line| line.starts_with("pub fn area"))
        .unwrap()
        + 1;
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let mut host = Command::new(bin)
        .args([
            "host",
            project.to_str().unwrap(),
            "--headless",
            "--name",
            "hostie",
        ])
        .env("HOME", &home)
        .envs(toolchain_dirs())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cotype binary runs");
    let mut link = String::new();
    let mut host_stdout = BufReader::new(host.stdout.take().unwrap());
    host_stdout.read_line(&mut link).unwrap();
    let host = Host(host);
    let link = link.trim().to_owned();
    assert!(link.contains('#'), "the host printed no link: {link:?}");

    let tmux = Tmux::new();
    tmux.shell("ada", &home);
    tmux.text(
        "ada",
        &format!("COTYPE_LINK='{link}' {bin} join --name ada; echo ada-exited-$?"),
    );
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the people panel", |s| s.contains("ada (you)"));

    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "the file picker", |s| s.contains("Open file"));
    tmux.text("ada", "lib.rs");
    tmux.wait("ada", "lib.rs in the picker", |s| s.contains("src/lib.rs"));
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "lib.rs open", |s| s.contains("pub fn double_area"));

    // `area` in `let size = geometry::area(2, 3);` on line 4, column 46.
    tmux.keys("ada", &["C-Home", "Down", "Down", "Down"]);
    tmux.run(&["send-keys", "-t", "ada", "-N", "45", "Right"]);
    tmux.wait("ada", "the cursor on `area`", |s| {
        status_position(s).as_deref() == Some("4:46")
    });

    // Hover: asked again while rust-analyzer is still indexing.
    let signature = "pub fn area(width: u32, height: u32) -> u32";
    let start = Instant::now();
    let mut notices = Vec::new();
    let hover = loop {
        tmux.keys("ada", &["C-k"]);
        let asked = Instant::now();
        let mut screen = tmux.screen("ada");
        while asked.elapsed() < Duration::from_secs(25) && !screen.contains(signature) {
            std::thread::sleep(Duration::from_millis(200));
            screen = tmux.screen("ada");
            if let Some(notice) = screen.lines().last().map(str::trim)
                && !notice.is_empty()
                && !notices.iter().any(|seen| seen == notice)
            {
                notices.push(notice.to_owned());
                if notice.contains("indexing") || notice.contains("did not answer") {
                    break;
                }
            }
        }
        if screen.contains(signature) {
            break screen;
        }
        assert!(
            start.elapsed() < INDEXING_DEADLINE,
            "no hover after {INDEXING_DEADLINE:?}; notices: {notices:?}; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert!(
        hover.contains("The area of a `width` by `height` rectangle.")
            || hover.contains("The area of a width by height rectangle."),
        "the doc comment is in the popup:\n{hover}"
    );
    assert!(
        !hover.contains("```"),
        "markdown is rendered, not shown raw:\n{hover}"
    );
    // Esc closes it; the text under it is back.
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the hover closed", |s| !s.contains(signature));

    // Peek: the definition's lines from geometry.rs, under the cursor line.
    let peek = ask_until(&tmux, "C-M-p", "peek window", |s| {
        s.contains(&format!("src/geometry.rs:{definition_line}"))
    });
    assert!(
        peek.contains("width * height") && peek.contains("pub fn area(width: u32"),
        "the definition's body is shown:\n{peek}"
    );
    assert!(
        peek.lines().next().unwrap_or("").contains("lib.rs")
            && status_position(&peek).as_deref() == Some("4:46"),
        "peeking opened nothing:\n{peek}"
    );
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the peek closed", |s| !s.contains("width * height"));

    // Go to definition: geometry.rs opens with the cursor on `area`.
    let opened = ask_until(&tmux, "F12", "jump to the definition", |s| {
        status_position(s).as_deref() == Some(&format!("{definition_line}:8"))
    });
    assert!(
        opened.contains("src/geometry.rs") && opened.contains("width * height"),
        "geometry.rs is the active file:\n{opened}"
    );

    // Completion while typing: a pause after `are` offers `area`; enter puts it in.
    // rust-analyzer sometimes answers the first question after an edit with an empty
    // list; then, as a user would, we ask with ctrl-space.
    tmux.keys("ada", &["C-End", "Enter"]);
    tmux.text("ada", "pub fn twice() -> u32 { 2 * are");
    let has_menu = |s: &str| {
        s.lines()
            .any(|line| line.contains("│area") && line.contains("fn("))
    };
    let start = Instant::now();
    let menu = loop {
        let asked = Instant::now();
        let mut screen = tmux.screen("ada");
        while !has_menu(&screen) && asked.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(100));
            screen = tmux.screen("ada");
        }
        if has_menu(&screen) {
            break screen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no completion menu; the screen:\n{screen}"
        );
        tmux.keys("ada", &["C-Space"]);
    };
    assert!(
        menu.contains("pub fn twice() -> u32 { 2 * are"),
        "the typed text is there:\n{menu}"
    );
    tmux.keys("ada", &["Enter"]);
    let accepted = tmux.wait("ada", "the completion accepted", |s| {
        s.contains("{ 2 * area") && !s.contains("│area")
    });
    assert!(
        !accepted.contains("2 * are\n") && !accepted.contains("2 * areaarea"),
        "the typed word was replaced, not appended to:\n{accepted}"
    );

    tmux.keys("ada", &["C-q"]);
    tmux.wait("ada", "the shell after quitting", |s| {
        s.contains("ada-exited-0")
    });
    drop(host);
    drop(host_stdout);
}
