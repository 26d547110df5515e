//! Find and replace, go to line and the command palette in a real terminal (tmux) with a
//! real host, in both keymaps: ada (default keymap) replaces every `foo` with ctrl-h while
//! bob (vim keymap) types on the same line; both see the replacement and bob's text, and
//! one ctrl-z takes back all of the replacement (and none of bob's text). ctrl-g `120:5`
//! and vim's `120G` and `:5` move the cursor; alt-x (default) and `space space` (vim) run
//! an action picked by a fuzzy name.
//!
//! Multiple cursors: ada adds cursors below (ctrl-alt-down) and types at all of them,
//! bob (vim: ctrl-alt-down, `i`) too; each sees the other's text on every line.
//!
//! Splits: ctrl-\\ (here alt-\\, as tmux loses ctrl-\\) and vim's `:vsplit` show two files
//! side by side; alt-o and `ctrl-w w` move the typing to the other one.
//!
//! Editing comforts: ctrl-/ (which tmux sends as ctrl-_) and vim's `gcc` comment lines
//! out, alt-down and vim's alt-k move lines, alt-shift-down duplicates one; the other
//! participant sees each.
//!
//! Fails (never skips) when tmux is missing.

mod common;
#[path = "common/process.rs"]
mod process;

use common::tmux::{Tmux, editor_rows, picker_chose};
use process::start_host;

fn has_line(screen: &str, line: &str) -> bool {
    editor_rows(screen).iter().any(|row| row.contains(line))
}

/// The status line shows the cursor as `line:column` at its right end.
fn at(screen: &str, line: usize, col: usize) -> bool {
    let position = format!(" {line}:{col}");
    screen
        .lines()
        .any(|row| row.trim_end().ends_with(&position) && row.contains("notes.txt"))
}

/// ada (default keymap) and bob (vim keymap) in tmux, both with `notes.txt` (holding
/// `text`) open, joined to a real host.
fn ada_and_bob(test: &str, text: &str) -> (tempfile::TempDir, process::Running, Tmux) {
    ada_and_bob_in(test, "notes.txt", text)
}

/// [`ada_and_bob`] with `file` (holding `text`) open instead.
fn ada_and_bob_in(
    test: &str,
    file: &str,
    text: &str,
) -> (tempfile::TempDir, process::Running, Tmux) {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join(file), text).unwrap();
    std::fs::write(project.join("other.txt"), "the other file\n").unwrap();
    let (host, link) = start_host(&project, &["--name", "hostie"]);

    let tmux = Tmux::named(test);
    for (name, keymap) in [("ada", "default"), ("bob", "vim")] {
        let home = root.path().join(name);
        let config = home.join(".config/cotype");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.toml"),
            // Following the host on joining, the default: opening a file right after
            // joining must end that wait, or the host arriving later takes the view away.
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
        tmux.text(name, file.split('.').next().unwrap_or(file));
        tmux.wait(name, "the file in the picker", |s| picker_chose(s, file));
        tmux.keys(name, &["Enter"]);
        let first = text.lines().next().unwrap_or_default();
        tmux.wait(name, file, |s| has_line(s, first));
    }
    (root, host, tmux)
}

#[test]
fn replace_all_go_to_line_and_the_palette_for_both_keymaps() {
    let text: String = (1..=150).map(|n| format!("foo {n} bar\n")).collect();
    let (_root, _host, tmux) = ada_and_bob("replace", &text);
    tmux.wait("bob", "normal mode", |s| s.contains("NORMAL"));

    // ctrl-h: the query finds and counts as it is typed.
    tmux.keys("ada", &["C-h"]);
    tmux.wait("ada", "the find and replace prompt", |s| {
        s.contains("find:") && s.contains("replace:")
    });
    tmux.text("ada", "foo");
    tmux.wait("ada", "the matches counted", |s| s.contains("1 of 150"));
    tmux.keys("ada", &["Tab"]);
    tmux.text("ada", "qux");
    // bob types at the end of line 1 while ada replaces all: both land.
    tmux.text("bob", "A");
    tmux.wait("bob", "insert mode", |s| s.contains("INSERT"));
    tmux.text("bob", "!!");
    tmux.keys("ada", &["M-a"]);
    tmux.text("bob", "??");
    for name in ["ada", "bob"] {
        tmux.wait(name, "the replacement merged with bob's typing", |s| {
            has_line(s, "  1 qux 1 bar!!??") && has_line(s, " 30 qux 30 bar")
        });
    }
    tmux.wait("ada", "no match left", |s| s.contains("no results"));
    // The count follows what others type: bob's new `foo` is found at once.
    tmux.text("bob", " foo");
    tmux.wait("ada", "bob's foo counted", |s| s.contains("1 found"));

    // One undo takes back the whole replacement, and only ada's.
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the prompt closed", |s| !s.contains("replace:"));
    tmux.keys("ada", &["C-z"]);
    tmux.wait("bob", "the replacement undone, bob's text kept", |s| {
        has_line(s, "  1 foo 1 bar!!?? foo") && has_line(s, " 30 foo 30 bar")
    });
    // Undo shows where it changed the text last (line 150); line 1 is as bob sees it.
    tmux.wait("ada", "the end of the replacement undone", |s| {
        has_line(s, "150 foo 150 bar")
    });
    tmux.keys("ada", &["C-Home"]);
    tmux.wait("ada", "line 1 with bob's text", |s| {
        has_line(s, "  1 foo 1 bar!!?? foo") && has_line(s, " 30 foo 30 bar")
    });

    // ctrl-g: line and column.
    tmux.keys("ada", &["C-g"]);
    tmux.wait("ada", "the go-to-line prompt", |s| {
        s.contains("go to line[:column]:")
    });
    tmux.text("ada", "120:5");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the cursor on line 120, column 5", |s| {
        at(s, 120, 5) && has_line(s, "120 foo 120 bar")
    });

    // alt-x: the palette runs an action picked by a fuzzy name.
    tmux.keys("ada", &["M-x"]);
    tmux.wait("ada", "the palette", |s| s.contains("Run"));
    tmux.text("ada", "gotoln");
    tmux.wait("ada", "go to line first", |s| s.contains("▶ goto_line"));
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the go-to-line prompt from the palette", |s| {
        s.contains("go to line[:column]:")
    });
    tmux.text("ada", "7");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "line 7", |s| at(s, 7, 1));

    // vim: `120G`, `:5`, and the palette on `space space`.
    tmux.keys("bob", &["Escape"]);
    tmux.wait("bob", "normal mode", |s| s.contains("NORMAL"));
    tmux.text("bob", "120G");
    tmux.wait("bob", "line 120", |s| at(s, 120, 1));
    tmux.text("bob", ":5");
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "line 5", |s| at(s, 5, 1));
    tmux.text("bob", "  ");
    tmux.wait("bob", "the palette", |s| s.contains("Run"));
    tmux.text("bob", "gotoline");
    tmux.wait("bob", "go to line first", |s| s.contains("▶ goto_line"));
    tmux.keys("bob", &["Enter"]);
    tmux.text("bob", "9:3");
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "line 9, column 3", |s| at(s, 9, 3));
}

#[test]
fn typing_at_several_cursors_shows_to_the_other_participant_in_both_keymaps() {
    let text = "alpha one\nalpha two\nalpha three\nbeta one\nbeta two\n";
    let (_root, _host, tmux) = ada_and_bob("cursors", text);
    tmux.wait("bob", "normal mode", |s| s.contains("NORMAL"));

    tmux.keys("ada", &["C-Home"]);
    tmux.keys("ada", &["C-M-Down"]);
    tmux.keys("ada", &["C-M-Down"]);
    tmux.text("ada", "> ");
    for name in ["ada", "bob"] {
        tmux.wait(name, "ada's typing on three lines", |s| {
            has_line(s, "1 > alpha one")
                && has_line(s, "2 > alpha two")
                && has_line(s, "3 > alpha three")
                && has_line(s, "4 beta one")
        });
    }
    // A motion: one cursor again (escape too, but an escape followed at once by a key
    // reads as alt and the key).
    tmux.keys("ada", &["Left"]);
    tmux.text("ada", "!");
    tmux.wait("bob", "ada's one cursor", |s| {
        has_line(s, "1 >! alpha one") && has_line(s, "2 > alpha two")
    });

    // vim: from line 4, a cursor below, then `i` and type at both.
    tmux.text("bob", "4G");
    tmux.wait("bob", "line 4", |s| at(s, 4, 1));
    tmux.keys("bob", &["C-M-Down"]);
    tmux.text("bob", "i");
    tmux.wait("bob", "insert mode", |s| s.contains("INSERT"));
    tmux.text("bob", "+ ");
    for name in ["ada", "bob"] {
        tmux.wait(name, "bob's typing on two lines", |s| {
            has_line(s, "4 + beta one") && has_line(s, "5 + beta two")
        });
    }
}

#[test]
fn two_files_side_by_side_in_both_keymaps() {
    let (_root, _host, tmux) = ada_and_bob("split", "first line of notes\n");
    tmux.wait("bob", "normal mode", |s| s.contains("NORMAL"));
    for name in ["ada", "bob"] {
        tmux.keys(name, &["C-p"]);
        tmux.wait(name, "the file picker", |s| s.contains("Open file"));
        tmux.text(name, "other");
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "other.txt", |s| has_line(s, "1 the other file"));
    }
    let side_by_side = |s: &str, left: &str, right: &str| {
        // (Whole rows: the rule between the panes ends `editor_rows`' rows.)
        s.lines().any(|row| {
            row.find(left)
                .zip(row.find(right))
                .is_some_and(|(l, r)| l < r)
        })
    };
    tmux.keys("ada", &["M-\\"]);
    tmux.wait("ada", "both files", |s| {
        side_by_side(s, "the other file", "first line of notes")
    });
    tmux.keys("ada", &["M-o"]);
    tmux.text("ada", "ada:");
    tmux.wait("ada", "ada's typing in notes.txt", |s| {
        s.contains("ada:first line of notes")
    });

    // bob shows other.txt, opened last; his split shows notes.txt beside it, with ada's
    // typing.
    tmux.text("bob", ":vsplit");
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "both files", |s| {
        side_by_side(s, "the other file", "ada:first line of notes")
    });
    tmux.keys("bob", &["C-w"]);
    tmux.text("bob", "w");
    tmux.text("bob", "ibob:");
    tmux.wait("ada", "bob's typing in notes.txt", |s| {
        s.contains("bob:ada:first line of notes")
    });
}

#[test]
fn comments_moved_and_duplicated_lines_in_both_keymaps() {
    let text = "def f():\n    return 1\n";
    let (_root, _host, tmux) = ada_and_bob_in("comforts", "tool.py", text);
    tmux.wait("bob", "normal mode", |s| s.contains("NORMAL"));

    // ctrl-/ arrives as ctrl-_ through tmux.
    tmux.keys("ada", &["C-Home", "C-_"]);
    for name in ["ada", "bob"] {
        tmux.wait(name, "ada's comment", |s| has_line(s, "1 # def f():"));
    }
    tmux.text("bob", "jgcc");
    for name in ["ada", "bob"] {
        tmux.wait(name, "bob's comment", |s| has_line(s, "2     # return 1"));
    }
    tmux.keys("ada", &["M-Down"]);
    for name in ["ada", "bob"] {
        tmux.wait(name, "ada's line moved down", |s| {
            has_line(s, "1     # return 1") && has_line(s, "2 # def f():")
        });
    }
    // ada's move took the line below hers (bob's) out and put it back above, so bob's
    // cursor is on the line after it now: ada's. He moves that one back up.
    tmux.wait("bob", "bob's cursor on line 2", |s| s.contains(" 2:"));
    tmux.keys("bob", &["M-k"]);
    for name in ["ada", "bob"] {
        tmux.wait(name, "bob's line moved up", |s| {
            has_line(s, "1 # def f():") && has_line(s, "2     # return 1")
        });
    }
    tmux.keys("ada", &["C-Home", "M-S-Down"]);
    for name in ["ada", "bob"] {
        tmux.wait(name, "ada's line duplicated", |s| {
            has_line(s, "1 # def f():") && has_line(s, "2 # def f():")
        });
    }
}
