//! Shared terminals end to end: a real host running a real shell in a real PTY, a real
//! relay, participants through the client API; the host's refusal of keystrokes from a
//! member it has not let type, tried with crafted frames; and a participant's editor in
//! tmux showing the terminal as a user sees it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::{HeadlessHost, Tmux};
use cotype::channel::Incoming;
use cotype::client::Participant;
use cotype::host::session::{Approval, HostCommand, HostControl};
use cotype::host::{HostOptions, HostSession};
use cotype::link::Link;
use cotype::protocol::header::Route;
use cotype::protocol::message::{Message, TerminalMessage};
use cotype::relay::RelayConfig;

/// A host sharing `dir` with one terminal running `command` (id 1).
async fn host_with_terminal(
    dir: &Path,
    relay: std::net::SocketAddr,
    command: &str,
) -> (Link, HostControl) {
    let mut session = start_host(dir, relay).await;
    session
        .open_terminal(Some(command.to_owned()))
        .await
        .expect("a terminal starts");
    let link = session.link.clone();
    let control = session.control().unwrap();
    tokio::spawn(async move {
        let _ = session.run().await;
    });
    (link, control)
}

/// A host sharing `dir` through `relay`, letting everyone in.
async fn start_host(dir: &Path, relay: std::net::SocketAddr) -> HostSession {
    HostSession::start(HostOptions {
        root: dir.to_path_buf(),
        relay: relay.to_string(),
        insecure: false,
        hide: Vec::new(),
        name: "hostie".into(),
        approval: Approval::Auto,
        trust_project: false,
    })
    .await
    .expect("host starts")
}

/// Until the session's people show `participant` admitted.
async fn admitted(control: &mut HostControl, participant: u32) {
    let wait = control.people.wait_for(|people| {
        people
            .iter()
            .any(|person| person.member.participant == participant && person.admitted)
    });
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the member is admitted")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_member_runs_echo_and_a_late_joiner_sees_the_screen() {
    let relay = common::start_relay(RelayConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (link, mut control) =
        host_with_terminal(dir.path(), relay.address, "PS1='$ ' exec sh").await;

    let mut bob = Participant::join(&link, "bob").await.unwrap();
    admitted(&mut control, bob.id()).await;
    let id = bob
        .find_terminal(Some("term1"))
        .await
        .expect("a joiner learns which terminals are open");
    assert_eq!(id, 1);
    bob.watch_terminal(1).await;
    bob.terminal_screen(1, |screen| screen.contains("$ "))
        .await
        .expect("the shell's prompt shows");
    assert!(
        bob.type_in_terminal(1, b"echo hi\r").await.is_err(),
        "not granted: refused before it leaves"
    );

    control
        .commands
        .send(HostCommand::SetTerminalWriter {
            participant: bob.id(),
            allowed: true,
        })
        .await
        .unwrap();
    // The grant arrives as a `Grants` message; until then the client refuses itself.
    let bob_id = bob.id();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !bob.session.terminals.writers.contains(&bob_id) {
        assert!(std::time::Instant::now() < deadline, "the grant never came");
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            bob.terminal_screen(1, |_| false),
        )
        .await;
    }
    bob.type_in_terminal(1, b"echo TERM_$((6*7))\r")
        .await
        .unwrap();
    // The shell computed it: the typed text alone does not contain TERM_42.
    let screen = bob
        .terminal_screen(1, |screen| screen.lines().any(|line| line == "TERM_42"))
        .await
        .expect("the echo's output shows at the participant");
    assert!(screen.contains("echo TERM_$((6*7))"), "{screen}");

    let mut carol = Participant::join(&link, "carol").await.unwrap();
    carol.find_terminal(None).await.unwrap();
    carol.watch_terminal(1).await;
    let late = carol
        .terminal_screen(1, |screen| screen.lines().any(|line| line == "TERM_42"))
        .await
        .expect("a late joiner gets the current screen");
    assert_eq!(late, screen, "the late joiner sees what bob sees");
    assert!(
        carol.session.terminals.writers.contains(&bob_id),
        "a joiner learns who may type"
    );

    // A grant ends with its member: bob leaves, and everyone hears he no longer may type.
    bob.leave().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while carol.session.terminals.writers.contains(&bob_id) {
        assert!(
            std::time::Instant::now() < deadline,
            "bob's grant outlived him"
        );
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            carol.terminal_screen(1, |_| false),
        )
        .await;
    }
}

/// The last `TICK_N` on a screen.
fn last_tick(screen: &str) -> u32 {
    screen
        .lines()
        .filter_map(|line| line.trim().strip_prefix("TICK_")?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// A terminal's output goes to those who watch it: a member who never opened the
/// terminal gets none of it (nothing to carry or open between its edits' answers), and
/// starts getting it once it asks for the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_output_reaches_only_the_members_who_watch_it() {
    let relay = common::start_relay(RelayConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ticking = "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo TICK_$i; sleep 0.05; done";
    let (link, mut control) = host_with_terminal(dir.path(), relay.address, ticking).await;
    let mut bob = Participant::join(&link, "bob").await.unwrap();
    admitted(&mut control, bob.id()).await;
    bob.find_terminal(None).await.unwrap();
    bob.watch_terminal(1).await;
    let carol = Participant::join(&link, "carol").await.unwrap();
    admitted(&mut control, carol.id()).await;
    let mut carol = carol.into_channel();

    let before = last_tick(&bob.terminal_screen(1, |s| last_tick(s) > 0).await.unwrap());
    let mut carol_got = Vec::new();
    let quiet_until = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(incoming) = tokio::time::timeout_at(quiet_until, carol.recv()).await {
        if let Incoming::Message {
            message: Message::Terminal(message),
            ..
        } = incoming
        {
            carol_got.push(message);
        }
    }
    let after = last_tick(
        &bob.terminal_screen(1, |s| last_tick(s) > before + 10)
            .await
            .expect("the program went on printing for bob"),
    );
    assert!(
        !carol_got.iter().any(|message| matches!(
            message,
            TerminalMessage::Output { .. }
                | TerminalMessage::Resync { .. }
                | TerminalMessage::Resized { .. }
        )),
        "carol never opened the terminal, yet got its output while bob saw TICK_{before}..TICK_{after}: {carol_got:?}"
    );

    // Once she asks for the screen, its output follows.
    let watch = Message::Terminal(TerminalMessage::Watch { id: 1 });
    carol.sender.send(Route::Host, &watch).await.unwrap();
    let (mut snapshot, mut output) = (false, false);
    tokio::time::timeout(Duration::from_secs(10), async {
        while !(snapshot && output) {
            if let Incoming::Message {
                message: Message::Terminal(message),
                ..
            } = carol.recv().await
            {
                snapshot |= matches!(message, TerminalMessage::Snapshot { .. });
                output |= matches!(message, TerminalMessage::Output { .. });
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("watching, carol got a snapshot: {snapshot}, output: {output}"));
}

/// A watcher on a slow link is sent a terminal's frames only as fast as it says it applied
/// them: during a flood its link never holds more than the host's window of them (the
/// rest of its link stays free for edits), and once it has read everything it gets the
/// current screen in one catch-up, so it ends on the same screen as a fast watcher.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_a_slow_link_is_never_sent_a_backlog_and_ends_on_the_same_screen() {
    let relay = common::start_relay(RelayConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // Every character its own color: each redraw of the screen is ~25 KB, and a flood
    // redraws up to ten times a second, far more than the slow link carries.
    let mut colors = String::new();
    for line in 0..200 {
        for column in 0..118 {
            colors.push_str(&format!("\x1b[3{}m{}", (line + column) % 8, column % 10));
        }
        colors.push_str("\x1b[0m\n");
    }
    std::fs::write(dir.path().join("colors.txt"), colors).unwrap();
    let flood = "sleep 2; end=$(($(date +%s) + 3)); \
        while [ $(date +%s) -lt $end ]; do cat colors.txt; done; \
        echo FLOOD_OVER_$((6*7)); exec sh";
    let (link, mut control) = host_with_terminal(dir.path(), relay.address, flood).await;
    let slow = common::SlowLink::start(relay.address, 16 * 1024).await;

    let mut bob = Participant::join(&link, "bob").await.unwrap();
    admitted(&mut control, bob.id()).await;
    bob.find_terminal(None).await.unwrap();
    bob.watch_terminal(1).await;
    let mut sam = Participant::join(&common::via(&link, slow.address), "sam")
        .await
        .unwrap();
    admitted(&mut control, sam.id()).await;
    sam.find_terminal(None).await.unwrap();
    sam.watch_terminal(1).await;

    let over = |screen: &str| screen.lines().any(|line| line == "FLOOD_OVER_42");
    let fast = bob
        .terminal_screen(1, over)
        .await
        .expect("bob sees the flood end");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let slow_screen = loop {
        // Everything the host sent sam waits at most this long on a 16 KB/s link.
        let screen = tokio::time::timeout(Duration::from_secs(5), sam.terminal_screen(1, over))
            .await
            .ok()
            .and_then(Result::ok);
        if let Some(screen) = screen {
            break screen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sam never got the screen after the flood ({} KB waited on his link at most)",
            slow.most_waiting() / 1024
        );
    };
    assert_eq!(slow_screen, fast, "the slow watcher ends on another screen");
    // The window (64 KiB) plus one redraw and the frames' headers; without it the link
    // held every redraw of the flood (over 600 KB).
    assert!(
        slow.most_waiting() < 128 * 1024,
        "{} KB of terminal frames waited on the slow link at once",
        slow.most_waiting() / 1024
    );
}

/// The nice value in a `/proc/.../stat` line (the 19th field; the name in parentheses
/// before it may hold spaces).
fn nice_in_stat(stat: &str) -> i32 {
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(16).unwrap().parse().unwrap()
}

/// The scheduling policy in a `/proc/.../stat` line (the 41st field).
fn policy_in_stat(stat: &str) -> i32 {
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(38).unwrap().parse().unwrap()
}

/// Waits for the pid a terminal's shell wrote into `file`.
fn shell_pid(file: &Path) -> u32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let written = std::fs::read_to_string(file).unwrap_or_default();
        if let Ok(pid) = written.trim().parse::<u32>() {
            return pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the shell never wrote {}: {:?}",
            file.display(),
            std::fs::read_dir(file.parent().unwrap()).map(|d| d
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect::<Vec<_>>())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Until `read` gives `wanted` (the terminal's thread and the kernel's autogroup are
/// changed just after the program starts, which may have written its pid first).
fn eventually<T: PartialEq + std::fmt::Debug>(what: &str, wanted: T, read: impl Fn() -> T) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = read();
        if now == wanted {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} stayed {now:?}, not {wanted:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A flood competes with edits as a lesser party, never as an equal: each terminal parses
/// on a thread of its own at nice 10, and its program runs 10 nicer than the host, in a
/// scheduling group (Linux's autogroup: a PTY's program starts a session of its own) that
/// is 10 nicer than the host's too, while the host's own group is left as it was. With
/// `--terminal-nice 0` the program runs at the user's own priority.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_and_its_program_yield_the_cpu_to_the_session() {
    use cotype::host::priority::autogroup;
    use cotype::host::terminals::TerminalOptions;
    let relay = common::start_relay(RelayConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let our_group = autogroup("self");
    let mut session = start_host(dir.path(), relay.address).await;
    session
        .open_terminal(Some("echo $$ > niced.pid; exec sh".into()))
        .await
        .expect("a terminal starts");
    session.set_terminal_options(TerminalOptions {
        programs_nicer: 0,
        ..TerminalOptions::default()
    });
    session
        .open_terminal(Some("echo $$ > own.pid; exec sh".into()))
        .await
        .expect("a second terminal starts");
    tokio::spawn(async move {
        let _ = session.run().await;
    });

    let own_nice = nice_in_stat(&std::fs::read_to_string("/proc/self/stat").unwrap());
    let stat = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let niced = shell_pid(&dir.path().join("niced.pid"));
    assert_eq!(nice_in_stat(&stat(niced)), (own_nice + 10).min(19));
    assert_eq!(
        policy_in_stat(&stat(niced)),
        libc::SCHED_OTHER,
        "the terminal's program keeps the normal policy"
    );
    let own = shell_pid(&dir.path().join("own.pid"));
    assert_eq!(
        nice_in_stat(&stat(own)),
        own_nice,
        "--terminal-nice 0 leaves the program at the user's priority"
    );

    match our_group {
        Some((ours, our_group_nice)) => {
            let theirs = autogroup(&niced.to_string()).expect("the program's autogroup");
            assert_ne!(
                theirs.0, ours,
                "the program has a scheduling group of its own"
            );
            eventually(
                "the program's scheduling group's nice value",
                (our_group_nice + 10).min(19),
                || autogroup(&niced.to_string()).unwrap().1,
            );
            assert_eq!(
                autogroup("self"),
                Some((ours, our_group_nice)),
                "the host's own scheduling group was changed"
            );
            assert_eq!(autogroup(&own.to_string()).unwrap().1, 0);
        }
        None => eprintln!("this kernel has no autogroups: only the nice values were checked"),
    }

    let terminal_thread = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .find(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "terminal 1")
        })
        .expect("terminal 1 runs on a thread of its own");
    eventually(
        "the terminal's thread's nice value",
        (own_nice + 10).min(19),
        || nice_in_stat(&std::fs::read_to_string(terminal_thread.path().join("stat")).unwrap()),
    );
}

/// Attack: a member the host has not let type sends `Input` frames of its own making
/// (its client would refuse). The host refuses them and says so; once granted, the very
/// same frame runs, so the test would notice a host that ignored input altogether.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystrokes_from_a_member_not_granted_are_refused_by_the_host() {
    let relay = common::start_relay(RelayConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (link, mut control) = host_with_terminal(dir.path(), relay.address, "exec sh").await;
    let mallory = Participant::join(&link, "mallory").await.unwrap();
    let mallory_id = mallory.id();
    admitted(&mut control, mallory_id).await;
    let mut channel = mallory.into_channel();
    let input = Message::Terminal(TerminalMessage::Input {
        id: 1,
        bytes: b"touch PWNED\r".to_vec(),
    });
    channel.sender.send(Route::Host, &input).await.unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Incoming::Message {
                message: Message::Terminal(TerminalMessage::InputRefused { reason, .. }),
                ..
            } = channel.recv().await
            {
                return reason;
            }
        }
    })
    .await
    .expect("the host says it refused");
    assert!(refused.contains("not let you type"), "{refused}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !dir.path().join("PWNED").exists(),
        "a member not granted ran a command on the host"
    );

    control
        .commands
        .send(HostCommand::SetTerminalWriter {
            participant: mallory_id,
            allowed: true,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    channel.sender.send(Route::Host, &input).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !dir.path().join("PWNED").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "granted, the same frame never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What stays alive while bob looks at a shared terminal, dropped in this order: tmux,
/// the host, then its folders.
struct Watching {
    tmux: Tmux,
    _host: HeadlessHost,
    _home: tempfile::TempDir,
    _project: tempfile::TempDir,
}

/// A headless host sharing `files` and one 80x20 terminal running `command`; bob joins
/// in tmux (socket `test`), hears the terminal is open and shows it with alt-`.
fn bob_watches_a_terminal(test: &str, files: &[(&str, &[u8])], command: &str) -> Watching {
    let project = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    common::write_tree(project.path(), files);
    let host = HeadlessHost::start_with(
        project.path(),
        Some(home.path()),
        &["--terminal", command, "--terminal-size", "80x20"],
    );
    let tmux = Tmux::named(test);
    tmux.shell("bob", home.path());
    tmux.text(
        "bob",
        &format!(
            "{} join '{}' --name bob",
            env!("CARGO_BIN_EXE_cotype"),
            host.link
        ),
    );
    tmux.keys("bob", &["Enter"]);
    tmux.wait("bob", "the notice of the terminal", |screen| {
        screen.contains("shared terminal 'term1' is open")
    });
    tmux.keys("bob", &["M-`"]);
    Watching {
        tmux,
        _host: host,
        _home: home,
        _project: project,
    }
}

/// A participant's editor shows the terminal's colored output in its pane, as a user
/// sees it, with the PTY's size in the title.
#[test]
fn the_participant_editor_shows_the_terminal_with_colors() {
    let watching = bob_watches_a_terminal(
        "terminals",
        &[("notes.txt", b"hello\n")],
        "printf '\\033[31mRED_MARK\\033[0m plain\\n'; exec sh",
    );
    let tmux = &watching.tmux;
    let screen = tmux.wait("bob", "the terminal's output", |screen| {
        screen.contains("RED_MARK plain")
    });
    assert!(screen.contains("⌨ term1 80×20"), "{screen}");
    assert!(screen.contains("read-only"), "{screen}");
    let colored = tmux.run(&["capture-pane", "-p", "-e", "-t", "bob"]);
    let line = colored
        .lines()
        .find(|line| line.contains("RED_MARK"))
        .unwrap();
    let before = &line[..line.find("RED_MARK").unwrap()];
    assert!(
        before.ends_with("\u{1b}[31m") || before.contains("38;5;1m") || before.contains("[31m"),
        "RED_MARK is not red: {line:?}"
    );
    // The terminal's own attributes only: nothing of what the editor drew under the pane
    // (its welcome text is italic) shows through.
    let through_plain = &line[..line.find(" plain").unwrap()];
    assert!(
        !sgr_parameters(through_plain).contains(&3),
        "the terminal's text is drawn italic: {line:?}"
    );
    // Typing is refused here, at the viewer, with a reason.
    tmux.text("bob", "x");
    tmux.wait("bob", "the read-only notice", |screen| {
        screen.contains("the host has not let you type here")
    });
    tmux.keys("bob", &["M-`"]);
    tmux.wait("bob", "the editor back", |screen| {
        !screen.contains("⌨ term1")
    });
}

/// The SGR parameters set in `text` (colors' own numbers, as in `38;5;3`, skipped).
fn sgr_parameters(text: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for sequence in text.split("\u{1b}[").skip(1) {
        let Some(end) = sequence.find('m') else {
            continue;
        };
        let mut parameters = sequence[..end].split(';').map(|p| p.parse().unwrap_or(0));
        while let Some(parameter) = parameters.next() {
            match parameter {
                38 | 48 | 58 => match parameters.next() {
                    Some(5) => drop(parameters.next()),
                    Some(2) => drop(parameters.by_ref().take(3).count()),
                    _ => {}
                },
                other => found.push(other),
            }
        }
    }
    found
}

/// A full-screen program in a shared terminal: vim (alternate screen, cursor addressing,
/// its `~` rows for lines past the end) draws at the participant as it does at the host.
#[test]
fn vim_in_a_shared_terminal_renders_its_screen_at_the_participant() {
    let watching = bob_watches_a_terminal(
        "terminal-vim",
        &[("notes.txt", b"first VIM_MARK line\nsecond line\n")],
        "vim -u NONE -N -i NONE notes.txt",
    );
    let tmux = &watching.tmux;
    // vim's screen: the file's lines at the top, a `~` for each row past its end, and
    // its message about the file on the last row.
    let screen = tmux.wait("bob", "vim's screen", |screen| {
        let tildes = screen
            .lines()
            .filter(|row| row.trim_matches(|c: char| c == '│' || c.is_whitespace()) == "~")
            .count();
        screen.contains("first VIM_MARK line") && tildes >= 10 && screen.contains("\"notes.txt\"")
    });
    let rows: Vec<&str> = screen.lines().collect();
    let first = rows
        .iter()
        .position(|row| row.contains("first VIM_MARK line"))
        .unwrap();
    assert!(rows[first + 1].contains("second line"), "{screen}");
    assert!(screen.contains("⌨ term1 80×20"), "{screen}");
}

/// What crosses the relay is sealed: a terminal's name, its output and what a member
/// types in it never appear in the relay's traffic, while the participant reads them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_names_output_and_keystrokes_never_reach_the_relay_in_the_clear() {
    let relay = common::start_relay(RelayConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (link, mut control) =
        common::start_host_with(dir.path(), relay.address, "hostie", &[], Approval::Auto).await;
    // The output marker is made by the shell, so it is in no command line either.
    control
        .commands
        .send(HostCommand::OpenTerminal {
            name: Some("MARKER_TERM_NAME".into()),
            command: Some("printf 'MARKER_TERM_%s\\n' OUT; exec sh".into()),
        })
        .await
        .unwrap();
    let mut bob = Participant::join(&link, "bob").await.unwrap();
    admitted(&mut control, bob.id()).await;
    let id = bob.find_terminal(Some("MARKER_TERM_NAME")).await.unwrap();
    bob.watch_terminal(id).await;
    bob.terminal_screen(id, |screen| screen.contains("MARKER_TERM_OUT"))
        .await
        .unwrap();
    control
        .commands
        .send(HostCommand::SetTerminalWriter {
            participant: bob.id(),
            allowed: true,
        })
        .await
        .unwrap();
    let bob_id = bob.id();
    while !bob.session.terminals.writers.contains(&bob_id) {
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            bob.terminal_screen(id, |_| false),
        )
        .await;
    }
    bob.type_in_terminal(id, b"echo MARKER_TERM_IN_$((1+1))\r")
        .await
        .unwrap();
    bob.terminal_screen(id, |screen| screen.contains("MARKER_TERM_IN_2"))
        .await
        .unwrap();
    let tapped = relay.tapped.lock().unwrap().clone();
    assert!(tapped.len() > 10, "the tap saw the traffic");
    for marker in [
        &b"MARKER_TERM_NAME"[..],
        b"MARKER_TERM_OUT",
        b"MARKER_TERM_IN",
    ] {
        for (direction, frame) in &tapped {
            assert!(
                !common::contains(frame, marker),
                "{} crossed the relay in the clear ({direction:?})",
                String::from_utf8_lossy(marker)
            );
        }
    }
}

/// `cotype term`: `--dump` prints the screen as text; a terminal that does not exist and
/// typing without the host's leave are exit code 5, with a sentence that says why.
#[test]
fn the_term_command_dumps_the_screen_and_refuses_typing_without_a_grant() {
    let project = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let host = HeadlessHost::start_with(
        project.path(),
        Some(home.path()),
        &["--terminal", "printf 'DUMP_%s\\n' MARK; exec sh"],
    );
    let term = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cotype"))
            .arg("term")
            .arg(&host.link)
            .args(args)
            .env("HOME", home.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // `--dump` prints the screen as it is at that moment: right after the host started,
    // the program may not have printed yet. A user dumps again until it has; so does this.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let dump = term(&["--dump", "--name", "probe"], "");
        let text = String::from_utf8_lossy(&dump.stdout);
        assert!(dump.status.success(), "{dump:?}");
        if text.lines().any(|line| line == "DUMP_MARK") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let missing = term(&["--dump", "--terminal", "nope"], "");
    assert_eq!(missing.status.code(), Some(5), "{missing:?}");
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("no shared terminal named nope (open: term1)"),
        "{said}"
    );

    let typing = term(&[], "touch TYPED\n");
    assert_eq!(typing.status.code(), Some(5), "{typing:?}");
    let said = String::from_utf8_lossy(&typing.stderr);
    assert!(said.contains("ask the host for write access"), "{said}");
    std::thread::sleep(Duration::from_secs(1));
    assert!(!project.path().join("TYPED").exists());
}
