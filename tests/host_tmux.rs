//! `cotype host DIR` in a real terminal, as issue 6 asks a new user to try it: the host
//! edits in its own UI while a participant joins from another tmux session; the host
//! admits them from a prompt, sets them read-only, removes them with a rekey, and ends
//! the session. Each step is checked on the screens (capture-pane) and on disk.
//!
//! Waits poll the screen against a deadline: they wait for correctness and assert nothing
//! about speed. The test fails (never skips) when tmux is missing.

use std::process::Command;

mod common;

use common::tmux::{Tmux, flag_near, picker_chose};

/// The first `http(s)://…#…` link on the screen. The session card wraps a link wider
/// than itself onto the next rows, between its borders: those rows are joined back.
fn link_on(screen: &str) -> Option<String> {
    let inside = |line: &str| line.trim().trim_matches('│').trim().to_owned();
    let lines: Vec<String> = screen.lines().map(inside).collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("http") && line.contains("/s/") && line.contains('#'))?;
    let mut link = lines[start].clone();
    let is_key_text = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    for line in &lines[start + 1..] {
        if !is_key_text(line) {
            break;
        }
        link.push_str(line);
    }
    Some(link)
}

fn ls(bin: &str, link: &str, home: &std::path::Path) -> std::process::Output {
    Command::new(bin)
        .args(["ls", link, "--name", "probe"])
        .env("HOME", home)
        .output()
        .expect("the cotype binary runs")
}

#[test]
fn the_host_admits_restricts_removes_and_ends_from_its_own_editor() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {\n}\n").unwrap();
    // An empty HOME: no user config, keymap or theme changes what the test sees.
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let tmux = Tmux::new();

    // The host's editor opens with the session card: the link and the verification code.
    tmux.shell("alice", &home);
    tmux.text(
        "alice",
        &format!(
            "{bin} host {} --name alice; echo alice-exited-$?",
            project.display()
        ),
    );
    tmux.keys("alice", &["Enter"]);
    let card = tmux.wait("alice", "the session card with the link", |s| {
        s.contains("Share this link") && link_on(s).is_some()
    });
    let link = link_on(&card).unwrap();
    assert!(card.contains("Verification code:"), "{card}");
    tmux.keys("alice", &["q"]);
    tmux.wait("alice", "the card closed", |s| {
        !s.contains("Share this link")
    });

    // bob asks to join; the host is asked (approval is the UI's default), bob waits.
    tmux.shell("bob", &home);
    tmux.text(
        "bob",
        &format!("COTYPE_LINK='{link}' {bin} join --name bob; echo bob-exited-$?"),
    );
    tmux.keys("bob", &["Enter"]);
    tmux.wait("alice", "the join prompt", |s| {
        s.contains("bob asks to join") && s.contains("Admit as editor")
    });
    tmux.wait("bob", "the waiting notice", |s| {
        s.contains("waiting for the host to let you in")
    });
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "bob admitted", |s| {
        s.contains("bob joined as an editor")
    });
    // A participant follows the host's own user on joining.
    tmux.wait("bob", "bob in, following alice", |s| {
        s.contains("bob (you)") && s.contains("following alice")
    });

    // The host edits in its own editor; bob, following, sees the text and alice's flag.
    tmux.keys("alice", &["C-p"]);
    tmux.wait("alice", "the file picker", |s| s.contains("Open file"));
    tmux.text("alice", "main");
    tmux.wait("alice", "the match", |s| picker_chose(s, "src/main.rs"));
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "the opened file", |s| s.contains("fn main() {"));
    let typed = "// by alice";
    tmux.text("alice", typed);
    tmux.wait("bob", "alice's text with her flag", |s| {
        flag_near(s, typed, "alice")
    });

    // Read-only: from the people menu. bob's typing is refused with a message.
    tmux.keys("alice", &["M-m"]);
    tmux.wait("alice", "the people menu", |s| s.contains("bob  (editor"));
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "bob's menu", |s| s.contains("Make read-only"));
    tmux.keys("alice", &["Down", "Enter"]);
    tmux.wait("alice", "the role change", |s| {
        s.contains("bob is now read-only")
    });
    tmux.wait("bob", "his read-only badge", |s| {
        s.contains("bob (you) read-only")
    });
    tmux.text("bob", "zzz");
    tmux.wait("bob", "the refusal", |s| s.contains("you are read-only"));

    // Saved by the host: on disk, without bob's refused keys.
    tmux.keys("alice", &["C-s"]);
    tmux.wait("alice", "the save", |s| s.contains("saved src/main.rs"));
    let on_disk = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert_eq!(on_disk, format!("{typed}fn main() {{\n}}\n"));

    // Quitting would end the session for bob: the host is told first, and any other key
    // takes the quit back.
    tmux.keys("alice", &["C-q"]);
    tmux.wait("alice", "what quitting would cost", |s| {
        s.contains("quitting ends the session for 1 other(s): quit again to confirm")
    });
    tmux.keys("alice", &["End"]);

    // Removal: bob is cut off, keys rotate, the card shows a new link.
    tmux.keys("alice", &["M-m"]);
    tmux.wait("alice", "the people menu", |s| {
        s.contains("bob  (read-only")
    });
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "bob's menu", |s| {
        s.contains("Remove from the session")
    });
    // Follow, the role, typing in shared terminals, then removal.
    tmux.keys("alice", &["Down", "Down", "Down", "Enter"]);
    // The exit status on a line of its own (the typed command line contains the text too).
    let bob = tmux.wait("bob", "bob's editor gone, with the reason", |s| {
        s.lines().any(|line| line.starts_with("bob-exited-"))
    });
    tmux.wait("alice", "the rekey notice", |s| {
        s.contains("removed; keys rotated")
    });
    assert!(
        bob.contains("removed you from the session") && !bob.contains("bob-exited-0"),
        "{bob}"
    );
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "bob", "#{alternate_on}"])
            .trim(),
        "0",
        "bob's terminal is back on the normal screen"
    );
    tmux.keys("alice", &["M-l"]);
    let card = tmux.wait("alice", "the card with a new link", |s| {
        link_on(s).is_some_and(|new| new != link)
    });
    let new_link = link_on(&card).unwrap();
    tmux.keys("alice", &["q"]);
    let old = ls(bin, &link, &home);
    assert!(!old.status.success(), "the old link must not join");
    let old_error = String::from_utf8_lossy(&old.stderr);
    assert!(
        old_error.contains("cotype:") && !old_error.contains(link.split('#').nth(1).unwrap()),
        "a clear error that does not print the secret: {old_error}"
    );
    // The new link works, and the host is asked again.
    let probe = Command::new(bin)
        .args(["ls", &new_link, "--name", "probe"])
        .env("HOME", &home)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the cotype binary runs");
    tmux.wait("alice", "the join prompt", |s| {
        s.contains("probe asks to join")
    });
    tmux.keys("alice", &["Enter"]);
    let new = probe.wait_with_output().unwrap();
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&new.stdout).trim(), "src/main.rs");

    // Ending: with nobody else in the session and every file saved, one quit ends it.
    tmux.wait("alice", "the probe gone from the people panel", |s| {
        s.contains("People (1)")
    });
    tmux.keys("alice", &["C-q"]);
    tmux.wait("alice", "the shell after quitting", |s| {
        s.contains("alice-exited-0")
    });
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "alice", "#{alternate_on}"])
            .trim(),
        "0",
        "the host's terminal is back on the normal screen"
    );
    assert!(
        !ls(bin, &new_link, &home).status.success(),
        "nothing is served after the host ended the session"
    );
}

/// A bug in the host's own editor must not end the session: the panic gives the terminal
/// back and says what happened, the session goes on serving (a participant still edits
/// and saves), and Enter reopens the editor on the same session. `COTYPE_CRASH_KEY` makes
/// the editor panic on a key, as a real bug would.
#[test]
fn a_crash_of_the_hosts_editor_leaves_the_session_serving_and_the_editor_reopens() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {\n}\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let tmux = Tmux::named("host_crash");

    tmux.shell("alice", &home);
    tmux.text(
        "alice",
        &format!(
            "COTYPE_CRASH_KEY=F7 {bin} host {} --name alice --approve auto; echo alice-exited-$?",
            project.display()
        ),
    );
    tmux.keys("alice", &["Enter"]);
    let card = tmux.wait("alice", "the session card with the link", |s| {
        s.contains("Share this link") && link_on(s).is_some()
    });
    let link = link_on(&card).unwrap();
    tmux.keys("alice", &["q"]);
    tmux.wait("alice", "the card closed", |s| {
        !s.contains("Share this link")
    });

    tmux.keys("alice", &["F7"]);
    let crashed = tmux.wait("alice", "the crash report on the normal screen", |s| {
        s.contains("the editor stopped on a bug") && s.contains("Press Enter to reopen")
    });
    assert!(
        crashed.contains("COTYPE_CRASH_KEY was pressed"),
        "the panic's message is shown: {crashed}"
    );
    assert!(!crashed.contains("alice-exited"), "{crashed}");

    // The session serves on: a participant edits and saves through it.
    let edit = Command::new(bin)
        .args([
            "edit",
            &link,
            "src/main.rs",
            "--at",
            "1:1",
            "--insert",
            "// after the crash\n",
            "--save",
            "--name",
            "bob",
        ])
        .env("HOME", &home)
        .output()
        .expect("the cotype binary runs");
    assert!(
        edit.status.success(),
        "an edit after the host's editor crashed: {}",
        String::from_utf8_lossy(&edit.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(project.join("src/main.rs")).unwrap(),
        "// after the crash\nfn main() {\n}\n"
    );

    // Enter brings the editor back on the same session, with what happened meanwhile.
    tmux.keys("alice", &["Enter"]);
    // (The message line tells what happened meanwhile, e.g. "bob joined as an editor".)
    tmux.wait("alice", "the editor back", |s| {
        s.contains("alice (you) host") && s.contains("opens a file")
    });
    tmux.keys("alice", &["C-p"]);
    tmux.wait("alice", "the file picker", |s| s.contains("Open file"));
    tmux.text("alice", "main");
    tmux.wait("alice", "the match", |s| picker_chose(s, "src/main.rs"));
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "bob's saved line", |s| {
        s.contains("// after the crash")
    });
    tmux.keys("alice", &["C-q"]);
    tmux.wait("alice", "a clean end", |s| s.contains("alice-exited-0"));
}

/// An ignore file changed during the session (a member edited `.gitignore` through it,
/// or someone on the host's machine did): what it hid stays hidden, and the host's own
/// editor asks whether to adopt the file as it is now. Keeping is the choice Enter makes;
/// adopting shows the files it no longer hides to everyone.
#[test]
fn the_host_adopts_a_changed_ignore_file_from_its_own_editor() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join(".gitignore"), "secrets.txt\n").unwrap();
    std::fs::write(project.join("secrets.txt"), "hunter2\n").unwrap();
    std::fs::write(project.join("notes.txt"), "notes\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let tmux = Tmux::named("host_adopt_ignores");

    tmux.shell("alice", &home);
    tmux.text(
        "alice",
        &format!(
            "{bin} host {} --name alice --approve auto; echo alice-exited-$?",
            project.display()
        ),
    );
    tmux.keys("alice", &["Enter"]);
    let card = tmux.wait("alice", "the session card with the link", |s| {
        s.contains("Share this link") && link_on(s).is_some()
    });
    let link = link_on(&card).unwrap();
    tmux.keys("alice", &["q"]);
    tmux.wait("alice", "the card closed", |s| {
        !s.contains("Share this link")
    });
    let listed = |what: &str| {
        let out = ls(bin, &link, &home);
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(!listed("before").contains("secrets.txt"));

    // The rule is deleted: the host's user is asked, and keeping it changes nothing.
    std::fs::write(project.join(".gitignore"), "").unwrap();
    tmux.wait("alice", "the prompt about the changed ignore file", |s| {
        s.contains(".gitignore changed") && s.contains("Adopt")
    });
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "the prompt answered: kept", |s| {
        s.contains("files hidden at the start stay hidden")
    });
    assert!(!listed("kept").contains("secrets.txt"));

    // Adopting later, from the host's people menu (alt-m), which offers it until then.
    tmux.keys("alice", &["M-m"]);
    tmux.wait("alice", "the menu offering to adopt", |s| {
        s.contains("Adopt .gitignore as it is now")
    });
    tmux.text("alice", "adopt");
    tmux.keys("alice", &["Enter"]);
    tmux.wait("alice", "the adoption confirmed", |s| {
        s.contains("adopted .gitignore")
    });
    let after = listed("adopted");
    assert!(after.contains("secrets.txt"), "{after}");
    assert!(after.contains("notes.txt"), "{after}");
}
