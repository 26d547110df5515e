//! Signature help and inlay hints in a real terminal, answered by a real rust-analyzer on
//! the host. Ada (default keys) opens src/lib.rs: the server's types and parameter names
//! appear dimmed between the characters (`let size: u32 = geometry::area(width: 2,
//! height: 3)`). Bob (vim keys) types in front of them on the same line; on Ada's screen
//! they stay beside their tokens, and the text both see has none of them. Ada types a
//! call: the signature shows above the cursor while she types the arguments and goes
//! away at `)`; Bob's goes away with esc, which also leaves insert mode. Hints are off
//! until alt-y, which Ada presses first and again at the end.
//!
//! rust-analyzer and tmux must be installed; the test fails (never skips) otherwise.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::tmux::{HeadlessHost, Tmux, dim_text, picker_chose};

/// Cold indexing of the fixture on a loaded 2-core machine; usually a few seconds.
const INDEXING_DEADLINE: Duration = Duration::from_secs(240);
const SIGNATURE: &str = "fn area(width: u32, height: u32) -> u32";

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

fn join(tmux: &Tmux, pane: &str, home: &Path, link: &str, keymap: &str) {
    let bin = env!("CARGO_BIN_EXE_cotype");
    tmux.shell(pane, home);
    tmux.text(
        pane,
        &format!("COTYPE_LINK='{link}' {bin} join --name {pane} --keymap {keymap}"),
    );
    tmux.keys(pane, &["Enter"]);
    tmux.wait(pane, "the people panel", |s| {
        s.contains(&format!("{pane} (you)"))
    });
}

fn open_lib(tmux: &Tmux, pane: &str, picker_keys: &[&str]) {
    tmux.keys(pane, picker_keys);
    tmux.wait(pane, "the file picker", |s| s.contains("Open file"));
    tmux.text(pane, "lib.rs");
    tmux.wait(pane, "lib.rs in the picker", |s| {
        picker_chose(s, "src/lib.rs")
    });
    tmux.keys(pane, &["Enter"]);
    tmux.wait(pane, "lib.rs open", |s| s.contains("pub fn double_area"));
}

/// Waits up to the indexing deadline (the server loads the crate first).
fn wait_long(tmux: &Tmux, pane: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux.screen(pane);
        if ready(&screen) {
            return screen;
        }
        assert!(
            start.elapsed() < INDEXING_DEADLINE,
            "no {what} after {INDEXING_DEADLINE:?}; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn status_position(screen: &str) -> Option<String> {
    let status = screen.lines().rev().find(|line| line.contains(" ● "))?;
    status.split_whitespace().last().map(str::to_owned)
}

#[test]
fn signature_help_and_inlay_hints_with_rust_analyzer_in_a_real_terminal() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust_crate"),
        &project,
    );
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    // The host keeps the real HOME, where rust-analyzer is installed.
    let host = HeadlessHost::start(&project, None);

    let tmux = Tmux::named("hints");
    join(&tmux, "ada", &home, &host.link, "default");
    join(&tmux, "bob", &home, &host.link, "vim");
    open_lib(&tmux, "ada", &["C-p"]);
    tmux.keys("bob", &["Space", "f"]);
    tmux.wait("bob", "the file picker", |s| s.contains("Open file"));
    tmux.text("bob", "lib.rs");
    tmux.wait("bob", "lib.rs in the picker", |s| {
        picker_chose(s, "src/lib.rs")
    });
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "lib.rs open", |s| s.contains("pub fn double_area"));

    // alt-y: the hints (off by default) come once the server has loaded the crate.
    tmux.keys("ada", &["M-y"]);
    tmux.wait("ada", "hints on", |s| s.contains("inlay hints shown"));
    wait_long(&tmux, "ada", "inlay hints", |s| {
        s.contains("let size: u32 = geometry::area(width: 2, height: 3);")
    });
    // Drawn dim; the text is not.
    let attributed = tmux.run(&["capture-pane", "-p", "-e", "-t", "ada"]);
    let plain = tmux.screen("ada");
    let index = plain
        .lines()
        .position(|row| row.contains("geometry::area(width"))
        .expect("the call's row");
    let row = attributed.lines().nth(index).expect("the same row");
    assert_eq!(dim_text(row), ": &str: u32width: height: ", "{row:?}");

    // Bob types in front of `let size` on the same line (line 4, column 25 is `let`).
    tmux.keys("bob", &["4", "G", "0"]);
    tmux.run(&["send-keys", "-t", "bob", "-N", "24", "l"]);
    tmux.wait("bob", "bob on `let size`", |s| {
        status_position(s).as_deref() == Some("4:25")
    });
    tmux.keys("bob", &["i"]);
    tmux.text("bob", "1; ");
    tmux.keys("bob", &["Escape"]);
    // On Ada's screen the hints moved with their tokens at once, and stay there once
    // asked for again.
    let moved = tmux.wait("ada", "the hints beside their tokens", |s| {
        s.contains("\"𝔸rea\"; 1; let size: u32 = geometry::area(width: 2, height: 3);")
    });
    assert!(moved.contains("   4 "), "{moved}");
    std::thread::sleep(Duration::from_secs(2));
    let asked_again = tmux.screen("ada");
    assert!(
        asked_again.contains("\"𝔸rea\"; 1; let size: u32 = geometry::area(width: 2, height: 3);"),
        "{asked_again}"
    );
    // The shared text has none of them.
    tmux.keys("ada", &["C-s"]);
    tmux.wait("ada", "saved", |s| s.contains("saved"));
    let on_disk = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
    assert!(
        on_disk.contains("\"𝔸rea\"; 1; let size = geometry::area(2, 3);"),
        "{on_disk}"
    );

    // Ada types a call on a new line: the signature shows while she types the arguments.
    tmux.keys("ada", &["C-Home", "Down", "Down", "End", "Enter"]);
    tmux.text("ada", "let z = geometry::area(");
    let shown = wait_long(&tmux, "ada", "the signature", |s| s.contains(SIGNATURE));
    // Above the line being typed.
    let rows: Vec<&str> = shown.lines().collect();
    let popup = rows.iter().position(|row| row.contains(SIGNATURE)).unwrap();
    // (Its `let` may have its type hint by now: `let z: u32 = …`.)
    let typed = rows
        .iter()
        .position(|row| row.contains("= geometry::area(") && row.contains("let z"))
        .unwrap_or_else(|| panic!("the line typed:\n{shown}"));
    assert!(popup < typed, "the popup is above the cursor:\n{shown}");
    tmux.text("ada", "2, ");
    std::thread::sleep(Duration::from_millis(800));
    assert!(tmux.screen("ada").contains(SIGNATURE), "still in the call");
    tmux.text("ada", "3)");
    tmux.wait("ada", "the signature gone at `)`", |s| {
        !s.contains(SIGNATURE)
    });

    // Bob (vim): `o`, a call, the signature; esc closes it and leaves insert mode.
    tmux.keys("bob", &["o"]);
    tmux.text("bob", "geometry::area(");
    wait_long(&tmux, "bob", "bob's signature", |s| s.contains(SIGNATURE));
    tmux.keys("bob", &["Escape"]);
    tmux.wait("bob", "the signature gone, normal mode", |s| {
        !s.contains(SIGNATURE) && s.contains("NORMAL")
    });

    // alt-y hides Ada's hints; the text is as typed.
    tmux.keys("ada", &["M-y"]);
    tmux.wait("ada", "the hints hidden", |s| {
        s.contains("\"𝔸rea\"; 1; let size = geometry::area(2, 3);")
    });
}
