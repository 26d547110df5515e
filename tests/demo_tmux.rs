//! `cotype demo` as a newcomer runs it, in a real terminal (tmux): Ada, the scripted
//! partner, shows up in the people panel with her name flag at her cursor in the editor,
//! ctrl-p opens a file, and ctrl-q gives the terminal back. Fails (never skips) without tmux.

mod common;

use common::tmux::Tmux;

#[test]
fn the_demo_shows_ada_and_opens_a_file_on_ctrl_p() {
    let tmux = Tmux::new();
    let home = tempfile::tempdir().unwrap();
    tmux.shell("demo", home.path());
    let command = format!(
        "COTYPE_DEMO_SPEED=4 {} demo --name sam; echo demo-exited-$?",
        env!("CARGO_BIN_EXE_cotype")
    );
    tmux.text("demo", &command);
    tmux.keys("demo", &["Enter"]);

    // Ada is in the people panel, and her name flag sits at her cursor in the editor
    // (the demo follows her, so her file is the one on screen).
    let screen = tmux.wait("demo", "Ada in the people panel", |s| {
        s.contains("People") && s.contains("Ada")
    });
    assert!(screen.contains("sam (you)"), "{screen}");
    // A text row (it starts with its line number) carries the flag; the status line,
    // which says whom you follow, does not count.
    tmux.wait("demo", "Ada's name flag in the editor", |s| {
        s.lines().any(|line| {
            let editor = line.split('│').next().unwrap_or("");
            editor
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit())
                && editor.contains(" Ada")
        })
    });

    // ctrl-p, a few letters of the name, Enter: the file opens in a tab.
    tmux.keys("demo", &["C-p"]);
    tmux.wait("demo", "the file picker", |s| {
        s.contains("shelf.toml") || s.contains("pager.rs")
    });
    tmux.text("demo", "shelf.toml");
    tmux.keys("demo", &["Enter"]);
    tmux.wait("demo", "shelf.toml open in the editor", |s| {
        s.lines().next().unwrap_or("").contains("shelf.toml") && s.contains("page_size = 5")
    });

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
