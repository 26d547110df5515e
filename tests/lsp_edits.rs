//! Edits from the host's language server, made as shared edits: a participant renames a
//! function across modules with real rust-analyzer while another types in a file the
//! rename changes (both land), a rename that would touch a file the host ignores is
//! refused whole, and a read-only member's is refused, formatting equals `rustfmt` on the same text, and a quick fix found
//! with `cotype actions` is applied with `--apply`; a file's outline and the workspace's
//! symbols name their places. The new name never crosses the relay in the clear.
//!
//! rust-analyzer and rustfmt must be installed; the tests fail and say so otherwise.

use std::time::{Duration, Instant};

mod common;

use common::{at, read};
#[path = "common/process.rs"]
mod process;

use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::request::{CodeActions, Format, LineActions, Rename, Symbols};
use cotype::client::{ClientError, Participant};
use cotype::host::session::{Approval, HostCommand};
use cotype::protocol::language::RenameRequest;
use cotype::protocol::message::Role;
use cotype::relay::RelayConfig;
use cotype::text::Operation;

/// A correctness wait for a cold server on a loaded machine, not a timing assertion.
const READY_DEADLINE: Duration = Duration::from_secs(180);
const NAME_MARKER: &str = "outline_c0ffee77";
/// Modules calling the renamed function, besides lib.rs.
const MODULES: usize = 100;

const LIB: &str = "mod geometry;
mod secret;

pub fn describe() -> String {
    let size = geometry::area(2, 3);
    format!(\"{size} {}\", geometry::perimeter(2, 3))
}

pub fn fence(side: u32) -> u32 {
    geometry::perimeter(side, side)
}
";

const GEOMETRY: &str = "pub fn area(width: u32, height: u32) -> u32 {
    width * height
}

pub fn perimeter(width: u32, height: u32) -> u32 {
    2 * (width + height)
}
";

fn project(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files: Vec<(&str, &[u8])> = vec![
        (
            "Cargo.toml",
            b"[package]\nname = \"shapes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("src/lib.rs", LIB.as_bytes()),
        ("src/geometry.rs", GEOMETRY.as_bytes()),
        // Ignored, so not shared: no rename may reach into it.
        (
            "src/secret.rs",
            b"pub fn hidden() -> u32 {\n    crate::geometry::area(1, 1)\n}\n",
        ),
        (".gitignore", b"src/secret.rs\n/target\n"),
    ];
    files.extend(extra.iter().map(|(path, text)| (*path, text.as_bytes())));
    common::write_tree(dir.path(), &files);
    dir
}

fn is_busy(message: &str) -> bool {
    [
        "still indexing",
        "did not answer",
        "content modified",
        "No references found",
    ]
    .iter()
    .any(|busy| message.contains(busy))
}

/// Waits until rust-analyzer knows the whole crate: `perimeter`'s references reach
/// lib.rs.
async fn wait_until_indexed(guest: &mut Participant) {
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let last = match guest.references(at("src/geometry.rs", 4, 8)).await {
            Ok(found) if found.iter().any(|r| r.location.path == "src/lib.rs") => return,
            Ok(found) => format!("{} references", found.len()),
            Err(ClientError::Host(message)) if is_busy(&message) => message,
            Err(error) => panic!("references: {error}"),
        };
        assert!(
            Instant::now() < deadline,
            "rust-analyzer never indexed the crate; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_across_modules_lands_for_everyone_while_someone_types() {
    // A hundred modules use `perimeter`: the rename changes 102 files at once.
    let modules: Vec<(String, String)> = (0..MODULES)
        .map(|n| {
            (
                format!("src/m{n}.rs"),
                format!("pub fn f() -> u32 {{\n    crate::geometry::perimeter({n}, 1)\n}}\n"),
            )
        })
        .collect();
    let lib = LIB.to_owned()
        + &(0..MODULES)
            .map(|n| format!("mod m{n};\n"))
            .collect::<String>();
    let mut extra: Vec<(&str, &str)> = modules
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    extra.push(("src/lib.rs", &lib));
    let dir = project(&extra);
    let root = dir.path();
    let relay = common::start_relay(RelayConfig::default()).await;
    let (link, control) =
        common::start_host_with(root, relay.address, "host", &[], Approval::Auto).await;
    let mut bob = Participant::join(&link, "bob").await.expect("join");
    wait_until_indexed(&mut bob).await;

    // `area` is also used by the ignored src/secret.rs: refused whole, nothing changes.
    let refused = bob
        .request(Rename(RenameRequest {
            at: at("src/geometry.rs", 0, 8),
            new_name: "surface".into(),
            save: true,
        }))
        .await;
    match refused {
        Err(ClientError::Host(message)) => {
            assert!(message.contains("src/secret.rs"), "{message}");
            assert!(message.contains("nothing was changed"), "{message}");
        }
        other => panic!("a rename into an ignored file was not refused: {other:?}"),
    }
    assert_eq!(read(root, "src/geometry.rs"), GEOMETRY);
    assert_eq!(read(root, "src/lib.rs"), lib);

    // Ada has lib.rs open. Bob renames `perimeter` (asked in geometry.rs) while Ada
    // keeps typing lines above both its uses in lib.rs. rust-analyzer drops a rename
    // whose text changes under it ("content modified"; the host asks again), and an edit
    // that arrives after its answer is transformed against it (the unit test
    // `host::documents::tests::an_edit_made_for_an_older_revision_is_transformed`):
    // either way both land.
    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.expect("ada joins");
    open(&mut ada_driver, &mut ada, "src/lib.rs")
        .await
        .expect("ada opens lib.rs");
    let rename = bob
        .send(Rename(RenameRequest {
            at: at("src/geometry.rs", 4, 8),
            new_name: NAME_MARKER.into(),
            save: false,
        }))
        .await
        .expect("rename sent");
    let renamed = std::sync::atomic::AtomicBool::new(false);
    let typing = async {
        let mut typed = 0;
        while !renamed.load(std::sync::atomic::Ordering::Relaxed) && typed < 300 {
            let len = ada.documents["src/lib.rs"].rope.len_chars();
            ada.local_edit("src/lib.rs", Operation::insert(len, 0, "// ada\n").unwrap())
                .unwrap();
            typed += 1;
            // Sends, and takes the host's answers, for a moment.
            let _ = run_until(
                &mut ada_driver,
                &mut ada,
                Duration::from_millis(2),
                |_, _| Ok(false),
            )
            .await;
        }
        typed
    };
    let answering = async {
        let answer = bob.next_answer::<Rename>(rename).await;
        renamed.store(true, std::sync::atomic::Ordering::Relaxed);
        answer
    };
    let (typed, answer) = tokio::join!(typing, answering);
    let (summary, done) = answer.expect("the rename is made");
    assert!(done);
    assert_eq!(summary.files, 2 + MODULES as u64, "{summary:?}");
    let places: Vec<String> = summary
        .places
        .iter()
        .map(|p| format!("{}:{}:{}", p.path, p.line, p.column))
        .collect();
    assert!(
        places.contains(&"src/geometry.rs:5:8".to_owned()),
        "{places:?}"
    );
    assert!(places.contains(&"src/m7.rs:2:22".to_owned()), "{places:?}");
    assert_eq!(places.len(), 3 + MODULES, "{places:?}");

    let want = format!(
        "{}{}",
        "// ada\n".repeat(typed),
        lib.replace("perimeter", NAME_MARKER)
    );
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(30),
        |s, _| Ok(s.is_synced("src/lib.rs") && s.documents["src/lib.rs"].rope == want.as_str()),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "Ada's copy is {:?}: {e}",
            ada.documents["src/lib.rs"].rope.to_string()
        )
    });
    let mut shared = Vec::new();
    bob.read_file("src/geometry.rs", &mut shared)
        .await
        .expect("read");
    assert_eq!(
        String::from_utf8(shared).unwrap(),
        GEOMETRY.replace("perimeter", NAME_MARKER),
        "the file nobody had open is renamed in too"
    );
    assert_eq!(
        read(root, "src/geometry.rs"),
        GEOMETRY,
        "not saved unless asked"
    );

    for (direction, frame) in relay.tapped.lock().expect("tap").iter() {
        assert!(
            !common::contains(frame, NAME_MARKER.as_bytes()),
            "the new name crossed the relay in the clear ({direction:?})"
        );
    }

    // Made read-only, Bob may no longer rename, format or apply actions.
    let bob_id = bob.id();
    control
        .commands
        .send(HostCommand::SetRole {
            participant: bob_id,
            role: Role::ReadOnly,
        })
        .await
        .expect("role");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = bob
        .request(Format {
            path: "src/lib.rs".into(),
            save: true,
        })
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Host(message)) if message.contains("read-only")),
        "{refused:?}"
    );
    let refused = bob
        .request(Rename(RenameRequest {
            at: at("src/geometry.rs", 0, 8),
            new_name: "volume".into(),
            save: true,
        }))
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Host(message)) if message.contains("read-only")),
        "{refused:?}"
    );
    assert_eq!(read(root, "src/geometry.rs"), GEOMETRY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_equals_rustfmt_and_a_quick_fix_applies_from_the_command_line() {
    let ugly = "pub fn   ugly_c0ffee99( a:u32)->u32{a+1}\n\npub fn total() -> u32 {\n    let count = 1;\n    count = count + 1;\n    count\n}\n";
    let lib = format!("{LIB}mod ugly;\n");
    let dir = project(&[("src/ugly.rs", ugly), ("src/lib.rs", &lib)]);
    let root = dir.path();
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(root, relay.address, "host", &[]).await;
    let mut bob = Participant::join(&link, "bob").await.expect("join");
    wait_until_indexed(&mut bob).await;

    // The outline of a file, and the workspace's symbols for a query, name their places.
    let outline = bob
        .request(Symbols {
            path: Some("src/geometry.rs".into()),
            query: String::new(),
        })
        .await
        .expect("outline");
    let named: Vec<String> = outline
        .iter()
        .map(|s| {
            let at = s.location.range.start;
            format!("{}:{}:{}:{}", at.line + 1, at.col + 1, s.kind, s.name)
        })
        .collect();
    assert_eq!(named, ["1:8:function:area", "5:8:function:perimeter"]);
    let found = bob
        .request(Symbols {
            path: None,
            query: "perimeter".into(),
        })
        .await
        .expect("workspace symbols");
    assert!(
        found
            .iter()
            .any(|s| s.name == "perimeter" && s.location.path == "src/geometry.rs"),
        "{found:?}"
    );
    // `hidden` lives only in the ignored src/secret.rs, which rust-analyzer does read.
    let hidden = bob
        .request(Symbols {
            path: None,
            query: "hidden".into(),
        })
        .await
        .expect("workspace symbols");
    assert!(
        hidden.iter().all(|s| s.location.path != "src/secret.rs"),
        "an ignored file's symbols are never listed: {hidden:?}"
    );

    // A symbol's name (in the outline, the formatting and the file) never crosses the relay
    // in the clear.
    let ugly_outline = bob
        .request(Symbols {
            path: Some("src/ugly.rs".into()),
            query: String::new(),
        })
        .await
        .expect("outline");
    assert!(ugly_outline.iter().any(|s| s.name == "ugly_c0ffee99"));

    let rustfmt = {
        use std::io::Write;
        let mut child = std::process::Command::new("rustfmt")
            .args(["--edition", "2021", "--emit", "stdout"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("rustfmt is installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ugly.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    assert_ne!(rustfmt, ugly);
    let summary = bob
        .request(Format {
            path: "src/ugly.rs".into(),
            save: true,
        })
        .await
        .expect("format");
    assert_eq!((summary.files, summary.saved), (1, 1), "{summary:?}");
    assert_eq!(read(root, "src/ugly.rs"), rustfmt, "the same as rustfmt");

    // The lightbulb's question: the whole line of `count = count + 1` has the fix (asked
    // at its first column, where the cursor-position question finds none), and the line
    // of `pub fn total` has no fix.
    let line = line_of(&rustfmt, "count = count + 1");
    let fixes_on = |found: &[cotype::protocol::language::CodeActionItem]| {
        found
            .iter()
            .any(|action| action.fix && action.title.contains("mutable"))
    };
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        match bob.request(LineActions(at("src/ugly.rs", line, 0))).await {
            Ok(found) if fixes_on(&found) => break,
            Ok(found) => assert!(Instant::now() < deadline, "no fix on the line: {found:?}"),
            Err(ClientError::Host(message)) if is_busy(&message) => {}
            Err(error) => panic!("line actions: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let at_start = bob
        .request(CodeActions(at("src/ugly.rs", line, 0)))
        .await
        .expect("code actions at the line's start");
    assert!(!fixes_on(&at_start), "{at_start:?}");
    let clean = bob
        .request(LineActions(at(
            "src/ugly.rs",
            line_of(&rustfmt, "pub fn total"),
            0,
        )))
        .await
        .expect("line actions");
    assert!(!clean.iter().any(|action| action.fix), "{clean:?}");
    bob.leave().await;
    for (direction, frame) in relay.tapped.lock().expect("tap").iter() {
        assert!(
            !common::contains(frame, b"ugly_c0ffee99"),
            "a symbol's name crossed the relay in the clear ({direction:?})"
        );
    }

    // `count = count + 1` on an immutable `count`: rust-analyzer offers to make it `mut`.
    let url = link.to_url();
    let place = format!(
        "src/ugly.rs:{}:5",
        line_of(&rustfmt, "count = count + 1") + 1
    );
    let deadline = Instant::now() + READY_DEADLINE;
    let listed = loop {
        let listed = tokio::task::spawn_blocking({
            let (url, place) = (url.clone(), place.clone());
            move || {
                let mut command = process::cotype();
                command.args(["actions", "--name", "fixer", "-", &place]);
                process::run(&mut command, format!("{url}\n").as_bytes())
            }
        })
        .await
        .unwrap();
        if listed.stdout_text().contains("mutable") || Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let text = listed.stdout_text();
    let line = text
        .lines()
        .find(|line| line.contains("[fix]") && line.contains("mutable"))
        .unwrap_or_else(|| panic!("no fix offered: {text}\n{}", listed.stderr));
    let number = line.split(':').next().unwrap().to_owned();
    let applied = tokio::task::spawn_blocking(move || {
        let mut command = process::cotype();
        command.args([
            "actions", "--name", "fixer", "-", &place, "--apply", &number, "--save",
        ]);
        process::run(&mut command, format!("{url}\n").as_bytes())
    })
    .await
    .unwrap();
    assert_eq!(applied.code(), Some(0), "{}", applied.stderr);
    assert!(
        applied.stdout_text().starts_with("src/ugly.rs:"),
        "{}",
        applied.stdout_text()
    );
    assert!(
        read(root, "src/ugly.rs").contains("let mut count = 1;"),
        "{}",
        read(root, "src/ugly.rs")
    );
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {text}"))
}

/// The host's format-on-save: Ada saves an ugly file she has open and the host writes it
/// as rustfmt would, the formatting arriving in her copy as a shared edit first. Asked
/// to format a part of a file, rust-analyzer (whose range formatting needs a nightly
/// rustfmt and is off by default) is either as good as rustfmt on that part or refused
/// in a sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_on_save_writes_what_rustfmt_makes_of_the_file() {
    use cotype::client::request::FormatRange;
    use cotype::host::{HostOptions, HostSession};
    use cotype::protocol::language::FormatRangeRequest;
    use cotype::protocol::message::{CURRENT_TEXT, TextRange};
    use cotype::text::LineCol;
    let ugly = "pub fn   first( a:u32)->u32{a+1}\n\npub fn   second( b:u32)->u32{b*2}\n";
    let lib = format!("{LIB}mod ugly;\n");
    let dir = project(&[("src/ugly.rs", ugly), ("src/lib.rs", &lib)]);
    let root = dir.path();
    let relay = common::start_relay(RelayConfig::default()).await;
    let mut session = HostSession::start(HostOptions {
        root: root.to_path_buf(),
        relay: relay.address.to_string(),
        insecure: false,
        hide: Vec::new(),
        name: "host".into(),
        approval: Approval::Auto,
        trust_project: false,
    })
    .await
    .expect("host starts");
    session.set_format_on_save(true);
    let link = session.link.clone();
    tokio::spawn(async move {
        let _ = session.run().await;
    });
    let mut bob = Participant::join(&link, "bob").await.expect("join");
    wait_until_indexed(&mut bob).await;

    let range = bob
        .request(FormatRange(FormatRangeRequest {
            path: "src/ugly.rs".into(),
            revision: CURRENT_TEXT,
            range: TextRange {
                start: LineCol { line: 0, col: 0 },
                end: LineCol { line: 0, col: 32 },
            },
            save: false,
        }))
        .await;
    let rustfmt = |text: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new("rustfmt")
            .args(["--edition", "2021", "--emit", "stdout"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("rustfmt is installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    match range {
        Ok(summary) => {
            assert_eq!(summary.files, 1, "{summary:?}");
            let mut shared = Vec::new();
            bob.read_file("src/ugly.rs", &mut shared)
                .await
                .expect("read");
            let first = rustfmt("pub fn   first( a:u32)->u32{a+1}\n");
            assert_eq!(
                String::from_utf8(shared).unwrap(),
                format!("{first}\npub fn   second( b:u32)->u32{{b*2}}\n"),
                "the first function formatted as rustfmt would, the second untouched"
            );
        }
        Err(ClientError::Host(message)) => {
            println!("range formatting refused: {message}");
            assert_eq!(
                &message,
                "rust-analyzer cannot format a part of src/ugly.rs; format the whole file instead"
            );
        }
        Err(other) => panic!("range formatting: {other}"),
    }

    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.expect("ada joins");
    open(&mut ada_driver, &mut ada, "src/ugly.rs")
        .await
        .expect("ada opens ugly.rs");
    let before = ada.documents["src/ugly.rs"].rope.to_string();
    let want = rustfmt(&before);
    assert_ne!(want, before);
    ada.save("src/ugly.rs");
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(60),
        |s, _| {
            Ok(read(root, "src/ugly.rs") == want
                && s.documents["src/ugly.rs"].rope == want.as_str()
                && !s.is_unsaved("src/ugly.rs"))
        },
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "saved {:?}, ada has {:?}: {e}",
            read(root, "src/ugly.rs"),
            ada.documents["src/ugly.rs"].rope.to_string()
        )
    });
}
