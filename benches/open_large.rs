//! Opening a 100 MB file: time to the first screen that shows it, against a 1 KB file in
//! the same run.
//!
//! Two measurements, because they answer different questions:
//! - end to end, in a real terminal: `cotype join` in tmux, ctrl-p, the file name, Enter,
//!   and the clock runs until the pane shows the file's first line (the first screen),
//!   then until the status line's "loading N%" is gone (all of it arrived: editable). This
//!   includes the host reading the file and the text travelling through the relay
//!   (encrypted, in pieces).
//! - the UI alone, in process: the document already received (as the session holds it),
//!   `App::open_document` and the first frame rendered to a 120x40 buffer.
//!
//! `cargo bench --bench open_large`

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cotype::tui::app::App;
use cotype::tui::keymap::Keymap;
use cotype::tui::theme::{ColorMode, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ropey::Rope;

const LARGE_BYTES: usize = 100 * 1024 * 1024;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| fail(&format!("cannot run tmux: {e}")));
        if !output.status.success() {
            fail(&format!(
                "tmux {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits for `ready`, returning when it first held.
    fn wait(&self, what: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> Instant {
        let start = Instant::now();
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", "ada"]);
            if ready(&screen) {
                return Instant::now();
            }
            if start.elapsed() > limit {
                fail(&format!("the pane never showed {what}:\n{screen}"));
            }
            // Leaves the cores to cotype; 5 ms is the resolution of this measurement.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fail(message: &str) -> ! {
    eprintln!("open_large: {message}");
    std::process::exit(1);
}

/// Rust source of about `bytes` bytes whose first line (`// first line of NAME`) tells
/// the files apart on screen.
fn source(bytes: usize, name: &str) -> String {
    let mut text = String::with_capacity(bytes + 64);
    text.push_str(&format!("// first line of {name}\n"));
    let mut i = 0u64;
    while text.len() < bytes {
        text.push_str(&format!("fn item_{i:08}(x: u64) -> u64 {{ x + {i} }}\n"));
        i += 1;
    }
    text
}

/// End to end in tmux: Enter in the picker until the first line is on screen, and until
/// the whole file has arrived.
fn open_in_terminal(tmux: &Tmux, name: &str) -> (Duration, Duration) {
    tmux.run(&["send-keys", "-t", "ada", "C-p"]);
    tmux.wait("the picker", Duration::from_secs(10), |s| {
        s.contains("Open file")
    });
    tmux.run(&["send-keys", "-t", "ada", "-l", name]);
    tmux.wait("the match", Duration::from_secs(10), |s| {
        s.contains(&format!("▶ {name}"))
    });
    let start = Instant::now();
    tmux.run(&["send-keys", "-t", "ada", "Enter"]);
    let shown = tmux.wait("the file", Duration::from_secs(300), |s| {
        s.contains(&format!("first line of {name}"))
    });
    let complete = tmux.wait("the whole file", Duration::from_secs(300), |s| {
        !s.contains(" loading ")
    });
    (shown - start, complete - start)
}

/// The UI alone: open the received document and render the first frame.
fn open_in_process(text: &str, path: &str) -> (Duration, Duration) {
    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let keymap = Keymap::load_from("default", None).unwrap_or_else(|e| fail(&e.to_string()));
    let mut terminal =
        Terminal::new(TestBackend::new(120, 40)).unwrap_or_else(|e| fail(&e.to_string()));
    let start = Instant::now();
    let rope = Rope::from_str(text);
    let received = start.elapsed();
    let start = Instant::now();
    let mut app = App::new(theme, keymap, 4, (120, 40));
    app.open_document(path, &rope, false);
    let mut documents = std::collections::HashMap::new();
    documents.insert(path.to_owned(), rope);
    terminal
        .draw(|frame| app.render(frame, &documents))
        .unwrap_or_else(|e| fail(&e.to_string()));
    (received, start.elapsed())
}

fn main() {
    let small = source(1024, "small.rs");
    let large = source(LARGE_BYTES, "large.rs");

    // The first open in a process compiles the highlight queries (~100 ms, once): warm up
    // so the in-process figures compare opening, not start-up.
    open_in_process(&small, "warm-up.rs");
    let (small_rope, small_ui) = open_in_process(&small, "small.rs");
    let (large_rope, large_ui) = open_in_process(&large, "large.rs");

    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap_or_else(|e| fail(&e.to_string()));
    let project = root.path().join("project");
    let home = root.path().join("home");
    for dir in [&project, &home] {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&e.to_string()));
    }
    write(&project.join("small.rs"), &small);
    write(&project.join("large.rs"), &large);
    drop(large);
    let mut host = Command::new(bin)
        .args(["host", project.to_str().unwrap_or("."), "--headless"])
        .env("HOME", &home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start the host: {e}")));
    let mut out = BufReader::new(host.stdout.take().unwrap_or_else(|| fail("no stdout")));
    let _host = Reaped(host);
    let mut link = String::new();
    out.read_line(&mut link)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let tmux = Tmux {
        socket: format!("cotype-open-{}", std::process::id()),
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "ada",
        "-x",
        "120",
        "-y",
        "40",
        "-e",
        "TERM=xterm-256color",
        "-e",
        &format!("HOME={}", home.display()),
        &format!("COTYPE_LINK='{}' {bin} join --name ada", link.trim()),
    ]);
    tmux.wait("the session", Duration::from_secs(30), |s| {
        s.contains("ada (you)")
    });
    // This first open in the joined process also compiles the highlight queries: the
    // small file's figure is a cold start, as a user meets it.
    let (small_e2e, small_complete) = open_in_terminal(&tmux, "small.rs");
    let (large_e2e, large_complete) = open_in_terminal(&tmux, "large.rs");

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let e2e_ratio = ms(large_e2e) / ms(small_e2e).max(0.001);
    let ui_ratio = ms(large_ui) / ms(small_ui).max(0.001);
    println!("opening a {} MB Rust file vs a 1 KB one", LARGE_BYTES >> 20);
    println!(
        "  end to end (join in tmux, Enter to first line on screen): {:>9.1} ms vs {:>7.1} ms cold ({e2e_ratio:.0}x)",
        ms(large_e2e),
        ms(small_e2e)
    );
    println!(
        "  end to end, until all of it arrived (editable):            {:>9.1} ms vs {:>7.1} ms",
        ms(large_complete),
        ms(small_complete)
    );
    println!(
        "  UI only (open_document + first frame, text received):      {:>9.1} ms vs {:>7.1} ms ({ui_ratio:.1}x)",
        ms(large_ui),
        ms(small_ui)
    );
    println!(
        "  building the rope from the received text:                  {:>9.1} ms vs {:>7.3} ms",
        ms(large_rope),
        ms(small_rope)
    );
    println!(
        "{{\"large_mb\":{},\"e2e_large_ms\":{:.1},\"e2e_small_ms\":{:.1},\"e2e_ratio\":{e2e_ratio:.1},\"complete_large_ms\":{:.1},\"complete_small_ms\":{:.1},\"ui_large_ms\":{:.2},\"ui_small_ms\":{:.2},\"ui_ratio\":{ui_ratio:.2},\"rope_large_ms\":{:.1}}}",
        LARGE_BYTES >> 20,
        ms(large_e2e),
        ms(small_e2e),
        ms(large_complete),
        ms(small_complete),
        ms(large_ui),
        ms(small_ui),
        ms(large_rope)
    );
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
}
