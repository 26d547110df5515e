//! The bridge against a real pylsp on two modules: hover and definition across them,
//! nothing of the host's own Python installation leaking, diagnostics that follow the
//! edits, and a server that comes back after it is killed.
//!
//! pylsp with pyflakes must be installed (`pip install 'python-lsp-server[pyflakes]'`); the
//! test fails and says so otherwise.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use cotype::host::lsp::{
    Diagnostics, LineCol, LspBridge, LspConfig, LspError, ServerCommand, ServerState, Severity,
};
use cotype::text::Operation;
use tokio::sync::broadcast;

/// A correctness wait for a cold server on a loaded machine, not a timing assertion.
const READY_DEADLINE: Duration = Duration::from_secs(120);

fn copy_fixture(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_pkg");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy fixture file");
    }
}

/// pylsp only, so that a missing pylsp fails here instead of silently testing pyright.
fn pylsp_only() -> LspConfig {
    let mut config = LspConfig::default();
    config.set_server("py", ServerCommand::new("pylsp", &[]));
    config
}

async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, LspError>>,
{
    let deadline = Instant::now() + READY_DEADLINE;
    let mut last: String;
    loop {
        match attempt().await {
            Ok(Some(value)) => return value,
            Ok(None) => last = "an empty answer".to_owned(),
            Err(error @ (LspError::Indexing { .. } | LspError::Timeout { .. })) => {
                last = error.to_string()
            }
            Err(error) => panic!("{what}: {error}"),
        }
        assert!(
            Instant::now() < deadline,
            "{what}: nothing after {READY_DEADLINE:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn find(text: &str, needle: &str) -> LineCol {
    for (line_number, line) in text.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            return LineCol {
                line: line_number,
                col: line[..byte].chars().count(),
            };
        }
    }
    panic!("{needle:?} is not in the text");
}

fn char_index(text: &str, position: LineCol) -> usize {
    let before: usize = text
        .lines()
        .take(position.line)
        .map(|line| line.chars().count() + 1)
        .sum();
    before + position.col
}

/// The next diagnostics for `path` that satisfy `accept`.
async fn diagnostics_until(
    receiver: &mut broadcast::Receiver<Diagnostics>,
    path: &str,
    accept: impl Fn(&Diagnostics) -> bool,
) -> Diagnostics {
    let wait = async {
        loop {
            match receiver.recv().await {
                Ok(diagnostics) if diagnostics.path == path && accept(&diagnostics) => {
                    return diagnostics;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("diagnostics channel closed"),
            }
        }
    };
    tokio::time::timeout(READY_DEADLINE, wait)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no matching diagnostics for {path} in {READY_DEADLINE:?} \
                 (pylsp reports syntax errors through pyflakes: \
                 pip install 'python-lsp-server[pyflakes]')"
            )
        })
}

#[tokio::test]
async fn pylsp_hover_definition_and_no_host_paths() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_fixture(dir.path());
    let app = std::fs::read_to_string(dir.path().join("app.py")).expect("app.py");
    let geometry = std::fs::read_to_string(dir.path().join("geometry.py")).expect("geometry");
    let bridge = LspBridge::new(dir.path(), pylsp_only()).expect("bridge");
    bridge
        .did_open("app.py", &app, 1)
        .await
        .unwrap_or_else(|error| panic!("pylsp must be installed for this test: {error}"));

    let call = find(&app, "area(2, 3)");
    let hover = eventually("hover", || async { bridge.hover("app.py", call).await }).await;
    assert!(
        hover.markdown.contains("area(width, height)"),
        "{}",
        hover.markdown
    );
    assert!(
        hover
            .markdown
            .contains("The area of a width by height rectangle."),
        "{}",
        hover.markdown
    );

    let definitions = bridge.definition("app.py", call).await.expect("definition");
    assert_eq!(definitions.len(), 1, "{definitions:?}");
    assert_eq!(definitions[0].path, "geometry.py");
    assert_eq!(definitions[0].range.start, find(&geometry, "area("));
    assert!(!definitions[0].external && !definitions[0].syntactic);

    // json lives in the host's Python installation: only its file name may leave.
    let dumps = find(&app, "dumps(");
    let outside = bridge.peek("app.py", dumps).await.expect("peek json.dumps");
    assert!(!outside.is_empty(), "jedi finds json.dumps");
    for peek in &outside {
        assert!(peek.location.external, "{peek:?}");
        assert!(!peek.location.path.contains('/'), "{peek:?}");
        assert!(peek.location.path.ends_with(".py") || peek.location.path.ends_with(".pyi"));
        assert_eq!(peek.snippet, None, "no text of unshared files");
    }

    // Once the host hides geometry.py, answers stop pointing into it and it cannot be
    // asked about.
    bridge.set_hidden_filter(std::sync::Arc::new(|path: &str| path == "geometry.py"));
    assert_eq!(bridge.definition("app.py", call).await, Ok(Vec::new()));
    assert_eq!(
        bridge.hover("geometry.py", LineCol::default()).await,
        Err(LspError::NotShared {
            path: "geometry.py".to_owned()
        })
    );

    // Dropping the last handle ends the server: no language servers outlive a session.
    let pid = bridge.status().await[0].pid;
    let process = Path::new("/proc").join(pid.to_string());
    assert!(!cfg!(target_os = "linux") || process.exists());
    drop(bridge);
    let deadline = Instant::now() + Duration::from_secs(20);
    while process.exists() {
        assert!(
            Instant::now() < deadline,
            "pylsp (pid {pid}) outlived the bridge"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn pylsp_diagnostics_follow_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_fixture(dir.path());
    let app = std::fs::read_to_string(dir.path().join("app.py")).expect("app.py");
    let bridge = LspBridge::new(dir.path(), pylsp_only()).expect("bridge");
    let mut diagnostics = bridge.subscribe_diagnostics();
    bridge
        .did_open("app.py", &app, 1)
        .await
        .unwrap_or_else(|error| panic!("pylsp must be installed for this test: {error}"));

    // `area(2, 3)` -> `area(2, 3`, after a "𝔸" on the same line: a column counted in
    // chars instead of UTF-16 units would delete the `3` instead, which is valid Python.
    let call = find(&app, "area(2, 3)");
    let paren = char_index(&app, call) + "area(2, 3".len();
    assert_eq!(app.chars().nth(paren), Some(')'));
    bridge
        .did_change(
            "app.py",
            2,
            &Operation::delete(app.chars().count(), paren..paren + 1).expect("a deletion"),
        )
        .expect("did_change");
    let broken = diagnostics_until(&mut diagnostics, "app.py", |d| {
        d.items.iter().any(|item| item.severity == Severity::Error)
    })
    .await;
    let error = broken
        .items
        .iter()
        .find(|item| item.severity == Severity::Error)
        .expect("an error");
    assert_eq!(error.range.start.line, call.line, "{broken:?}");
    assert_eq!(broken.version, Some(2));

    bridge
        .did_change(
            "app.py",
            3,
            &Operation::insert(app.chars().count() - 1, paren, ")").expect("an insertion"),
        )
        .expect("did_change");
    let fixed = diagnostics_until(&mut diagnostics, "app.py", |d| d.version == Some(3)).await;
    assert!(
        fixed
            .items
            .iter()
            .all(|item| item.severity != Severity::Error),
        "the syntax error is gone: {fixed:?}"
    );

    // An edit made for another text is refused, not applied somewhere wrong.
    let stale = Operation::insert(3, 0, "x").expect("an insertion");
    assert_eq!(
        bridge.did_change("app.py", 4, &stale),
        Err(LspError::OutOfSync {
            path: "app.py".to_owned(),
            expected: 3,
            len: app.chars().count(),
        })
    );
    assert_eq!(
        bridge.did_change("geometry.py", 2, &stale),
        Err(LspError::NotOpen {
            path: "geometry.py".to_owned()
        })
    );

    bridge.shutdown().await;
}

#[tokio::test]
async fn a_killed_server_is_restarted_with_the_open_documents() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_fixture(dir.path());
    let app = std::fs::read_to_string(dir.path().join("app.py")).expect("app.py");
    let bridge = LspBridge::new(dir.path(), pylsp_only()).expect("bridge");
    bridge
        .did_open("app.py", &app, 1)
        .await
        .unwrap_or_else(|error| panic!("pylsp must be installed for this test: {error}"));

    // A function that exists only in the open document, not on disk: if the restarted
    // server knows it, the document was re-opened with its current text.
    let added = "\n\ndef perimeter(width, height):\n    \"\"\"Twice the sum of the sides.\"\"\"\n    return 2 * (width + height)\n\n\nperimeter(1, 2)\n";
    let end = app.chars().count();
    bridge
        .did_change(
            "app.py",
            2,
            &Operation::insert(end, end, added).expect("an insertion"),
        )
        .expect("did_change");
    let text = format!("{app}{added}");
    let call = find(&text, "perimeter(1, 2)");
    eventually("hover before the crash", || async {
        bridge.hover("app.py", call).await
    })
    .await;
    let first_pid = bridge.status().await[0].pid;

    assert!(bridge.kill_server("app.py").await, "pylsp was running");
    let hover = eventually("hover after the crash", || async {
        match bridge.hover("app.py", call).await {
            // The request that meets the dying server may report it; the next restarts it.
            Err(LspError::ServerCrashed { .. }) => Ok(None),
            other => other,
        }
    })
    .await;
    assert!(
        hover.markdown.contains("Twice the sum of the sides."),
        "{}",
        hover.markdown
    );
    let status = bridge.status().await;
    assert_eq!(status.len(), 1, "{status:?}");
    assert_eq!(status[0].state, ServerState::Ready);
    assert_ne!(status[0].pid, first_pid, "a new process answered");

    bridge.shutdown().await;
}
