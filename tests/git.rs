//! Git on the host, shown to members (issue 14, item 7), on a real repository made here
//! with the real `git`: `cotype changes` lists exactly the changed shared files with
//! porcelain's letters (hidden and ignored ones never), a file's base texts come from the
//! index and HEAD, a hidden file's base and anything under `.git/` are refused, a commit
//! on the host tells everyone, and neither a committed file's text nor the branch name
//! crosses the relay in the clear.
//!
//! git must be installed; the tests fail (never skip) otherwise.

mod common;
#[path = "common/process.rs"]
mod process;

use std::path::Path;
use std::time::Duration;

use common::{contains, git, start_host, start_relay, write_tree};
use cotype::client::driver::Driver;
use cotype::client::headless::run_until;
use cotype::client::request::GitBase;
use cotype::client::session::SessionEvent;
use cotype::client::{ClientError, Participant};
use cotype::protocol::message::Event;
use cotype::relay::RelayConfig;

/// A repository on branch `branch` with committed files, then changes of every kind on
/// disk: modified, staged, added, untracked, deleted; and the same done to files the host
/// hides (`.env`, `deploy.pem`) or ignores (`build/`), which must never be named.
fn changed_repository(dir: &Path, branch: &str) {
    write_tree(
        dir,
        &[
            ("notes.txt", b"one\ntwo\nthree\n"),
            ("src/lib.rs", b"pub fn a() {}\n"),
            ("staged.txt", b"before\n"),
            ("gone.txt", b"soon deleted\n"),
            (".env", b"TOKEN=1\n"),
            ("deploy.pem", b"KEY\n"),
            ("old_secret.pem", b"OLD KEY\n"),
            (".gitignore", b"build/\n"),
        ],
    );
    git(dir, &["init", "-q"]);
    git(dir, &["checkout", "-q", "-b", branch]);
    git(dir, &["add", "-A"]);
    git(dir, &["add", "-f", ".env"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    write_tree(
        dir,
        &[
            ("notes.txt", b"one\nTWO\nthree\n"),
            ("staged.txt", b"after\n"),
            ("added.txt", b"new and staged\n"),
            ("untracked/new.rs", b"// new\n"),
            (".env", b"TOKEN=2\n"),
            ("deploy.pem", b"NEW KEY\n"),
            ("build/out.txt", b"generated\n"),
        ],
    );
    git(dir, &["add", "staged.txt", "added.txt"]);
    std::fs::remove_file(dir.join("gone.txt")).unwrap();
    std::fs::remove_file(dir.join("old_secret.pem")).unwrap();
}

const EXPECTED_CHANGES: &str = "\
added.txt:A 
gone.txt: D
notes.txt: M
staged.txt:M 
untracked/new.rs:??
";

#[test]
fn cotype_changes_lists_the_changed_shared_files_like_git_status() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    changed_repository(&project, "feature-x");
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = common::tmux::HeadlessHost::start(&project, Some(&home));

    let output = process::run(
        process::cotype()
            .args(["changes", "-", "--branch"])
            .env("HOME", &home),
        format!("{}\n", host.link).as_bytes(),
    );
    assert_eq!(output.code(), Some(0), "{}", output.stderr);
    assert_eq!(
        output.stdout_text(),
        format!("## feature-x\n{EXPECTED_CHANGES}"),
        "hidden (.env, *.pem) and ignored (build/) files are never listed"
    );
}

#[test]
fn cotype_changes_outside_a_repository_says_so_and_fails() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("plain");
    write_tree(&project, &[("a.txt", b"a\n")]);
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = common::tmux::HeadlessHost::start(&project, Some(&home));
    let output = process::run(
        process::cotype().args(["changes", "-"]).env("HOME", &home),
        format!("{}\n", host.link).as_bytes(),
    );
    assert_eq!(output.code(), Some(1));
    assert!(
        output.stderr.contains("not in a git repository"),
        "{}",
        output.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bases_come_from_the_index_and_head_and_hidden_files_get_none() {
    let dir = tempfile::tempdir().unwrap();
    changed_repository(dir.path(), "main");
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let mut member = Participant::join(&link, "member").await.unwrap();

    let base = |path: &str| GitBase {
        path: path.to_owned(),
    };
    // Modified on disk only: index and HEAD agree, sent once.
    let notes = member.request(base("notes.txt")).await.unwrap().unwrap();
    assert_eq!(notes.index.as_deref(), Some("one\ntwo\nthree\n"));
    assert!(notes.head_is_index);
    assert_eq!(notes.head_text(), Some("one\ntwo\nthree\n"));
    // Staged: the index has the new text, HEAD the old.
    let staged = member.request(base("staged.txt")).await.unwrap().unwrap();
    assert_eq!(staged.index.as_deref(), Some("after\n"));
    assert_eq!(staged.head_text(), Some("before\n"));
    // Untracked: nothing to compare with.
    let new = member
        .request(base("untracked/new.rs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((new.index.as_deref(), new.head_text()), (None, None));

    for refused in [
        ".env",
        "deploy.pem",
        ".git/config",
        ".git/HEAD",
        "../x",
        "build/out.txt",
    ] {
        match member.request(base(refused)).await {
            Err(ClientError::Host(message)) => {
                assert!(message.contains("not shared"), "{refused}: {message}")
            }
            other => panic!("the base of {refused} was served: {other:?}"),
        }
    }
    member.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_the_host_tells_everyone_and_the_status_follows() {
    let dir = tempfile::tempdir().unwrap();
    changed_repository(dir.path(), "main");
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut driver, mut watcher) = Driver::join(&link, "watcher").await.unwrap();
    let mut member = Participant::join(&link, "member").await.unwrap();
    let before = member.git_status().await.unwrap().unwrap();
    assert_eq!(before.branch.as_deref(), Some("main"));
    assert_eq!(before.changes.len(), 5);

    git(dir.path(), &["add", "notes.txt"]);
    git(dir.path(), &["commit", "-q", "-m", "second"]);
    git(dir.path(), &["checkout", "-q", "-b", "topic"]);
    run_until(
        &mut driver,
        &mut watcher,
        Duration::from_secs(20),
        |_, event| Ok(matches!(event, Some(SessionEvent::Host(Event::GitChanged)))),
    )
    .await
    .expect("the host tells members its repository moved");
    let after = member.git_status().await.unwrap().unwrap();
    assert_eq!(after.branch.as_deref(), Some("topic"));
    let paths: Vec<&str> = after.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["gone.txt", "untracked/new.rs"]);
    member.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_answers_never_cross_the_relay_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let committed_marker = "MARKER-COMMITTED-5d1e";
    let branch_marker = "MARKER-BRANCH-c07a";
    let changed_marker = "MARKER-CHANGEDPATH-9b2f";
    write_tree(
        dir.path(),
        &[(
            "tracked.txt",
            format!("a line with {committed_marker}\n").as_bytes(),
        )],
    );
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["checkout", "-q", "-b", branch_marker]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    write_tree(dir.path(), &[(&format!("{changed_marker}.txt"), b"new\n")]);
    std::fs::write(dir.path().join("tracked.txt"), "rewritten\n").unwrap();

    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let mut member = Participant::join(&link, "member").await.unwrap();
    let status = member.git_status().await.unwrap().unwrap();
    assert_eq!(status.branch.as_deref(), Some(branch_marker));
    assert!(
        status
            .changes
            .iter()
            .any(|c| c.path.contains(changed_marker))
    );
    let base = member
        .request(GitBase {
            path: "tracked.txt".into(),
        })
        .await
        .unwrap()
        .unwrap();
    assert!(base.index.unwrap().contains(committed_marker));
    member.leave().await;

    let tapped = relay.tapped.lock().unwrap().clone();
    assert!(!tapped.is_empty());
    for (direction, frame) in &tapped {
        for marker in [committed_marker, branch_marker, changed_marker] {
            assert!(
                !contains(frame, marker.as_bytes()),
                "{marker} crossed the relay in the clear ({direction:?})"
            );
        }
    }
}
