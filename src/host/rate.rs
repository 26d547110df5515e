//! How fast one member may hand the host edits: a byte budget that refills at a steady
//! rate up to a burst. Typing and pasting never come near it; a member pushing edits as
//! fast as the network allows is refused instead of taking the host's memory and CPU
//! from everyone else.

use std::time::Instant;

/// Bytes of edits (by `protocol::message::applied_size`) a member may send at once.
pub const EDIT_BURST_BYTES: f64 = 16.0 * 1024.0 * 1024.0;
/// Bytes of edits per second a member may send over time.
pub const EDIT_BYTES_PER_SECOND: f64 = 4.0 * 1024.0 * 1024.0;

#[derive(Clone, Debug)]
pub struct ByteRate {
    available: f64,
    updated: Instant,
}

impl Default for ByteRate {
    fn default() -> Self {
        ByteRate {
            available: EDIT_BURST_BYTES,
            updated: Instant::now(),
        }
    }
}

impl ByteRate {
    /// Takes `bytes` from the budget at `now`; false (taking nothing) if there is not
    /// enough.
    pub fn take(&mut self, bytes: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.available = (self.available + elapsed * EDIT_BYTES_PER_SECOND).min(EDIT_BURST_BYTES);
        self.updated = now;
        let bytes = bytes as f64;
        if bytes > self.available {
            return false;
        }
        self.available -= bytes;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_a_flood_is_refused_and_the_budget_refills() {
        let start = Instant::now();
        let mut rate = ByteRate::default();
        let mib = 1024 * 1024;
        for _ in 0..16 {
            assert!(rate.take(mib, start), "a 16 MiB burst passes");
        }
        assert!(!rate.take(mib, start), "the 17th MiB at once does not");
        assert!(
            rate.take(mib, start + Duration::from_millis(300)),
            "refilled"
        );
        // Typing: a keystroke's edit every 10 ms for a minute never runs out.
        let mut typing = ByteRate::default();
        assert!((0..6000).all(|i| typing.take(80, start + Duration::from_millis(10 * i))));
    }
}
