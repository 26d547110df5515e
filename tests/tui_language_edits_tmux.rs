//! Rename, format and the outline in a real terminal, answered by a real rust-analyzer on
//! the host: Ada (default keys) puts the cursor on the call `geometry::area(2, 3)` in
//! src/lib.rs, presses F2, edits the name in the prompt and presses enter; the call and
//! the definition in src/geometry.rs are renamed for everyone, Bob (vim keys, following
//! nobody, with geometry.rs open) included; ctrl-z takes lib.rs's part back in one step
//! and ctrl-y makes it again (bob's `space r`, `u`, ctrl-r likewise in vim). Last, a line
//! that assigns an immutable variable gets the lightbulb's mark once ada's cursor rests. Ada formats lib.rs with alt-i (the two
//! statements on one line are split, as rustfmt does). Bob's `space s` lists geometry.rs's
//! symbols and enter goes to one; the workspace's symbols (`space S`, alt-t) are asked of
//! the server as a name is typed, and enter goes to one in another file.
//!
//! rust-analyzer and tmux must be installed; the test fails (never skips) otherwise.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::tmux::{Tmux, picker_chose};

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

/// The host's rust-analyzer is a rustup proxy, and the test gives the host an empty HOME.
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

fn status_position(screen: &str) -> Option<String> {
    let status = screen.lines().rev().find(|line| line.contains(" ● "))?;
    status.split_whitespace().last().map(str::to_owned)
}

/// Presses `keys` until `pane` shows what `ready` looks for (a server still indexing
/// answers "still indexing"; the user asks again).
fn ask_until(
    tmux: &Tmux,
    pane: &str,
    keys: &[&str],
    what: &str,
    ready: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        tmux.keys(pane, keys);
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(20) {
            let screen = tmux.screen(pane);
            if ready(&screen) {
                return screen;
            }
            if screen
                .lines()
                .last()
                // A refusal, not "rename: asking the language server…", which the
                // prompt replaces once the answer comes.
                .is_some_and(|line| {
                    line.contains("indexing")
                        || (line.contains("rename:") && !line.contains("asking"))
                })
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let screen = tmux.screen(pane);
        assert!(
            start.elapsed() < INDEXING_DEADLINE,
            "no {what} after {INDEXING_DEADLINE:?}; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_secs(1));
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

#[test]
fn rename_format_and_outline_with_rust_analyzer_in_a_real_terminal() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust_crate"),
        &project,
    );
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut host = Command::new(bin)
        .args(["host", project.to_str().unwrap(), "--headless"])
        .env("HOME", &home)
        .envs(toolchain_dirs())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cotype binary runs");
    let mut link = String::new();
    BufReader::new(host.stdout.take().unwrap())
        .read_line(&mut link)
        .unwrap();
    let _host = Host(host);
    let link = link.trim().to_owned();

    let tmux = Tmux::new();
    join(&tmux, "ada", &home, &link, "default");
    join(&tmux, "bob", &home, &link, "vim");
    // Bob stops following (a move of his own) and opens geometry.rs.
    tmux.keys("bob", &["Space", "f"]);
    tmux.wait("bob", "the file picker", |s| s.contains("Open file"));
    tmux.text("bob", "geometry");
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "geometry.rs open", |s| s.contains("width * height"));

    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "the file picker", |s| s.contains("Open file"));
    tmux.text("ada", "lib.rs");
    tmux.wait("ada", "lib.rs in the picker", |s| {
        picker_chose(s, "src/lib.rs")
    });
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "lib.rs open", |s| s.contains("pub fn double_area"));
    // `area` in `let size = geometry::area(2, 3);` on line 4, column 46.
    tmux.keys("ada", &["C-Home", "Down", "Down", "Down"]);
    tmux.run(&["send-keys", "-t", "ada", "-N", "45", "Right"]);
    tmux.wait("ada", "the cursor on `area`", |s| {
        status_position(s).as_deref() == Some("4:46")
    });

    // F2: the prompt holds the name; the new one replaces it everywhere.
    ask_until(&tmux, "ada", &["F2"], "the rename prompt", |s| {
        s.lines().last() == Some("rename area to: area")
    });
    tmux.run(&["send-keys", "-t", "ada", "-N", "4", "BSpace"]);
    tmux.text("ada", "surface");
    tmux.keys("ada", &["Enter"]);
    let renamed = tmux.wait("ada", "the rename made", |s| {
        s.contains("geometry::surface(2, 3)") && s.contains("geometry::surface(side, side)")
    });
    assert!(
        renamed.contains("renamed: 3 changes in 2 files"),
        "{renamed}"
    );
    tmux.wait("bob", "the definition renamed for bob", |s| {
        s.contains("pub fn surface(width: u32, height: u32)")
    });
    let on_disk = std::fs::read_to_string(project.join("src/geometry.rs")).unwrap();
    assert!(on_disk.contains("pub fn area("), "not saved unless asked");

    // The rename is one undo step of ada's in each file: ctrl-z takes back both changes
    // in lib.rs for everyone (geometry.rs keeps its own), ctrl-y makes them again.
    tmux.keys("ada", &["C-z"]);
    tmux.wait("ada", "lib.rs's rename undone in one step", |s| {
        s.contains("geometry::area(2, 3)") && s.contains("geometry::area(side, side)")
    });
    let bob = tmux.screen("bob");
    assert!(
        bob.contains("pub fn surface(width: u32, height: u32)"),
        "{bob}"
    );
    tmux.keys("ada", &["C-y"]);
    tmux.wait("ada", "the rename made again", |s| {
        s.contains("geometry::surface(2, 3)") && s.contains("geometry::surface(side, side)")
    });

    // alt-i: formatted as rustfmt would, the two statements on one line split.
    tmux.keys("ada", &["M-i"]);
    tmux.wait("ada", "lib.rs formatted", |s| {
        s.contains("   4     let label = \"𝔸rea\";    ")
            && s.contains("   5     let size = geometry::surface(2, 3);    ")
    });

    // Bob's outline: `space s`, then enter on `surface`.
    let outline = ask_until(&tmux, "bob", &["Space", "s"], "the outline", |s| {
        s.contains("Symbols") && s.contains("function surface")
    });
    assert!(outline.contains("function surface  :4"), "{outline}");
    assert_eq!(status_position(&outline).as_deref(), Some("1:1"));
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "the cursor on the definition", |s| {
        status_position(s).as_deref() == Some("4:8")
    });

    // The workspace's symbols, asked of the server as the name is typed: bob (`space S`)
    // goes to `describe` in lib.rs, ada (alt-t) to `surface` in geometry.rs.
    tmux.keys("bob", &["Space", "S"]);
    tmux.wait("bob", "the workspace symbol picker", |s| {
        s.contains("Workspace symbols")
    });
    tmux.text("bob", "describe");
    tmux.wait("bob", "describe in the picker", |s| {
        picker_chose(s, "function describe  src/lib.rs:3")
    });
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "lib.rs at describe", |s| {
        s.contains("pub fn describe() -> String") && status_position(s).as_deref() == Some("3:8")
    });
    tmux.keys("ada", &["M-t"]);
    tmux.wait("ada", "the workspace symbol picker", |s| {
        s.contains("Workspace symbols")
    });
    tmux.text("ada", "surfa");
    tmux.wait("ada", "surface in the picker", |s| {
        picker_chose(s, "function surface  src/geometry.rs:4")
    });
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "geometry.rs at surface", |s| {
        s.contains("pub fn surface(width: u32, height: u32)")
            && status_position(s).as_deref() == Some("4:8")
    });

    // Bob (vim) renames `describe` with `space r`; `u` takes it back in one step and
    // ctrl-r makes it again.
    ask_until(&tmux, "bob", &["Space", "r"], "bob's rename prompt", |s| {
        s.lines().last() == Some("rename describe to: describe")
    });
    tmux.run(&["send-keys", "-t", "bob", "-N", "8", "BSpace"]);
    tmux.text("bob", "explain");
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "describe renamed", |s| {
        s.contains("pub fn explain() -> String") && s.contains("renamed: 1 change in 1 file")
    });
    tmux.keys("bob", &["u"]);
    tmux.wait("bob", "the rename undone", |s| {
        s.contains("pub fn describe() -> String")
    });
    tmux.keys("bob", &["C-r"]);
    tmux.wait("bob", "the rename made again", |s| {
        s.contains("pub fn explain() -> String")
    });

    // The lightbulb: ada makes the body's line assign an immutable `n`; once her cursor
    // rests there, rust-analyzer's quick fix ("Change it to be mutable") puts the mark in
    // that line's gutter. A server still analysing may answer without it: a space typed
    // at the end changes the line, and it is asked about again.
    tmux.keys("ada", &["Down", "Home"]);
    tmux.text("ada", "let n = 1; n = 2; ");
    let marked = |s: &str| {
        s.lines()
            .any(|line| line.starts_with('\u{25c6}') && line.contains("let n = 1; n = 2;"))
    };
    let start = Instant::now();
    loop {
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(10) && !marked(&tmux.screen("ada")) {
            std::thread::sleep(Duration::from_millis(200));
        }
        let screen = tmux.screen("ada");
        if marked(&screen) {
            break;
        }
        assert!(
            start.elapsed() < INDEXING_DEADLINE,
            "no lightbulb on the line; the screen:\n{screen}"
        );
        tmux.keys("ada", &["End"]);
        tmux.text("ada", " ");
    }
    // Up a line, the mark is not there (it belongs to the line with the fix).
    tmux.keys("ada", &["Up"]);
    tmux.wait("ada", "the mark gone with the cursor", |s| !marked(s));
}
