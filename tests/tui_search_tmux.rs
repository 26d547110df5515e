//! Workspace search and diagnostics in a real terminal: a headless host shares a small
//! Python project; a participant joins in tmux (120x40, xterm-256color), and is read back
//! with `capture-pane`, the way a user sees it.
//!
//! - ctrl-t opens the search panel; a regex typed into it finds matches in two files,
//!   which stream into the list; Enter opens the selected match's file with the cursor on
//!   its line;
//! - on a name, alt-r lists its references (the host's pylsp answers); Enter on one opens
//!   main.py there;
//! - a syntax error written to main.py on the host's disk reaches the open document, the
//!   host's pylsp reports it, and the gutter shows `E` on that line; F8 lists it.
//!
//! Waits poll the screen against a deadline (pylsp's start included): they wait for
//! correctness and assert nothing about speed. The test fails, never skips, when tmux or
//! pylsp is missing.

use std::process::Command;

mod common;

use common::tmux::{HeadlessHost, Tmux, editor_rows};

#[test]
fn search_finds_and_opens_a_match_and_a_host_side_error_marks_the_gutter() {
    assert!(
        Command::new("pylsp").arg("--version").output().is_ok(),
        "pylsp must be on PATH for this test (pip install 'python-lsp-server[pyflakes]')"
    );
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("shapes")).unwrap();
    std::fs::write(
        project.join("shapes/circle.py"),
        "import math\n\n\ndef area(radius):\n    return math.pi * radius ** 2\n",
    )
    .unwrap();
    std::fs::write(
        project.join("shapes/square.py"),
        "def area(side):\n    return side * side\n",
    )
    .unwrap();
    std::fs::write(
        project.join("main.py"),
        "from shapes import circle\n\nprint(circle.area(2))\n",
    )
    .unwrap();
    // An empty HOME for the participant: no user config, keymap or theme changes what the
    // test sees. The host keeps the real one, where pylsp is installed.
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let host = HeadlessHost::start(&project, None);
    let link = host.link.clone();

    let tmux = Tmux::new();
    tmux.shell("ada", &home);
    tmux.text(
        "ada",
        &format!("COTYPE_LINK='{link}' {bin} join --name ada; echo ada-exited-$?"),
    );
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the people panel with herself in it", |screen| {
        screen.contains("ada (you)")
    });

    // Search all files for a regex: both definitions stream in, sorted by file.
    tmux.keys("ada", &["C-t"]);
    tmux.wait("ada", "the search panel", |s| {
        s.contains("Search all files")
    });
    tmux.text("ada", r"def area\(\w+\)");
    let screen = tmux.wait("ada", "both matches and the search done", |s| {
        s.contains("shapes/circle.py:4:1") && s.contains("2 matches in 2 files (")
    });
    assert!(
        screen.contains("shapes/square.py:1:1  def area(side):"),
        "{screen}"
    );
    // The selected match is previewed with the lines around it, once the host has sent
    // the file (until then the preview shows the matching line alone).
    tmux.wait("ada", "the preview with the lines around the match", |s| {
        s.contains("shapes/circle.py:4 ─") && s.contains("import math")
    });

    // Enter opens circle.py with the cursor on the matching line.
    tmux.keys("ada", &["Enter"]);
    let screen = tmux.wait("ada", "circle.py open at line 4", |s| {
        s.contains("shapes/circle.py") && s.contains("4:1") && !s.contains("Search all files")
    });
    let cursor_row: usize = tmux
        .run(&["display", "-p", "-t", "ada", "#{cursor_y}"])
        .trim()
        .parse()
        .unwrap();
    let rows = editor_rows(&screen);
    assert!(
        rows[cursor_row].contains("def area(radius):"),
        "the terminal cursor is on the match's line (row {cursor_row}):\n{screen}"
    );

    // On `area`, alt-r asks the host's pylsp for its references: its definition and its
    // use in main.py. Enter on the use opens main.py there.
    tmux.keys("ada", &["Right", "Right", "Right", "Right", "M-r"]);
    let screen = tmux.wait("ada", "the references list", |s| {
        s.contains("References (2)") && s.contains("main.py:3:")
    });
    // Sorted by path: the use in main.py comes first, and is selected.
    assert!(
        screen.contains("▶ main.py:3:14  print(circle.area(2))")
            && screen.contains("shapes/circle.py:4:5  def area(radius):"),
        "{screen}"
    );
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "main.py open at the use", |s| {
        s.contains("from shapes import circle") && s.contains("3:14")
    });

    // A syntax error is written to main.py on the host's disk, while ada has it open.
    std::fs::write(
        project.join("main.py"),
        "from shapes import circle\nx = = 1\nprint(circle.area(2))\n",
    )
    .unwrap();
    let screen = tmux.wait("ada", "the error's mark in the gutter on line 2", |s| {
        editor_rows(s)
            .iter()
            .any(|row| row.starts_with("E  2 x = = 1"))
    });
    // Only that line is marked.
    let marked = editor_rows(&screen)
        .iter()
        .filter(|row| row.starts_with('E'))
        .count();
    assert_eq!(marked, 1, "{screen}");

    // F8 lists it; the list names the file and line.
    tmux.keys("ada", &["F8"]);
    tmux.wait("ada", "the diagnostics list", |s| {
        s.contains("Diagnostics: all (1 of 1)") && s.contains("E main.py:2:")
    });
    tmux.keys("ada", &["Escape"]);
    // An Escape and the next key in one read are one alt-key (as terminals send them):
    // let the list close before the next key, as a person would.
    tmux.wait("ada", "the list closed", |s| !s.contains("Diagnostics: "));

    tmux.keys("ada", &["C-q"]);
    tmux.wait("ada", "the shell after quitting", |s| {
        s.contains("ada-exited-0")
    });
    drop(host);
}
