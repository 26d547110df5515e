use std::time::{Duration, Instant};

use super::LspBridge;
use crate::host::lsp::{LineCol, LspConfig, LspError, ServerCommand};

fn bridge_with(
    python_server: ServerCommand,
    initialize_timeout: Duration,
) -> (tempfile::TempDir, LspBridge) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.py"), "x = 1\n").expect("write");
    let mut config = LspConfig {
        initialize_timeout,
        ..LspConfig::default()
    };
    config.set_server("py", python_server);
    let bridge = LspBridge::new(dir.path(), config).expect("bridge");
    (dir, bridge)
}

fn tried(error: LspError) -> String {
    match error {
        LspError::NoServer { tried, .. } => tried.join("; "),
        other => panic!("expected NoServer, got {other}"),
    }
}

#[tokio::test]
async fn a_server_that_dies_at_start_is_explained_by_its_last_words() {
    let dying = ServerCommand::new("sh", &["-c", "echo 'fatal: no interpreter' >&2; exit 3"]);
    let (_dir, bridge) = bridge_with(dying, Duration::from_secs(20));
    let error = bridge
        .did_open("a.py", "x = 1\n", 1)
        .await
        .expect_err("the server cannot start");
    let why = tried(error);
    assert!(why.contains("stopped unexpectedly"), "{why}");
    assert!(why.contains("fatal: no interpreter"), "{why}");
}

#[tokio::test]
async fn a_silent_server_times_out_and_is_not_restarted_on_every_request() {
    let silent = ServerCommand::new("sh", &["-c", "cat > /dev/null"]);
    let (_dir, bridge) = bridge_with(silent, Duration::from_millis(300));
    // References have no syntactic fallback, so the server's failure shows.
    let first = bridge
        .references("a.py", LineCol::default())
        .await
        .expect_err("no answer");
    let why = tried(first.clone());
    assert!(
        why.contains("did not answer initialize within 0.3 s"),
        "{why}"
    );
    // Remembered: the second request fails at once with the same explanation.
    let started = Instant::now();
    let second = bridge.references("a.py", LineCol::default()).await;
    assert_eq!(second, Err(first));
    assert!(started.elapsed() < Duration::from_millis(300));
}

/// Where the server cannot start, go-to-definition and hover still find what the file
/// names itself (by name, from its syntax); where that finds nothing, the person asking
/// hears why no server answered, not "no definition found".
#[tokio::test]
async fn a_name_found_nowhere_without_a_server_says_why_no_server_answered() {
    let dying = ServerCommand::new("sh", &["-c", "echo 'no default toolchain' >&2; exit 1"]);
    let (dir, bridge) = bridge_with(dying, Duration::from_secs(20));
    let text = "from elsewhere import imported\n\ndef local():\n    return imported\n";
    std::fs::write(dir.path().join("a.py"), text).expect("write");
    let _ = bridge.did_open("a.py", text, 1).await;

    let local = LineCol { line: 2, col: 5 };
    let found = bridge
        .definition("a.py", local)
        .await
        .expect("found by name");
    assert_eq!(found.len(), 1);
    assert!(found[0].syntactic);

    let imported = LineCol { line: 3, col: 12 };
    let why = tried(
        bridge
            .definition("a.py", imported)
            .await
            .expect_err("not here"),
    );
    assert!(why.contains("no default toolchain"), "{why}");
    let why = tried(bridge.hover("a.py", imported).await.expect_err("not here"));
    assert!(why.contains("no default toolchain"), "{why}");

    // A blank line names nothing: nothing to show, no complaint.
    let blank = LineCol { line: 1, col: 0 };
    assert_eq!(bridge.hover("a.py", blank).await, Ok(None));
    assert_eq!(bridge.definition("a.py", blank).await, Ok(Vec::new()));
}
