//! Code intelligence as a participant gets it: through a real relay (with a tap on every
//! frame) to a real host, which asks real rust-analyzer and pylsp about a copy of the
//! fixtures. Hover shows the signature, peek and definition find it in the other file,
//! references list the callers, signature help and inlay hints name the parameters, a
//! syntax error on the host reaches the participant as diagnostics, and none of the
//! planted markers (in a search query, in the search results, in a hover's and a
//! signature's doc comment, in a diagnostic) crosses the relay in the clear.
//!
//! rust-analyzer and pylsp (`pip install 'python-lsp-server[pyflakes]'`) must be installed;
//! the tests fail and say so otherwise.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use cotype::client::{ClientError, Participant};
use cotype::protocol::message::{Severity, TextPosition};
use cotype::protocol::search::SearchQuery;
use cotype::relay::RelayConfig;
use cotype::text::LineCol;

/// A correctness wait for a cold server on a loaded machine, not a timing assertion.
const READY_DEADLINE: Duration = Duration::from_secs(180);

const HOVER_MARKER: &str = "HOVERMARK_c0ffee51";
const QUERY_MARKER: &str = "QUERYMARK_5d2c9e07";
const RESULT_MARKER: &str = "RESULTMARK_a71b33f0";
const DIAGNOSTIC_MARKER: &str = "DIAGMARK_e4d1f2aa";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture file");
        }
    }
}

fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
        dir.path(),
    );
    dir
}

/// Where `needle` starts in `path` (the first line holding it), plus `offset` chars.
fn place(root: &Path, path: &str, needle: &str, offset: usize) -> TextPosition {
    let text = std::fs::read_to_string(root.join(path)).expect("fixture file");
    for (line, content) in text.lines().enumerate() {
        if let Some(byte) = content.find(needle) {
            return TextPosition {
                path: path.to_owned(),
                revision: 0,
                position: LineCol {
                    line,
                    col: content[..byte].chars().count() + offset,
                },
            };
        }
    }
    panic!("{needle:?} is not in {path}");
}

/// Asks until the server has an answer (`Ok(Some(_))`). A server that is still loading
/// says so in sentences like "still indexing", which are retried; any other error fails.
macro_rules! eventually {
    ($what:expr, $attempt:expr) => {{
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            let last: String = match $attempt.await {
                Ok(Some(value)) => break value,
                Ok(None) => "an empty answer".to_owned(),
                Err(ClientError::Host(message)) if is_busy(&message) => message,
                Err(error) => panic!("{}: {error}", $what),
            };
            assert!(
                Instant::now() < deadline,
                "{}: nothing after {READY_DEADLINE:?}; last: {last}",
                $what
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }};
}

fn is_busy(message: &str) -> bool {
    ["still indexing", "did not answer", "content modified"]
        .iter()
        .any(|busy| message.contains(busy))
}

fn assert_no_marker_crossed(relay: &common::TestRelay, markers: &[&str]) {
    let tapped = relay.tapped.lock().expect("tap");
    assert!(!tapped.is_empty(), "the tap saw the session's frames");
    for (direction, frame) in tapped.iter() {
        for marker in markers {
            assert!(
                !common::contains(frame, marker.as_bytes()),
                "{marker} crossed the relay in the clear ({direction:?})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_analyzer_hover_peek_definition_references_search_through_the_relay() {
    let dir = fixture("rust_crate");
    let root = dir.path();
    // A doc comment the hover carries, and a line only the search finds.
    let geometry = std::fs::read_to_string(root.join("src/geometry.rs")).expect("geometry.rs");
    let geometry = geometry.replace(
        "/// The area of a",
        &format!("/// {HOVER_MARKER}: the area of a"),
    );
    common::write_tree(
        root,
        &[
            ("src/geometry.rs", geometry.as_bytes()),
            (
                "notes/todo.txt",
                format!("zz_find_me {RESULT_MARKER}\n").as_bytes(),
            ),
        ],
    );
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(root, relay.address, "host", &[]).await;
    let mut guest = Participant::join(&link, "guest").await.expect("join");

    // The call `geometry::area(2, 3)` in lib.rs, asked about on the `a` of `area`.
    let call = place(root, "src/lib.rs", "area(2, 3)", 0);
    let definition_line = place(root, "src/geometry.rs", "pub fn area", 0)
        .position
        .line;

    let hover = eventually!("hover", guest.hover(call.clone()));
    assert!(
        hover
            .markdown
            .contains("pub fn area(width: u32, height: u32) -> u32"),
        "hover shows the signature: {}",
        hover.markdown
    );
    assert!(hover.markdown.contains(HOVER_MARKER), "and its doc comment");
    assert!(!hover.syntactic, "rust-analyzer answered, not the fallback");

    let peeked = eventually!("peek", async {
        let peeked = guest.peek(call.clone()).await?;
        Ok::<_, ClientError>(Some(peeked).filter(|p| !p.views.is_empty()))
    });
    let view = &peeked.views[0];
    assert_eq!(view.location.path, "src/geometry.rs");
    assert_eq!(view.location.range.start.line, definition_line);
    assert!(!view.location.external);
    let shown_from = view.first_line as usize;
    assert!(shown_from <= definition_line);
    assert_eq!(
        view.lines[definition_line - shown_from].trim_end(),
        "pub fn area(width: u32, height: u32) -> u32 {",
        "the peek holds the definition's own line"
    );

    let definitions = guest.definition(call.clone()).await.expect("definition");
    let targets: Vec<_> = definitions
        .locations
        .iter()
        .map(|location| (location.path.as_str(), location.range.start.line))
        .collect();
    assert_eq!(targets, [("src/geometry.rs", definition_line)]);

    let declaration = place(root, "src/geometry.rs", "area(width", 0);
    let references = eventually!(
        "references",
        // Until indexing ends, only the declaration itself may be known.
        async {
            let found = guest.references(declaration.clone()).await?;
            Ok::<_, ClientError>(
                Some(found).filter(|f| f.iter().any(|r| r.location.path == "src/lib.rs")),
            )
        }
    );
    let callers: Vec<_> = references
        .iter()
        .filter(|r| r.location.path == "src/lib.rs")
        .map(|r| r.context_line.trim().to_owned())
        .collect();
    assert_eq!(
        callers,
        [
            "let label = \"𝔸rea\"; let size = geometry::area(2, 3);",
            "2 * geometry::area(side, side)",
        ],
        "both callers, each with its line"
    );

    // Signature help inside the call carries the doc comment too; inlay hints name the
    // parameters (`width:`, `height:`) and the `let`s' types.
    let second_argument = place(root, "src/lib.rs", "area(2, 3)", "area(2, ".len());
    let signatures = eventually!(
        "signature help",
        guest.signature_help(second_argument.clone())
    );
    let (signature, active) = signatures.shown().expect("a signature");
    assert!(
        signature
            .label
            .contains("fn area(width: u32, height: u32) -> u32")
    );
    assert!(
        signature
            .documentation
            .as_deref()
            .is_some_and(|text| text.contains(HOVER_MARKER)),
        "{signature:?}"
    );
    assert!(active.is_some());
    let top = place(root, "src/lib.rs", "mod geometry", 0);
    let hints = eventually!("inlay hints", async {
        let answer = guest.inlay_hints(top.clone()).await?;
        Ok::<_, ClientError>(
            Some(answer).filter(|a| a.hints.iter().any(|h| h.label.contains("height"))),
        )
    });
    assert!(hints.hints.iter().any(|h| h.label.contains("width")));
    // And semantic tokens: what each name of the file is.
    let tokens = guest
        .semantic_tokens(top.clone())
        .await
        .expect("semantic tokens");
    assert!(tokens.tokens.iter().any(|token| token.kind == "function"));

    let mut hits = Vec::new();
    let summary = guest
        .search(
            SearchQuery {
                pattern: format!("{QUERY_MARKER}|zz_find_me"),
                fixed_strings: false,
                ignore_case: false,
                whole_word: false,
                globs: Vec::new(),
                max_matches: 100,
            },
            |batch| {
                hits.extend(batch);
                std::ops::ControlFlow::Continue(())
            },
        )
        .await
        .expect("search");
    assert_eq!(summary.matches, 1);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "notes/todo.txt");
    assert!(hits[0].text.contains(RESULT_MARKER));

    assert_no_marker_crossed(&relay, &[HOVER_MARKER, QUERY_MARKER, RESULT_MARKER]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pylsp_hover_definition_and_diagnostics_through_the_relay() {
    let dir = fixture("python_pkg");
    let root = dir.path();
    common::write_tree(
        root,
        &[
            ("broken.py", b"def oops(:\n    return 1\n"),
            (
                "names.py",
                format!("print({DIAGNOSTIC_MARKER})\n").as_bytes(),
            ),
        ],
    );
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(root, relay.address, "host", &[]).await;
    let mut guest = Participant::join(&link, "guest").await.expect("join");

    let call = place(root, "app.py", "area(2, 3)", 0);
    let hover = eventually!("hover", guest.hover(call.clone()));
    assert!(
        hover.markdown.contains("area(width, height)"),
        "hover shows the signature: {}",
        hover.markdown
    );
    assert!(
        hover
            .markdown
            .contains("The area of a width by height rectangle.")
    );

    let definitions = guest.definition(call.clone()).await.expect("definition");
    let definition_line = place(root, "geometry.py", "def area", 0).position.line;
    let targets: Vec<_> = definitions
        .locations
        .iter()
        .map(|location| (location.path.as_str(), location.range.start.line))
        .collect();
    assert_eq!(targets, [("geometry.py", definition_line)]);

    let after_dot = place(root, "app.py", "json.dumps", "json.".len());
    let completions = guest.completion(after_dot).await.expect("completion");
    assert!(
        completions
            .iter()
            .any(|item| item.label.starts_with("dumps")),
        "json.dumps is offered: {completions:?}"
    );

    // Nobody has these files open: asking about them makes the host open them from disk,
    // and pylsp then checks them and publishes to everyone.
    for path in ["broken.py", "names.py"] {
        let at = TextPosition {
            path: path.to_owned(),
            revision: 0,
            position: LineCol { line: 0, col: 1 },
        };
        let _ = guest.hover(at).await;
    }
    let syntax = diagnostics_with_items(&mut guest, "broken.py").await;
    assert!(
        syntax
            .iter()
            .any(|item| item.severity == Severity::Error && item.range.start.line == 0),
        "a syntax error on line 1: {syntax:?}"
    );
    let names = diagnostics_with_items(&mut guest, "names.py").await;
    assert!(
        names
            .iter()
            .any(|item| item.message.contains(DIAGNOSTIC_MARKER)),
        "the undefined name is reported: {names:?}"
    );

    assert_no_marker_crossed(&relay, &[DIAGNOSTIC_MARKER]);
}

async fn diagnostics_with_items(
    guest: &mut Participant,
    path: &str,
) -> Vec<cotype::protocol::message::DiagnosticItem> {
    let wait = async {
        loop {
            let (_, items) = guest.next_diagnostics(path).await.expect("diagnostics");
            if !items.is_empty() {
                return items;
            }
        }
    };
    tokio::time::timeout(READY_DEADLINE, wait)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no diagnostics for {path} within {READY_DEADLINE:?} (pylsp reports them \
                 through pyflakes: pip install 'python-lsp-server[pyflakes]')"
            )
        })
}

/// The headless commands print places the way they are typed: 1-based, columns in chars
/// (the call below sits after a character outside the BMP, two UTF-16 units).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_peek_refs_and_hover_print_one_based_places() {
    let dir = fixture("python_pkg");
    let relay = common::start_relay(RelayConfig::default()).await;
    common::write_tree(dir.path(), &[(".env", b"TOKEN=1\n")]);
    let link = common::start_host(dir.path(), relay.address, "host", &[])
        .await
        .to_url();
    let cotype = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_cotype"));
        command.arg(args[0]).arg(&link).args(&args[1..]);
        command.output()
    };
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("UTF-8 output");

    let peek = cotype(&["peek", "app.py:7:28"])
        .await
        .expect("run cotype peek");
    assert!(peek.status.success(), "{}", text(&peek.stderr));
    let peek = text(&peek.stdout);
    let mut lines = peek.lines();
    assert_eq!(
        lines.next(),
        Some("geometry.py:4:5"),
        "the location line first"
    );
    let snippet: Vec<&str> = lines.collect();
    assert!(
        snippet.contains(&"def area(width, height):"),
        "then the definition's lines: {snippet:?}"
    );

    let refs = cotype(&["refs", "app.py:7:28"])
        .await
        .expect("run cotype refs");
    assert!(refs.status.success(), "{}", text(&refs.stderr));
    assert_eq!(
        text(&refs.stdout),
        "app.py:3:22: from geometry import area\n\
         app.py:7:28: label = \"𝔸rea\"; size = area(2, 3)\n\
         geometry.py:4:5: def area(width, height):\n"
    );

    let hover = cotype(&["hover", "app.py:7:28"])
        .await
        .expect("run cotype hover");
    assert!(hover.status.success(), "{}", text(&hover.stderr));
    assert!(text(&hover.stdout).contains("area(width, height)"));

    let hidden = cotype(&["hover", ".env:1:1"])
        .await
        .expect("run cotype hover");
    assert_eq!(hidden.status.code(), Some(5), "refused by the host");
    assert!(text(&hidden.stderr).contains("\".env\" is not shared by the host"));

    let usage = cotype(&["peek", "app.py:seven:1"])
        .await
        .expect("run cotype peek");
    assert_eq!(usage.status.code(), Some(2));
    assert!(text(&usage.stderr).contains("LINE must be a number from 1"));
}

/// Stopping a search early cancels it on the host and leaves no stray answers behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_search_leaves_the_session_usable() {
    let dir = tempfile::tempdir().expect("temp dir");
    for n in 0..400 {
        let body = "needle\n".repeat(50);
        common::write_tree(dir.path(), &[(&format!("f{n:03}.txt"), body.as_bytes())]);
    }
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(dir.path(), relay.address, "host", &[]).await;
    let mut guest = Participant::join(&link, "guest").await.expect("join");
    let query = SearchQuery {
        pattern: "needle".to_owned(),
        fixed_strings: true,
        ignore_case: false,
        whole_word: false,
        globs: Vec::new(),
        max_matches: 0,
    };
    let mut batches = 0;
    let stopped = guest
        .search(query.clone(), |_| {
            batches += 1;
            std::ops::ControlFlow::Break(())
        })
        .await
        .expect("search");
    assert!(stopped.cancelled && batches == 1);

    let files = guest.list_files().await.expect("the session still answers");
    assert_eq!(files.len(), 400);
    let mut seen = 0;
    let full = guest
        .search(query, |batch| {
            seen += batch.len() as u64;
            std::ops::ControlFlow::Continue(())
        })
        .await
        .expect("search again");
    // 400 × 50 = 20,000 matches: the default cap of 10,000 applies, and is reported.
    assert_eq!((full.matches, seen, full.truncated), (10_000, 10_000, true));
    assert_eq!(
        full.notice().as_deref(),
        Some(
            "search stopped after 10,000 matches; narrow it with a glob or a more specific pattern"
        )
    );
}

/// A question carries the revision it was asked at. Here it reaches the host after
/// another participant put two lines above the place asked about: the host moves the
/// position across that edit, so the answer is about the same call, not about whatever
/// now sits at the old line and column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_asked_at_an_older_revision_is_answered_where_that_text_went() {
    use cotype::client::driver::Driver;
    use cotype::client::headless::{self, EditAction};

    let dir = fixture("rust_crate");
    let root = dir.path();
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(root, relay.address, "host", &[]).await;
    let mut guest = Participant::join(&link, "guest")
        .await
        .expect("guest joins");
    let (mut driver, mut bob) = Driver::join(&link, "bob").await.expect("bob joins");

    // The guest saw src/lib.rs as it was when first opened (revision 0) and asks about
    // the `a` of `area(2, 3)` there.
    let call = place(root, "src/lib.rs", "area(2, 3)", 0);
    assert_eq!(call.revision, 0);
    // Before the answer, bob inserts two lines at the top.
    let revision = headless::edit(
        &mut driver,
        &mut bob,
        "src/lib.rs",
        LineCol { line: 1, col: 1 },
        &EditAction::Insert("// one\n// two\n".into()),
        false,
    )
    .await
    .expect("bob's edit is applied");
    assert_eq!(revision, 1);
    // Read at revision 1, the old place is an empty line: nothing to hover there.
    let moved_text = bob.documents["src/lib.rs"].rope.to_string();
    assert_eq!(moved_text.lines().nth(call.position.line), Some(""));

    let hover = eventually!("hover asked at revision 0", guest.hover(call.clone()));
    assert!(
        hover
            .markdown
            .contains("pub fn area(width: u32, height: u32) -> u32"),
        "the answer is about the call asked about: {}",
        hover.markdown
    );
}
