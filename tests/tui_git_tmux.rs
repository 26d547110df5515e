//! Git in a real terminal: the host shares a real repository (made here with `git`) on
//! branch `feature-gutter`. Ada (default keys) and Bob (vim keys) join in tmux and open
//! src/poem.txt. The status line names the branch. A third member changes line 2 and
//! deletes line 4 with `cotype edit`, Ada adds a line at the end: unsaved shared edits,
//! and both gutters mark them (`~` changed, `_` lines deleted above, `+` added) against
//! the index. alt-n / `]c` go to the next change and alt-shift-n back; alt-d / `space D`
//! show the diff against HEAD; alt-g lists the changed files on the host's disk. Once
//! Bob saves and the host stages the file, the marks go for everyone.
//!
//! git and tmux must be installed; the test fails (never skips) otherwise.

mod common;
#[path = "common/process.rs"]
mod process;

use std::path::Path;

use common::git;
use common::tmux::{HeadlessHost, Tmux, picker_chose};

/// The cursor's place on the status line (`2:1`).
fn status_position(screen: &str) -> Option<String> {
    let status = screen.lines().rev().find(|line| line.contains(" ● "))?;
    status.split_whitespace().last().map(str::to_owned)
}

/// Whether the editor row of `line` (1-based) shows `mark` right after its number, then
/// `text`: `   2~Bbeta`.
fn marked(screen: &str, line: usize, mark: char, text: &str) -> bool {
    let row = format!("{line:>4}{mark}{text}");
    screen.lines().any(|l| l.starts_with(&row))
}

fn join(tmux: &Tmux, name: &str, home: &Path, link: &str, keymap: &str) {
    let bin = env!("CARGO_BIN_EXE_cotype");
    tmux.shell(name, home);
    tmux.text(
        name,
        &format!(
            "COTYPE_LINK='{link}' {bin} join --name {name} --keymap {keymap}; echo {name}-exited-$?"
        ),
    );
    tmux.keys(name, &["Enter"]);
    tmux.wait(name, "the session", |s| {
        s.contains(&format!("{name} (you)"))
    });
}

fn open_poem(tmux: &Tmux, name: &str, picker_keys: &[&str]) {
    tmux.keys(name, picker_keys);
    tmux.wait(name, "the file picker", |s| s.contains("Open file"));
    tmux.text(name, "poem");
    tmux.wait(name, "poem chosen", |s| picker_chose(s, "src/poem.txt"));
    tmux.keys(name, &["Enter"]);
    tmux.wait(name, "the poem", |s| s.contains("   1 alpha"));
}

#[test]
fn the_gutter_follows_unsaved_shared_edits_and_the_git_keys_work_in_both_keymaps() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("src/poem.txt"),
        "alpha\nbeta\ngamma\ndelta\nepsilon\n",
    )
    .unwrap();
    std::fs::write(project.join("other.txt"), "committed\n").unwrap();
    git(&project, &["init", "-q"]);
    git(&project, &["checkout", "-q", "-b", "feature-gutter"]);
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-q", "-m", "first"]);
    std::fs::write(project.join("other.txt"), "changed on disk\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = HeadlessHost::start(&project, Some(&home));

    let tmux = Tmux::named("git");
    join(&tmux, "ada", &home, &host.link, "default");
    join(&tmux, "bob", &home, &host.link, "vim");
    for name in ["ada", "bob"] {
        tmux.wait(name, "the branch on the status line", |s| {
            s.contains("⎇ feature-gutter")
        });
    }
    open_poem(&tmux, "ada", &["C-p"]);
    open_poem(&tmux, "bob", &["Space", "f"]);
    let screen = tmux.screen("ada");
    assert!(
        marked(&screen, 2, ' ', "beta"),
        "no marks before any change:\n{screen}"
    );

    // Someone else changes line 2 and deletes line 4 ("delta\n"), unsaved.
    for edit in [
        vec!["--at", "2:1", "--insert", "B"],
        vec!["--at", "4:1", "--delete", "6"],
    ] {
        let output = process::run(
            process::cotype()
                .args(["edit", "-", "src/poem.txt", "--name", "carol"])
                .args(&edit)
                .env("HOME", &home),
            format!("{}\n", host.link).as_bytes(),
        );
        assert_eq!(output.code(), Some(0), "{}", output.stderr);
    }
    // Ada adds a line at the end (the empty last line), unsaved.
    tmux.keys("ada", &["C-End"]);
    tmux.text("ada", "zeta");
    for name in ["ada", "bob"] {
        let screen = tmux.wait(name, "the three kinds of marks", |s| {
            marked(s, 2, '~', "Bbeta") && marked(s, 4, '_', "epsilon") && marked(s, 5, '+', "zeta")
        });
        assert!(marked(&screen, 1, ' ', "alpha"), "{screen}");
        assert!(marked(&screen, 3, ' ', "gamma"), "{screen}");
    }

    // Next and previous change, default keys.
    tmux.keys("ada", &["C-Home"]);
    tmux.wait("ada", "the top", |s| {
        status_position(s).as_deref() == Some("1:1")
    });
    tmux.keys("ada", &["M-n"]);
    tmux.wait("ada", "the first change", |s| {
        status_position(s).as_deref() == Some("2:1")
    });
    tmux.keys("ada", &["M-n"]);
    tmux.wait("ada", "the second change", |s| {
        status_position(s).as_deref() == Some("4:1")
    });
    tmux.keys("ada", &["M-N"]);
    tmux.wait("ada", "back to the first", |s| {
        status_position(s).as_deref() == Some("2:1")
    });

    // The diff against HEAD, as the shared text is now.
    tmux.keys("ada", &["M-d"]);
    let screen = tmux.wait("ada", "the diff popup", |s| s.contains("against HEAD"));
    for line in ["-beta", "+Bbeta", "-delta", "+zeta"] {
        assert!(screen.contains(line), "the diff lacks {line}:\n{screen}");
    }
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the diff closed", |s| !s.contains("against HEAD"));

    // The changed files on the host's disk (the poem's edits are unsaved).
    tmux.keys("ada", &["M-g"]);
    let screen = tmux.wait("ada", "the changed files", |s| {
        s.contains("Changed files on feature-gutter") && s.contains(" M other.txt")
    });
    assert!(!screen.contains("poem.txt  "), "{screen}");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "other.txt open", |s| s.contains("changed on disk"));

    // Vim: ]c, [c and space D.
    tmux.keys("bob", &["g", "g"]);
    tmux.wait("bob", "the top", |s| {
        status_position(s).as_deref() == Some("1:1")
    });
    tmux.keys("bob", &["]", "c"]);
    tmux.wait("bob", "the first change", |s| {
        status_position(s).as_deref() == Some("2:1")
    });
    tmux.keys("bob", &["]", "c"]);
    tmux.wait("bob", "the second change", |s| {
        status_position(s).as_deref() == Some("4:1")
    });
    tmux.keys("bob", &["[", "c"]);
    tmux.wait("bob", "back to the first", |s| {
        status_position(s).as_deref() == Some("2:1")
    });
    tmux.keys("bob", &["Space", "D"]);
    tmux.wait("bob", "the diff popup", |s| {
        s.contains("against HEAD") && s.contains("+Bbeta")
    });
    tmux.keys("bob", &["Escape"]);
    tmux.wait("bob", "the diff closed", |s| !s.contains("against HEAD"));

    // Bob saves and the host's user stages the file: the index has the text now, so
    // everyone's marks go (the host says its repository moved; members ask again).
    tmux.keys("bob", &["Space", "w"]);
    let deadline = std::time::Instant::now() + common::tmux::DEADLINE;
    while !std::fs::read_to_string(project.join("src/poem.txt"))
        .unwrap()
        .contains("zeta")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "bob's save never reached the disk"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    git(&project, &["add", "src/poem.txt"]);
    tmux.wait("bob", "the marks gone after staging", |s| {
        marked(s, 2, ' ', "Bbeta") && marked(s, 4, ' ', "epsilon") && marked(s, 5, ' ', "zeta")
    });

    for name in ["ada", "bob"] {
        tmux.keys(name, &["C-q"]);
        tmux.keys(name, &["C-q"]);
        tmux.wait(name, "the shell", |s| {
            s.contains(&format!("{name}-exited-"))
        });
    }
}
