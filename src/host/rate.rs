//! How much of the host one member may take: a byte budget for edits that refills at a
//! steady rate up to a burst, and bounds on the work it may have the host doing at once
//! (language-server requests, searches, open documents). Typing, pasting and a person's
//! own pace never come near them; a member pushing as fast as the network allows is
//! refused with a message instead of taking the host's memory and CPU from everyone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Requests (hover, completion, search …) one member may have the host working on at once.
pub const REQUESTS_IN_FLIGHT: usize = 16;
/// Of those, workspace searches: each walks the whole folder.
pub const SEARCHES_IN_FLIGHT: usize = 2;
/// Documents one member may have open at once; each stays in the host's memory.
pub const OPEN_DOCUMENTS: usize = 256;

/// A member's requests in progress; `start` counts one in, its guard counts it out.
#[derive(Clone, Debug, Default)]
pub struct InFlight {
    requests: Arc<AtomicUsize>,
    searches: Arc<AtomicUsize>,
}

/// Held while a request is worked on.
#[derive(Debug)]
pub struct InFlightGuard {
    requests: Arc<AtomicUsize>,
    searches: Option<Arc<AtomicUsize>>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.requests.fetch_sub(1, Ordering::AcqRel);
        if let Some(searches) = &self.searches {
            searches.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl InFlight {
    /// Counts a request in, or says why not (the words the member is shown).
    pub fn start(&self, search: bool) -> Result<InFlightGuard, String> {
        if search && !take_one(&self.searches, SEARCHES_IN_FLIGHT) {
            return Err(format!(
                "{SEARCHES_IN_FLIGHT} of your searches are still running on the host; wait for one to finish"
            ));
        }
        let searches = search.then(|| self.searches.clone());
        if !take_one(&self.requests, REQUESTS_IN_FLIGHT) {
            if let Some(searches) = searches {
                searches.fetch_sub(1, Ordering::AcqRel);
            }
            return Err(format!(
                "{REQUESTS_IN_FLIGHT} of your requests are still being answered on the host; wait for their answers"
            ));
        }
        Ok(InFlightGuard {
            requests: self.requests.clone(),
            searches,
        })
    }
}

/// Adds one to `counter` unless it is at `limit`.
fn take_one(counter: &AtomicUsize, limit: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .is_ok()
}

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
    fn requests_in_flight_are_bounded_and_counted_out_when_done() {
        let in_flight = InFlight::default();
        let searches: Vec<_> = (0..SEARCHES_IN_FLIGHT)
            .map(|_| in_flight.start(true).unwrap())
            .collect();
        assert!(in_flight.start(true).unwrap_err().contains("searches"));
        let others: Vec<_> = (SEARCHES_IN_FLIGHT..REQUESTS_IN_FLIGHT)
            .map(|_| in_flight.start(false).unwrap())
            .collect();
        assert!(in_flight.start(false).unwrap_err().contains("requests"));
        drop(searches);
        assert!(
            in_flight.start(true).is_ok(),
            "a finished search makes room"
        );
        drop(others);
        let again: Vec<_> = (0..REQUESTS_IN_FLIGHT - SEARCHES_IN_FLIGHT)
            .map(|_| in_flight.start(false).unwrap())
            .collect();
        assert_eq!(again.len(), REQUESTS_IN_FLIGHT - SEARCHES_IN_FLIGHT);
    }

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
