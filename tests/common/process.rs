//! Driving the real `cotype` binary: long-running roles (relay, host) that are killed when
//! the test ends, however it ends, and one-shot commands with a deadline, so a hang fails
//! the test instead of stalling the suite.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one command or startup line may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn cotype() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cotype"));
    // The user's environment must not change what the tests see.
    command
        .env_remove("COTYPE_LINK")
        .env_remove("COTYPE_CA_CERT");
    command.env_remove("COTYPE_LOG");
    command
}

/// A background `cotype` process. Dropping it kills the process, also when an assertion
/// failed first, so no relay or host outlives its test.
pub struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (lines, receiver) = mpsc::channel();
    // Drains the pipe for the process's whole life, so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

impl Running {
    pub fn spawn(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the cotype binary starts");
        let stdout = lines_of(child.stdout.take().expect("stdout is piped"));
        let stderr = lines_of(child.stderr.take().expect("stderr is piped"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Like `spawn`, with standard input an open pipe the test writes to (or never does).
    pub fn spawn_with_input(mut command: Command) -> (Running, ChildStdin) {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the cotype binary starts");
        let input = child.stdin.take().expect("stdin is piped");
        let stdout = lines_of(child.stdout.take().expect("stdout is piped"));
        let stderr = lines_of(child.stderr.take().expect("stderr is piped"));
        let running = Running {
            child,
            stdout,
            stderr,
        };
        (running, input)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a number, as `kill -s`) to the process.
    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// The exit status, if the process ends within `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn next_stdout_line(&mut self) -> String {
        self.stdout
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("no line on stdout within {DEADLINE:?}"))
    }

    /// The first stdout line that contains `marker` (earlier lines are skipped).
    pub fn stdout_line_with(&mut self, marker: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(marker) => return line,
                Ok(_) => {}
                Err(_) => panic!("no stdout line containing {marker:?} within {DEADLINE:?}"),
            }
        }
    }

    /// The first stderr line that contains `marker` (earlier lines are skipped).
    pub fn stderr_line_with(&mut self, marker: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(marker) => return line,
                Ok(_) => {}
                Err(_) => panic!("no stderr line containing {marker:?} within {DEADLINE:?}"),
            }
        }
    }

    /// The stderr lines printed so far that no earlier call took.
    pub fn stderr_so_far(&mut self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Whether the process has exited already.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cotype host DIR --headless [args]`, up to the moment it printed its link.
pub fn start_host(dir: &Path, args: &[&str]) -> (Running, String) {
    let mut command = cotype();
    command.arg("host").arg(dir).arg("--headless").args(args);
    let mut host = Running::spawn(command);
    let link = host.next_stdout_line();
    (host, link)
}

/// What a finished one-shot command left behind.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Asserts the command failed with `code` and exactly one line on stderr holding
    /// `expected`, and that no part of `secret` leaked into its output. Returns the line.
    pub fn assert_failure(&self, code: i32, expected: &str, secret: &str) -> String {
        assert_eq!(
            self.code(),
            Some(code),
            "exit code; stderr was: {}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "a failure printed to stdout: {:?}",
            String::from_utf8_lossy(&self.stdout)
        );
        let line = self
            .stderr
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("stderr does not end a line: {:?}", self.stderr));
        assert!(
            !line.contains('\n') && !line.is_empty(),
            "stderr is not one line: {:?}",
            self.stderr
        );
        assert!(
            line.contains(expected),
            "stderr {line:?} does not say {expected:?}"
        );
        assert!(
            secret.is_empty() || !self.stderr.contains(secret),
            "the secret appeared on stderr: {line:?}"
        );
        line.to_string()
    }
}

/// Runs `command` to completion with `stdin` as its input, killing it at the deadline.
pub fn run(command: &mut Command, stdin: &[u8]) -> Finished {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cotype binary starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A command that does not read stdin closes it early; that is not our failure.
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for cotype") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}
