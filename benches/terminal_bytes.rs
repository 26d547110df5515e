//! Bytes written to the terminal per change, the cost that matters over SSH and slow links:
//! typing one character, and seeing one character typed by someone else, in `cotype join`,
//! against vim making the same edit in the same file at the same terminal size: appending
//! a character to a line, and inserting one in front of the two last characters of the
//! line (where the other person's character lands).
//!
//! Both run in tmux (120x40, xterm-256color); `pipe-pane` records exactly what each program
//! writes to its terminal. A capture ends when the change is on screen and the pane has
//! written nothing more for a while. Needs tmux and vim; exits non-zero without them.
//!
//! `cargo bench --bench terminal_bytes`

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WIDTH: &str = "120";
const HEIGHT: &str = "40";
/// The pane counts as quiet when it wrote nothing for this long.
const QUIET: Duration = Duration::from_millis(400);

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

    fn start(&self, name: &str, home: &Path, command: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            WIDTH,
            "-y",
            HEIGHT,
            "-e",
            "TERM=xterm-256color",
            "-e",
            &format!("HOME={}", home.display()),
            command,
        ]);
    }

    fn keys(&self, target: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", target];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn wait(&self, target: &str, what: &str, ready: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", target]);
            if ready(&screen) {
                return;
            }
            if start.elapsed() > Duration::from_secs(30) {
                fail(&format!("{target} never showed {what}:\n{screen}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Bytes `target` writes to its terminal while `act` runs and until `done` is on screen
    /// and the pane has gone quiet.
    fn capture(
        &self,
        target: &str,
        file: &Path,
        act: impl FnOnce(),
        done: impl Fn(&str) -> bool,
    ) -> Vec<u8> {
        let _ = std::fs::remove_file(file);
        self.run(&[
            "pipe-pane",
            "-O",
            "-t",
            target,
            &format!("cat > '{}'", file.display()),
        ]);
        // Anything the program writes before we act (a timer, a late message) is not ours.
        settle(file);
        let before = size(file);
        act();
        self.wait(target, "the change", done);
        settle(file);
        self.run(&["pipe-pane", "-t", target]);
        let bytes = std::fs::read(file).unwrap_or_else(|e| fail(&format!("{e}")));
        bytes[before as usize..].to_vec()
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

fn size(file: &Path) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

fn settle(file: &Path) {
    let mut last = size(file);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < QUIET {
        std::thread::sleep(Duration::from_millis(25));
        let now = size(file);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
}

/// Terminal output made readable: escape as `^[`, other control bytes as `\xNN`.
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\x1b' => out.push_str("^["),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn fail(message: &str) -> ! {
    eprintln!("terminal_bytes: {message}");
    std::process::exit(1);
}

fn require(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        fail(&format!(
            "{program} is not installed; this benchmark compares against it (apt-get install {program})"
        ));
    }
}

/// A Rust file taller than the screen, so both editors draw a full page.
fn sample() -> String {
    std::iter::once("// notes:\n".to_owned())
        .chain(
            (0..200)
                .map(|i| format!("fn item_{i:03}(x: u32) -> u32 {{ x * {i} + 1 }} // line {i}\n")),
        )
        .collect()
}

fn main() {
    require("tmux");
    require("vim");
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap_or_else(|e| fail(&e.to_string()));
    let project = root.path().join("project");
    let home = root.path().join("home");
    for dir in [&project, &home] {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&e.to_string()));
    }
    let text = sample();
    std::fs::write(project.join("sample.rs"), &text).unwrap_or_else(|e| fail(&e.to_string()));
    let vim_copy: PathBuf = root.path().join("sample.rs");
    std::fs::write(&vim_copy, &text).unwrap_or_else(|e| fail(&e.to_string()));
    let tmux = Tmux {
        socket: format!("cotype-bytes-{}", std::process::id()),
    };
    let capture = |name: &str| root.path().join(format!("{name}.bytes"));

    // vim, as people run it: line numbers, syntax colors and the cursor position (cotype's
    // status line shows it too), no user config.
    tmux.start(
        "vim",
        &home,
        &format!(
            "vim -u NONE -N -i NONE -c 'syntax on' -c 'set number ruler' '{}'",
            vim_copy.display()
        ),
    );
    tmux.wait("vim", "the file", |s| s.contains("fn item_000"));
    // Append to the comment on line 1 (an edit that leaves the syntax valid); the first
    // character is a warm-up, so the one measured is steady typing.
    tmux.keys("vim", &["A"]);
    tmux.wait("vim", "insert mode", |s| s.contains("-- INSERT --"));
    tmux.keys("vim", &["-l", "q"]);
    tmux.wait("vim", "the warm-up character", |s| s.contains("// notes:q"));
    let vim_typed = tmux.capture(
        "vim",
        &capture("vim"),
        || tmux.keys("vim", &["-l", "Q"]),
        |s| s.contains("// notes:qQ"),
    );
    // The other person's edit, made in vim: R typed in front of "qQ".
    tmux.keys("vim", &["Left", "Left"]);
    let vim_mid_line = tmux.capture(
        "vim",
        &capture("vim-mid-line"),
        || tmux.keys("vim", &["-l", "R"]),
        |s| s.contains("// notes:RqQ"),
    );

    // cotype: a headless host, ada types, bob types while ada watches.
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
    let link = link.trim();
    for name in ["ada", "bob"] {
        tmux.start(
            name,
            &home,
            &format!("COTYPE_LINK='{link}' {bin} join --name {name}"),
        );
        tmux.wait(name, "the session", |s| {
            s.contains(&format!("{name} (you)"))
        });
        tmux.keys(name, &["C-p"]);
        tmux.wait(name, "the picker", |s| s.contains("Open file"));
        tmux.keys(name, &["-l", "sample"]);
        tmux.wait(name, "the match", |s| s.contains("sample.rs"));
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "the file", |s| s.contains("fn item_000"));
    }
    // Both at the end of line 1, and each sees the other there, before anything is measured.
    tmux.keys("ada", &["End"]);
    tmux.keys("bob", &["End"]);
    let flag_on_line_one = |name: &'static str| {
        move |s: &str| {
            s.lines()
                .any(|l| l.contains("// notes:") && l.split_whitespace().any(|w| w == name))
        }
    };
    tmux.wait("ada", "bob's flag on line 1", flag_on_line_one("bob"));
    tmux.wait("bob", "ada's flag on line 1", flag_on_line_one("ada"));
    // Let the joining notices expire, so their removal is not counted as the keystroke's.
    tmux.wait("ada", "an empty message line", |s| {
        s.lines().last().is_some_and(|line| line.trim().is_empty())
    });
    // The warm-up character: the one measured is steady typing, after another keystroke.
    tmux.keys("ada", &["-l", "q"]);
    tmux.wait("bob", "ada's warm-up character", |s| {
        s.contains("// notes:q")
    });
    let cotype_typed = tmux.capture(
        "ada",
        &capture("ada-typed"),
        || tmux.keys("ada", &["-l", "Q"]),
        |s| s.contains("// notes:qQ"),
    );
    tmux.wait("bob", "ada's character", |s| s.contains("// notes:qQ"));
    let cotype_remote = tmux.capture(
        "ada",
        &capture("ada-remote"),
        || tmux.keys("bob", &["-l", "R"]),
        |s| {
            s.lines()
                .any(|l| l.contains("// notes:") && l.contains('R'))
        },
    );

    // What the bytes are, so a regression shows where it comes from.
    for (what, bytes) in [
        ("vim, typing", &vim_typed),
        ("vim, the same edit as someone else's", &vim_mid_line),
        ("cotype, typing", &cotype_typed),
        ("cotype, someone else typing", &cotype_remote),
    ] {
        println!("{what}: {}", escaped(bytes));
    }
    let (vim_typed, vim_mid_line, cotype_typed, cotype_remote) = (
        vim_typed.len(),
        vim_mid_line.len(),
        cotype_typed.len(),
        cotype_remote.len(),
    );
    let typed_ratio = cotype_typed as f64 / vim_typed.max(1) as f64;
    let remote_ratio = cotype_remote as f64 / vim_mid_line.max(1) as f64;
    let remote_to_typing = cotype_remote as f64 / vim_typed.max(1) as f64;
    println!("terminal {WIDTH}x{HEIGHT}, line 1 of a 200-line Rust file (a comment)");
    println!(
        "  vim -u NONE (syntax, number, ruler), appending one character:  {vim_typed:>4} bytes"
    );
    println!(
        "  vim, inserting one in front of the last two:                 {vim_mid_line:>4} bytes"
    );
    println!(
        "  cotype join, appending one character:                        {cotype_typed:>4} bytes  ({typed_ratio:.2}x vim)"
    );
    println!(
        "  cotype join, someone else inserts one in front of yours:     {cotype_remote:>4} bytes  ({remote_ratio:.2}x vim's same edit, {remote_to_typing:.2}x vim appending)"
    );
    println!(
        "{{\"vim_typed_bytes\":{vim_typed},\"vim_mid_line_bytes\":{vim_mid_line},\"cotype_typed_bytes\":{cotype_typed},\"cotype_remote_bytes\":{cotype_remote},\"typed_ratio\":{typed_ratio:.3},\"remote_ratio\":{remote_ratio:.3},\"remote_to_vim_typing_ratio\":{remote_to_typing:.3}}}"
    );
}
