//! The terminal is given back on every exit path, checked in a real terminal (tmux): a
//! child process takes over the terminal and draws the UI, then leaves normally, panics,
//! or is killed with SIGHUP (a dropped SSH connection) or SIGTERM. Afterwards the shell in
//! the same pane must be back in cooked mode with echo, on the normal screen.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "COTYPE_TUI_TERMINAL_CHILD";
const DIR_ENV: &str = "COTYPE_TUI_TERMINAL_DIR";

/// Runs inside tmux as the child process; not a test on its own.
#[test]
#[ignore = "the child half of the tests below; they run it inside tmux"]
fn child_takes_over_the_terminal() {
    use std::collections::HashMap;

    use cotype::tui::app::App;
    use cotype::tui::keymap::Keymap;
    use cotype::tui::terminal::{TerminalOptions, Tui};
    use cotype::tui::theme::{ColorMode, Theme};

    let mode = std::env::var(CHILD_ENV).expect("started by the parent test");
    let dir = std::path::PathBuf::from(std::env::var(DIR_ENV).expect("started by the parent"));
    let mut tui = Tui::enter(TerminalOptions { mouse: true }).expect("a terminal");
    let theme = Theme::load_from("default-dark", None, ColorMode::Ansi256).unwrap();
    let keymap = Keymap::load_from("default", None).unwrap();
    let (width, height) = ratatui::crossterm::terminal::size().unwrap();
    let app = App::new(theme, keymap, 4, (width, height));
    let docs: HashMap<String, ropey::Rope> = HashMap::new();
    tui.draw(|frame| app.render(frame, &docs)).unwrap();
    std::fs::write(dir.join("pid"), std::process::id().to_string()).unwrap();
    std::fs::write(dir.join("ready"), "").unwrap();
    match mode.as_str() {
        "exit" => {
            std::thread::sleep(Duration::from_millis(300));
            drop(tui);
        }
        "panic" => {
            std::thread::sleep(Duration::from_millis(300));
            panic!("deliberate panic to test the restore path");
        }
        _ => {
            // Wait to be killed by a signal.
            std::thread::sleep(Duration::from_secs(30));
        }
    }
}

fn tmux(args: &[&str]) -> String {
    let output = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux must be installed to run the real-terminal tests");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn wait_for(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the child in a tmux pane, optionally sends it `signal`, and returns the pane's
/// `stty -a` afterwards and the screen while the UI was up and after it left.
fn run_child(mode: &str, signal: Option<&str>) -> (String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let session = format!(
        "cotype-tui-{}-{mode}-{}",
        std::process::id(),
        signal.unwrap_or("none")
    );
    let exe = std::env::current_exe().unwrap();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        "sh",
    ]);
    let command = format!(
        "{CHILD_ENV}={mode} {DIR_ENV}={dir} {exe} --ignored --exact child_takes_over_the_terminal --nocapture 2>{dir}/stderr; stty -a > {dir}/stty; touch {dir}/done",
        dir = dir.path().display(),
        exe = exe.display(),
    );
    tmux(&["send-keys", "-t", &session, &command, "Enter"]);
    wait_for(&dir.path().join("ready"), "the child to draw");
    std::thread::sleep(Duration::from_millis(200));
    let during = tmux(&["capture-pane", "-p", "-t", &session]);
    if let Some(signal) = signal {
        let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), pid.trim()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    wait_for(
        &dir.path().join("done"),
        "the child to exit and stty to run",
    );
    std::thread::sleep(Duration::from_millis(200));
    let after = tmux(&["capture-pane", "-p", "-t", &session]);
    let stty = std::fs::read_to_string(dir.path().join("stty")).unwrap();
    tmux(&["kill-session", "-t", &session]);
    (stty, during, after)
}

fn assert_restored(mode: &str, signal: Option<&str>) {
    let (stty, during, after) = run_child(mode, signal);
    assert!(
        during.contains("opens a file"),
        "the UI was not drawn:\n{during}"
    );
    let words: Vec<&str> = stty.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig"] {
        assert!(
            words.contains(&flag),
            "{mode}: terminal left without {flag}:\n{stty}"
        );
    }
    assert!(
        !after.contains("opens a file"),
        "{mode}: the UI is still on screen (alternate screen not left):\n{after}"
    );
}

#[test]
fn terminal_is_restored_after_a_normal_exit() {
    assert_restored("exit", None);
}

#[test]
fn terminal_is_restored_after_a_panic() {
    assert_restored("panic", None);
}

#[test]
fn terminal_is_restored_when_the_ssh_connection_drops() {
    assert_restored("wait", Some("HUP"));
}

#[test]
fn terminal_is_restored_on_sigterm() {
    assert_restored("wait", Some("TERM"));
}
