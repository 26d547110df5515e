//! What a real terminal shows after many small frames is exactly what a full redraw
//! shows, colors included.
//!
//! The terminal writer sends the least it can: it lets the terminal shift text sideways
//! (insert and delete character) when someone types or deletes in the middle of a line,
//! and saves and restores the cursor (with its colors) around the status line. A mistake
//! there leaves a wrong character, a flag moved or a stale color on screen, which no
//! later frame repairs, because the writer believes the screen is right. So ada and bob
//! type, insert and delete in front of each other on one line in tmux (xterm-256color,
//! 120x40), and ada's pane, read back with its colors (`capture-pane -e`), must equal the
//! same pane after a resize made cotype draw everything again.

mod common;

use common::tmux::{HeadlessHost, Tmux, editor_rows, picker_chose};

/// The editor and status rows of a pane, colors included; the people panel (where latency
/// figures change on their own) is cut off.
fn colored_editor(tmux: &Tmux, target: &str) -> Vec<String> {
    let screen = tmux.run(&["capture-pane", "-e", "-p", "-t", target]);
    editor_rows(&screen)
}

#[test]
fn small_frames_leave_the_screen_a_full_redraw_would_show() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let mut text = String::from("// notes:\nlet total = items.len() + 1; // count\n");
    for i in 0..60 {
        text.push_str(&format!(
            "fn item_{i:02}(x: u32) -> u32 {{ x * {i} + 1 }} // line {i}\n"
        ));
    }
    std::fs::write(project.join("sample.rs"), &text).unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let host = HeadlessHost::start(&project, Some(&home));
    let tmux = Tmux::named("redraw");
    for name in ["ada", "bob"] {
        tmux.shell(name, &home);
        tmux.text(
            name,
            &format!("COTYPE_LINK='{}' {bin} join --name {name}", host.link),
        );
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "the session", |s| {
            s.contains(&format!("{name} (you)"))
        });
        tmux.keys(name, &["C-p"]);
        tmux.wait(name, "the picker", |s| s.contains("Open file"));
        tmux.text(name, "sample");
        tmux.wait(name, "the match", |s| picker_chose(s, "sample.rs"));
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "the file", |s| s.contains("fn item_00"));
    }

    // Both at the end of the comment; each sees the other's flag there.
    tmux.keys("ada", &["End"]);
    tmux.keys("bob", &["End"]);
    let on_line = |text: &'static str, name: &'static str| {
        move |s: &str| {
            s.lines()
                .any(|l| l.contains(text) && l.split_whitespace().any(|w| w == name))
        }
    };
    tmux.wait("ada", "bob's flag on line 1", on_line("// notes:", "bob"));
    // ada types; bob's cursor stays in front of her text, so his typing goes in the
    // middle of the line and moves hers (and the cell under his cursor) sideways.
    let mut typed = String::from("// notes:");
    for c in ["a", "b", "c", "d"] {
        tmux.text("ada", c);
        typed.push_str(c);
        tmux.wait("bob", "ada's character", |s| s.contains(&typed));
    }
    for c in ["X", "Y", "Z"] {
        tmux.text("bob", c);
    }
    tmux.wait("ada", "bob's characters in front of hers", |s| {
        s.contains("// notes:XYZabcd")
    });
    tmux.keys("bob", &["BSpace", "BSpace"]);
    tmux.wait("ada", "bob's deletions", |s| s.contains("// notes:Xabcd"));
    // ada edits in the middle of her own text, and on a line of code with other colors.
    tmux.keys("ada", &["Left", "Left"]);
    tmux.text("ada", "MN");
    tmux.wait("ada", "her insertion", |s| s.contains("// notes:XabMNcd"));
    tmux.keys("ada", &["Down", "Home"]);
    tmux.text("ada", "pub ");
    tmux.wait("bob", "ada's text on the code line", |s| {
        s.contains("pub let total")
    });
    tmux.keys("bob", &["Down", "Home"]);
    tmux.text("bob", "/* b */ ");
    tmux.wait("ada", "both edits to the code line", |s| {
        s.contains("/* b */ pub let total = items.len() + 1; // count")
    });
    tmux.keys("ada", &["Delete", "Delete", "Delete"]);
    let finished = |s: &str| s.contains("/* b */ pub  total = items.len() + 1; // count");
    tmux.wait("ada", "her deletions", finished);
    // A moment for the frames that follow (presence, the status line) to land.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let incremental = colored_editor(&tmux, "ada");

    // A resize makes cotype clear the screen and draw every cell again.
    tmux.run(&["resize-window", "-t", "ada", "-x", "119"]);
    tmux.wait("ada", "the narrower screen", |s| {
        s.lines().all(|line| line.chars().count() <= 119)
    });
    tmux.run(&["resize-window", "-t", "ada", "-x", "120"]);
    let plain = tmux.wait("ada", "the full width again", |s| {
        s.lines().any(|line| line.chars().count() == 120) && finished(s)
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let redrawn = colored_editor(&tmux, "ada");

    for (row, (was, now)) in incremental.iter().zip(&redrawn).enumerate() {
        assert_eq!(
            was, now,
            "row {row} differs between the small frames and a full redraw; the pane now:\n{plain}"
        );
    }
    assert_eq!(incremental.len(), redrawn.len());
}
