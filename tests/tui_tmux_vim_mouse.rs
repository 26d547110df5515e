//! The vim keymap and the mouse in a real terminal (tmux, 120x40): normal-mode motions,
//! `dd` and `u`, `A` to append, then a click, a drag-select deleted with `x`, the wheel
//! and a click on a tab, as SGR mouse reports typed into the pane (what a terminal sends when cotype
//! has mouse capture on); then a count (`3j`), operators (`dw`, `ciw`) and `.`. The result is
//! checked on screen and on the host's disk.
//!
//! Fails (never skips) when tmux is missing.

mod common;
#[path = "common/process.rs"]
mod process;

use common::tmux::Tmux;
use process::start_host;

/// The status line's `line:column`.
fn position(screen: &str) -> String {
    // The row with the vim mode; below it, messages may name the file too.
    status(screen)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// An SGR mouse report at 1-based `column`, `row`; `button` as the terminal encodes it
/// (0 left press, 32 left drag, 65 wheel down), `press` false for a release.
fn mouse(button: u8, column: u16, row: u16, press: bool) -> String {
    let end = if press { 'M' } else { 'm' };
    format!("\x1b[<{button};{column};{row}{end}")
}

#[test]
fn vim_keys_click_drag_select_and_wheel() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let lines: Vec<String> = (1..=100)
        .map(|n| format!("line {n:03} alpha beta gamma"))
        .collect();
    std::fs::write(project.join("long.txt"), lines.join("\n") + "\n").unwrap();
    std::fs::write(project.join("notes.txt"), "notes\n").unwrap();
    let home = root.path().join("home");
    let config = home.join(".config/cotype");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "keymap = \"vim\"\nmouse = true\n",
    )
    .unwrap();
    let (_host, link) = start_host(&project, &["--name", "hostie"]);

    let tmux = Tmux::named("vim-mouse");
    tmux.shell("ada", &home);
    tmux.text(
        "ada",
        &format!(
            "env XDG_CONFIG_HOME={config} COTYPE_LINK='{link}' {bin} join --name ada",
            config = home.join(".config").display(),
            bin = env!("CARGO_BIN_EXE_cotype"),
        ),
    );
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "ada in the session", |s| s.contains("ada (you)"));
    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "the file picker", |s| s.contains("Open file"));
    tmux.text("ada", "long");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the file in normal mode", |s| {
        s.contains("NORMAL") && position(s) == "1:1"
    });

    // Motions, then delete a line and take it back.
    tmux.text("ada", "jw");
    tmux.wait("ada", "the cursor on the second word of line 2", |s| {
        position(s) == "2:6"
    });
    tmux.text("ada", "dd");
    tmux.wait("ada", "line 2 deleted", |s| {
        s.contains("  2 line 003 alpha")
    });
    tmux.text("ada", "u");
    tmux.wait("ada", "line 2 back", |s| s.contains("  2 line 002 alpha"));
    tmux.text("ada", "A end");
    // Escape and an arrow in one write, as fast typing over SSH delivers them: the arrow
    // moves (crossterm alone would type its sequence's tail, `[B`, into the file).
    tmux.keys("ada", &["Escape", "Down"]);
    tmux.wait("ada", "the appended text, then down a line", |s| {
        s.contains("  2 line 002 alpha beta gamma end")
            && s.contains("NORMAL")
            && position(s).starts_with("3:")
    });

    // A click puts the cursor under the pointer: row 10 is line 9 (the tab bar is row
    // 1), column 21 is char 16 past the 5-column gutter (sign column, number, space).
    tmux.text("ada", &mouse(0, 21, 10, true));
    tmux.text("ada", &mouse(0, 21, 10, false));
    tmux.wait("ada", "the cursor where the click was", |s| {
        position(s) == "9:16"
    });

    // Drag from line 4 char 6 to line 6 char 11 and delete the selection.
    tmux.text("ada", &mouse(0, 11, 5, true));
    tmux.text("ada", &mouse(32, 16, 7, true));
    tmux.text("ada", &mouse(0, 16, 7, false));
    tmux.wait("ada", "the drag's end as the cursor", |s| {
        position(s) == "6:11"
    });
    tmux.text("ada", "x");
    tmux.wait("ada", "the selection deleted", |s| {
        s.contains("  4 line lpha beta gamma") && s.contains("  5 line 007 alpha")
    });

    // Two notches of the wheel scroll six lines; the cursor stays where it was.
    tmux.text("ada", &mouse(65, 20, 10, true));
    tmux.text("ada", &mouse(65, 20, 10, true));
    tmux.wait("ada", "the view scrolled by six lines", |s| {
        s.lines()
            .nth(1)
            .is_some_and(|row| row.contains("  7 line 009 alpha"))
    });

    tmux.keys("ada", &["C-s"]);
    tmux.wait("ada", "the save confirmed", |s| {
        s.contains("saved long.txt")
    });
    let mut expected = lines.clone();
    expected[1].push_str(" end");
    expected.splice(3..6, ["line lpha beta gamma".to_owned()]);
    assert_eq!(
        std::fs::read_to_string(project.join("long.txt")).unwrap(),
        expected.join("\n") + "\n"
    );

    // A click on a tab shows its file.
    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "the file picker", |s| s.contains("Open file"));
    tmux.text("ada", "notes");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the second tab", |s| s.contains("  1 notes"));
    tmux.text("ada", &mouse(0, 3, 1, true));
    tmux.text("ada", &mouse(0, 3, 1, false));
    tmux.wait(
        "ada",
        "long.txt again, as it was left, after a click on its tab",
        |s| {
            s.lines()
                .nth(1)
                .is_some_and(|row| row.contains("  7 line 009 alpha"))
                && position(s) == "4:6"
        },
    );

    // Counts and operators: `3j` moves three lines, `dw` deletes a word, `ciw` changes
    // one; the pending command shows in the status line until escape drops it.
    tmux.text("ada", "gg3j");
    tmux.wait("ada", "the cursor three lines down", |s| {
        position(s) == "4:1"
    });
    tmux.text("ada", "2d");
    tmux.wait("ada", "the pending 2d in the status line", |s| {
        status(s).contains(" 2d ")
    });
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the pending command gone", |s| {
        !status(s).contains(" 2d ")
    });
    tmux.text("ada", "dw");
    tmux.wait("ada", "the first word of line 4 deleted", |s| {
        s.contains("  4 lpha beta gamma")
    });
    tmux.text("ada", "wciwBETA");
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the second word changed", |s| {
        s.contains("  4 lpha BETA gamma") && s.contains("NORMAL") && position(s) == "4:9"
    });
    // `.` changes the next word the same way, as one edit.
    tmux.text("ada", "w.");
    tmux.wait("ada", "the change repeated", |s| {
        s.contains("  4 lpha BETA BETA") && position(s) == "4:14"
    });
    tmux.keys("ada", &["C-s"]);
    expected[3] = "lpha BETA BETA".to_owned();
    let expected = expected.join("\n") + "\n";
    let on_disk = || std::fs::read_to_string(project.join("long.txt")).unwrap_or_default();
    tmux.wait("ada", "the operators' edits on the host's disk", |_| {
        on_disk() == expected
    });
}

/// The status line (the row with the vim mode).
fn status(screen: &str) -> String {
    screen
        .lines()
        .find(|line| line.starts_with(" NORMAL ") || line.starts_with(" INSERT "))
        .unwrap_or_default()
        .to_owned()
}
