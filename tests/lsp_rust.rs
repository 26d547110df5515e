//! The bridge against a real rust-analyzer on a two-file crate: what a participant sees
//! when hovering, peeking and listing references across files.
//!
//! rust-analyzer must be installed (`rustup component add rust-analyzer`); the test fails
//! and says so otherwise. The last test covers the other side: a language whose server is
//! missing still gets syntactic hover, definition and peek.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use cotype::host::lsp::{LineCol, LspBridge, LspConfig, LspError, ServerCommand};
use cotype::text::Operation;

/// Indexing a crate from cold can take long on a loaded machine; this is a correctness
/// wait, not a timing assertion.
const READY_DEADLINE: Duration = Duration::from_secs(300);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create fixture copy");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// Retries while the server is still warming up; any other error fails the test.
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
            Err(error @ LspError::Server { code: -32801, .. }) => last = error.to_string(),
            Err(error) => panic!("{what}: {error}"),
        }
        assert!(
            Instant::now() < deadline,
            "{what}: nothing after {READY_DEADLINE:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The (line, char column) of the first `needle` in `text`.
fn find(text: &str, needle: &str) -> LineCol {
    for (line_number, line) in text.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            return LineCol {
                line: line_number,
                col: line[..byte].chars().count(),
            };
        }
    }
    panic!("{needle:?} is not in the fixture");
}

#[tokio::test]
async fn rust_analyzer_answers_across_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust_crate"),
        dir.path(),
    );
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("lib.rs");
    let geometry = std::fs::read_to_string(dir.path().join("src/geometry.rs")).expect("geometry");
    let bridge = LspBridge::new(dir.path(), LspConfig::default()).expect("bridge");

    bridge
        .did_open("src/lib.rs", &lib, 1)
        .await
        .unwrap_or_else(|error| panic!("rust-analyzer must be installed for this test: {error}"));

    // The call sits after "𝔸" on its line: char, UTF-16 and byte columns all differ, so a
    // wrong conversion would point at the `::` instead of the name.
    let call = find(&lib, "area(2, 3)");
    let hover = eventually("hover over the call", || async {
        bridge.hover("src/lib.rs", call).await
    })
    .await;
    assert!(
        hover
            .markdown
            .contains("pub fn area(width: u32, height: u32) -> u32"),
        "hover should show the signature: {}",
        hover.markdown
    );
    assert!(
        hover.markdown.contains("The area of a"),
        "{}",
        hover.markdown
    );
    assert!(!hover.syntactic);

    let definition_line = find(&geometry, "pub fn area").line;
    let definitions = eventually("definition of the call", || async {
        bridge
            .definition("src/lib.rs", call)
            .await
            .map(|found| (!found.is_empty()).then_some(found))
    })
    .await;
    assert_eq!(definitions.len(), 1, "{definitions:?}");
    let definition = &definitions[0];
    assert_eq!(definition.path, "src/geometry.rs");
    assert!(!definition.external);
    assert_eq!(definition.range.start, find(&geometry, "area("));

    let peeks = bridge.peek("src/lib.rs", call).await.expect("peek");
    assert_eq!(peeks.len(), 1, "{peeks:?}");
    let snippet = peeks[0]
        .snippet
        .as_ref()
        .expect("a workspace file has a snippet");
    let fn_line = snippet
        .lines
        .iter()
        .position(|line| line.contains("pub fn area(width: u32, height: u32) -> u32 {"))
        .unwrap_or_else(|| panic!("the peek shows the fn line: {snippet:?}"));
    assert_eq!(snippet.first_line + fn_line, definition_line);
    assert!(
        snippet
            .lines
            .iter()
            .any(|line| line.trim() == "width * height"),
        "the peek shows the body: {snippet:?}"
    );

    let references = eventually("references to area", || async {
        bridge
            .references("src/geometry.rs", definition.range.start)
            .await
            .map(|found| (found.len() >= 3).then_some(found))
    })
    .await;
    let callers: Vec<_> = references
        .iter()
        .filter(|reference| reference.location.path == "src/lib.rs")
        .collect();
    assert_eq!(callers.len(), 2, "two calls in lib.rs: {references:?}");
    assert_eq!(callers[0].location.range.start, call);
    assert_eq!(
        callers[0].context_line,
        "    let label = \"𝔸rea\"; let size = geometry::area(2, 3);"
    );
    assert!(
        callers[1]
            .context_line
            .contains("2 * geometry::area(side, side)")
    );
    assert!(
        references
            .iter()
            .any(|reference| reference.location.path == "src/geometry.rs"
                && reference.context_line.contains("pub fn area")),
        "the declaration is listed too: {references:?}"
    );

    // Typing `geometry::` on a new line and asking for completions offers `area`.
    let end_of_double = find(&lib, "2 * geometry::area(side, side)");
    let insert_at: usize = lib
        .lines()
        .take(end_of_double.line)
        .map(|line| line.chars().count() + 1)
        .sum();
    let typed = "let _ = geometry::;\n    ";
    bridge
        .did_change(
            "src/lib.rs",
            2,
            &Operation::insert(lib.chars().count(), insert_at + 4, typed).expect("an insertion"),
        )
        .expect("did_change");
    let after_colons = LineCol {
        line: end_of_double.line,
        col: 4 + "let _ = geometry::".len(),
    };
    let completions = eventually("completion after geometry::", || async {
        bridge
            .completion("src/lib.rs", after_colons)
            .await
            .map(|items| (!items.is_empty()).then_some(items))
    })
    .await;
    assert!(
        completions.iter().any(|item| item.label == "area"),
        "area is offered: {completions:?}"
    );
    assert!(completions.len() <= LspConfig::default().completion_limit);

    bridge.shutdown().await;
    assert!(bridge.status().await.is_empty());
}

/// Go with a server that is not there: answers come from the tree-sitter tags query,
/// across the files of the package, and say they are syntactic.
#[tokio::test]
async fn without_a_server_go_answers_are_syntactic() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("mathx")).expect("mkdir");
    let add = "package mathx\n\n// Add sums two numbers.\n// It never overflows in tests.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n";
    let twice = "package mathx\n\nfunc Twice(x int) int {\n\treturn Add(x, x)\n}\n";
    std::fs::write(dir.path().join("mathx/add.go"), add).expect("write add.go");
    std::fs::write(dir.path().join("mathx/twice.go"), twice).expect("write twice.go");
    let mut config = LspConfig::default();
    config.set_server("go", ServerCommand::new("cotype-test-no-gopls", &[]));
    let bridge = LspBridge::new(dir.path(), config).expect("bridge");

    let opened = bridge.did_open("mathx/twice.go", twice, 1).await;
    let expected =
        "no language server for .go on the host (tried cotype-test-no-gopls: not found on PATH)";
    assert_eq!(
        opened.map_err(|error| error.to_string()),
        Err(expected.to_owned())
    );

    let call = find(twice, "Add(x, x)");
    let hover = bridge
        .hover("mathx/twice.go", call)
        .await
        .expect("syntactic hover")
        .expect("Add is defined in the package");
    assert!(hover.syntactic);
    assert_eq!(
        hover.markdown,
        "```go\nfunc Add(a, b int) int {\n```\n\nAdd sums two numbers.\nIt never overflows in tests."
    );

    let definitions = bridge
        .definition("mathx/twice.go", call)
        .await
        .expect("syntactic definition");
    assert_eq!(definitions.len(), 1, "{definitions:?}");
    assert_eq!(definitions[0].path, "mathx/add.go");
    assert_eq!(definitions[0].range.start, find(add, "Add("));
    assert!(definitions[0].syntactic && !definitions[0].external);

    let peeks = bridge.peek("mathx/twice.go", call).await.expect("peek");
    let snippet = peeks[0].snippet.as_ref().expect("snippet");
    assert!(
        snippet
            .lines
            .iter()
            .any(|line| line == "func Add(a, b int) int {"),
        "{snippet:?}"
    );
    assert!(
        snippet.lines.iter().any(|line| line == "\treturn a + b"),
        "{snippet:?}"
    );

    // A blank spot names nothing; references need a real server.
    assert_eq!(
        bridge
            .hover("mathx/twice.go", LineCol { line: 1, col: 0 })
            .await,
        Ok(None)
    );
    let references = bridge.references("mathx/twice.go", call).await;
    assert_eq!(
        references.map_err(|error| error.to_string()),
        Err(expected.to_owned())
    );
    let zig = bridge.completion("build.zig", LineCol::default()).await;
    assert_eq!(
        zig.map_err(|error| error.to_string()),
        Err("no language server for .zig on the host".to_owned())
    );
}
