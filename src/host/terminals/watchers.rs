//! Who watches a terminal, and how much of its output each watcher's link still carries.
//!
//! Every watcher follows the same numbered frames, but not every link keeps up: a guest on
//! a slow connection watching a flood would have the relay queue redraws for it faster
//! than they leave, and its edits' answers would wait behind them (seconds, until the
//! relay dropped it as a slow reader). So each watcher acknowledges what it applied
//! (`Seen`), and the host sends it a frame only while its unacknowledged frames stay
//! within `WINDOW`. One that runs out of room falls behind: it gets nothing more until it
//! has acknowledged everything sent, and then one `CatchUp`, the screen as it is, from
//! which it follows the frames again. What it missed in between is history it will not
//! have (as during any flood, whose raw output nobody gets).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::protocol::ParticipantId;
use crate::protocol::message::TerminalMessage;

/// Bytes of terminal frames a watcher may have unacknowledged. Enough for the most raw
/// output a terminal sends (256 KiB a second) over a 250 ms round trip; on a 1 Mbit/s
/// link it is half a second of the link ahead of an edit, where before the relay's
/// queue (8 MiB) was the only bound.
pub const WINDOW: usize = 64 * 1024;
/// A watcher behind that acknowledged nothing for this long is caught up anyway, its
/// frames on the way taken for lost: an acknowledgement the host never got (dropped
/// with a full command queue, or around a reconnect) must not freeze its screen. On a
/// link too slow to carry the window in this time, that costs one extra redraw each time.
pub const STALLED: Duration = Duration::from_secs(5);

/// One watcher's frames on their way.
#[derive(Debug, Default)]
struct Flow {
    /// (seq, bytes) of each frame sent and not acknowledged yet, oldest first.
    in_flight: VecDeque<(u64, usize)>,
    bytes: usize,
    /// Missed a frame for want of room: owed a `CatchUp` once all is acknowledged.
    behind: bool,
    /// When it last acknowledged something (or started).
    progress: Option<Instant>,
}

impl Flow {
    fn sent(&mut self, seq: u64, bytes: usize) {
        self.in_flight.push_back((seq, bytes));
        self.bytes += bytes;
    }

    fn has_room_for(&self, bytes: usize) -> bool {
        self.in_flight.is_empty() || self.bytes + bytes <= WINDOW
    }
}

/// The watchers of one terminal.
#[derive(Debug, Default)]
pub struct Watchers {
    flows: BTreeMap<ParticipantId, Flow>,
}

impl Watchers {
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// `by` starts (or starts again) from `snapshot`, the pieces sent to it.
    pub fn add(&mut self, by: ParticipantId, snapshot: &[TerminalMessage], now: Instant) {
        let mut flow = Flow {
            progress: Some(now),
            ..Flow::default()
        };
        if let Some(last) = snapshot.last() {
            flow.sent(seq_of(last), snapshot.iter().map(frame_bytes).sum());
        }
        self.flows.insert(by, flow);
    }

    /// `by` left the session.
    pub fn remove(&mut self, by: ParticipantId) {
        self.flows.remove(&by);
    }

    /// `by` applied every frame up to `seq`.
    pub fn seen(&mut self, by: ParticipantId, seq: u64, now: Instant) {
        let Some(flow) = self.flows.get_mut(&by) else {
            return;
        };
        while let Some(&(sent, bytes)) = flow.in_flight.front() {
            if sent > seq {
                break;
            }
            flow.in_flight.pop_front();
            flow.bytes -= bytes;
            flow.progress = Some(now);
        }
    }

    /// Who gets `message`, a frame of the sequence every watcher follows: those with room
    /// for it (counted as sent to them). The others fall behind.
    pub fn recipients(&mut self, message: &TerminalMessage) -> Vec<ParticipantId> {
        let (seq, bytes) = (seq_of(message), frame_bytes(message));
        let mut recipients = Vec::new();
        for (&watcher, flow) in &mut self.flows {
            if flow.behind {
                continue;
            }
            if flow.has_room_for(bytes) {
                flow.sent(seq, bytes);
                recipients.push(watcher);
            } else {
                flow.behind = true;
            }
        }
        recipients
    }

    /// Watchers that fell behind and have since acknowledged everything sent to them
    /// (or nothing for `STALLED`): each is owed a `CatchUp`.
    pub fn owed_catch_up(&self, now: Instant) -> Vec<ParticipantId> {
        let stalled = |flow: &Flow| {
            flow.progress
                .is_some_and(|progress| now.duration_since(progress) >= STALLED)
        };
        self.flows
            .iter()
            .filter(|(_, flow)| flow.behind && (flow.in_flight.is_empty() || stalled(flow)))
            .map(|(&watcher, _)| watcher)
            .collect()
    }

    /// `catch_up` (a `CatchUp`) went to `by`, which follows the frames again from it;
    /// whatever was still unacknowledged is past caring about.
    pub fn caught_up(&mut self, by: ParticipantId, catch_up: &TerminalMessage, now: Instant) {
        if let Some(flow) = self.flows.get_mut(&by) {
            flow.behind = false;
            flow.in_flight.clear();
            flow.bytes = 0;
            flow.progress = Some(now);
            flow.sent(seq_of(catch_up), frame_bytes(catch_up));
        }
    }
}

/// Its place in the terminal's numbered frames (every message here has one).
fn seq_of(message: &TerminalMessage) -> u64 {
    message.seq().unwrap_or_default()
}

/// What a frame weighs on a watcher's link (its payload; the rest is a few dozen bytes).
fn frame_bytes(message: &TerminalMessage) -> usize {
    const OVERHEAD: usize = 64;
    OVERHEAD + message.screen_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Instant {
        Instant::now()
    }

    /// A snapshot of `bytes` (frame included) at `seq`.
    fn snapshot(seq: u64, bytes: usize) -> Vec<TerminalMessage> {
        vec![TerminalMessage::Snapshot {
            id: 1,
            seq,
            cols: 80,
            rows: 24,
            last: true,
            bytes: vec![0; bytes.saturating_sub(64)],
        }]
    }

    fn catch_up(seq: u64, bytes: usize) -> TerminalMessage {
        TerminalMessage::CatchUp {
            id: 1,
            seq,
            cols: 80,
            rows: 24,
            state: vec![0; bytes],
        }
    }

    fn output(seq: u64, bytes: usize) -> TerminalMessage {
        TerminalMessage::Output {
            id: 1,
            seq,
            bytes: vec![b'x'; bytes],
        }
    }

    #[test]
    fn a_watcher_that_acknowledges_gets_every_frame() {
        let mut watchers = Watchers::default();
        watchers.add(7, &snapshot(0, 1000), now());
        for seq in 1..=100 {
            assert_eq!(watchers.recipients(&output(seq, 16 * 1024)), vec![7]);
            watchers.seen(7, seq, now());
        }
        assert!(watchers.owed_catch_up(now()).is_empty());
    }

    #[test]
    fn a_slow_watcher_falls_behind_alone_and_catches_up_once_it_has_read_everything() {
        let mut watchers = Watchers::default();
        watchers.add(1, &snapshot(0, 100), now());
        watchers.add(2, &snapshot(0, 100), now());
        watchers.seen(1, 0, now());
        watchers.seen(2, 0, now());
        // 2 reads on, 1 does not: 1's window fills after four 16 KiB frames.
        let mut got_by_1 = Vec::new();
        for seq in 1..=10 {
            let recipients = watchers.recipients(&output(seq, 16 * 1024 - 64));
            assert!(recipients.contains(&2), "frame {seq}");
            if recipients.contains(&1) {
                got_by_1.push(seq);
            }
            watchers.seen(2, seq, now());
        }
        assert_eq!(got_by_1, vec![1, 2, 3, 4]);
        assert!(
            watchers.owed_catch_up(now()).is_empty(),
            "still carrying 1-4"
        );
        watchers.seen(1, 3, now());
        assert!(watchers.owed_catch_up(now()).is_empty(), "still carrying 4");
        watchers.seen(1, 4, now());
        assert_eq!(watchers.owed_catch_up(now()), vec![1]);
        let caught = catch_up(10, 3000);
        watchers.caught_up(1, &caught, now());
        assert!(watchers.owed_catch_up(now()).is_empty());
        assert_eq!(watchers.recipients(&output(11, 10)), vec![1, 2]);
    }

    #[test]
    fn a_frame_larger_than_the_window_still_goes_to_a_watcher_with_nothing_on_the_way() {
        let mut watchers = Watchers::default();
        watchers.add(3, &snapshot(5, 500 * 1024), now());
        assert!(
            watchers.recipients(&output(6, 10)).is_empty(),
            "the snapshot first"
        );
        watchers.seen(3, 5, now());
        assert_eq!(watchers.owed_catch_up(now()), vec![3]);
        let big = catch_up(6, 2 * WINDOW);
        watchers.caught_up(3, &big, now());
        watchers.seen(3, 6, now());
        assert_eq!(watchers.recipients(&output(7, 2 * WINDOW)), vec![3]);
    }

    /// An acknowledgement lost on the way must not freeze a watcher's screen for good.
    #[test]
    fn a_watcher_behind_that_acknowledges_nothing_is_caught_up_after_a_while() {
        let mut watchers = Watchers::default();
        let start = Instant::now();
        watchers.add(5, &snapshot(0, WINDOW), start);
        assert!(watchers.recipients(&output(1, 100)).is_empty());
        assert!(watchers.owed_catch_up(start + STALLED / 2).is_empty());
        let later = start + STALLED;
        assert_eq!(watchers.owed_catch_up(later), vec![5]);
        let caught = catch_up(1, 100);
        watchers.caught_up(5, &caught, later);
        watchers.seen(5, 1, later);
        assert_eq!(watchers.recipients(&output(2, 100)), vec![5]);
    }

    #[test]
    fn a_member_who_left_gets_nothing() {
        let mut watchers = Watchers::default();
        watchers.add(4, &snapshot(0, 10), now());
        watchers.remove(4);
        assert!(watchers.is_empty());
        assert!(watchers.recipients(&output(1, 10)).is_empty());
        watchers.seen(4, 1, now());
    }
}
