//! Round-trip timing for the people panel: each member pings every few seconds (a
//! participant the host through the relay, the host the relay) and shares what it measured
//! in its presence, so everyone sees everyone's latency for about one small frame each way
//! per member every few seconds.
//!
//! No clocks or sockets here: the owner says when it sent a ping and when the answer came.

use std::time::{Duration, Instant};

/// How often a member measures its round trip.
pub const PING_INTERVAL: Duration = Duration::from_secs(5);

/// One member's round-trip measurement, and what of it was shared with the others.
#[derive(Debug)]
pub struct RoundTrip {
    /// The ping awaiting its answer: its token and when it left.
    in_flight: Option<(u64, Instant)>,
    next_due: Instant,
    latest: Option<u32>,
    shared: Option<u32>,
}

impl RoundTrip {
    /// The first ping is due at once.
    pub fn new(now: Instant) -> Self {
        RoundTrip {
            in_flight: None,
            next_due: now,
            latest: None,
            shared: None,
        }
    }

    /// When the next ping should go.
    pub fn due(&self) -> Instant {
        self.next_due
    }

    /// A ping with `token` left at `now`. An earlier one still unanswered is forgotten
    /// (its answer, if it ever comes, is ignored), but the round trip is at least as long
    /// as it has waited: a link slower than the interval must not keep showing the last
    /// fast answer. Returns whether that is worth telling the others.
    pub fn sent(&mut self, token: u64, now: Instant) -> bool {
        let late = self
            .in_flight
            .replace((token, now))
            .map(|(_, sent_at)| millis(now.saturating_duration_since(sent_at)))
            .filter(|&waited| self.latest.is_none_or(|latest| waited > latest));
        self.next_due = now + PING_INTERVAL;
        late.is_some_and(|waited| self.measured(waited))
    }

    /// The answer to ping `token` arrived at `now`. Returns whether the measurement moved
    /// far enough from the one last shared to be worth telling the others.
    pub fn answered(&mut self, token: u64, now: Instant) -> bool {
        let Some((sent_token, sent_at)) = self.in_flight else {
            return false;
        };
        if sent_token != token {
            return false;
        }
        self.in_flight = None;
        self.measured(millis(now.saturating_duration_since(sent_at)))
    }

    fn measured(&mut self, ms: u32) -> bool {
        self.latest = Some(ms);
        is_news(ms, self.shared)
    }

    /// What a presence message carries: the value shared before, unless the latest
    /// measurement is news. Every presence carries a latency, and a figure that jittered
    /// by a millisecond on each would redraw everyone's people panel for nothing.
    pub fn to_share(&self) -> Option<u32> {
        match (self.latest, self.shared) {
            (Some(latest), shared) if is_news(latest, shared) => Some(latest),
            (latest, None) => latest,
            (_, shared) => shared,
        }
    }

    /// The last measured round trip in milliseconds.
    pub fn latest(&self) -> Option<u32> {
        self.latest
    }

    /// `to_share` went out to everyone.
    pub fn mark_shared(&mut self) {
        self.shared = self.to_share();
    }

    /// After a reconnect the old connection's ping will never be answered.
    pub fn reset(&mut self, now: Instant) {
        self.in_flight = None;
        self.next_due = now;
    }
}

/// Jitter of a few milliseconds, or a tenth, is not news.
fn is_news(ms: u32, shared: Option<u32>) -> bool {
    shared.is_none_or(|shared| ms.abs_diff(shared) > (shared / 10).max(2))
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_the_answered_ping_and_shares_only_real_changes() {
        let start = Instant::now();
        let mut rtt = RoundTrip::new(start);
        assert_eq!(rtt.due(), start);
        rtt.sent(1, start);
        assert_eq!(rtt.due(), start + PING_INTERVAL);
        assert!(
            !rtt.answered(7, start + Duration::from_millis(3)),
            "not ours"
        );
        assert!(rtt.answered(1, start + Duration::from_millis(40)));
        assert_eq!(rtt.latest(), Some(40));
        rtt.mark_shared();
        assert!(
            !rtt.answered(1, start + Duration::from_millis(50)),
            "answered twice"
        );

        rtt.sent(2, start);
        assert!(
            !rtt.answered(2, start + Duration::from_millis(43)),
            "jitter"
        );
        assert_eq!(rtt.latest(), Some(43), "still shown locally");
        assert_eq!(
            rtt.to_share(),
            Some(40),
            "the others keep the figure they have"
        );
        rtt.sent(3, start);
        assert!(rtt.answered(3, start + Duration::from_millis(90)));
    }

    #[test]
    fn a_newer_ping_replaces_an_unanswered_one_which_counts_as_slow() {
        let start = Instant::now();
        let mut rtt = RoundTrip::new(start);
        assert!(!rtt.sent(1, start));
        assert!(rtt.answered(1, start + Duration::from_millis(8)));
        rtt.mark_shared();
        // The next ping is never answered: when the one after it goes, the link has
        // taken at least the whole interval.
        let second = start + PING_INTERVAL;
        assert!(!rtt.sent(2, second));
        assert!(rtt.sent(3, second + PING_INTERVAL));
        assert_eq!(rtt.latest(), Some(5000));
        rtt.mark_shared();
        assert!(!rtt.answered(2, second + PING_INTERVAL + Duration::from_millis(1)));
        assert!(rtt.answered(3, second + PING_INTERVAL + Duration::from_millis(9)));
        assert_eq!(rtt.latest(), Some(9));
    }
}
