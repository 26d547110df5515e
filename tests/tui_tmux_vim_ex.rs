//! vim's command line in a real terminal (tmux, 120x40) with a real host: `:` shows its
//! prompt on the bottom row, `:%s/a/b/g` changes the text the other participant sees,
//! `:%s///gc` asks at each match and its answers are one undo step for both, `:w` writes
//! the host's disk, `:q` refuses while an edit is unsaved (E37) and `:wq` saves and leaves.
//!
//! Fails (never skips) when tmux is missing.

mod common;
#[path = "common/process.rs"]
mod process;

use common::tmux::{Tmux, editor_rows};
use process::start_host;

/// The bottom row of a pane, where messages and vim's command line go.
fn bottom(screen: &str) -> String {
    screen
        .lines()
        .last()
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

fn has_line(screen: &str, line: &str) -> bool {
    editor_rows(screen).iter().any(|row| row.contains(line))
}

#[test]
fn vim_command_line_substitutes_for_everyone_writes_and_quits() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("notes.txt"),
        "alpha beta\nalpha gamma\nomega\n",
    )
    .unwrap();
    let (_host, link) = start_host(&project, &["--name", "hostie"]);

    let tmux = Tmux::named("vim-ex");
    for (name, keymap) in [("ada", "vim"), ("bob", "default")] {
        let home = root.path().join(name);
        let config = home.join(".config/cotype");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.toml"),
            format!("keymap = \"{keymap}\"\n"),
        )
        .unwrap();
        tmux.shell(name, &home);
        tmux.text(
            name,
            &format!(
                "env XDG_CONFIG_HOME={config} COTYPE_LINK='{link}' {bin} join --name {name}",
                config = home.join(".config").display(),
                bin = env!("CARGO_BIN_EXE_cotype"),
            ),
        );
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "the session", |s| {
            s.contains(&format!("{name} (you)"))
        });
        tmux.keys(name, &["C-p"]);
        tmux.wait(name, "the file picker", |s| s.contains("Open file"));
        tmux.text(name, "notes");
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "notes.txt", |s| has_line(s, "  1 alpha beta"));
    }
    tmux.wait("ada", "normal mode", |s| s.contains("NORMAL"));

    // The command line, as vim shows it: on the bottom row.
    tmux.text("ada", ":%s/alpha/ALPHA/g");
    tmux.wait("ada", "the command line at the bottom", |s| {
        bottom(s) == ":%s/alpha/ALPHA/g"
    });
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "both lines changed and the count", |s| {
        has_line(s, "  1 ALPHA beta")
            && has_line(s, "  2 ALPHA gamma")
            && s.contains("2 substitutions on 2 lines")
    });
    tmux.wait("bob", "ada's substitution", |s| {
        has_line(s, "  1 ALPHA beta") && has_line(s, "  2 ALPHA gamma")
    });

    // `:w` writes the host's disk.
    tmux.text("ada", ":w");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the save confirmed", |s| {
        s.contains("saved notes.txt")
    });
    let on_disk = || std::fs::read_to_string(project.join("notes.txt")).unwrap_or_default();
    assert_eq!(on_disk(), "ALPHA beta\nALPHA gamma\nomega\n");

    // With `c`, each match waits for an answer; a `y` shows to bob at once.
    tmux.text("ada", ":%s/ALPHA/x/gc");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the question", |s| {
        bottom(s) == "replace with x (y/n/a/q/l)?"
    });
    tmux.text("ada", "y");
    tmux.wait("bob", "the first answer", |s| {
        has_line(s, "  1 x beta") && has_line(s, "  2 ALPHA gamma")
    });
    tmux.text("ada", "y");
    tmux.wait("ada", "the end of the questions", |s| {
        has_line(s, "  2 x gamma") && s.contains("2 substitutions on 2 lines")
    });
    tmux.wait("bob", "the second answer", |s| has_line(s, "  2 x gamma"));
    // One `u` takes back both answers, for everyone.
    tmux.text("ada", "u");
    tmux.wait("bob", "both answers undone", |s| {
        has_line(s, "  1 ALPHA beta") && has_line(s, "  2 ALPHA gamma")
    });

    // An unsaved edit: `:q` refuses as vim does; `:wq` saves and leaves.
    tmux.text("ada", "Gx");
    tmux.wait("ada", "the edit", |s| has_line(s, "  3 mega"));
    tmux.text("ada", ":q");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "vim's refusal", |s| {
        s.contains("E37: No write since last change (add ! to override)") && s.contains("NORMAL")
    });
    tmux.text("ada", ":wq");
    tmux.keys("ada", &["Enter"]);
    // The editor's screen is gone: the shell shows the command that started it again.
    // (The command may wrap at the pane's edge, where tmux drops the space it wrapped
    // at: compare it without any whitespace.)
    tmux.wait("ada", "cotype gone, the shell back", |s| {
        let unwrapped: String = s.split_whitespace().collect();
        !s.contains("NORMAL") && unwrapped.contains("join--nameada")
    });
    assert_eq!(on_disk(), "ALPHA beta\nALPHA gamma\nmega\n");
    tmux.wait("bob", "ada's last edit", |s| has_line(s, "  3 mega"));
}
