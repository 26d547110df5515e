//! Shared terminals in the host's own editor, in tmux as a user sees them: opening one
//! with a key and letting a participant type, ending one after a question (both keymaps),
//! and the headless console's `term-close`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::{Tmux, editor_rows, picker_chose};

/// The first `http(s)://…#…` link on the session card, its wrapped rows joined back.
fn link_on(screen: &str) -> Option<String> {
    let inside = |line: &str| line.trim().trim_matches('│').trim().to_owned();
    let lines: Vec<String> = screen.lines().map(inside).collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("http") && line.contains('#'))?;
    let mut link = lines[start].clone();
    for line in &lines[start + 1..] {
        let key_text = !line.is_empty()
            && line
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !key_text {
            break;
        }
        link.push_str(line);
    }
    Some(link)
}

/// The `⌨ NAME COLS×ROWS` part of a pane's title row.
fn terminal_title(screen: &str) -> String {
    let line = screen.lines().find(|line| line.contains('⌨')).unwrap();
    line.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// alice hosts `project` in her editor in tmux (pane "alice", with `keymap`; her shell
/// is `sh` with the prompt `t$ `), past the session card. The link.
fn alice_hosts(tmux: &Tmux, project: &Path, home: &Path, keymap: &str) -> String {
    tmux.shell("alice", home);
    tmux.text(
        "alice",
        &format!(
            "SHELL=/bin/sh PS1='t$ ' {} host {} --name alice --approve auto --keymap {keymap}",
            env!("CARGO_BIN_EXE_cotype"),
            project.display()
        ),
    );
    tmux.keys("alice", &["Enter"]);
    let card = tmux.wait("alice", "the session card", |s| {
        s.contains("Share this link") && link_on(s).is_some()
    });
    let link = link_on(&card).unwrap();
    tmux.keys("alice", &["q"]);
    tmux.wait("alice", "the card closed", |s| {
        !s.contains("Share this link")
    });
    link
}

/// Until the process whose id is written in `file` has one and is running; its id.
fn running_pid(file: &Path) -> u32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pid = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        if let Some(pid) = pid.filter(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
            return pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no running process in {file:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Until process `pid` has ended (and was reaped).
fn ended(pid: u32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the terminal's program {pid} still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The host's editor ends a terminal with `close_terminal`, after a question that names
/// it and says its program stops: the first answer (the default) keeps it running, the
/// second ends the shell, and bob, watching, is told it ended. `close` presses the key
/// with the terminal shown (in the pane), `close_in_editor` with the editor shown.
fn the_host_ends_a_terminal_after_asking(
    test: &str,
    keymap: &str,
    close: &[&str],
    close_in_editor: &[&str],
) {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    let home = root.path().join("home");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(project.join("notes.txt"), "hello\n").unwrap();
    let tmux = Tmux::named(test);
    let link = alice_hosts(&tmux, &project, &home, keymap);
    tmux.keys("alice", &["M-`"]);
    tmux.wait("alice", "a shell in a new terminal", |s| {
        s.contains("⌨ term1") && s.contains("t$")
    });
    tmux.text("alice", "echo $$ > shell.pid");
    tmux.keys("alice", &["Enter"]);
    let shell = running_pid(&project.join("shell.pid"));

    tmux.shell("bob", &home);
    tmux.text(
        "bob",
        &format!("{} join '{link}' --name bob", env!("CARGO_BIN_EXE_cotype")),
    );
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "alice's terminal, following her", |s| {
        s.contains("⌨ term1") && s.contains("echo $$ > shell.pid")
    });

    let question = |s: &str| {
        s.contains("End shared terminal 'term1'?")
            && picker_chose(s, "Keep 'term1' running")
            && s.contains("End 'term1': its program and what it started are stopped")
    };
    tmux.keys("alice", close);
    tmux.wait("alice", "the question, keeping it chosen", question);
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "kept", |s| s.contains("'term1' keeps running"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        Path::new(&format!("/proc/{shell}")).exists(),
        "keeping it ended the shell"
    );

    tmux.keys("alice", close_in_editor);
    tmux.wait("alice", "the question again", question);
    tmux.keys("alice", &["Down", "Enter"]);
    tmux.wait("alice", "the end told", |s| {
        s.contains("shared terminal 'term1' was ended")
    });
    ended(shell);
    tmux.wait("bob", "the end told to bob", |s| {
        s.contains("shared terminal 'term1' was ended")
    });
    tmux.keys("bob", &["M-`"]);
    tmux.wait("bob", "the terminal's tab says it ended", |s| {
        s.contains("⌨ term1") && s.contains("[ended]")
    });
}

#[test]
fn the_host_ends_a_terminal_after_asking_default_keymap() {
    the_host_ends_a_terminal_after_asking("terminal-close", "default", &["M-W"], &["M-W"]);
}

#[test]
fn the_host_ends_a_terminal_after_asking_vim_keymap() {
    the_host_ends_a_terminal_after_asking("terminal-close-vim", "vim", &["M-W"], &["Space", "T"]);
}

/// The headless host's console: `term-close ID` ends the terminal's program and says so;
/// bob, watching it, sees its tab say it ended; an id that runs nothing is refused.
#[test]
fn term_close_on_the_console_ends_the_program_and_tells_the_watchers() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    let home = root.path().join("home");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(project.join("notes.txt"), "hello\n").unwrap();
    let link_file = home.join("link.txt");
    let tmux = Tmux::named("terminal-console");
    tmux.shell("host", &home);
    tmux.text(
        "host",
        &format!(
            "{} host {} --headless --name hostie --terminal 'echo $$ > console.pid; exec sh' --terminal-size 80x20 > {}",
            env!("CARGO_BIN_EXE_cotype"),
            project.display(),
            link_file.display()
        ),
    );
    tmux.keys("host", &["Enter"]);
    let shell = running_pid(&project.join("console.pid"));
    // The terminal may start before the host prints its link.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let link = loop {
        let written = std::fs::read_to_string(&link_file).unwrap_or_default();
        if let Some(line) = written.lines().find(|line| line.contains('#')) {
            break line.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no link in {link_file:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };

    tmux.shell("bob", &home);
    tmux.text(
        "bob",
        &format!("{} join '{link}' --name bob", env!("CARGO_BIN_EXE_cotype")),
    );
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "the notice of the terminal", |screen| {
        screen.contains("shared terminal 'term1' is open")
    });
    tmux.keys("bob", &["M-`"]);
    tmux.wait("bob", "the terminal", |s| s.contains("⌨ term1 80×20"));

    tmux.text("host", "term-close 7");
    tmux.keys("host", &["Enter"]);
    tmux.wait("host", "the refusal", |s| {
        s.contains("no shared terminal 7 is running")
    });
    assert!(Path::new(&format!("/proc/{shell}")).exists());
    tmux.text("host", "term-close 1");
    tmux.keys("host", &["Enter"]);
    tmux.wait("host", "the console's answer", |s| {
        s.contains("ending shared terminal 1 (term1)")
    });
    ended(shell);
    tmux.wait("bob", "the tab says it ended", |s| {
        s.contains("⌨ term1 80×20") && s.contains("[ended]")
    });
    assert!(
        tmux.screen("bob")
            .contains("shared terminal 'term1' was ended"),
        "{}",
        tmux.screen("bob")
    );
}

/// The host's own editor opens a terminal with one key and types in it; a participant
/// sees the same screen at the host's pane size, cannot type until the host lets them
/// from the people menu, and then runs a command on the host.
#[test]
fn the_host_opens_a_terminal_in_its_editor_and_lets_a_participant_type() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    let home = root.path().join("home");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(project.join("notes.txt"), "hello\n").unwrap();
    let tmux = Tmux::named("terminal-host");
    let link = alice_hosts(&tmux, &project, &home, "default");

    tmux.keys("alice", &["M-`"]);
    tmux.wait("alice", "a shell in a new terminal", |s| {
        s.contains("⌨ term1") && s.contains("t$")
    });
    tmux.text("alice", "echo HOST_$((2+3))");
    tmux.keys("alice", &["Enter"]);
    let host_screen = tmux.wait("alice", "the command's output", |s| {
        editor_rows(s)
            .iter()
            .any(|line| line.trim_end() == "HOST_5")
    });
    let size = terminal_title(&host_screen);

    tmux.shell("bob", &home);
    tmux.text("bob", &format!("{bin} join '{link}' --name bob"));
    tmux.keys("bob", &["Enter"]);
    // bob follows the host on joining, so he sees the terminal it looks at.
    let bob_screen = tmux.wait("bob", "the host's terminal", |s| {
        editor_rows(s)
            .iter()
            .any(|line| line.trim_end() == "HOST_5")
    });
    assert_eq!(
        terminal_title(&bob_screen),
        size,
        "the host's pane decides the size"
    );
    assert!(bob_screen.contains("✎ alice"), "{bob_screen}");
    tmux.text("bob", "x");
    tmux.wait("bob", "the read-only notice", |s| {
        s.contains("the host has not let you type")
    });

    // The host hides the terminal (else its keys go to the shell) and lets bob type.
    tmux.keys("alice", &["M-`"]);
    tmux.wait("alice", "the editor back", |s| !s.contains("⌨ term1"));
    tmux.wait("bob", "the editor back, following alice", |s| {
        !s.contains("⌨ term1")
    });
    tmux.keys("alice", &["M-m"]);
    tmux.wait("alice", "the people menu", |s| s.contains("bob  ("));
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "bob's menu", |s| s.contains("Let them type"));
    tmux.keys("alice", &["Down", "Down", "Enter"]);
    tmux.wait("alice", "the warning", |s| {
        s.contains("bob may type in shared terminals")
    });
    tmux.keys("bob", &["M-`"]);
    tmux.wait("bob", "the grant", |s| {
        s.contains("typing goes to the terminal")
    });
    tmux.text("bob", "echo BOB_$((3+4)) > bob.txt");
    tmux.keys("bob", &["Enter"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(project.join("bob.txt"))
        .ok()
        .as_deref()
        != Some("BOB_7\n")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "bob's command never ran on the host; bob sees:\n{}",
            tmux.screen("bob")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.wait("alice", "the typist in the title", |s| s.contains("bob"));
}
