//! A private tmux server for real-terminal tests: panes driven with send-keys and read
//! back with capture-pane, the way a user sees them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a pane may take to show what a test waits for. Generous: a CI machine may be
/// running other test binaries' language servers at the same moment; a passing wait
/// returns as soon as the screen shows it.
pub const DEADLINE: Duration = Duration::from_secs(30);
pub const WIDTH: u16 = 120;
pub const HEIGHT: u16 = 40;

/// A private tmux server; killing it on drop ends every pane and what runs in it.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new() -> Self {
        Self::named("join")
    }

    /// A server of its own for each test that runs beside others in the same binary.
    pub fn named(test: &str) -> Self {
        Self {
            socket: format!("cotype-{test}-test-{}", std::process::id()),
        }
    }

    pub fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux must be installed to run the real-terminal tests");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A shell in a new session of its own, with a prompt the test can recognise.
    pub fn shell(&self, name: &str, home: &Path) {
        let (width, height) = (WIDTH.to_string(), HEIGHT.to_string());
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &width,
            "-y",
            &height,
            "-e",
            "TERM=xterm-256color",
            "-e",
            &format!("HOME={}", home.display()),
            "-e",
            "PS1=shell$ ",
            "sh",
        ]);
    }

    pub fn keys(&self, target: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", target];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn text(&self, target: &str, text: &str) {
        self.run(&["send-keys", "-t", target, "-l", text]);
    }

    pub fn screen(&self, target: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", target])
    }

    /// Waits until the pane shows what `ready` looks for; fails with the screen otherwise.
    pub fn wait(&self, target: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen(target);
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{target}'s pane never showed {what}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Quits the editor in `target` with ctrl-q and waits for the shell's `exited` line.
    /// Quitting while the host has not confirmed an edit yet only warns (a second ctrl-q
    /// leaves): on a busy machine the last edit may still be on its way, so ctrl-q is
    /// pressed again if the editor is still there after a few seconds.
    pub fn quit(&self, target: &str, exited: &str) {
        let start = Instant::now();
        loop {
            self.keys(target, &["C-q"]);
            let pressed = Instant::now();
            while pressed.elapsed() < Duration::from_secs(3) {
                if self.screen(target).contains(exited) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{target}'s editor never quit; it shows:\n{}",
                self.screen(target)
            );
        }
    }
}

/// Whether the file picker (or any picker) has `label` chosen: its row starts with the
/// picker's marker. Waiting for the label alone can be satisfied by another part of the
/// screen (the people panel names the file each person is in) before the picker has it.
pub fn picker_chose(screen: &str, label: &str) -> bool {
    screen.contains(&format!("▶ {label}"))
}

/// The editor part of each screen row: the people panel on the right is cut off.
pub fn editor_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|line| line.split('│').next().unwrap_or("").to_owned())
        .collect()
}

/// Whether a row with `text` shows `name`'s flag on it (after the text) or just above it.
pub fn flag_near(screen: &str, text: &str, name: &str) -> bool {
    let rows = editor_rows(screen);
    rows.iter().enumerate().any(|(index, row)| {
        let Some(at) = row.find(text) else {
            return false;
        };
        let after = &row[at + text.len()..];
        let above = index
            .checked_sub(1)
            .map_or("", |above| rows[above].as_str());
        after.split_whitespace().any(|word| word == name)
            || above.split_whitespace().any(|word| word == name)
    })
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// `cotype host DIR --headless` as a user starts it, killed on drop, and the link it printed.
pub struct HeadlessHost {
    child: Child,
    /// Kept open to the end, so the host never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
    pub link: String,
}

impl HeadlessHost {
    /// Shares `project`; with `home`, the host runs with that HOME (no user config). Without
    /// it, the host keeps the real one (where language servers are installed).
    pub fn start(project: &Path, home: Option<&Path>) -> Self {
        Self::start_with(project, home, &[])
    }

    /// As `start`, with more arguments for `cotype host` (after the folder).
    pub fn start_with(project: &Path, home: Option<&Path>, more: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cotype"));
        command
            .args([
                "host",
                project.to_str().unwrap(),
                "--headless",
                "--name",
                "hostie",
            ])
            .args(more)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(home) = home {
            command.env("HOME", home);
        }
        let mut child = command.spawn().expect("the cotype binary runs");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut link = String::new();
        stdout.read_line(&mut link).unwrap();
        let link = link.trim().to_owned();
        assert!(link.contains('#'), "the host printed no link: {link:?}");
        Self {
            child,
            _stdout: stdout,
            link,
        }
    }
}

impl Drop for HeadlessHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The characters of an attributed row (`capture-pane -e`) drawn dim.
pub fn dim_text(row: &str) -> String {
    let mut dim = false;
    let mut out = String::new();
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            if dim {
                out.push(c);
            }
            continue;
        }
        if chars.next_if_eq(&'[').is_none() {
            continue;
        }
        let mut sequence = String::new();
        for c in chars.by_ref() {
            if c.is_ascii_alphabetic() {
                if c == 'm' {
                    break;
                }
                sequence.clear();
                break;
            }
            sequence.push(c);
        }
        let params: Vec<&str> = sequence.split(';').collect();
        let mut index = 0;
        while index < params.len() {
            match params[index] {
                "" | "0" | "22" => dim = false,
                "2" => dim = true,
                // A color: skip its own numbers (`5;N` or `2;R;G;B`).
                "38" | "48" | "58" => {
                    index += if params.get(index + 1) == Some(&"5") {
                        2
                    } else {
                        4
                    };
                }
                _ => {}
            }
            index += 1;
        }
    }
    out
}
