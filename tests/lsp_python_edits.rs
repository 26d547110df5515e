//! Language edits with a real pylsp on the host, as a participant asks for them: a file's
//! outline names its places, a rename reaches the module that imports the name, and
//! formatting equals autopep8 (pylsp's formatter plugin) on the same text. Every result is
//! on the host's disk after `save`.
//!
//! pylsp with autopep8 must be installed (`pip install 'python-lsp-server[pyflakes]'
//! autopep8`, as `scripts/test` does); the test fails and says so otherwise.

use std::time::{Duration, Instant};

mod common;

use common::{at, read};

use cotype::client::request::{Format, Rename, Symbols};
use cotype::client::{ClientError, Participant};
use cotype::protocol::language::RenameRequest;
use cotype::relay::RelayConfig;

/// A correctness wait for a cold server on a loaded machine, not a timing assertion.
const READY_DEADLINE: Duration = Duration::from_secs(120);

const SHAPES: &str = "def area(width, height):\n    return width * height\n\n\nclass Box:\n    def volume(self, depth):\n        return area(2, 3) * depth\n";
const MAIN: &str = "from shapes import area\n\nprint(area(2, 3))\n";
const UGLY: &str = "def  total( a,b ):\n  return a+b\nx=total(1,2)\n";

/// What autopep8 itself makes of `text` (the same tool pylsp's formatter runs).
fn autopep8(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-m", "autopep8", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "autopep8 is not installed: pip install autopep8"
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The outline of `path` as `line:col:kind:name`, once pylsp answers with one.
async fn outline(guest: &mut Participant, path: &str) -> Vec<String> {
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let last = match guest
            .request(Symbols {
                path: Some(path.into()),
                query: String::new(),
            })
            .await
        {
            Ok(found) if !found.is_empty() => {
                return found
                    .iter()
                    .map(|s| {
                        let at = s.location.range.start;
                        format!("{}:{}:{}:{}", at.line + 1, at.col + 1, s.kind, s.name)
                    })
                    .collect();
            }
            Ok(_) => "no symbols".to_owned(),
            Err(ClientError::Host(message)) => message,
            Err(error) => panic!("outline of {path}: {error}"),
        };
        assert!(
            Instant::now() < deadline,
            "pylsp never gave an outline of {path}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pylsp_outline_rename_across_modules_and_format_equal_autopep8() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    common::write_tree(
        root,
        &[
            ("shapes.py", SHAPES.as_bytes()),
            ("main.py", MAIN.as_bytes()),
            ("ugly.py", UGLY.as_bytes()),
        ],
    );
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(root, relay.address, "host", &[]).await;
    let mut bob = Participant::join(&link, "bob").await.expect("join");

    // pylsp places each symbol at the start of its definition.
    assert_eq!(
        outline(&mut bob, "shapes.py").await,
        ["1:1:function:area", "5:1:class:Box", "6:5:method:volume"]
    );

    // `area` renamed where it is defined: its use in the class and the importing module
    // change too, on everyone's copy and (saved) on the host's disk.
    let summary = bob
        .request(Rename(RenameRequest {
            at: at("shapes.py", 0, 5),
            new_name: "surface".into(),
            save: true,
        }))
        .await
        .expect("pylsp renames");
    assert_eq!(summary.files, 2, "{summary:?}");
    assert_eq!(
        read(root, "shapes.py"),
        SHAPES.replace("area(", "surface("),
        "the definition and its use in the class"
    );
    assert_eq!(
        read(root, "main.py"),
        MAIN.replace("area", "surface"),
        "the import and the call"
    );

    let expected = autopep8(UGLY);
    assert_ne!(expected, UGLY);
    let formatted = bob
        .request(Format {
            path: "ugly.py".into(),
            save: true,
        })
        .await
        .expect("pylsp formats");
    assert_eq!((formatted.files, formatted.saved), (1, 1), "{formatted:?}");
    assert_eq!(read(root, "ugly.py"), expected, "the same as autopep8");
    bob.leave().await;
}

/// What autopep8 makes of `text` when told to change only lines `first..=last` (1-based),
/// as pylsp's range formatting tells it.
fn autopep8_lines(text: &str, first: usize, last: usize) -> String {
    use std::io::Write;
    let (first, last) = (first.to_string(), last.to_string());
    let mut child = std::process::Command::new("python3")
        .args(["-m", "autopep8", "--line-range", &first, &last, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "autopep8 is not installed");
    String::from_utf8(output.stdout).unwrap()
}

/// Formatting a selection: only its lines change, as autopep8 changes them when told
/// those lines alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pylsp_formats_the_selected_lines_alone_as_autopep8_does() {
    use cotype::client::request::FormatRange;
    use cotype::protocol::language::FormatRangeRequest;
    use cotype::protocol::message::{CURRENT_TEXT, TextRange};
    use cotype::text::LineCol;
    let ugly = "def  total( a,b ):\n  return a+b\nx=total(1,2)\ny=total( 3,4 )\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    common::write_tree(root, &[("ugly.py", ugly.as_bytes())]);
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(root, relay.address, "host", &[]).await;
    let mut bob = Participant::join(&link, "bob").await.expect("join");

    // The third line selected, from its start to its end.
    let expected = autopep8_lines(ugly, 3, 3);
    assert!(
        expected.contains("x = total(1, 2)\ny=total( 3,4 )\n"),
        "{expected}"
    );
    assert!(expected.starts_with("def  total( a,b ):\n"), "{expected}");
    let ask = || {
        FormatRange(FormatRangeRequest {
            path: "ugly.py".into(),
            revision: CURRENT_TEXT,
            range: TextRange {
                start: LineCol { line: 2, col: 0 },
                end: LineCol { line: 2, col: 12 },
            },
            save: true,
        })
    };
    let deadline = Instant::now() + READY_DEADLINE;
    let formatted = loop {
        match bob.request(ask()).await {
            Ok(summary) => break summary,
            Err(ClientError::Host(message))
                if message.contains("did not answer") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => panic!("pylsp formats a range: {error}"),
        }
    };
    assert_eq!((formatted.files, formatted.saved), (1, 1), "{formatted:?}");
    assert_eq!(
        read(root, "ugly.py"),
        expected,
        "the same as autopep8 on line 3"
    );
    bob.leave().await;
}
