//! The command line as a user meets it: the real `cotype` binary hosting a real folder, and
//! `cotype ls` / `cotype cat` run against the link it printed. Success prints exactly the
//! host's paths and bytes; every failure is one line on stderr, with the documented exit
//! code, and never shows the link's secret.

mod common;
#[path = "common/process.rs"]
mod process;

use std::path::Path;

use common::write_tree;
use cotype::link::{Link, Secret, SessionId};
use process::{cotype, run, start_host};

/// A text file well over one chunk (256 KiB) and over 1 MB, with no repeating period that
/// could hide a misplaced chunk.
fn multi_chunk_text() -> Vec<u8> {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 ,.;\n";
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..1_300_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            alphabet[(state % alphabet.len() as u64) as usize]
        })
        .collect()
}

const CRLF_UTF8: &[u8] =
    "fn main() {\r\n    println!(\"h\u{e9}llo \u{1f600} \u{65e5}\u{672c}\");\r\n}\r\n".as_bytes();

/// The shared folder: what `ls` must list, and what it must not.
fn project(root: &Path) -> Vec<&'static str> {
    let big = multi_chunk_text();
    write_tree(
        root,
        &[
            ("README.md", b"# demo\n"),
            ("src/main.rs", CRLF_UTF8),
            ("src/empty.txt", b""),
            ("docs/\u{65e5}\u{672c}.md", "\u{3053}\u{3093}\n".as_bytes()),
            ("data/big.txt", &big),
            ("assets/logo.bin", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            (".env", b"TOKEN=do-not-share\n"),
        ],
    );
    let mut listed = vec![
        "README.md",
        "assets/logo.bin",
        "data/big.txt",
        "docs/\u{65e5}\u{672c}.md",
        "src/empty.txt",
        "src/main.rs",
    ];
    listed.sort();
    listed
}

fn secret_of(link: &str) -> &str {
    link.split_once('#').expect("the link has a fragment").1
}

#[test]
fn host_prints_a_link_and_ls_lists_exactly_the_shared_files() {
    let dir = tempfile::tempdir().unwrap();
    let expected = project(dir.path());
    let (mut host, link) = start_host(dir.path(), &[]);
    assert!(
        link.starts_with("http://127.0.0.1:")
            && link.contains("/s/")
            && !secret_of(&link).is_empty(),
        "the first line of stdout is the link: {link:?}"
    );

    let listed = run(cotype().args(["ls", &link]), b"");
    assert_eq!(listed.code(), Some(0), "stderr: {}", listed.stderr);
    let text = listed.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, expected);
    assert!(
        !host.has_exited(),
        "the host keeps serving after a participant left"
    );
}

#[test]
fn cat_prints_the_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (_host, link) = start_host(dir.path(), &[]);

    let big = run(cotype().args(["cat", &link, "data/big.txt"]), b"");
    assert_eq!(big.code(), Some(0), "stderr: {}", big.stderr);
    assert_eq!(big.stdout.len(), multi_chunk_text().len());
    assert!(
        big.stdout == multi_chunk_text(),
        "the big file's bytes differ"
    );

    let crlf = run(cotype().args(["cat", &link, "src/main.rs"]), b"");
    assert_eq!(crlf.code(), Some(0), "stderr: {}", crlf.stderr);
    assert_eq!(crlf.stdout, CRLF_UTF8, "CRLF and UTF-8 arrive untouched");

    let empty = run(cotype().args(["cat", &link, "src/empty.txt"]), b"");
    assert_eq!(empty.code(), Some(0), "stderr: {}", empty.stderr);
    assert!(empty.stdout.is_empty());
}

#[test]
fn the_link_can_come_from_the_environment_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let expected = project(dir.path());
    let (_host, link) = start_host(dir.path(), &[]);

    let from_env = run(cotype().arg("ls").env("COTYPE_LINK", &link), b"");
    assert_eq!(from_env.code(), Some(0), "stderr: {}", from_env.stderr);
    assert_eq!(from_env.stdout_text().lines().collect::<Vec<_>>(), expected);

    let stdin = format!("{link}\n");
    let ls_stdin = run(cotype().args(["ls", "-"]), stdin.as_bytes());
    assert_eq!(ls_stdin.code(), Some(0), "stderr: {}", ls_stdin.stderr);
    assert_eq!(ls_stdin.stdout_text().lines().collect::<Vec<_>>(), expected);

    let cat_stdin = run(cotype().args(["cat", "-", "src/main.rs"]), stdin.as_bytes());
    assert_eq!(cat_stdin.code(), Some(0), "stderr: {}", cat_stdin.stderr);
    assert_eq!(cat_stdin.stdout, CRLF_UTF8);
}

#[test]
fn a_link_with_one_secret_character_changed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (_host, link) = start_host(dir.path(), &[]);
    let secret = secret_of(&link);
    // The first character carries six full bits, so any change is a different secret
    // (a change in the last one could only touch padding bits).
    let first = secret.as_bytes()[0];
    let replacement = if first == b'A' { 'B' } else { 'A' };
    let altered_secret = format!("{replacement}{}", &secret[1..]);
    let altered = format!("{}#{altered_secret}", link.split_once('#').unwrap().0);

    for args in [vec!["ls", &altered], vec!["cat", &altered, "README.md"]] {
        let finished = run(cotype().args(&args), b"");
        finished.assert_failure(4, "does not match", secret);
        assert!(!finished.stderr.contains(&altered_secret));
    }
    // The genuine link still works: a wrong guess does not end the session.
    let genuine = run(cotype().args(["ls", &link]), b"");
    assert_eq!(genuine.code(), Some(0), "stderr: {}", genuine.stderr);
}

/// The fragment's second half is the host's public key: change it and whoever answers is
/// not the host the link names, so the join stops with a clear error instead of trusting it.
#[test]
fn a_link_with_another_host_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (_host, link) = start_host(dir.path(), &[]);
    let (before, keys) = link.split_once('#').unwrap();
    // Character 60 lies in the host key's bytes (the secret is the first 43).
    let mut altered_keys = keys.as_bytes().to_vec();
    altered_keys[60] = if altered_keys[60] == b'A' { b'B' } else { b'A' };
    let altered = format!("{before}#{}", String::from_utf8(altered_keys).unwrap());
    let finished = run(cotype().args(["ls", &altered]), b"");
    finished.assert_failure(4, "not signed by the host key in the link", keys);
    let genuine = run(cotype().args(["ls", &link]), b"");
    assert_eq!(genuine.code(), Some(0), "stderr: {}", genuine.stderr);
}

#[test]
fn a_link_without_its_secret_says_so() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (_host, link) = start_host(dir.path(), &[]);
    let (without_secret, _) = link.split_once('#').unwrap();
    for cut in [format!("{without_secret}#"), without_secret.to_string()] {
        let finished = run(cotype().args(["ls", &cut]), b"");
        finished.assert_failure(4, "no secret after '#'", secret_of(&link));
    }
}

#[test]
fn an_unreachable_relay_exits_3() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let link = Link::new(
        false,
        format!("127.0.0.1:{port}"),
        SessionId::random(),
        Secret::random(),
        cotype::crypto::HostIdentity::generate().public(),
    )
    .to_url();
    for args in [vec!["ls", &link], vec!["cat", &link, "README.md"]] {
        let finished = run(cotype().args(&args), b"");
        finished.assert_failure(3, "cannot reach the relay", secret_of(&link));
    }
    // The host too, when its relay is not there.
    let dir = tempfile::tempdir().unwrap();
    let relay = format!("127.0.0.1:{port}");
    let host = run(
        cotype()
            .arg("host")
            .arg(dir.path())
            .args(["--headless", "--relay", &relay]),
        b"",
    );
    host.assert_failure(3, "cannot reach the relay at 127.0.0.1:", "");
}

#[test]
fn an_error_says_its_cause_once() {
    let missing = run(
        cotype().args(["host", "/definitely/not/here", "--headless"]),
        b"",
    );
    let line = missing.assert_failure(1, "cannot share /definitely/not/here: ", "");
    let cause = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
    assert_eq!(line.matches("cannot share").count(), 1, "{line}");
    assert_eq!(
        line.matches("(os error 2)").count(),
        1,
        "the cause ({cause}) once: {line}"
    );
}

#[test]
fn hidden_missing_and_binary_files_are_refused_with_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (mut host, link) = start_host(dir.path(), &[]);
    let secret = secret_of(&link);

    for path in [".env", "no/such/file.rs"] {
        let finished = run(cotype().args(["cat", &link, path]), b"");
        let line = finished.assert_failure(5, "not shared by the host", secret);
        assert!(
            !line.contains("do-not-share"),
            "the refusal shows no content"
        );
    }
    let binary = run(cotype().args(["cat", &link, "assets/logo.bin"]), b"");
    binary.assert_failure(5, "binary", secret);
    assert!(!host.has_exited(), "refusals do not end the session");
}

#[test]
fn every_command_takes_its_link_from_cotype_link_when_it_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let expected = project(dir.path());
    let (_host, link) = start_host(dir.path(), &[]);
    let with_env = |args: &[&str]| run(cotype().args(args).env("COTYPE_LINK", &link), b"");

    let cat = with_env(&["cat", "src/main.rs"]);
    assert_eq!(cat.code(), Some(0), "stderr: {}", cat.stderr);
    assert_eq!(cat.stdout, CRLF_UTF8);

    let search = with_env(&["search", "demo"]);
    assert_eq!(search.code(), Some(0), "stderr: {}", search.stderr);
    assert_eq!(search.stdout_text(), "README.md:1:3:# demo\n");

    let search_flags = with_env(&["search", "-i", "DEMO", "-g", "*.md"]);
    assert_eq!(
        search_flags.code(),
        Some(0),
        "stderr: {}",
        search_flags.stderr
    );
    assert_eq!(search_flags.stdout_text(), "README.md:1:3:# demo\n");

    // The host answered: it has no language server for Markdown.
    let after_dashes = with_env(&["search", "-F", "--", "# demo"]);
    assert_eq!(
        after_dashes.code(),
        Some(0),
        "stderr: {}",
        after_dashes.stderr
    );
    assert_eq!(after_dashes.stdout_text(), "README.md:1:1:# demo\n");

    let hover = with_env(&["hover", "README.md:1:3"]);
    hover.assert_failure(
        5,
        "no language server for .md on the host",
        secret_of(&link),
    );

    let edit = with_env(&[
        "edit",
        "README.md",
        "--at",
        "1:1",
        "--insert",
        "new ",
        "--save",
    ]);
    assert_eq!(edit.code(), Some(0), "stderr: {}", edit.stderr);
    let edited = with_env(&["cat", "README.md"]);
    assert_eq!(edited.stdout_text(), "new # demo\n");

    // The link given as an argument still wins, and ls keeps working.
    let ls = with_env(&["ls", &link]);
    assert_eq!(ls.stdout_text().lines().collect::<Vec<_>>(), expected);
    let cat_argument = run(cotype().args(["cat", &link, "src/main.rs"]), b"");
    assert_eq!(cat_argument.stdout, CRLF_UTF8);
}

#[test]
fn a_missing_link_or_a_link_alone_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let (_host, link) = start_host(dir.path(), &[]);
    let secret = secret_of(&link);

    for args in [vec!["ls"], vec!["cat", "README.md"], vec!["join"]] {
        let finished = run(cotype().args(&args), b"");
        finished.assert_failure(2, "no link given", "");
    }
    let cat = run(cotype().args(["cat", &link]), b"");
    cat.assert_failure(2, "PATH is missing after the link", secret);
    let search = run(cotype().args(["search", &link]), b"");
    search.assert_failure(2, "PATTERN is missing after the link", secret);
    let stdin = format!("{link}\n");
    let cat_stdin = run(cotype().args(["cat", "-"]), stdin.as_bytes());
    cat_stdin.assert_failure(2, "PATH is missing after the link", secret);
    let hover = run(cotype().args(["hover", &link]), b"");
    hover.assert_failure(2, "PATH:LINE:COL is missing after the link", secret);
    let bad_place = run(cotype().args(["peek", &link, "README.md:x:1"]), b"");
    bad_place.assert_failure(2, "LINE must be a number from 1", secret);
}
