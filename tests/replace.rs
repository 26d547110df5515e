//! Replace across the workspace, end to end: a real relay, a real host on real files, the
//! real `cotype replace` binary and participants over real WebSockets. What a user would
//! notice: the dry run lists the changes and changes nothing; applying changes files
//! nobody has open (on disk with --save) and open ones for everyone; someone typing in the
//! file at that moment keeps their text; hidden and ignored files are never touched; a
//! read-only member is refused; the exit codes say whether anything matched.

mod common;
#[path = "common/process.rs"]
mod process;

use std::time::Duration;

use common::{start_host_with, start_relay, write_tree};
use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::session::Session;
use cotype::client::{ClientError, Participant};
use cotype::host::session::{Approval, HostCommand, HostEvent};
use cotype::protocol::message::Role;
use cotype::protocol::search::{Exclusion, ReplaceRequest, SearchQuery};
use cotype::relay::RelayConfig;
use cotype::text::Operation;

fn tree(root: &std::path::Path) {
    write_tree(
        root,
        &[
            ("src/a.rs", b"fn old_name() {}\nfn main() { old_name(); }\n"),
            (
                "src/b.rs",
                b"// old_name is called twice: old_name\nstruct Unrelated;\n",
            ),
            ("notes.txt", b"nothing to see\n"),
            (".env", b"OLD_NAME=old_name\n"),
            (".gitignore", b"ignored.rs\n"),
            ("ignored.rs", b"fn old_name() {}\n"),
            // Chooses the host's tools: only the host's own user may change it.
            ("rust-toolchain.toml", b"channel = \"old_name\"\n"),
        ],
    );
}

fn read(root: &std::path::Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

fn replace_command(link: &str, args: &[&str]) -> process::Finished {
    let mut command = process::cotype();
    command
        .args(["replace", "--name", "replacer", "-"])
        .args(args);
    process::run(&mut command, format!("{link}\n").as_bytes())
}

fn replace_request(pattern: &str, replacement: &str, dry_run: bool) -> ReplaceRequest {
    ReplaceRequest {
        query: SearchQuery {
            fixed_strings: false,
            ..SearchQuery::literal(pattern)
        },
        replacement: replacement.into(),
        excluded: Vec::new(),
        dry_run,
        save: false,
    }
}

async fn wait_for_text(driver: &mut Driver, session: &mut Session, path: &str, needle: &str) {
    run_until(driver, session, Duration::from_secs(30), |session, _| {
        Ok(session
            .documents
            .get(path)
            .is_some_and(|d| d.rope.to_string().contains(needle)))
    })
    .await
    .unwrap_or_else(|e| panic!("{path} never showed {needle:?}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_previews_applies_and_saves_and_never_touches_hidden_files() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let relay = start_relay(RelayConfig::default()).await;
    let (link, _control) =
        start_host_with(dir.path(), relay.address, "host", &[], Approval::Auto).await;
    let url = link.to_url();

    // Ada has src/a.rs open: she sees the replace arrive as an edit.
    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.unwrap();
    open(&mut ada_driver, &mut ada, "src/a.rs").await.unwrap();

    let expected = "\
src/a.rs:1:4:fn new_name() {}
src/a.rs:2:13:fn main() { new_name(); }
src/b.rs:1:4:// new_name is called twice: new_name
src/b.rs:1:30:// new_name is called twice: new_name
";
    let dry = tokio::task::spawn_blocking({
        let url = url.clone();
        move || replace_command(&url, &["old_name", "new_name", "--dry-run"])
    })
    .await
    .unwrap();
    assert_eq!(dry.code(), Some(0), "stderr: {}", dry.stderr);
    assert_eq!(dry.stdout_text(), expected);
    assert!(
        dry.stderr.contains("would replace 4 matches in 2 files"),
        "{}",
        dry.stderr
    );
    assert!(
        read(dir.path(), "src/b.rs").contains("old_name"),
        "a dry run changed the disk"
    );
    assert!(
        dry.stderr.contains("left alone: rust-toolchain.toml"),
        "{}",
        dry.stderr
    );

    // More matches than allowed: refused whole, nothing changed.
    let too_many = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            replace_command(
                &url,
                &["old_name", "new_name", "--max-count", "3", "--save"],
            )
        }
    })
    .await
    .unwrap();
    too_many.assert_failure(5, "nothing was changed", "");
    assert!(read(dir.path(), "src/a.rs").contains("old_name"));

    // Regex groups, applied and saved.
    let applied = tokio::task::spawn_blocking({
        let url = url.clone();
        move || replace_command(&url, &[r"old_(\w+)", "new_$1", "--save"])
    })
    .await
    .unwrap();
    assert_eq!(applied.code(), Some(0), "stderr: {}", applied.stderr);
    assert_eq!(applied.stdout_text(), expected);
    assert_eq!(
        read(dir.path(), "src/b.rs"),
        "// new_name is called twice: new_name\nstruct Unrelated;\n",
        "the file nobody had open is saved with the change"
    );
    assert_eq!(
        read(dir.path(), "src/a.rs"),
        "fn new_name() {}\nfn main() { new_name(); }\n"
    );
    wait_for_text(
        &mut ada_driver,
        &mut ada,
        "src/a.rs",
        "fn main() { new_name(); }",
    )
    .await;
    assert_eq!(
        ada.documents["src/a.rs"].rope.to_string(),
        "fn new_name() {}\nfn main() { new_name(); }\n",
        "Ada's open copy follows"
    );
    assert_eq!(
        read(dir.path(), ".env"),
        "OLD_NAME=old_name\n",
        "a hidden file was changed"
    );
    assert_eq!(
        read(dir.path(), "ignored.rs"),
        "fn old_name() {}\n",
        "an ignored file was changed"
    );
    assert_eq!(
        read(dir.path(), "rust-toolchain.toml"),
        "channel = \"old_name\"\n",
        "a member changed the host's tools"
    );

    // Nothing left to match: exit code 1 and nothing printed.
    let none = tokio::task::spawn_blocking({
        let url = url.clone();
        move || replace_command(&url, &["-F", "old_name", "x", "-g", "*.rs"])
    })
    .await
    .unwrap();
    assert_eq!(none.code(), Some(1), "stderr: {}", none.stderr);
    assert!(none.stdout.is_empty());

    // A literal replacement stays literal with -F.
    let literal = tokio::task::spawn_blocking({
        let url = url.clone();
        move || replace_command(&url, &["-F", "nothing", "$1", "--save"])
    })
    .await
    .unwrap();
    assert_eq!(literal.stdout_text(), "notes.txt:1:1:$1 to see\n");
    assert_eq!(read(dir.path(), "notes.txt"), "$1 to see\n");

    // Without --save the change is shared, as typing is: everyone reads it, the disk
    // keeps its text until someone saves.
    let unsaved = tokio::task::spawn_blocking({
        let url = url.clone();
        move || replace_command(&url, &["-F", "see", "read"])
    })
    .await
    .unwrap();
    assert_eq!(unsaved.code(), Some(0), "stderr: {}", unsaved.stderr);
    assert!(unsaved.stderr.contains("not saved"), "{}", unsaved.stderr);
    assert_eq!(read(dir.path(), "notes.txt"), "$1 to see\n");
    let mut reader = cotype::client::Participant::join(&link, "reader")
        .await
        .unwrap();
    let mut shared = Vec::new();
    reader.read_file("notes.txt", &mut shared).await.unwrap();
    assert_eq!(String::from_utf8(shared).unwrap(), "$1 to read\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_typing_in_the_file_keeps_their_text_and_the_replace_lands() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let relay = start_relay(RelayConfig::default()).await;
    let (link, _control) =
        start_host_with(dir.path(), relay.address, "host", &[], Approval::Auto).await;
    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.unwrap();
    open(&mut ada_driver, &mut ada, "src/a.rs").await.unwrap();

    // Ada types at the start of line 2 and at the end; her edits are not sent yet, so the
    // host gets them after the replace, based on the text before it.
    let line_two = ada.documents["src/a.rs"].rope.line_to_char(1);
    let len = ada.documents["src/a.rs"].rope.len_chars();
    ada.local_edit(
        "src/a.rs",
        Operation::insert(len, len, "// ada was here\n").unwrap(),
    )
    .unwrap();
    ada.local_edit(
        "src/a.rs",
        Operation::insert(len + 16, line_two, "pub ").unwrap(),
    )
    .unwrap();

    let mut bob = Participant::join(&link, "bob").await.unwrap();
    let mut request = replace_request("old_name", "new_name", false);
    request.excluded.push(Exclusion::File {
        path: "src/b.rs".into(),
    });
    let (hits, summary) = bob.replace(request).await.unwrap();
    assert_eq!((summary.changes, summary.files), (2, 1), "{hits:?}");
    assert!(summary.applied);

    // Now Ada's edits go out; she and the host converge on both.
    let want = "fn new_name() {}\npub fn main() { new_name(); }\n// ada was here\n";
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(30),
        |s, _| Ok(s.is_synced("src/a.rs") && s.documents["src/a.rs"].rope == want),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "Ada's copy is {:?}: {e}",
            ada.documents["src/a.rs"].rope.to_string()
        )
    });
    let mut shared = Vec::new();
    bob.read_file("src/a.rs", &mut shared).await.unwrap();
    assert_eq!(String::from_utf8(shared).unwrap(), want, "the host's text");
    assert!(
        read(dir.path(), "src/b.rs").contains("old_name"),
        "an excluded file was changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_member_may_preview_but_not_replace() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let relay = start_relay(RelayConfig::default()).await;
    let (link, mut control) =
        start_host_with(dir.path(), relay.address, "host", &[], Approval::Auto).await;
    let mut bob = Participant::join(&link, "bob").await.unwrap();
    let bob_id = bob.id();
    loop {
        if let HostEvent::MemberJoined(member) = control.events.recv().await.unwrap()
            && member.participant == bob_id
        {
            break;
        }
    }
    control
        .commands
        .send(HostCommand::SetRole {
            participant: bob_id,
            role: Role::ReadOnly,
        })
        .await
        .unwrap();
    // The role change reaches the host before Bob's next request (one ordered loop), but
    // give the command channel a moment to be read.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (preview, _) = bob
        .replace(replace_request("old_name", "x", true))
        .await
        .unwrap();
    assert_eq!(preview.len(), 4);
    let refused = bob.replace(replace_request("old_name", "x", false)).await;
    assert!(
        matches!(&refused, Err(ClientError::Host(message)) if message.contains("read-only")),
        "{:?}",
        refused.map(|(_, summary)| summary)
    );
    let mut text = Vec::new();
    bob.read_file("src/a.rs", &mut text).await.unwrap();
    assert!(String::from_utf8(text).unwrap().contains("old_name"));
    assert!(read(dir.path(), "src/b.rs").contains("old_name"));
}

/// `path:line:text` rows, sorted and deduplicated (rg reports a second match's column in the
/// line as already replaced; the files and lines are what must agree).
fn lines_changed(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let mut rows: Vec<(String, u64, String)> = text
        .lines()
        .map(|row| {
            let mut fields = row.splitn(4, ':');
            let path = fields.next().unwrap().to_owned();
            let line = fields.next().unwrap().parse().unwrap();
            let _column = fields.next().unwrap();
            (path, line, fields.next().unwrap().to_owned())
        })
        .collect();
    rows.sort();
    rows.dedup();
    rows.into_iter()
        .map(|(path, line, text)| format!("{path}:{line}:{text}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_the_files_and_lines_rg_replace_does() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for a in 0..3 {
        for b in 0..4 {
            let body: String = (0..20)
                .map(|line| match (line + a + b) % 5 {
                    0 => format!("let old_{line} = old_value({a}, {b}); // old\n"),
                    1 => format!("    naïve Straße old·{line} 🦀 OLD\n"),
                    _ => format!("    value_{line} = {line};\n"),
                })
                .collect();
            write_tree(root, &[(&format!("m{a}/f{b}.rs"), body.as_bytes())]);
        }
    }
    write_tree(
        root,
        &[(".env", b"old=1\n"), ("docs/readme.md", b"an old note\n")],
    );
    let relay = start_relay(RelayConfig::default()).await;
    let (link, _control) = start_host_with(root, relay.address, "host", &[], Approval::Auto).await;
    let url = link.to_url();
    let queries: &[(&[&str], &str, &str)] = &[
        (&["-F"], "old", "new"),
        (&[], r"old_(\w+)", "fresh_$1"),
        (&["-i", "-w"], "old", "[$0]"),
        (&["-g", "*.md"], "old", "new"),
        // Anchors hold at every line, as in rg.
        (&[], "^let old_", "let new_"),
        (&[], "OLD$", "NEW"),
    ];
    for (flags, pattern, replacement) in queries {
        let mut args: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        args.extend([
            pattern.to_string(),
            replacement.to_string(),
            "--dry-run".into(),
        ]);
        let ours = tokio::task::spawn_blocking({
            let url = url.clone();
            move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                replace_command(&url, &args)
            }
        })
        .await
        .unwrap();
        assert_eq!(ours.code(), Some(0), "{flags:?} {pattern}: {}", ours.stderr);
        let mut rg = std::process::Command::new("rg");
        rg.current_dir(root)
            .args(["--vimgrep", "--no-config", "--hidden", "--no-require-git"])
            .args(*flags);
        for rule in cotype::host::workspace::DEFAULT_HIDDEN {
            rg.arg("--iglob").arg(format!("!{rule}"));
        }
        let rg = rg
            .args(["-r", replacement, "-e", pattern])
            .output()
            .expect("rg must be installed (scripts/test installs it)");
        assert_eq!(
            lines_changed(&ours.stdout),
            lines_changed(&rg.stdout),
            "{flags:?} {pattern} → {replacement}"
        );
    }
}
