//! Lower priorities for the host's background threads (a shared terminal's parser, a
//! replace's planners), so that when they and the session loop both want the CPU the
//! kernel runs the loop, and everyone's typing, first.
//!
//! Linux only: there a priority belongs to a thread, so lowering one leaves the session's
//! threads and any program started earlier alone. Elsewhere priorities are the process's,
//! so nothing is changed.

/// Runs this thread only on CPU time nobody else wants (`SCHED_IDLE`): any thread of
/// normal priority that is ready runs first. Where that is refused, 19 nicer instead.
pub fn idle_only() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a plain system call on this thread's own id (0); `param` outlives it.
        let set = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if set != 0 {
            tracing::debug!("could not make a thread idle-only; lowering its nice value");
            nicer(19);
        }
    }
}

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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The scheduling policy of this thread, from `/proc/thread-self/stat` (the 41st
    /// field; the name in parentheses before it may hold spaces).
    fn policy() -> u32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(38).unwrap().parse().unwrap()
    }

    #[test]
    fn an_idle_only_thread_is_sched_idle_and_others_are_not() {
        let policy_there = std::thread::spawn(|| {
            super::idle_only();
            policy()
        })
        .join()
        .unwrap();
        assert_eq!(policy_there, libc::SCHED_IDLE as u32);
        assert_eq!(policy(), libc::SCHED_OTHER as u32);
    }
}
