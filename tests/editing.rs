//! Editing together end to end: concurrent editors over the real relay converge on the
//! host's order, every insertion lands exactly once, and dropped connections (a
//! participant's or the host's) lose and double nothing.

mod common;

use std::time::Duration;

use common::{CuttableProxy, start_host, start_relay, type_at_end, via, wait_synced, write_tree};
use cotype::client::Participant;
use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::session::{Session, SessionError, SessionEvent};
use cotype::host::session::{Approval, HostCommand, HostEvent};
use cotype::protocol::message::Role;
use cotype::relay::RelayConfig;
use cotype::text::Operation;

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

async fn cat(link: &cotype::link::Link, path: &str) -> String {
    let mut participant = Participant::join(link, "reader").await.unwrap();
    let mut bytes = Vec::new();
    participant.read_file(path, &mut bytes).await.unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edit_processes_converge_with_every_insertion_once() {
    let dir = tempfile::tempdir().unwrap();
    let original = "fn main() {\r\n    println!(\"héllo 😀\");\r\n}\r\n";
    write_tree(dir.path(), &[("src/main.rs", original.as_bytes())]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let url = link.to_url();

    let editors = 8;
    let mut children = Vec::new();
    for i in 0..editors {
        // Every editor aims at a place in the text it saw when it opened the file; the
        // host transforms them against each other.
        let (at, token) = match i % 3 {
            0 => ("1:1".to_string(), format!("/*t{i}*/")),
            1 => ("2:15".to_string(), format!("<t{i}>")),
            _ => ("3:2".to_string(), format!("\r\n// t{i}")),
        };
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cotype"))
            .args(["edit", &url, "src/main.rs", "--at", &at, "--insert", &token])
            .args(["--name", &format!("editor{i}")])
            .output();
        children.push((token, child));
    }
    let mut tokens = Vec::new();
    for (token, child) in children {
        let output = child.await.unwrap();
        assert!(
            output.status.success(),
            "editor failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tokens.push(token);
    }
    let save = tokio::process::Command::new(env!("CARGO_BIN_EXE_cotype"))
        .args([
            "edit",
            &url,
            "src/main.rs",
            "--at",
            "1:1",
            "--insert",
            "//saved\r\n",
            "--save",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        save.status.success(),
        "{}",
        String::from_utf8_lossy(&save.stderr)
    );

    let on_disk = std::fs::read_to_string(dir.path().join("src/main.rs")).unwrap();
    let served = cat(&link, "src/main.rs").await;
    assert_eq!(on_disk, served, "cat and the file on disk agree");
    for token in &tokens {
        assert_eq!(
            count(&on_disk, token),
            1,
            "{token:?} exactly once in {on_disk:?}"
        );
    }
    assert_eq!(count(&on_disk, "//saved"), 1);
    // The original text is intact around the insertions, line endings included.
    assert!(on_disk.contains("    println!(\"<t"), "{on_disk:?}");
    assert!(on_disk.contains(">héllo 😀\");\r\n}"), "{on_disk:?}");
    assert!(on_disk.contains("\r\n}\r\n// t"), "{on_disk:?}");
    assert!(
        on_disk.ends_with("\r\n"),
        "the final newline is kept: {on_disk:?}"
    );
    assert!(
        !on_disk.replace("\r\n", "").contains('\n'),
        "no bare LF introduced"
    );
}

async fn join_and_open(link: &cotype::link::Link, name: &str, path: &str) -> (Driver, Session) {
    let (mut driver, mut session) = Driver::join(link, name).await.unwrap();
    open(&mut driver, &mut session, path).await.unwrap();
    (driver, session)
}

/// Waits until `session`'s copy of `path` contains `needle`.
async fn wait_for_text(driver: &mut Driver, session: &mut Session, path: &str, needle: &str) {
    run_until(driver, session, Duration::from_secs(60), |session, _| {
        Ok(session
            .documents
            .get(path)
            .is_some_and(|d| d.rope.to_string().contains(needle)))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_whose_link_drops_mid_edit_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("notes.txt", b"start\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let proxy = CuttableProxy::start(relay.address).await;

    let (mut flaky, mut flaky_session) =
        join_and_open(&via(&link, proxy.address), "flaky", "notes.txt").await;
    let (mut steady, mut steady_session) = join_and_open(&link, "steady", "notes.txt").await;

    for round in 0..5 {
        // Edits go out, and the link drops before (some of) their acknowledgements return.
        for i in 0..4 {
            type_at_end(&mut flaky_session, "notes.txt", &format!("[f{round}.{i}]"));
            flaky.flush(&mut flaky_session).await;
        }
        type_at_end(&mut steady_session, "notes.txt", &format!("[s{round}]"));
        steady.flush(&mut steady_session).await;
        proxy.cut();
        // Typing goes on while disconnected; it must flow once the link is back.
        type_at_end(
            &mut flaky_session,
            "notes.txt",
            &format!("[offline{round}]"),
        );
        wait_synced(&mut flaky, &mut flaky_session, "notes.txt").await;
        wait_synced(&mut steady, &mut steady_session, "notes.txt").await;
    }
    wait_for_text(&mut steady, &mut steady_session, "notes.txt", "[offline4]").await;
    wait_for_text(&mut flaky, &mut flaky_session, "notes.txt", "[s4]").await;

    let flaky_text = flaky_session.documents["notes.txt"].rope.to_string();
    let steady_text = steady_session.documents["notes.txt"].rope.to_string();
    assert_eq!(flaky_text, steady_text, "both participants converged");
    for round in 0..5 {
        for token in (0..4)
            .map(|i| format!("[f{round}.{i}]"))
            .chain([format!("[s{round}]"), format!("[offline{round}]")])
        {
            assert_eq!(
                count(&steady_text, &token),
                1,
                "{token} once in {steady_text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_participant_restarts_without_doubling_what_the_host_applied() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;

    let (mut driver, mut session) = join_and_open(&link, "victim", "a.txt").await;
    for i in 0..10 {
        type_at_end(&mut session, "a.txt", &format!("<acked{i}>"));
        driver.flush(&mut session).await;
    }
    wait_synced(&mut driver, &mut session, "a.txt").await;
    // Mid-edit: sent but not acknowledged, then the process "dies".
    for i in 0..10 {
        type_at_end(&mut session, "a.txt", &format!("<inflight{i}>"));
        driver.flush(&mut session).await;
    }
    drop((driver, session));

    let (mut driver, mut session) = join_and_open(&link, "victim", "a.txt").await;
    // Give anything still in flight time to land, then read the host's truth.
    type_at_end(&mut session, "a.txt", "<restarted>");
    wait_synced(&mut driver, &mut session, "a.txt").await;
    let text = session.documents["a.txt"].rope.to_string();
    for i in 0..10 {
        assert_eq!(count(&text, &format!("<acked{i}>")), 1, "{text}");
        assert!(count(&text, &format!("<inflight{i}>")) <= 1, "{text}");
    }
    assert_eq!(count(&text, "<restarted>"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_resumes_after_its_link_drops_and_no_edit_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("shared.md", b"# notes\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let proxy = CuttableProxy::start(relay.address).await;
    let link = start_host(dir.path(), proxy.address, "host", &[]).await;
    let link = via(&link, relay.address);

    let (mut alice, mut alice_session) = join_and_open(&link, "alice", "shared.md").await;
    let (mut bob, mut bob_session) = join_and_open(&link, "bob", "shared.md").await;
    type_at_end(&mut alice_session, "shared.md", "before ");
    wait_synced(&mut alice, &mut alice_session, "shared.md").await;

    proxy.cut();
    // Both keep typing while the host is away; the edits wait and flow when it is back.
    for i in 0..5 {
        type_at_end(&mut alice_session, "shared.md", &format!("a{i} "));
        type_at_end(&mut bob_session, "shared.md", &format!("b{i} "));
    }
    alice.flush(&mut alice_session).await;
    bob.flush(&mut bob_session).await;
    wait_synced(&mut alice, &mut alice_session, "shared.md").await;
    wait_synced(&mut bob, &mut bob_session, "shared.md").await;
    wait_for_text(&mut alice, &mut alice_session, "shared.md", "b4 ").await;
    wait_for_text(&mut bob, &mut bob_session, "shared.md", "a4 ").await;
    assert!(
        relay
            .relay
            .metrics_text()
            .contains("cotype_relay_host_resumes_total 1"),
        "the host's link really dropped and was resumed"
    );

    let alice_text = alice_session.documents["shared.md"].rope.to_string();
    assert_eq!(
        alice_text,
        bob_session.documents["shared.md"].rope.to_string()
    );
    for token in ["before ", "a0 ", "a4 ", "b0 ", "b4 "] {
        assert_eq!(
            count(&alice_text, token),
            1,
            "{token:?} once in {alice_text:?}"
        );
    }
    // And the host really has it: a newcomer reads the same.
    let (_, newcomer) = join_and_open(&link, "carol", "shared.md").await;
    assert_eq!(newcomer.documents["shared.md"].rope.to_string(), alice_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_the_hosts_disk_reaches_everyone_as_an_edit_and_a_deletion_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("config.toml", b"name = \"old\"\r\nsize = 1\r\n"),
            ("gone.txt", b"bye\n"),
        ],
    );
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut driver, mut session) = join_and_open(&link, "watcher", "config.toml").await;

    // Another program (an editor on the host, a formatter, git) rewrites the file.
    std::fs::write(
        dir.path().join("config.toml"),
        "name = \"new\"\r\nsize = 1\r\n",
    )
    .unwrap();
    wait_for_text(&mut driver, &mut session, "config.toml", "\"new\"").await;
    let text = session.documents["config.toml"].rope.to_string();
    assert_eq!(
        text, "name = \"new\"\r\nsize = 1\r\n",
        "the disk's text, as an edit"
    );

    // With unsaved edits, a change on disk never overwrites what people typed: a notice.
    type_at_end(&mut session, "config.toml", "# mine\r\n");
    wait_synced(&mut driver, &mut session, "config.toml").await;
    std::fs::write(dir.path().join("config.toml"), "name = \"other\"\r\n").unwrap();
    run_until(&mut driver, &mut session, Duration::from_secs(30), |_, event| {
        Ok(matches!(event, Some(cotype::client::session::SessionEvent::Notice { message }) if message.contains("unsaved edits")))
    })
    .await
    .expect("the conflict is announced");
    assert_eq!(
        session.documents["config.toml"].rope.to_string(),
        "name = \"new\"\r\nsize = 1\r\n# mine\r\n",
        "the unsaved edit is kept"
    );

    std::fs::remove_file(dir.path().join("gone.txt")).unwrap();
    run_until(&mut driver, &mut session, Duration::from_secs(30), |_, event| {
        Ok(matches!(
            event,
            Some(cotype::client::session::SessionEvent::Host(cotype::protocol::message::Event::FileDeleted { path })) if path == "gone.txt"
        ))
    })
    .await
    .expect("the deletion is announced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_utf8_is_refused_for_editing_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("latin1.txt", b"caf\xe9\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut driver, mut session) = Driver::join(&link, "editor").await.unwrap();
    let error = open(&mut driver, &mut session, "latin1.txt")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "latin1.txt is not valid UTF-8; cotype edits UTF-8 text only (you can still `cat` it)"
    );
    // Its exact bytes are still readable.
    let mut participant = Participant::join(&link, "reader").await.unwrap();
    let mut bytes = Vec::new();
    participant
        .read_file("latin1.txt", &mut bytes)
        .await
        .unwrap();
    assert_eq!(bytes, b"caf\xe9\n");
}

/// `./notes.txt` and `notes.txt` are one file, so they must be one document: a save
/// through either name keeps everyone's edits. A request in another form than the host's
/// is refused rather than opening a second copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_file_is_one_document_whatever_the_path_looks_like() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("notes.txt", b"notes\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;

    // Ada has typed into notes.txt and not saved.
    let (mut ada_driver, mut ada) = join_and_open(&link, "ada", "notes.txt").await;
    type_at_end(&mut ada, "notes.txt", "ada's unsaved line\n");
    wait_synced(&mut ada_driver, &mut ada, "notes.txt").await;

    // Bob edits and saves it by another spelling of its path.
    let save = tokio::process::Command::new(env!("CARGO_BIN_EXE_cotype"))
        .args([
            "edit",
            &link.to_url(),
            "./notes.txt",
            "--at",
            "1:1",
            "--insert",
            "bob: ",
            "--save",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        save.status.success(),
        "{}",
        String::from_utf8_lossy(&save.stderr)
    );
    let on_disk = std::fs::read_to_string(dir.path().join("notes.txt")).unwrap();
    assert_eq!(on_disk, "bob: notes\nada's unsaved line\n");

    // A request in another form is refused with the form to use.
    let (mut driver, mut session) = Driver::join(&link, "raw").await.unwrap();
    session.open_document("./notes.txt");
    let mut refusal = String::new();
    run_until(
        &mut driver,
        &mut session,
        Duration::from_secs(30),
        |_, event| {
            if let Some(cotype::client::session::SessionEvent::Failed { message, .. }) = event {
                refusal = message.clone();
            }
            Ok(!refusal.is_empty())
        },
    )
    .await
    .unwrap();
    assert_eq!(
        refusal,
        "`./notes.txt` is not how the host names that file: ask for `notes.txt`"
    );
}

/// An edit the host could not broadcast in one frame is refused before it is applied,
/// with a reason; everyone stays in step and goes on editing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_too_large_to_share_is_refused_and_everyone_stays_in_step() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("big.txt", b"start\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut ada_driver, mut ada) = join_and_open(&link, "ada", "big.txt").await;
    let (mut bob_driver, mut bob) = join_and_open(&link, "bob", "big.txt").await;

    // Fits the frame ada sends, but not the host's broadcast of it.
    let paste = "x".repeat(cotype::protocol::MAX_EDIT_BYTES);
    type_at_end(&mut ada, "big.txt", &paste);
    let mut refusal = String::new();
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(60),
        |_, event| {
            if let Some(cotype::client::session::SessionEvent::EditRefused { reason, .. }) = event {
                refusal = reason.clone();
            }
            Ok(!refusal.is_empty())
        },
    )
    .await
    .unwrap();
    assert!(refusal.contains("make it in parts"), "{refusal}");

    // Both go on: bob's next line reaches ada, and the file holds no half of the paste.
    wait_for_text(&mut ada_driver, &mut ada, "big.txt", "start\n").await;
    type_at_end(&mut bob, "big.txt", "bob was here\n");
    wait_synced(&mut bob_driver, &mut bob, "big.txt").await;
    wait_for_text(&mut ada_driver, &mut ada, "big.txt", "bob was here").await;
    assert_eq!(
        ada.documents["big.txt"].rope.to_string(),
        "start\nbob was here\n"
    );
}

/// While someone has unsaved edits, `cotype search` and `cotype cat` answer from the text
/// everyone sees, not the stale file on disk (`cat --disk` gives the saved bytes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_cat_read_the_shared_text_with_its_unsaved_edits() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("notes.txt", b"first\nold needle here\n"),
            ("other.txt", b"needle on disk\n"),
        ],
    );
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let url = link.to_url();

    // Ada puts a line above the old match and does not save.
    let (mut ada_driver, mut ada) = join_and_open(&link, "ada", "notes.txt").await;
    ada.local_edit(
        "notes.txt",
        Operation::insert(22, 0, "ada's needle, unsaved\n").unwrap(),
    )
    .unwrap();
    wait_synced(&mut ada_driver, &mut ada, "notes.txt").await;

    let cotype = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cotype"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let found = tokio::task::block_in_place(|| cotype(&["search", &url, "needle"]));
    let mut lines: Vec<&str> = found.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "notes.txt:1:7:ada's needle, unsaved",
            "notes.txt:3:5:old needle here",
            "other.txt:1:1:needle on disk",
        ]
    );
    let shared = tokio::task::block_in_place(|| cotype(&["cat", &url, "notes.txt"]));
    assert_eq!(shared, "ada's needle, unsaved\nfirst\nold needle here\n");
    let saved = tokio::task::block_in_place(|| cotype(&["cat", &url, "notes.txt", "--disk"]));
    assert_eq!(saved, "first\nold needle here\n");
}

/// A relay killed and started again knows no session. The host creates its session again
/// under the same id and keys, the participant comes back by itself with the same link,
/// and nothing typed before, during or after is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_restart_loses_no_session_and_no_edit() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("notes.txt", b"notes\n")]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let start_relay_process = || {
        let mut relay = std::process::Command::new(env!("CARGO_BIN_EXE_cotype"))
            .args(["relay", "--listen", &address.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = relay.stderr.take().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut line).unwrap();
        assert!(line.contains("listening"), "{line}");
        relay
    };
    let mut relay = start_relay_process();
    let link = start_host(dir.path(), address, "host", &[]).await;

    let (mut ada_driver, mut ada) = join_and_open(&link, "ada", "notes.txt").await;
    type_at_end(&mut ada, "notes.txt", "before the restart\n");
    wait_synced(&mut ada_driver, &mut ada, "notes.txt").await;

    relay.kill().unwrap();
    relay.wait().unwrap();
    type_at_end(&mut ada, "notes.txt", "while the relay was down\n");
    let mut relay = start_relay_process();
    type_at_end(&mut ada, "notes.txt", "after the restart\n");
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(120),
        |session, _| Ok(session.is_synced("notes.txt") && !session.has_outbox()),
    )
    .await
    .expect("ada is back in the session with every edit confirmed");

    let text = cat(&link, "notes.txt").await;
    assert_eq!(
        text,
        "notes\nbefore the restart\nwhile the relay was down\nafter the restart\n"
    );
    relay.kill().unwrap();
    relay.wait().unwrap();
}

/// "Unsaved" means one thing, the same for everyone: the shared text differs from the
/// host's disk. Undoing back to the saved text makes it saved again; a reload from disk
/// does not make it unsaved; someone who opens a file holding another's unsaved edits
/// sees it unsaved; the host's list (what its quit warning names) agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsaved_means_the_shared_text_differs_from_the_disk_for_everyone() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("notes.txt", b"notes\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let (link, mut control) =
        common::start_host_with(dir.path(), relay.address, "host", &[], Approval::Auto).await;
    let mut host_list = async || {
        control
            .commands
            .send(HostCommand::CheckUnsaved)
            .await
            .unwrap();
        loop {
            match control.events.recv().await.expect("the session runs") {
                HostEvent::Unsaved { paths } => break paths,
                _ => continue,
            }
        }
    };
    let until_unsaved = async |driver: &mut Driver, session: &mut Session, unsaved: bool| {
        run_until(driver, session, Duration::from_secs(10), |s, _| {
            Ok(s.is_unsaved("notes.txt") == unsaved)
        })
        .await
        .unwrap_or_else(|e| panic!("never became unsaved={unsaved}: {e}"));
    };

    let (mut ada_driver, mut ada) = join_and_open(&link, "ada", "notes.txt").await;
    assert!(!ada.is_unsaved("notes.txt"));
    type_at_end(&mut ada, "notes.txt", "x");
    // From the keystroke on it shows unsaved, with no moment of "saved" between the
    // host's confirmation of the edit and its word on the text (vim's `:q` would let
    // Ada leave in that moment).
    let mut heard = false;
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(10),
        |s, event| {
            assert!(s.is_unsaved("notes.txt"), "showed as saved after {event:?}");
            heard |= matches!(event, Some(SessionEvent::Unsaved { .. }));
            Ok(heard && s.is_synced("notes.txt"))
        },
    )
    .await
    .unwrap();
    assert_eq!(host_list().await, ["notes.txt"]);

    // Bob opens it after Ada typed: he sees it unsaved too.
    let (mut bob_driver, mut bob) = join_and_open(&link, "bob", "notes.txt").await;
    until_unsaved(&mut bob_driver, &mut bob, true).await;

    // Ada deletes what she typed: the text equals the disk again, for both of them.
    let len = ada.documents["notes.txt"].rope.len_chars();
    ada.local_edit("notes.txt", Operation::delete(len, len - 1..len).unwrap())
        .unwrap();
    wait_synced(&mut ada_driver, &mut ada, "notes.txt").await;
    until_unsaved(&mut ada_driver, &mut ada, false).await;
    until_unsaved(&mut bob_driver, &mut bob, false).await;
    assert_eq!(host_list().await, Vec::<String>::new());

    // Another program changes the file on disk: everyone gets the new text, still saved.
    std::fs::write(dir.path().join("notes.txt"), "notes, edited outside\n").unwrap();
    wait_for_text(&mut bob_driver, &mut bob, "notes.txt", "edited outside").await;
    wait_for_text(&mut ada_driver, &mut ada, "notes.txt", "edited outside").await;
    assert!(!bob.is_unsaved("notes.txt"), "a reload made it unsaved");
    assert!(!ada.is_unsaved("notes.txt"), "a reload made it unsaved");
    assert_eq!(host_list().await, Vec::<String>::new());
}

/// A dropped connection gives a member its place back: a member made read-only is still
/// read-only on its new connection (reconnecting is no way to edit again), and under
/// `--approve ask` the host's user is not asked again about someone already let in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_link_drops_comes_back_read_only_and_without_asking_again() {
    for approval in [Approval::Auto, Approval::Ask] {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("notes.txt", b"notes\n")]);
        let relay = start_relay(RelayConfig::default()).await;
        let (link, mut control) =
            common::start_host_with(dir.path(), relay.address, "host", &[], approval).await;
        let proxy = CuttableProxy::start(relay.address).await;

        // Bob comes in; the host's user makes him read-only (letting him in so, or after).
        let bob_link = via(&link, proxy.address);
        let joining = tokio::spawn(async move { Driver::join(&bob_link, "bob").await });
        let bob_id = loop {
            match control.events.recv().await.expect("the session runs") {
                HostEvent::JoinRequest { participant, .. } => {
                    let admit = HostCommand::Admit {
                        participant,
                        role: Role::ReadOnly,
                    };
                    control.commands.send(admit).await.unwrap();
                }
                HostEvent::MemberJoined(member) if member.name == "bob" => {
                    break member.participant;
                }
                _ => {}
            }
        };
        if approval == Approval::Auto {
            let read_only = HostCommand::SetRole {
                participant: bob_id,
                role: Role::ReadOnly,
            };
            control.commands.send(read_only).await.unwrap();
        }
        let (mut bob_driver, mut bob) = joining.await.unwrap().unwrap();
        run_until(
            &mut bob_driver,
            &mut bob,
            Duration::from_secs(10),
            |s, _| Ok(s.role() == Role::ReadOnly),
        )
        .await
        .expect("bob is read-only");

        // His connection drops; he is back on a new one, as who he was.
        proxy.cut();
        run_until(
            &mut bob_driver,
            &mut bob,
            Duration::from_secs(30),
            |s, _| Ok(s.me.participant != bob_id),
        )
        .await
        .unwrap_or_else(|e| panic!("({approval:?}) bob never got back in: {e}"));
        assert_eq!(bob.role(), Role::ReadOnly, "({approval:?}) bob's role");
        open(&mut bob_driver, &mut bob, "notes.txt").await.unwrap();
        let edit = bob.local_edit("notes.txt", Operation::insert(0, 0, "x").unwrap());
        assert!(
            matches!(edit, Err(SessionError::ReadOnly)),
            "({approval:?}) bob could edit again: {edit:?}"
        );
        while let Ok(event) = control.events.try_recv() {
            assert!(
                !matches!(event, HostEvent::JoinRequest { .. }),
                "({approval:?}) the host's user was asked again: {event:?}"
            );
        }
        let people = control.people.borrow().clone();
        let bob_now = people.iter().find(|p| p.member.name == "bob").unwrap();
        assert_eq!(
            bob_now.member.role,
            Role::ReadOnly,
            "({approval:?}) the host's list"
        );
    }
}

/// A member away while more than a frame's worth of edits happened catches up on all of
/// them when it is back: the host sends the missed edits in parts (in one answer they
/// were past the relay's frame limit, refused, and the member waited forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_away_during_large_pastes_catches_up_on_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("notes.txt", b"notes\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let proxy = CuttableProxy::start(relay.address).await;
    let (mut ada_driver, mut ada) =
        join_and_open(&via(&link, proxy.address), "ada", "notes.txt").await;
    let (mut bob_driver, mut bob) = join_and_open(&link, "bob", "notes.txt").await;

    // Ada's link drops; she is not back until Bob has pasted 3 x 400 KB.
    proxy.cut();
    for paste in 0..3 {
        let text = format!("[paste {paste}]") + &"x".repeat(400 * 1024) + "\n";
        type_at_end(&mut bob, "notes.txt", &text);
        wait_synced(&mut bob_driver, &mut bob, "notes.txt").await;
    }
    wait_for_text(&mut ada_driver, &mut ada, "notes.txt", "[paste 2]").await;
    assert_eq!(
        ada.documents["notes.txt"].rope.to_string(),
        bob.documents["notes.txt"].rope.to_string()
    );
}

/// Closing a file and opening it again starts a new copy of the document, but the host
/// still knows the edits of the first: the new copy's edits must not look like them.
/// (They did: numbered from 0 again, the host took them for resends of edits it already
/// had, acknowledged them and dropped them, so what was typed after reopening vanished.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_typed_after_closing_and_reopening_a_file_reaches_everyone() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("notes.txt", b"start\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut ana_driver, mut ana) = join_and_open(&link, "ana", "notes.txt").await;
    // Ben keeps the document open on the host the whole time.
    let (mut ben_driver, mut ben) = join_and_open(&link, "ben", "notes.txt").await;
    for word in ["one ", "two ", "three "] {
        type_at_end(&mut ana, "notes.txt", word);
        wait_synced(&mut ana_driver, &mut ana, "notes.txt").await;
    }
    ana.close_document("notes.txt");
    ana_driver.flush(&mut ana).await;
    open(&mut ana_driver, &mut ana, "notes.txt").await.unwrap();
    type_at_end(&mut ana, "notes.txt", "after-reopening");
    wait_synced(&mut ana_driver, &mut ana, "notes.txt").await;
    wait_for_text(&mut ben_driver, &mut ben, "notes.txt", "after-reopening").await;
    assert_eq!(
        ben.documents["notes.txt"].rope.to_string(),
        "start\none two three after-reopening"
    );
}
