//! Lower priorities for what runs beside the session on the host's machine: its background
//! threads (a shared terminal's parser, a replace's planners) and the programs in shared
//! terminals, so that when they and the session loop both want the CPU the kernel runs the
//! loop, and everyone's typing, first. None of them is slowed while the CPU is free: a
//! nice value only decides who goes first when both want it.
//!
//! A nice value, not `SCHED_IDLE`: an idle-only terminal thread was measured
//! (docs/BENCHMARKS.md, issue 16) to gain edits nothing during a flood and to fall behind
//! whenever anything else kept the cores busy (a build in that very terminal would leave
//! its viewers without output).
//!
//! Linux only: there a priority belongs to a thread, so lowering one leaves the session's
//! threads and any program started earlier alone. Elsewhere priorities are the process's,
//! so nothing is changed.

use std::time::Duration;

/// Makes this thread `by` nicer than it is (at most 19): about a tenth of a shared core
/// at 10 when a thread of normal priority wants it too.
pub fn nicer(by: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions.
        let thread = unsafe { libc::gettid() } as libc::id_t;
        if !lower(thread, by) {
            tracing::debug!("could not lower a thread's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = by;
}

/// For a program between fork and exec (`pre_exec`): makes it `by` nicer than the thread
/// that started it. Only system calls, as that moment requires; a failure leaves the
/// program at its parent's priority rather than not starting it.
pub fn nicer_before_exec(by: i32) {
    #[cfg(unix)]
    lower(0, by);
    #[cfg(not(unix))]
    let _ = by;
}

/// Makes `who` (a thread id, or 0 for the calling process) `by` nicer, at most 19;
/// whether the kernel took it. Async-signal-safe: system calls only.
#[cfg(unix)]
fn lower(who: libc::id_t, by: i32) -> bool {
    // SAFETY: plain system calls on an id; no memory is passed.
    unsafe {
        let now = libc::getpriority(libc::PRIO_PROCESS, who);
        libc::setpriority(libc::PRIO_PROCESS, who, (now + by).min(19)) == 0
    }
}

/// Makes the scheduling group of `pid`, a program that started a session of its own (as
/// a PTY's program does), `by` nicer than this process's group.
///
/// Linux puts each new session in an "autogroup" of its own and shares the CPU between
/// groups first, so a shell's programs compete with the whole host process as an equal,
/// whatever their nice values: during a 10 MB `cat` in a shared terminal, edits waited
/// behind `cat`'s writes into the PTY (docs/BENCHMARKS.md, issue 16). The group's own nice
/// value is what changes that. Nothing is done where the kernel has no autogroups or the
/// program shares this process's group (its nice value then does the work).
///
/// An unprivileged user may change an autogroup at most every 100 ms, machine-wide, so
/// a refusal is retried for about a second.
pub async fn nicer_group(pid: u32, by: i32) {
    #[cfg(target_os = "linux")]
    {
        let Some((ours, our_nice)) = autogroup("self") else {
            return;
        };
        let Some((theirs, _)) = autogroup(&pid.to_string()) else {
            return;
        };
        if theirs == ours {
            return;
        }
        let nice = (our_nice + by).min(19).to_string();
        for _ in 0..10 {
            match std::fs::write(format!("/proc/{pid}/autogroup"), &nice) {
                Ok(()) => return,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    tokio::time::sleep(Duration::from_millis(110)).await;
                }
                Err(error) => {
                    tracing::debug!("could not lower a terminal's scheduling group: {error}");
                    return;
                }
            }
        }
        tracing::debug!("could not lower a terminal's scheduling group: the kernel kept refusing");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (pid, by);
}

/// The autogroup of `/proc/<process>` and its nice value: `/autogroup-12 nice 0`.
#[cfg(target_os = "linux")]
pub fn autogroup(process: &str) -> Option<(String, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{process}/autogroup")).ok()?;
    let (name, nice) = text.trim().split_once(" nice ")?;
    Some((name.to_owned(), nice.trim().parse().ok()?))
}
