//! Replace across the workspace and file operations in a real terminal: a headless host
//! shares a small project; Ada and Bob join in tmux (read back with `capture-pane`, as a
//! user sees it).
//!
//! - Bob has `app.py` open and types in it; Ada opens the search panel (ctrl-t), types a
//!   pattern and a replacement, sees the preview grouped by file with each line as it will
//!   read, leaves one match out (alt-e) and replaces the rest (alt-a) while Bob goes on
//!   typing. Bob's screen shows both his text and the replacement; he saves, and the host's
//!   disk has both: nothing lost, the left-out match untouched.
//! - In the file tree (ctrl-b), Ada renames `util.py` (`r`): Bob, who has it open, sees
//!   his tab follow the new name, and the host's disk has the file under it. A file she
//!   creates there (`a`) opens in her editor: what she types and saves is on the disk.

mod common;

use common::tmux::{HeadlessHost, Tmux, picker_chose};

fn join(tmux: &Tmux, name: &str, home: &std::path::Path, link: &str) {
    let bin = env!("CARGO_BIN_EXE_cotype");
    tmux.shell(name, home);
    tmux.text(
        name,
        &format!("COTYPE_LINK='{link}' {bin} join --name {name}; echo {name}-exited-$?"),
    );
    tmux.keys(name, &["Enter"]);
    tmux.wait(name, "the people panel with themselves in it", |screen| {
        screen.contains(&format!("{name} (you)"))
    });
}

fn open_file(tmux: &Tmux, name: &str, path: &str) {
    tmux.keys(name, &["C-p"]);
    tmux.wait(name, "the file picker", |s| s.contains("Open file"));
    tmux.text(name, path);
    tmux.wait(name, "the file in the picker", |s| picker_chose(s, path));
    tmux.keys(name, &["Enter"]);
    tmux.wait(name, "the file open", |s| {
        !s.contains("Open file") && s.contains(path)
    });
}

#[test]
fn a_replace_from_the_panel_merges_with_someone_typing_and_a_rename_moves_their_tab() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("lib")).unwrap();
    std::fs::write(
        project.join("app.py"),
        "total = old_count(1)\nprint(old_count(2))\n",
    )
    .unwrap();
    std::fs::write(
        project.join("lib/util.py"),
        "def old_count(x):\n    return x\n",
    )
    .unwrap();
    std::fs::write(project.join(".env"), "old_count=secret\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = HeadlessHost::start(&project, Some(&home));

    let tmux = Tmux::named("replace");
    join(&tmux, "bob", &home, &host.link);
    join(&tmux, "ada", &home, &host.link);

    // Bob opens app.py and starts a new last line.
    open_file(&tmux, "bob", "app.py");
    tmux.keys("bob", &["C-End"]);
    tmux.text("bob", "# bob was here");
    tmux.wait("bob", "his text", |s| s.contains("# bob was here"));

    // Ada: ctrl-t, the pattern, tab twice to the replacement.
    tmux.keys("ada", &["C-t"]);
    tmux.wait("ada", "the search panel", |s| {
        s.contains("Search all files")
    });
    tmux.text("ada", r"old_(\w+)");
    tmux.wait("ada", "three matches in two files", |s| {
        s.contains("3 matches in 2 files")
    });
    tmux.keys("ada", &["Tab", "Tab"]);
    tmux.text("ada", "new_$1");
    let screen = tmux.wait("ada", "the preview grouped by file", |s| {
        s.contains("replace: new_$1")
            && s.contains("app.py (2 matches)")
            && s.contains("lib/util.py (1 match)")
    });
    assert!(
        screen.contains("→ app.py:1:9  total = new_count(1)"),
        "each line as it will read:\n{screen}"
    );
    assert!(
        !screen.contains(".env"),
        "a hidden file in the preview:\n{screen}"
    );
    // Leave the second match in app.py out: down to it, alt-e.
    tmux.keys("ada", &["Down", "M-e"]);
    tmux.wait("ada", "the match left out", |s| {
        s.contains("x app.py:2:7  print(old_count(2))") && s.contains("1 left out")
    });

    // Bob goes on typing as Ada replaces.
    tmux.text("bob", " and typing");
    tmux.keys("ada", &["M-a"]);
    tmux.text("bob", " on");
    tmux.wait("ada", "the host's answer", |s| {
        s.contains("replaced 2 matches in 2 files")
    });
    let screen = tmux.wait("bob", "the replacement and all his text", |s| {
        s.contains("total = new_count(1)") && s.contains("# bob was here and typing on")
    });
    assert!(screen.contains("print(old_count(2))"), "{screen}");

    // Bob saves: the host's disk has both.
    tmux.keys("bob", &["C-s"]);
    tmux.wait("bob", "saved", |s| s.contains("saved app.py"));
    assert_eq!(
        std::fs::read_to_string(project.join("app.py")).unwrap(),
        "total = new_count(1)\nprint(old_count(2))\n# bob was here and typing on"
    );
    assert_eq!(
        std::fs::read_to_string(project.join(".env")).unwrap(),
        "old_count=secret\n",
        "a hidden file was touched"
    );
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the panel closed", |s| {
        !s.contains("Search all files")
    });

    // Bob opens lib/util.py; Ada renames it from the file tree.
    open_file(&tmux, "bob", "lib/util.py");
    tmux.keys("ada", &["C-b"]);
    tmux.wait("ada", "the file tree", |s| s.contains(" Files "));
    // lib/ (folders first), app.py: open lib, down to util.py, `r`.
    tmux.keys("ada", &["Enter", "Down"]);
    tmux.wait("ada", "util.py in the tree", |s| s.contains("util.py"));
    tmux.keys("ada", &["r"]);
    tmux.wait("ada", "the rename prompt", |s| {
        s.contains("rename to: lib/util.py")
    });
    for _ in 0.."util.py".len() {
        tmux.keys("ada", &["BSpace"]);
    }
    tmux.text("ada", "helpers.py");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the host's word", |s| {
        s.contains("ada renamed lib/util.py to lib/helpers.py")
    });
    // Her tree lists the file under its new name (the host told everyone to list again).
    tmux.wait("ada", "the tree with the new name", |s| {
        s.contains("    helpers.py") && !s.contains("    util.py")
    });
    assert!(!project.join("lib/util.py").exists());
    // Bob's tab follows: what he types and saves goes to the renamed file.
    tmux.text("bob", "# moved ");
    tmux.keys("bob", &["C-s"]);
    tmux.wait("bob", "saved under the new name", |s| {
        s.contains("saved lib/helpers.py")
    });
    assert_eq!(
        std::fs::read_to_string(project.join("lib/helpers.py")).unwrap(),
        "# moved def new_count(x):\n    return x\n"
    );
    assert!(!project.join("lib/util.py").exists());

    // A new file (`a`, beside the selected one) opens for whoever created it, ready to type.
    tmux.keys("ada", &["a"]);
    tmux.wait("ada", "the new-file prompt", |s| {
        s.contains("new file: lib/")
    });
    tmux.text("ada", "notes.md");
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the new file open", |s| {
        s.contains("ada created the file lib/notes.md") && s.contains("notes.md")
    });
    tmux.keys("ada", &["C-b"]);
    tmux.wait("ada", "the tree hidden", |s| !s.contains(" Files "));
    tmux.text("ada", "first note");
    tmux.keys("ada", &["C-s"]);
    tmux.wait("ada", "the new file saved", |s| {
        s.contains("saved lib/notes.md")
    });
    assert_eq!(
        std::fs::read_to_string(project.join("lib/notes.md")).unwrap(),
        "first note"
    );
}
