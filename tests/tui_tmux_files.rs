//! The participant's file list stays live: a file created on the host after joining shows
//! in the picker, and one deleted there leaves it, without rejoining. A headless host, a
//! participant in tmux, the picker read back with capture-pane.

mod common;

use common::tmux::{HeadlessHost, Tmux};

#[test]
fn files_created_and_deleted_on_the_host_show_in_the_picker_without_rejoining() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(project.join("src/old_module.rs"), "// old\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = HeadlessHost::start(&project, Some(&home));

    let tmux = Tmux::named("files");
    tmux.shell("ada", &home);
    tmux.text(
        "ada",
        &format!(
            "COTYPE_LINK='{}' {bin} join --name ada; echo ada-exited-$?",
            host.link
        ),
    );
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "ada in the session", |s| s.contains("ada (you)"));

    std::fs::write(project.join("src/brand_new.rs"), "// new\n").unwrap();
    std::fs::remove_file(project.join("src/old_module.rs")).unwrap();
    // The picker is asked again until the host's change reached it (no timing assumed).
    let deadline = std::time::Instant::now() + common::tmux::DEADLINE;
    loop {
        tmux.keys("ada", &["C-p"]);
        let screen = tmux.wait("ada", "the file picker", |s| s.contains("Open file"));
        if screen.contains("brand_new.rs") && !screen.contains("old_module.rs") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the picker never showed the host's new file list:\n{screen}"
        );
        tmux.keys("ada", &["Escape"]);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    tmux.keys("ada", &["Escape"]);
    tmux.wait("ada", "the picker closed", |s| !s.contains("Open file"));
    tmux.keys("ada", &["C-q"]);
    tmux.wait("ada", "the shell", |s| s.contains("ada-exited-0"));
}
