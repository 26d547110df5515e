//! Unit tests of `documents`.

use super::*;

/// A document nobody has open and that holds nothing unsaved is freed; opened again,
/// it goes on from the revision it had, so members still holding it stay in step.
#[test]
fn saved_documents_close_and_reopen_at_the_same_revision() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace);
    documents.open("a.txt").unwrap();
    documents
        .submit_as_host("a.txt", Operation::insert(2, 0, "b").unwrap())
        .unwrap();
    assert!(
        !documents.close_if_saved("a.txt"),
        "unsaved edits keep it open"
    );
    let saved = documents.save("a.txt").unwrap();
    assert!(documents.close_if_saved("a.txt"));
    assert!(!documents.is_open("a.txt"));
    let (head_revision, head, _) = documents.head("a.txt", 1024).unwrap();
    let (revision, text) = documents.open("a.txt").unwrap();
    assert_eq!((revision, text.to_string()), (saved, "ba\n".to_owned()));
    assert!(documents.starts_with("a.txt", head_revision, &head));
    assert_eq!(documents.catch_up("a.txt", saved).unwrap(), vec![]);
}

#[cfg(unix)]
#[test]
fn a_read_only_file_is_not_replaced_and_the_refusal_names_no_host_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("locked.txt");
    std::fs::write(&file, "original\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace);
    documents.open("locked.txt").unwrap();
    documents
        .submit_as_host("locked.txt", Operation::insert(9, 0, "edit ").unwrap())
        .unwrap();
    let error = documents.save("locked.txt").unwrap_err().to_string();
    assert_eq!(
        error,
        "cannot save locked.txt: the file is read-only on the host's disk; the host can make it writable"
    );
    assert!(!error.contains(&dir.path().display().to_string()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "original\n");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
}

#[cfg(unix)]
#[test]
fn a_file_deleted_on_the_host_comes_back_with_the_mode_new_files_get() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "notes\n").unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace);
    documents.open("notes.txt").unwrap();
    std::fs::remove_file(dir.path().join("notes.txt")).unwrap();
    documents.save("notes.txt").unwrap();
    // What any program of the host's user gets for a new file.
    std::fs::write(dir.path().join("fresh.txt"), "").unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("notes.txt"), mode("fresh.txt"));
    assert_ne!(mode("notes.txt"), 0o600);
}

#[test]
fn a_position_asked_at_an_older_revision_moves_with_the_lines_inserted_above() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rs"), "fn a() {}\nfn b() { a() }\n").unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace);
    let (asked_at, _) = documents.open("lib.rs").unwrap();
    // `a` in `a()` on the second line, as the asker saw it.
    let asked = LineCol { line: 1, col: 9 };
    // Someone else puts two lines above it, then types on the line itself, in front.
    let above = Operation::replace(25, 0..0, "// one\n// two\n").unwrap();
    documents.submit_as_host("lib.rs", above).unwrap();
    let (_, rope) = documents.text("lib.rs").unwrap();
    let len = rope.len_chars();
    let in_front = Operation::replace(len, 28..28, "x").unwrap();
    documents.submit_as_host("lib.rs", in_front).unwrap();
    let (_, rope) = documents.text("lib.rs").unwrap();
    assert_eq!(rope.line(3).to_string(), "fn bx() { a() }\n");

    let now = documents.position_now("lib.rs", asked_at, asked).unwrap();
    assert_eq!(now, LineCol { line: 3, col: 10 });
    assert_eq!(rope.line(3).chars().nth(now.col), Some('a'));
    // Asked at the current revision, or in a file nobody has open: as it is.
    let (current, _) = documents.text("lib.rs").unwrap();
    assert_eq!(
        documents.position_now("lib.rs", current, asked).unwrap(),
        asked
    );
    assert_eq!(documents.position_now("other.rs", 0, asked).unwrap(), asked);
    assert!(
        documents
            .position_now("lib.rs", current + 5, asked)
            .is_err()
    );
}

#[test]
fn positions_at_any_kept_revision_are_mapped_between_the_texts_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("log.txt"), "start\n").unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace);
    documents.open("log.txt").unwrap();
    // Revision r puts line "r" on top: at revision r, line 0 is "r".
    for r in 1..=300u64 {
        let (_, rope) = documents.text("log.txt").unwrap();
        let op = Operation::insert(rope.len_chars(), 0, &format!("{r}\n")).unwrap();
        documents.submit_as_host("log.txt", op).unwrap();
    }
    let (current, rope) = documents.text("log.txt").unwrap();
    assert_eq!(current, 300);
    // Inside the top line's number (text inserted exactly at a position stays after it).
    let top = LineCol { line: 0, col: 1 };
    // Snapshots, revisions just after and just before them, and the latest.
    for asked_at in [current - KEPT_REVISIONS, 63, 64, 65, 127, 200, 299, 300] {
        let now = documents.position_now("log.txt", asked_at, top).unwrap();
        assert_eq!(
            (now.line as u64, now.col),
            (current - asked_at, 1),
            "asked at {asked_at}"
        );
        assert_eq!(rope.line(now.line).to_string(), format!("{asked_at}\n"));
    }
    assert!(
        documents
            .position_now("log.txt", current - KEPT_REVISIONS - 1, top)
            .is_err()
    );
}

#[test]
fn difference_is_one_minimal_replacement() {
    for (old, new) in [
        ("hello world", "hello brave world"),
        ("a\r\nb\r\n", "a\r\nc\r\n"),
        ("same", "same"),
        ("", "new"),
        ("gone", ""),
        ("aaa", "aa"),
        ("😀x😀", "😀y😀"),
    ] {
        let op = difference(old, new).unwrap();
        assert_eq!(op.apply_to_string(old).unwrap(), new, "{old:?} -> {new:?}");
    }
}

/// Saving replaces the file by renaming a new one over it; the new one is given the
/// original's owner and group. Run as root (as the suite does here) the file belongs
/// to another user, which only a kept owner preserves; as a user it is the user's own.
#[cfg(unix)]
#[test]
fn saving_keeps_the_files_owner_and_group() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.txt");
    std::fs::write(&path, "old").unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    let before = std::fs::metadata(&path).unwrap();
    write_atomically(&path, b"new").unwrap();
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_ne!(after.ino(), before.ino(), "saved by a rename");
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
}

#[test]
fn a_failed_save_says_what_to_do_and_that_the_file_is_unchanged() {
    let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
    assert_eq!(
        save_failure(&full),
        "the host's disk is full (free some space on the host and save again); the file on the host's disk was not changed"
    );
}

#[cfg(unix)]
#[test]
fn saving_is_atomic_and_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.sh");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o751)).unwrap();
    write_atomically(&path, b"#!/bin/sh\r\necho new\r\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"#!/bin/sh\r\necho new\r\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o751);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".cotype-save-"))
        .collect();
    assert!(leftovers.is_empty());
}

/// A save written away from the loop (`begin_save`, `write`, `end_save`): the file
/// watcher seeing the write before the save is recorded takes it for the save's, not
/// for another program's change; and an edit made while the write went on is neither
/// lost nor counted as saved.
#[test]
fn a_document_edited_while_it_is_written_stays_unsaved_and_its_write_is_not_a_disk_change() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace);
    documents.open("a.txt").unwrap();
    documents
        .submit_as_host("a.txt", Operation::insert(2, 0, "b").unwrap())
        .unwrap();
    let pending = documents.begin_save("a.txt").unwrap();
    documents
        .submit_as_host("a.txt", Operation::insert(3, 3, "typed meanwhile").unwrap())
        .unwrap();
    let written = pending.write();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "ba\n"
    );
    assert_eq!(
        documents.disk_changed("a.txt").unwrap(),
        None,
        "the save's own write"
    );
    let saved = documents.end_save(pending, written).unwrap();
    let (now, text) = documents.text("a.txt").unwrap();
    assert_eq!(text.to_string(), "ba\ntyped meanwhile");
    assert_eq!(
        saved + 1,
        now,
        "the revision written is the one before the edit"
    );
    assert!(
        documents.is_unsaved("a.txt"),
        "the edit made meanwhile is not on disk"
    );
    assert!(!documents.close_if_saved("a.txt"));
    documents.save("a.txt").unwrap();
    assert!(!documents.is_unsaved("a.txt"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "ba\ntyped meanwhile"
    );
}

/// A language server's rename computed on an older revision: the text of that revision
/// is known again, and the edit made for it is transformed past what was typed since, so
/// both land where they were meant (never at the stale positions).
#[test]
fn an_edit_made_for_an_older_revision_is_transformed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "fn old() {}\nold();\n").unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace);
    let (asked_at, asked_text) = documents.open("a.rs").unwrap();
    // Someone types a line above while the server works on `asked_text`.
    for _ in 0..40 {
        let len = documents.text("a.rs").unwrap().1.len_chars();
        documents
            .submit_as_host("a.rs", Operation::insert(len, 0, "// typed\n").unwrap())
            .unwrap();
    }
    assert_eq!(
        documents.text_at("a.rs", asked_at).as_ref(),
        Some(&asked_text)
    );
    let rename =
        Operation::from_edits(asked_text.len_chars(), [(3..6, "new"), (12..15, "new")]).unwrap();
    documents
        .submit_as_host_at("a.rs", asked_at, rename)
        .unwrap()
        .expect("applied");
    let want = format!("{}fn new() {{}}\nnew();\n", "// typed\n".repeat(40));
    assert_eq!(documents.text("a.rs").unwrap().1.to_string(), want);
}

/// A replace's planners read a file and the loop opens its document from that read later:
/// if the file changed on disk in between, the document has the disk's text, never the
/// stale read (whose save would undo the change); unchanged, it has the read's text and
/// counts as saved.
#[test]
fn a_file_read_ahead_is_used_only_while_the_disk_still_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "first\n").unwrap();
    std::fs::write(dir.path().join("b.txt"), "kept\n").unwrap();
    let workspace = Arc::new(Workspace::open(dir.path(), &[]).unwrap());
    let mut documents = Documents::new(workspace.clone());
    let read_ahead = |path: &str| {
        let before = BeforeRead::take(&workspace, path).unwrap();
        let text = String::from_utf8(workspace.read(path).unwrap()).unwrap();
        ReadAhead::new(&text, before)
    };
    let (stale, kept) = (read_ahead("a.txt"), read_ahead("b.txt"));
    std::fs::write(dir.path().join("a.txt"), "changed on disk\n").unwrap();
    documents.open_read("a.txt", stale).unwrap();
    documents.open_read("b.txt", kept).unwrap();
    assert_eq!(
        documents.text("a.txt").unwrap().1.to_string(),
        "changed on disk\n"
    );
    assert_eq!(documents.text("b.txt").unwrap().1.to_string(), "kept\n");
    assert!(documents.unsaved_paths().is_empty());
}
