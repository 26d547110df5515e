//! `cotype join` in real terminals: a headless host and three participants, each in its own
//! tmux session (120x40, xterm-256color), driven with keys and read back with
//! `capture-pane`, the way a user sees them.
//!
//! - ada opens a file with ctrl-p and types; bob, who joined with `--follow ada`, is taken
//!   to that file and sees her text with her name flag at her cursor;
//! - cy, who follows nobody, opens the same file himself and sees her flag too (presence
//!   to everyone, not only to followers);
//! - ctrl-s saves on the host's disk; ctrl-q gives the terminal back to the shell.
//!
//! Waits poll the screen against a deadline: they wait for correctness and assert nothing
//! about speed. The test fails (never skips) when tmux is missing.

mod common;

use common::tmux::{HeadlessHost, Tmux, flag_near, picker_chose};

#[test]
fn two_participants_see_each_others_text_cursor_and_file() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {\n}\n").unwrap();
    std::fs::write(project.join("README.md"), "# project\n").unwrap();
    // An empty HOME: no user config, keymap or theme changes what the test sees.
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let host = HeadlessHost::start(&project, Some(&home));
    let link = host.link.clone();

    let tmux = Tmux::new();
    let join = |name: &str, extra: &str| {
        tmux.shell(name, &home);
        tmux.text(
            name,
            &format!(
                "COTYPE_LINK='{link}' {bin} join --name {name} {extra}; echo {name}-exited-$?"
            ),
        );
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "the people panel with itself in it", |screen| {
            screen.contains(&format!("{name} (you)"))
        });
    };
    join("ada", "");
    join("bob", "--follow ada");

    // ada opens src/main.rs through the file picker and types at the top.
    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "the file picker", |s| s.contains("Open file"));
    tmux.text("ada", "main");
    tmux.wait("ada", "the match in the picker", |s| {
        picker_chose(s, "src/main.rs")
    });
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the opened file", |s| s.contains("fn main() {"));
    let typed = "// hello world 42";
    tmux.text("ada", typed);
    tmux.wait("ada", "her own text", |s| s.contains(typed));

    // bob follows ada: he is taken to her file and sees her text with her flag.
    let bob = tmux.wait(
        "bob",
        "ada's text with her name flag at her cursor",
        |screen| flag_near(screen, typed, "ada"),
    );
    assert!(
        bob.contains("src/main.rs") && bob.contains("following ada"),
        "bob follows ada into her file:\n{bob}"
    );

    // cy follows nobody (the headless host has no cursor); he opens the file himself and
    // still sees where ada is.
    join("cy", "");
    tmux.keys("cy", &["C-p"]);
    tmux.wait("cy", "the file picker", |s| s.contains("Open file"));
    tmux.text("cy", "main");
    tmux.wait("cy", "the match in the picker", |s| {
        picker_chose(s, "src/main.rs")
    });
    tmux.keys("cy", &["Enter"]);
    tmux.wait(
        "cy",
        "ada's text and flag in the file he opened",
        |screen| flag_near(screen, typed, "ada"),
    );

    // ctrl-s writes the shared text to the host's disk.
    tmux.keys("ada", &["C-s"]);
    tmux.wait("ada", "the save confirmed", |s| {
        s.contains("saved src/main.rs")
    });
    let on_disk = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert_eq!(on_disk, format!("{typed}fn main() {{\n}}\n"));

    // ctrl-q gives the terminal back: the shell prints the exit status on the normal screen.
    tmux.keys("ada", &["C-q"]);
    tmux.wait("ada", "the shell after quitting", |s| {
        s.contains("ada-exited-0")
    });
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "ada", "#{alternate_on}"])
            .trim(),
        "0",
        "the pane is back on the normal screen"
    );
    // bob sees that ada left.
    tmux.wait("bob", "ada gone from the people panel", |s| {
        !s.contains("● ada")
    });
    drop(host);
}
