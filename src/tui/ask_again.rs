//! When to ask the host again for something it computes about a whole file (inlay hints,
//! semantic tokens): once typing pauses after an edit, soon after a failure (a server
//! still loading) and then later and later, and never twice at once.

use std::time::{Duration, Instant};

/// Typing pauses this long before the host is asked again.
pub const AFTER_TYPING: Duration = Duration::from_millis(400);
/// A question unanswered this long is asked again.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// After the host could not answer (a server still loading the project, or none for the
/// file), ask again this late, twice as late after each further failure, up to
/// [`MOST_AFTER_FAILURE`].
pub const AFTER_FAILURE: Duration = Duration::from_secs(2);
const MOST_AFTER_FAILURE: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone)]
pub struct AskAgain {
    /// Never answered yet.
    answered: bool,
    /// A question is out since then.
    asked: Option<Instant>,
    /// The text changed (or the server has news) since the last question, last then.
    edited: Option<Instant>,
    /// The last failure and how many in a row.
    failed: Option<(Instant, u32)>,
}

impl AskAgain {
    /// When to ask next (`now` for "at once"); `stale` says the last answer does not
    /// cover what is needed now (the view moved past it).
    pub fn due_at(&self, now: Instant, stale: bool) -> Option<Instant> {
        if let Some(asked) = self.asked {
            return Some(asked + ANSWER_WAIT);
        }
        if let Some((failed, count)) = self.failed {
            let wait = AFTER_FAILURE.saturating_mul(1 << count.min(8).saturating_sub(1));
            return Some(failed + wait.min(MOST_AFTER_FAILURE));
        }
        match self.edited {
            _ if stale || !self.answered => Some(now),
            Some(edited) => Some(edited + AFTER_TYPING),
            None => None,
        }
    }

    pub fn asked(&mut self, now: Instant) {
        self.asked = Some(now);
        self.edited = None;
    }

    pub fn answered(&mut self) {
        self.answered = true;
        self.asked = None;
        self.failed = None;
    }

    pub fn failed(&mut self, now: Instant) {
        self.asked = None;
        let count = self.failed.map_or(1, |(_, count)| count.saturating_add(1));
        self.failed = Some((now, count));
    }

    /// The answer could not be used: ask again.
    pub fn dropped(&mut self) {
        self.asked = None;
    }

    pub fn edited(&mut self, now: Instant) {
        self.edited = Some(now);
    }
}
