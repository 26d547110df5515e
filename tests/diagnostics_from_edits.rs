//! Diagnostics follow the text everyone edits: a participant's edit that breaks a Python
//! file makes the host's language server (pylsp) report it to every participant, and the
//! fix clears it. Real relay, real host, real pylsp.

mod common;

use std::time::Duration;

use common::{start_host, start_relay};
use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::session::SessionEvent;
use cotype::protocol::message::{Event, Severity};
use cotype::relay::RelayConfig;
use cotype::text::Operation;

fn copy_fixture(to: &std::path::Path) {
    for name in ["app.py", "geometry.py"] {
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/python_pkg")
            .join(name);
        std::fs::copy(from, to.join(name)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_breaks_the_file_brings_a_diagnostic_and_the_fix_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut editor, mut editor_session) = Driver::join(&link, "editor").await.unwrap();
    let (mut watcher, mut watcher_session) = Driver::join(&link, "watcher").await.unwrap();
    open(&mut editor, &mut editor_session, "app.py")
        .await
        .unwrap();
    open(&mut watcher, &mut watcher_session, "app.py")
        .await
        .unwrap();

    // Break the file: an unclosed call at the end.
    let len = editor_session.documents["app.py"].rope.len_chars();
    let broken = "\nprint((1, 2\n";
    editor_session
        .local_edit("app.py", Operation::insert(len, len, broken).unwrap())
        .unwrap();
    // Errors only: with pycodestyle installed (autopep8 brings it), pylsp also reports
    // style warnings that neither the break nor the fix is about.
    let diagnostics = |event: Option<&SessionEvent>| match event {
        Some(SessionEvent::Host(Event::Diagnostics { path, items, .. })) if path == "app.py" => {
            Some(
                items
                    .iter()
                    .filter(|item| item.severity == Severity::Error)
                    .count(),
            )
        }
        _ => None,
    };
    run_until(
        &mut editor,
        &mut editor_session,
        Duration::from_secs(60),
        |s, _| Ok(s.is_synced("app.py")),
    )
    .await
    .unwrap();
    // The other participant, who only watches, is told.
    run_until(
        &mut watcher,
        &mut watcher_session,
        Duration::from_secs(90),
        |_, event| Ok(diagnostics(event).is_some_and(|n| n > 0)),
    )
    .await
    .expect("a diagnostic for the syntax error reaches the watcher");

    // Fix it: remove what was inserted; the diagnostics clear.
    let now = editor_session.documents["app.py"].rope.len_chars();
    editor_session
        .local_edit(
            "app.py",
            Operation::delete(now, len..len + broken.chars().count()).unwrap(),
        )
        .unwrap();
    run_until(
        &mut editor,
        &mut editor_session,
        Duration::from_secs(60),
        |s, _| Ok(s.is_synced("app.py")),
    )
    .await
    .unwrap();
    run_until(
        &mut watcher,
        &mut watcher_session,
        Duration::from_secs(90),
        |_, event| Ok(diagnostics(event) == Some(0)),
    )
    .await
    .expect("the diagnostics clear after the fix");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_still_arrive_after_the_host_resumed_its_session() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let relay = start_relay(RelayConfig::default()).await;
    let proxy = common::CuttableProxy::start(relay.address).await;
    let link = start_host(dir.path(), proxy.address, "host", &[]).await;
    let link = common::via(&link, relay.address);
    let (mut editor, mut session) = Driver::join(&link, "editor").await.unwrap();
    open(&mut editor, &mut session, "app.py").await.unwrap();

    // The host's link drops and comes back; the language-server side keeps running.
    proxy.cut();
    let len = session.documents["app.py"].rope.len_chars();
    session
        .local_edit(
            "app.py",
            Operation::insert(len, len, "\nprint((1, 2\n").unwrap(),
        )
        .unwrap();
    run_until(
        &mut editor,
        &mut session,
        Duration::from_secs(60),
        |s, _| Ok(s.is_synced("app.py")),
    )
    .await
    .unwrap();
    assert!(
        relay
            .relay
            .metrics_text()
            .contains("cotype_relay_host_resumes_total 1"),
        "the host's link really dropped and was resumed"
    );
    run_until(
        &mut editor,
        &mut session,
        Duration::from_secs(90),
        |_, event| {
            Ok(matches!(
                event,
                Some(SessionEvent::Host(Event::Diagnostics { path, items, .. }))
                    if path == "app.py" && items.iter().any(|item| item.severity == Severity::Error)
            ))
        },
    )
    .await
    .expect("diagnostics computed after the resume reach the participant");
}
