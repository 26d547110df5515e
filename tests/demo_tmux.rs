//! `cotype demo` as a newcomer runs it, in a real terminal (tmux): Ada, the scripted
//! partner, shows up in the people panel with her name flag at her cursor in the editor,
//! an intro line says who she is and which keys help and quit, the follow picker offers
//! her (not the host's serving process), ctrl-p opens a file, Ada keeps working there
//! after her fix, and ctrl-q gives the terminal back. Fails (never skips) without tmux.

mod common;

use std::cell::Cell;

use common::tmux::Tmux;

/// The intro line, as the message row shows it when it has nothing else to say.
const INTRO: &str = "Ada is a scripted partner working on this project · F1: keys · ctrl-q: quit";

#[test]
fn the_demo_shows_ada_and_opens_a_file_on_ctrl_p() {
    let tmux = Tmux::new();
    let home = tempfile::tempdir().unwrap();
    tmux.shell("demo", home.path());
    // Ada's tasks after the fix come every 6 s instead of 20: the message row shows each
    // task's "Ada saved" for 5 s, and the intro line in the second between.
    let command = format!(
        "COTYPE_DEMO_SPEED=4 COTYPE_DEMO_TASK_SECONDS=6 {} demo --name sam; echo demo-exited-$?",
        env!("CARGO_BIN_EXE_cotype")
    );
    tmux.text("demo", &command);
    tmux.keys("demo", &["Enter"]);

    // Messages take the row the intro uses, so every screen read below looks for it too.
    let intro_seen = Cell::new(false);
    let saw = |s: &str| {
        intro_seen.set(intro_seen.get() || s.contains(INTRO));
    };

    // Ada is in the people panel, and her name flag sits at her cursor in the editor
    // (the demo follows her, so her file is the one on screen).
    let screen = tmux.wait("demo", "Ada in the people panel", |s| {
        saw(s);
        s.contains("People") && s.contains("Ada")
    });
    assert!(screen.contains("sam (you)"), "{screen}");
    // A text row (it starts with its line number) carries the flag; the status line,
    // which says whom you follow, does not count.
    tmux.wait("demo", "Ada's name flag in the editor", |s| {
        saw(s);
        s.lines().any(|line| {
            let editor = line.split('│').next().unwrap_or("");
            editor
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit())
                && editor.contains(" Ada")
        })
    });

    // The follow picker offers Ada, and not the host's serving process ("demo host" in
    // the panel), which has no cursor to follow.
    tmux.keys("demo", &["M-f"]);
    let picker = tmux.wait("demo", "the follow picker with Ada", |s| {
        saw(s);
        s.contains("Follow") && s.lines().any(|line| line.contains("Ada  ("))
    });
    let picker_rows: Vec<&str> = picker
        .lines()
        .filter(|line| line.contains("Ada  (") || line.contains("sam"))
        .collect();
    assert!(
        !picker
            .lines()
            .any(|line| line.contains("▶ demo") || line.contains("│  demo")),
        "the serving process is not offered: {picker_rows:?}\n{picker}"
    );
    tmux.keys("demo", &["Escape"]);
    tmux.wait("demo", "the picker closed", |s| {
        saw(s);
        !s.contains("Follow")
    });

    // ctrl-p, a few letters of the name, Enter: the file opens in a tab.
    tmux.keys("demo", &["C-p"]);
    tmux.wait("demo", "the file picker", |s| {
        s.contains("shelf.toml") || s.contains("pager.rs")
    });
    tmux.text("demo", "shelf.toml");
    tmux.keys("demo", &["Enter"]);
    tmux.wait("demo", "shelf.toml open in the editor", |s| {
        saw(s);
        s.lines().next().unwrap_or("").contains("shelf.toml") && s.contains("page_size = 5")
    });

    // After her fix Ada keeps working: one task after another, she changes the order of
    // the list here, so whoever arrives late sees her type.
    tmux.wait("demo", "Ada's first task: sort by title", |s| {
        saw(s);
        s.contains("sort = \"title\"")
    });
    tmux.wait("demo", "Ada's next task: sort by year", |s| {
        saw(s);
        s.contains("sort = \"year\"")
    });
    if !intro_seen.get() {
        tmux.wait("demo", "the intro line", |s| s.contains(INTRO));
    }

    tmux.keys("demo", &["C-q"]);
    let screen = tmux.wait("demo", "the shell back after ctrl-q", |s| {
        s.contains("demo-exited-0")
    });
    assert!(
        screen.contains("is removed"),
        "the demo says it cleaned up: {screen}"
    );
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "demo", "#{alternate_on}"])
            .trim(),
        "0"
    );
}
