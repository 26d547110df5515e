//! What a participant can see of the host's folder: exactly the shared files, and a clear
//! refusal for everything else, on a real folder with real ignore files and symbolic links.

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::Path;

use cotype::host::workspace::{AccessError, Workspace};
use cotype::protocol::FILE_CHUNK_LEN;

fn write(root: &Path, relative: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("fixture paths have a parent")).unwrap();
    fs::write(path, contents).unwrap();
}

/// A project folder with everything the host must keep to itself, next to a folder outside
/// it that links point into.
struct Fixture {
    root: tempfile::TempDir,
    _outside: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let r = root.path();
    write(outside.path(), "secret.txt", "outside the shared folder");

    write(r, "README.md", "# demo\n");
    write(r, "src/main.rs", "fn main() {}\n");
    write(r, "src/héllo wörld.rs", "// unicode name\n");
    write(r, "日本語/メモ.txt", "メモ\n");
    write(r, ".github/workflows/ci.yml", "on: push\n");
    write(r, "assets/logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    write(r, "config/dev.yaml", "debug: true\n");
    write(r, "config/prod/db.yaml", "password: hunter2\n");
    // Secrets hidden by default.
    write(r, ".env", "TOKEN=1\n");
    write(r, ".env.local", "TOKEN=2\n");
    write(r, "id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    write(r, "id_rsa.pub", "ssh-rsa AAAA\n");
    write(r, "deploy/server.key", "key\n");
    write(r, "deploy/Site.PEM", "cert\n");
    write(r, ".git/config", "[core]\n");
    write(r, ".git/HEAD", "ref: refs/heads/main\n");
    // Ignore files: a folder's contents ignored with a nested re-include, a folder ignored
    // whole (git cannot re-include inside it, and neither do we), a pattern, a nested file.
    write(r, ".gitignore", "build/*\ntarget/\n*.log\n");
    write(r, "build/.gitignore", "!keep.txt\n");
    write(r, "build/keep.txt", "kept\n");
    write(r, "build/out.o", "object\n");
    write(r, "target/.gitignore", "!important.txt\n");
    write(r, "target/important.txt", "still ignored\n");
    write(r, "logs/app.log", "log line\n");
    write(r, "docs/.gitignore", "draft.md\n");
    write(r, "docs/draft.md", "draft\n");
    write(r, "docs/guide.md", "the guide\n");
    // Links: inside and shared, inside but to a hidden or ignored file, outside.
    symlink("docs/guide.md", r.join("latest.md")).unwrap();
    symlink(".env", r.join("env_link")).unwrap();
    symlink("logs/app.log", r.join("log_link")).unwrap();
    symlink(outside.path().join("secret.txt"), r.join("outside_link")).unwrap();
    symlink(outside.path(), r.join("escape_dir")).unwrap();
    symlink("docs", r.join("docs_link")).unwrap();
    symlink("nowhere.txt", r.join("broken_link")).unwrap();
    Fixture {
        root,
        _outside: outside,
    }
}

fn open(fixture: &Fixture) -> Workspace {
    Workspace::open(fixture.root.path(), &["config/prod/*".to_owned()]).unwrap()
}

fn refusal(workspace: &Workspace, path: &str) -> String {
    match workspace.resolve(path) {
        Ok(resolved) => panic!("{path:?} was served as {}", resolved.display()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn the_listing_is_exactly_the_shared_files() {
    let fixture = fixture();
    let workspace = open(&fixture);
    let listed: Vec<(String, u64)> = workspace
        .list()
        .into_iter()
        .map(|entry| (entry.path, entry.size))
        .collect();
    let expected = [
        (".github/workflows/ci.yml", 9),
        (".gitignore", 22),
        ("README.md", 7),
        ("assets/logo.png", 16),
        ("build/keep.txt", 5),
        ("config/dev.yaml", 12),
        ("docs/.gitignore", 9),
        ("docs/guide.md", 10),
        ("latest.md", 10),
        ("src/héllo wörld.rs", 16),
        ("src/main.rs", 13),
        ("日本語/メモ.txt", 7),
    ];
    let expected: Vec<(String, u64)> = expected
        .iter()
        .map(|(path, size)| (path.to_string(), *size))
        .collect();
    assert_eq!(listed, expected);
    for (path, _) in &expected {
        assert!(
            workspace.is_visible(path),
            "{path} is listed but not visible"
        );
    }
}

#[test]
fn every_way_around_the_rules_is_refused_with_the_right_reason() {
    let fixture = fixture();
    let workspace = open(&fixture);
    let cases = [
        (
            "../x",
            "`../x` uses `..`; only paths inside the shared folder can be asked for",
        ),
        (
            "sub/../../x",
            "`sub/../../x` uses `..`; only paths inside the shared folder can be asked for",
        ),
        (
            "/etc/passwd",
            "`/etc/passwd` is an absolute path; ask for a path inside the shared folder, like `src/main.rs`",
        ),
        (
            "C:\\Windows\\win.ini",
            "`C:\\Windows\\win.ini` is an absolute path; ask for a path inside the shared folder, like `src/main.rs`",
        ),
        (
            "src\\main.rs",
            "`src\\main.rs` uses `\\`; separate folders with `/`",
        ),
        (
            "a\0b",
            "\"a\\0b\" contains a NUL byte, which no file name can",
        ),
        (
            "",
            "no path given; ask for a file by its path inside the shared folder",
        ),
        (".git/config", "`.git/config` is not shared by the host"),
        (".env", "`.env` is not shared by the host"),
        (".env.local", "`.env.local` is not shared by the host"),
        ("id_rsa", "`id_rsa` is not shared by the host"),
        ("id_rsa.pub", "`id_rsa.pub` is not shared by the host"),
        (
            "deploy/server.key",
            "`deploy/server.key` is not shared by the host",
        ),
        (
            "deploy/Site.PEM",
            "`deploy/Site.PEM` is not shared by the host",
        ),
        (
            "config/prod/db.yaml",
            "`config/prod/db.yaml` is not shared by the host",
        ),
        ("build/out.o", "`build/out.o` is not shared by the host"),
        (
            "build/.gitignore",
            "`build/.gitignore` is not shared by the host",
        ),
        (
            "target/important.txt",
            "`target/important.txt` is not shared by the host",
        ),
        ("logs/app.log", "`logs/app.log` is not shared by the host"),
        ("docs/draft.md", "`docs/draft.md` is not shared by the host"),
        ("env_link", "`env_link` is not shared by the host"),
        ("log_link", "`log_link` is not shared by the host"),
        ("broken_link", "`broken_link` is not shared by the host"),
        ("outside_link", "`outside_link` is not shared by the host"),
        ("escape_dir", "`escape_dir` is not shared by the host"),
        (
            "escape_dir/secret.txt",
            "`escape_dir/secret.txt` is not shared by the host",
        ),
        (
            "docs_link/guide.md",
            "`docs_link/guide.md` is not shared by the host",
        ),
        ("src", "`src` is a folder; ask for a file inside it"),
        ("src/", "`src` is a folder; ask for a file inside it"),
        (
            "docs_link",
            "`docs_link` is a folder; ask for a file inside it",
        ),
    ];
    for (path, message) in cases {
        assert_eq!(refusal(&workspace, path), message, "for {path:?}");
        assert!(!workspace.is_visible(path), "{path:?} is visible");
        let read = workspace
            .read(path)
            .expect_err("refused paths are not read either");
        assert_eq!(read.to_string(), message, "reading {path:?}");
    }
}

#[test]
fn hidden_and_missing_files_are_refused_alike() {
    let fixture = fixture();
    let workspace = open(&fixture);
    let hidden = refusal(&workspace, ".env.local");
    let missing = refusal(&workspace, ".env.locale");
    assert_eq!(
        hidden.replace(".env.local", "PATH"),
        missing.replace(".env.locale", "PATH")
    );
    let hidden_folder = refusal(&workspace, ".git");
    assert_eq!(hidden_folder, "`.git` is not shared by the host");
}

#[test]
fn shared_files_are_read_and_links_inside_lead_to_their_target() {
    let fixture = fixture();
    let workspace = open(&fixture);
    assert_eq!(workspace.read("src/main.rs").unwrap(), b"fn main() {}\n");
    assert_eq!(workspace.read("./src//main.rs").unwrap(), b"fn main() {}\n");
    assert_eq!(
        workspace.read("日本語/メモ.txt").unwrap(),
        "メモ\n".as_bytes()
    );
    assert_eq!(workspace.read("latest.md").unwrap(), b"the guide\n");
    let resolved = workspace.resolve("latest.md").unwrap();
    assert_eq!(
        resolved,
        fixture
            .root
            .path()
            .canonicalize()
            .unwrap()
            .join("docs/guide.md")
    );
}

#[test]
fn binary_files_are_listed_but_not_sent() {
    let fixture = fixture();
    let workspace = open(&fixture);
    assert!(workspace.is_visible("assets/logo.png"));
    let message = "`assets/logo.png` is a binary file; cotype shares text files only";
    let error = workspace.read("assets/logo.png").unwrap_err();
    assert!(matches!(error, AccessError::Binary { .. }));
    assert_eq!(error.to_string(), message);
    assert_eq!(
        workspace
            .open_for_streaming("assets/logo.png")
            .unwrap_err()
            .to_string(),
        message
    );
}

#[test]
fn large_files_stream_in_chunks_that_add_up_to_the_file() {
    let fixture = fixture();
    let line = "a line of a large file, long enough to fill chunks quickly\n";
    let contents = line.repeat(3 * FILE_CHUNK_LEN / line.len() + 7);
    write(fixture.root.path(), "big.txt", &contents);
    // A NUL after the first 8 KiB does not make a file binary (git's rule).
    write(
        fixture.root.path(),
        "late_nul.txt",
        [vec![b'x'; 9000], vec![0]].concat(),
    );
    let workspace = open(&fixture);
    let mut stream = workspace.open_for_streaming("big.txt").unwrap();
    assert_eq!(stream.size(), contents.len() as u64);
    let mut received = Vec::new();
    let mut chunks = 0;
    while let Some((offset, chunk)) = stream.next_chunk().unwrap() {
        assert_eq!(offset, received.len() as u64);
        assert!(chunk.len() <= FILE_CHUNK_LEN);
        received.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert_eq!(chunks, 4);
    assert_eq!(received, contents.as_bytes());
    let mut late = Vec::new();
    workspace
        .open_for_streaming("late_nul.txt")
        .unwrap()
        .read_to_end(&mut late)
        .unwrap();
    assert_eq!(late.len(), 9001);
}

#[test]
fn changes_on_disk_are_judged_when_a_file_is_asked_for() {
    let fixture = fixture();
    let root = fixture.root.path();
    let workspace = open(&fixture);
    // New files appear after a refresh, not before.
    write(root, "src/new.rs", "// new\n");
    assert_eq!(
        refusal(&workspace, "src/new.rs"),
        "`src/new.rs` is not shared by the host"
    );
    workspace.refresh();
    assert_eq!(workspace.read("src/new.rs").unwrap(), b"// new\n");
    // A listed file swapped for a link to a secret is not followed.
    fs::remove_file(root.join("README.md")).unwrap();
    symlink(".env", root.join("README.md")).unwrap();
    assert_eq!(
        refusal(&workspace, "README.md"),
        "`README.md` is not shared by the host"
    );
    // A listed folder swapped for a link leading outside is not followed either.
    fs::remove_dir_all(root.join("src")).unwrap();
    symlink(fixture._outside.path(), root.join("src")).unwrap();
    write(fixture._outside.path(), "main.rs", "outside");
    assert_eq!(
        refusal(&workspace, "src/main.rs"),
        "`src/main.rs` is not shared by the host"
    );
    // A deleted file is simply gone.
    fs::remove_file(root.join("config/dev.yaml")).unwrap();
    assert_eq!(
        refusal(&workspace, "config/dev.yaml"),
        "`config/dev.yaml` is not shared by the host"
    );
}

#[test]
fn a_folder_that_cannot_be_shared_is_explained() {
    let missing = Path::new("/definitely/not/here");
    let error = Workspace::open(missing, &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot share /definitely/not/here: "),
        "{error}"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    let error = Workspace::open(file.path(), &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("it is not a folder; give the folder that holds it")
    );
    let folder = tempfile::tempdir().unwrap();
    let error = Workspace::open(folder.path(), &["*.{rs".to_owned()]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("hide rule `*.{rs` is not a valid glob"),
        "{error}"
    );
}
