//! Creating, renaming and deleting files and folders as a participant, end to end: a real
//! relay, a real host on real files, the real `cotype new|mv|rm` binary and participants
//! over real WebSockets. What a user would notice: the files change on the host's disk,
//! hidden, ignored and outside paths are refused with nothing changed, an open document
//! follows a rename (typing and saving go to the new file), a deleted open document keeps
//! its text and saving writes it again, and read-only members are refused.

mod common;
#[path = "common/process.rs"]
mod process;

use std::path::Path;
use std::time::Duration;

use common::{start_host_with, start_relay, write_tree};
use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::session::SessionEvent;
use cotype::client::{ClientError, Participant};
use cotype::host::session::{Approval, HostCommand, HostEvent};
use cotype::protocol::message::{Event, Role};
use cotype::relay::RelayConfig;
use cotype::text::Operation;

fn tree(root: &Path) {
    write_tree(
        root,
        &[
            ("src/a.rs", b"fn a() {}\n"),
            ("src/b.rs", b"fn b() {}\n"),
            ("notes.txt", b"my notes\n"),
            ("secret/.env", b"TOKEN=1\n"),
            ("secret/readme.md", b"shared\n"),
            (".gitignore", b"*.log\n"),
        ],
    );
}

fn command(link: &str, args: &[&str]) -> process::Finished {
    let mut command = process::cotype();
    command.args(args);
    process::run(&mut command, format!("{link}\n").as_bytes())
}

async fn run(link: &str, args: &'static [&'static str]) -> process::Finished {
    let link = link.to_owned();
    tokio::task::spawn_blocking(move || command(&link, args))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mv_rm_change_the_disk_and_refuse_what_the_host_hides() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let relay = start_relay(RelayConfig::default()).await;
    let (link, _control) = start_host_with(root, relay.address, "host", &[], Approval::Auto).await;
    let url = link.to_url();

    let created = run(
        &url,
        &["new", "-", "lib/util.rs", "--content", "fn util() {}\n"],
    )
    .await;
    assert_eq!(created.code(), Some(0), "{}", created.stderr);
    assert!(
        created.stderr.contains("created the file lib/util.rs"),
        "{}",
        created.stderr
    );
    assert_eq!(
        std::fs::read_to_string(root.join("lib/util.rs")).unwrap(),
        "fn util() {}\n"
    );
    let folder = run(&url, &["new", "-", "docs/empty", "--folder"]).await;
    assert_eq!(folder.code(), Some(0), "{}", folder.stderr);
    assert!(root.join("docs/empty").is_dir());

    let moved = run(&url, &["mv", "-", "src/b.rs", "lib/b.rs"]).await;
    assert_eq!(moved.code(), Some(0), "{}", moved.stderr);
    assert!(!root.join("src/b.rs").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("lib/b.rs")).unwrap(),
        "fn b() {}\n"
    );

    let removed = run(&url, &["rm", "-", "lib/util.rs"]).await;
    assert_eq!(removed.code(), Some(0), "{}", removed.stderr);
    assert!(!root.join("lib/util.rs").exists());

    // Refused, with nothing changed: exit code 5 and the host's reason.
    let refusals: &[(&'static [&'static str], &str)] = &[
        (&["new", "-", ".env"], "hides"),
        (&["new", "-", "deep/.git/config"], "hides"),
        (&["new", "-", "build.log"], "hides"),
        (&["new", "-", "../outside.txt"], "only paths inside"),
        (&["new", "-", "/tmp/absolute.txt"], "absolute"),
        (&["new", "-", "notes.txt"], "already exists"),
        (&["mv", "-", "src/a.rs", "src/a.log"], "hides"),
        (&["mv", "-", "src/a.rs", "notes.txt"], "already exists"),
        (&["mv", "-", "secret/.env", "public.txt"], "not shared"),
        (&["mv", "-", "secret", "open"], "does not share"),
        (&["rm", "-", "secret/.env"], "not shared"),
        (&["rm", "-", "secret"], "does not share"),
        (&["rm", "-", "missing.txt"], "not shared"),
    ];
    for (args, reason) in refusals {
        let refused = run(&url, args).await;
        refused.assert_failure(5, reason, "");
    }
    assert!(!root.join(".env").exists());
    assert!(
        !root.join("deep").exists(),
        "a refused create left its folders behind"
    );
    assert!(!root.join("build.log").exists());
    assert!(!dir.path().parent().unwrap().join("outside.txt").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("src/a.rs")).unwrap(),
        "fn a() {}\n"
    );
    assert!(!root.join("src/a.log").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("secret/.env")).unwrap(),
        "TOKEN=1\n"
    );
    assert!(root.join("secret/readme.md").exists());

    // Everyone's file list follows.
    let mut reader = Participant::join(&link, "reader").await.unwrap();
    let listed: Vec<String> = reader
        .list_files()
        .await
        .unwrap()
        .into_iter()
        .map(|file| file.path)
        .collect();
    assert!(listed.contains(&"lib/b.rs".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"src/b.rs".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"lib/util.rs".to_owned()), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_document_follows_a_rename_and_a_deleted_one_keeps_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let relay = start_relay(RelayConfig::default()).await;
    let (link, _control) = start_host_with(root, relay.address, "host", &[], Approval::Auto).await;
    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.unwrap();
    open(&mut ada_driver, &mut ada, "src/a.rs").await.unwrap();
    open(&mut ada_driver, &mut ada, "notes.txt").await.unwrap();

    // Bob moves the folder Ada's file is in.
    let mut bob = Participant::join(&link, "bob").await.unwrap();
    let said = bob.move_path("src", "core").await.unwrap();
    assert_eq!(said, "bob renamed src to core");
    let mut heard_rename = false;
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(20),
        |s, event| {
            if let Some(SessionEvent::Host(Event::FileRenamed { from, to })) = event {
                heard_rename = from == "src" && to == "core";
            }
            Ok(s.documents.contains_key("core/a.rs"))
        },
    )
    .await
    .expect("Ada's document is known by its new path");
    assert!(heard_rename);
    assert!(!ada.documents.contains_key("src/a.rs"));

    // Her typing and her save go to the moved file.
    ada.local_edit("core/a.rs", Operation::insert(10, 0, "// moved\n").unwrap())
        .unwrap();
    let save = ada.save("core/a.rs");
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(20),
        |_, event| Ok(matches!(event, Some(SessionEvent::Saved { by: None, .. }))),
    )
    .await
    .unwrap_or_else(|e| panic!("save {save:?} never confirmed: {e}"));
    assert_eq!(
        std::fs::read_to_string(root.join("core/a.rs")).unwrap(),
        "// moved\nfn a() {}\n"
    );
    assert!(!root.join("src").exists());

    // Bob deletes the notes Ada has open: her tab keeps the text, unsaved, and saving
    // writes the file again.
    bob.delete_path("notes.txt").await.unwrap();
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(20),
        |s, _| Ok(s.is_unsaved("notes.txt")),
    )
    .await
    .expect("the deleted document shows as unsaved");
    assert!(!root.join("notes.txt").exists());
    assert_eq!(ada.documents["notes.txt"].rope.to_string(), "my notes\n");
    ada.save("notes.txt");
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(20),
        |_, event| Ok(matches!(event, Some(SessionEvent::Saved { by: None, .. }))),
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("notes.txt")).unwrap(),
        "my notes\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_member_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let relay = start_relay(RelayConfig::default()).await;
    let (link, mut control) =
        start_host_with(root, relay.address, "host", &[], Approval::Auto).await;
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
    tokio::time::sleep(Duration::from_millis(200)).await;
    let read_only = |result: Result<String, ClientError>| matches!(&result, Err(ClientError::Host(message)) if message.contains("read-only"));
    assert!(read_only(bob.create_path("new.txt", false, "x").await));
    assert!(read_only(bob.move_path("src/a.rs", "src/c.rs").await));
    assert!(read_only(bob.delete_path("notes.txt").await));
    assert!(!root.join("new.txt").exists());
    assert!(root.join("src/a.rs").exists());
    assert!(root.join("notes.txt").exists());
}

#[test]
fn the_commands_take_the_link_from_cotype_link_and_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let (_host, link) = process::start_host(dir.path(), &[]);
    let secret = link.split('#').nth(1).unwrap().to_owned();
    let with_env =
        |args: &[&str]| process::run(process::cotype().args(args).env("COTYPE_LINK", &link), b"");
    let replaced = with_env(&["replace", "-F", "fn b", "fn bee", "--save"]);
    assert_eq!(replaced.code(), Some(0), "stderr: {}", replaced.stderr);
    assert_eq!(replaced.stdout_text(), "src/b.rs:1:1:fn bee() {}\n");
    let moved = with_env(&["mv", "src/b.rs", "src/bee.rs"]);
    assert_eq!(moved.code(), Some(0), "stderr: {}", moved.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/bee.rs")).unwrap(),
        "fn bee() {}\n"
    );

    let usage = |args: &[&str], expected: &str| {
        process::run(process::cotype().args(args), b"").assert_failure(2, expected, &secret);
    };
    usage(
        &["replace", &link, "fn"],
        "REPLACEMENT is missing after PATTERN",
    );
    usage(&["replace", &link], "PATTERN and REPLACEMENT are missing");
    usage(&["mv", &link, "src/a.rs"], "TO is missing after FROM");
    usage(&["rm", &link], "PATH is missing after the link");
    usage(&["new", &link], "PATH is missing after the link");
}
