//! The headless host's console as its user meets it: the real `cotype host --headless`
//! with standard input an open pipe or a terminal that says nothing more. A signal or
//! `end` ends the process promptly, whatever standard input is doing.

mod common;
#[path = "common/process.rs"]
mod process;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::write_tree;
use process::{Running, cotype};

/// A correctness deadline, not a benchmark: the process must not wait for more input.
const EXIT_WITHIN: Duration = Duration::from_secs(5);
const SIGTERM: i32 = 15;

fn project(root: &Path) {
    write_tree(root, &[("README.md", b"# console\n"), ("src/lib.rs", b"")]);
}

/// `cotype host DIR --headless` with stdin a pipe the test holds open.
fn host_with_open_stdin(dir: &Path) -> (Running, std::process::ChildStdin, String) {
    let mut command = cotype();
    command.arg("host").arg(dir).arg("--headless");
    let (mut host, input) = Running::spawn_with_input(command);
    let link = host.next_stdout_line();
    assert!(link.starts_with("http://"), "the link first: {link:?}");
    (host, input, link)
}

#[test]
fn sigterm_ends_a_headless_host_whose_stdin_is_an_open_pipe() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (mut host, _input, _link) = host_with_open_stdin(dir.path());
    host.stderr_line_with("sharing; verification code");
    host.signal(SIGTERM);
    let status = host
        .wait_exit(EXIT_WITHIN)
        .unwrap_or_else(|| panic!("still running {EXIT_WITHIN:?} after SIGTERM"));
    assert_eq!(status.code(), Some(0), "a requested end is a success");
}

#[test]
fn end_on_the_console_ends_the_host_with_stdin_still_open() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (mut host, mut input, link) = host_with_open_stdin(dir.path());
    input.write_all(b"end\n").unwrap();
    input.flush().unwrap();
    // `input` stays open: the host must not wait for another line or for end of file.
    let status = host
        .wait_exit(EXIT_WITHIN)
        .unwrap_or_else(|| panic!("still running {EXIT_WITHIN:?} after `end`"));
    assert_eq!(status.code(), Some(0));
    // The session is over for participants too.
    let after = process::run(cotype().args(["ls", &link]), b"");
    assert_ne!(after.code(), Some(0), "the link stopped working");
    drop(input);
}

/// The pid of the only child of `parent` (`script` runs the command as its child).
fn child_of(parent: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// `cotype host DIR --headless` on a terminal: `script` gives it a pseudo-terminal as
/// stdin, stdout and stderr, and writes what the test sends it to that terminal.
fn host_on_a_terminal(dir: &Path) -> (Running, std::process::ChildStdin, u32) {
    let line = format!(
        "exec '{}' host '{}' --headless",
        env!("CARGO_BIN_EXE_cotype"),
        dir.display()
    );
    let mut command = Command::new("script");
    command
        .args([
            "--quiet",
            "--flush",
            "--return",
            "--command",
            &line,
            "/dev/null",
        ])
        .env_remove("COTYPE_LINK")
        .env_remove("COTYPE_LOG");
    let (mut terminal, input) = Running::spawn_with_input(command);
    let link = terminal.next_stdout_line();
    assert!(
        link.trim().starts_with("http://"),
        "the link first: {link:?}"
    );
    let pid = child_of(terminal.pid()).expect("script runs cotype as its child");
    (terminal, input, pid)
}

#[test]
fn ctrl_c_on_a_terminal_ends_the_headless_host() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (mut terminal, mut input, _pid) = host_on_a_terminal(dir.path());
    // On a terminal, what the host says on stderr arrives on `script`'s stdout.
    terminal.stdout_line_with("sharing; verification code");
    // The terminal's line discipline turns ^C into SIGINT for its foreground process.
    input.write_all(b"\x03").unwrap();
    input.flush().unwrap();
    assert!(
        terminal.wait_exit(EXIT_WITHIN).is_some(),
        "still running {EXIT_WITHIN:?} after ctrl-c on its terminal"
    );
}

#[test]
fn sigterm_ends_a_headless_host_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (mut terminal, _input, pid) = host_on_a_terminal(dir.path());
    terminal.stdout_line_with("sharing; verification code");
    let status = Command::new("kill")
        .args([format!("-{SIGTERM}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = terminal
        .wait_exit(EXIT_WITHIN)
        .unwrap_or_else(|| panic!("still running {EXIT_WITHIN:?} after SIGTERM"));
    assert_eq!(status.code(), Some(0), "script returns cotype's exit code");
}

#[test]
fn a_headless_command_says_it_waits_for_the_host_to_let_it_in() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut command = cotype();
    command
        .arg("host")
        .arg(dir.path())
        .args(["--headless", "--approve", "ask"]);
    let (mut host, mut console) = Running::spawn_with_input(command);
    let link = host.next_stdout_line();
    let secret = link.split_once('#').unwrap().1.to_owned();

    let mut ls = cotype();
    ls.args(["ls", "--name", "sam", &link]);
    let mut ls = Running::spawn(ls);
    let said = ls.stderr_line_with("waiting");
    assert_eq!(said, "cotype: waiting for the host to let you in…");
    assert!(!said.contains(&secret));
    assert!(!ls.has_exited(), "it waits for the host's answer");

    let asks = host.stderr_line_with("sam (id ");
    let id: u32 = asks
        .split("(id ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the console names the joiner's id: {asks:?}"));
    writeln!(console, "admit {id}").unwrap();
    console.flush().unwrap();
    assert_eq!(ls.next_stdout_line(), "README.md");
    assert_eq!(ls.next_stdout_line(), "src/lib.rs");
    let status = ls
        .wait_exit(process::DEADLINE)
        .expect("ls ends once admitted");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_host_that_admits_everyone_makes_nobody_wait() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (_host, _input, link) = host_with_open_stdin(dir.path());
    let listed = process::run(cotype().args(["ls", &link]), b"");
    assert_eq!(listed.code(), Some(0));
    assert_eq!(listed.stderr, "", "nothing to wait for, nothing said");
}

/// Opens `path` as participant `client` and waits for all of its text.
async fn open(client: &mut cotype::client::Participant, path: &str) {
    use cotype::protocol::message::{Request, Response};
    let id = client
        .send_request(Request::OpenDocument { path: path.into() })
        .await
        .unwrap();
    loop {
        let (response, done) = client.next_response(id).await.unwrap();
        assert!(!matches!(response, Response::Error { .. }), "{response:?}");
        if done {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_lists_everyone_with_id_role_and_open_files() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (mut host, mut console, link) = host_with_open_stdin(dir.path());
    let parsed = cotype::link::Link::parse(&link, false).unwrap();
    let mut ada = cotype::client::Participant::join(&parsed, "ada")
        .await
        .unwrap();
    open(&mut ada, "src/lib.rs").await;
    open(&mut ada, "README.md").await;
    let bob = cotype::client::Participant::join(&parsed, "bob")
        .await
        .unwrap();
    let (ada_id, bob_id) = (ada.id(), bob.id());
    console
        .write_all(format!("role {bob_id} read-only\n").as_bytes())
        .unwrap();
    host.stderr_line_with("bob is now");
    console.write_all(b"who\n").unwrap();
    console.flush().unwrap();
    let header = tokio::task::block_in_place(|| host.stderr_line_with("in the session"));
    assert_eq!(header, "3 in the session:");
    let lines: Vec<String> =
        tokio::task::block_in_place(|| (0..3).map(|_| host.stderr_line_with("(id ")).collect());
    assert!(
        lines[0].contains("(id 0), host; no file open"),
        "the headless host itself: {lines:?}"
    );
    assert!(
        lines.contains(&format!(
            "  ada (id {ada_id}), editor; open: README.md, src/lib.rs"
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("  bob (id {bob_id}), read-only; no file open")),
        "{lines:?}"
    );
    drop((ada, bob));
}
