//! Lower priorities for the host's background threads (a shared terminal's parser, a
//! replace's planners), so that when they and the session loop both want the CPU the
//! kernel runs the loop, and everyone's typing, first.
//!
//! A nice value, not `SCHED_IDLE`: an idle-only terminal thread was measured
//! (docs/BENCHMARKS.md, issue 16) to gain edits nothing during a flood and to fall behind
//! whenever anything else kept the cores busy (a build in that very terminal would leave
//! its viewers without output).
//!
//! Linux only: there a priority belongs to a thread, so lowering one leaves the session's
//! threads and any program started earlier alone. Elsewhere priorities are the process's,
//! so nothing is changed.

/// Makes this thread `by` nicer than it is (at most 19): about a tenth of a shared core
/// at 10 when a thread of normal priority wants it too.
pub fn nicer(by: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on this thread's own id; no memory is passed.
        let lowered = unsafe {
            let thread = libc::gettid() as libc::id_t;
            let now = libc::getpriority(libc::PRIO_PROCESS, thread);
            libc::setpriority(libc::PRIO_PROCESS, thread, (now + by).min(19))
        };
        if lowered != 0 {
            tracing::debug!("could not lower a thread's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = by;
}
