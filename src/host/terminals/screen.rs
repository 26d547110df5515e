//! One shared terminal's screen at the host: the authoritative emulator, what the next
//! tick sends, and the snapshot a late watcher starts from. No I/O here, so the output
//! policy and the snapshot are tested on their own.

use std::time::{Duration, Instant};

use crate::protocol::message::{TerminalId, TerminalMessage};

/// Raw output sent in one tick at most; past it the tick is a flood.
pub const TICK_BYTES: usize = 16 * 1024;
/// Raw output sent in one second at most; past it the terminal is flooding.
pub const SECOND_BYTES: usize = 256 * 1024;
/// During a flood, the screen is redrawn at most this often.
pub const RESYNC_EVERY: Duration = Duration::from_millis(100);
/// Output read but not sent yet is dropped past this (it is in the emulator anyway).
const PENDING_MOST: usize = 1024 * 1024;
/// The largest piece of a snapshot in one frame.
pub const SNAPSHOT_PIECE: usize = 128 * 1024;

/// The host's emulator for one terminal and the output waiting for the next tick.
pub struct HostScreen {
    id: TerminalId,
    parser: vt100::Parser,
    scrollback: usize,
    /// +1 for every `Output`, `Resync` and `Resized` sent.
    seq: u64,
    pending: Vec<u8>,
    /// Raw output was dropped: only a `Resync` may follow, never raw bytes (they would
    /// paint on a screen the viewers do not have).
    flooding: bool,
    /// Output came since the last tick (during a flood `pending` stays empty).
    fresh: bool,
    last_resync: Option<Instant>,
    second_started: Instant,
    second_bytes: usize,
}

impl HostScreen {
    pub fn new(id: TerminalId, cols: u16, rows: u16, scrollback: usize) -> Self {
        HostScreen {
            id,
            parser: vt100::Parser::new(rows, cols, scrollback),
            scrollback,
            seq: 0,
            pending: Vec::new(),
            flooding: false,
            fresh: false,
            last_resync: None,
            second_started: Instant::now(),
            second_bytes: 0,
        }
    }

    pub fn id(&self) -> TerminalId {
        self.id
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The `seq` of the last frame made.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether the emulator holds exactly what the frames up to `seq` made: nothing
    /// read since the last tick, and no flood whose redraw is still to come.
    pub fn settled(&self) -> bool {
        self.pending.is_empty() && !self.flooding
    }

    /// For a watcher that missed frames: the screen at `seq`, which must be the screen
    /// now (right after a tick's frame, or `settled`).
    pub fn catch_up(&self, seq: u64) -> TerminalMessage {
        let (cols, rows) = self.size();
        TerminalMessage::CatchUp {
            id: self.id,
            seq,
            cols,
            rows,
            state: self.redraw(),
        }
    }

    /// (cols, rows).
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols, rows)
    }

    /// Takes in what the program wrote.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
        self.fresh = true;
        if self.pending.len() + bytes.len() > PENDING_MOST {
            self.pending.clear();
            self.flooding = true;
        } else if !self.flooding {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// What to send this tick: the tick's raw output, a redraw during a flood, or nothing.
    pub fn tick(&mut self, now: Instant) -> Option<TerminalMessage> {
        if now.duration_since(self.second_started) >= Duration::from_secs(1) {
            self.second_started = now;
            self.second_bytes = 0;
        }
        let fits = self.pending.len() <= TICK_BYTES
            && self.second_bytes + self.pending.len() <= SECOND_BYTES;
        if self.pending.is_empty() && !self.flooding {
            return None;
        }
        if !self.flooding && fits {
            let bytes = std::mem::take(&mut self.pending);
            self.fresh = false;
            self.second_bytes += bytes.len();
            self.seq += 1;
            return Some(TerminalMessage::Output {
                id: self.id,
                seq: self.seq,
                bytes,
            });
        }
        // A flood: what was read is in the emulator; viewers get the screen it made.
        let still_coming = std::mem::take(&mut self.fresh);
        self.pending.clear();
        self.flooding = true;
        if still_coming
            && self
                .last_resync
                .is_some_and(|last| now.duration_since(last) < RESYNC_EVERY)
        {
            return None;
        }
        // A tick with nothing new ends the flood, with the final screen.
        self.flooding = still_coming;
        self.last_resync = Some(now);
        self.seq += 1;
        Some(TerminalMessage::Resync {
            id: self.id,
            seq: self.seq,
            state: self.redraw(),
        })
    }

    /// Bytes that replace a viewer's visible screen with ours: the alternate-screen
    /// switch (`state_formatted` leaves it out), then the screen and input modes.
    fn redraw(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut bytes = if screen.alternate_screen() {
            b"\x1b[?1049h".to_vec()
        } else {
            b"\x1b[?1049l".to_vec()
        };
        bytes.extend(screen.state_formatted());
        bytes
    }

    /// A new size (the host user's pane). Output before it is sent first.
    pub fn resize(&mut self, cols: u16, rows: u16, now: Instant) -> Vec<TerminalMessage> {
        let mut messages: Vec<TerminalMessage> = self.tick(now).into_iter().collect();
        self.parser.screen_mut().set_size(rows, cols);
        self.seq += 1;
        messages.push(TerminalMessage::Resized {
            id: self.id,
            seq: self.seq,
            cols,
            rows,
        });
        messages
    }

    /// The `Snapshot` pieces for a watcher: the last `scrollback` lines before the screen
    /// (as plain text), then the screen as it is, with colors and input modes. Output not
    /// sent yet is sent first, so the snapshot is exactly what `seq` includes.
    pub fn snapshot(&mut self, now: Instant) -> (Option<TerminalMessage>, Vec<TerminalMessage>) {
        let before = self.tick(now);
        let bytes = snapshot_bytes(&mut self.parser, self.scrollback);
        let (cols, rows) = self.size();
        let pieces: Vec<&[u8]> = if bytes.is_empty() {
            vec![&[]]
        } else {
            bytes.chunks(SNAPSHOT_PIECE).collect()
        };
        let count = pieces.len();
        let snapshot = pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| TerminalMessage::Snapshot {
                id: self.id,
                seq: self.seq,
                cols,
                rows,
                last: i + 1 == count,
                bytes: piece.to_vec(),
            })
            .collect();
        (before, snapshot)
    }
}

/// Bytes that recreate `parser`'s screen in a fresh emulator of the same size, with the
/// last `limit` lines of its scrollback (plain text: vt100 formats only what is in view,
/// with absolute moves that do not replay as history). A full-screen program's screen
/// comes without history: vt100 keeps none for the alternate screen.
pub fn snapshot_bytes(parser: &mut vt100::Parser, limit: usize) -> Vec<u8> {
    let screen = parser.screen_mut();
    if screen.alternate_screen() {
        let mut bytes = b"\x1b[?1049h".to_vec();
        bytes.extend(screen.state_formatted());
        return bytes;
    }
    let (rows, cols) = screen.size();
    let kept = screen.scrollback();
    screen.set_scrollback(usize::MAX);
    let lines = screen.scrollback().min(limit);
    let mut bytes = Vec::new();
    for back in (1..=lines).rev() {
        screen.set_scrollback(back);
        if let Some(line) = screen.rows(0, cols).next() {
            bytes.extend_from_slice(line.as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
    }
    screen.set_scrollback(0);
    if lines > 0 {
        // Push every line written into the viewer's scrollback, leaving the screen to
        // the redraw below.
        for _ in 1..rows {
            bytes.extend_from_slice(b"\r\n");
        }
    }
    bytes.extend(screen.state_formatted());
    screen.set_scrollback(kept);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(count: usize) -> Vec<u8> {
        (1..=count)
            .map(|n| format!("line {n}\r\n"))
            .collect::<String>()
            .into_bytes()
    }

    /// A late watcher's emulator, fed the snapshot, shows the same screen, and its
    /// scrollback holds exactly the last `limit` lines before it, not the whole history.
    #[test]
    fn a_snapshot_recreates_the_screen_and_bounded_scrollback() {
        let mut host = vt100::Parser::new(24, 80, 5000);
        host.process(&numbered(3000));
        host.process(b"\x1b[31mRED\x1b[0m $ ");
        let bytes = snapshot_bytes(&mut host, 2000);
        let mut viewer = vt100::Parser::new(24, 80, 2000);
        viewer.process(&bytes);
        assert_eq!(viewer.screen().contents(), host.screen().contents());
        assert_eq!(
            viewer.screen().cursor_position(),
            host.screen().cursor_position()
        );
        let red = viewer.screen().cell(23, 0).unwrap();
        assert_eq!(red.fgcolor(), vt100::Color::Idx(1), "colors come along");
        viewer.screen_mut().set_scrollback(usize::MAX);
        assert_eq!(viewer.screen().scrollback(), 2000);
        let top = viewer.screen().rows(0, 80).next().unwrap();
        // The screen shows lines 2978..=3000 and the prompt; 2,000 lines before it.
        assert_eq!(top.trim_end(), "line 978");
    }

    #[test]
    fn a_short_history_and_a_full_screen_program_snapshot_too() {
        let mut host = vt100::Parser::new(10, 40, 100);
        host.process(b"hello\r\n$ ");
        let mut viewer = vt100::Parser::new(10, 40, 100);
        viewer.process(&snapshot_bytes(&mut host, 100));
        assert_eq!(viewer.screen().contents(), host.screen().contents());

        host.process(b"\x1b[?1049h\x1b[HVIM SCREEN");
        let mut viewer = vt100::Parser::new(10, 40, 100);
        viewer.process(&snapshot_bytes(&mut host, 100));
        assert!(viewer.screen().alternate_screen());
        assert_eq!(viewer.screen().contents(), host.screen().contents());
    }

    /// Ordinary output goes out raw; a flood sends redraws at most every 100 ms instead,
    /// and ends with the final screen, which a viewer fed only those frames shows.
    #[test]
    fn a_flood_becomes_bounded_redraws_that_end_on_the_final_screen() {
        let start = Instant::now();
        let mut screen = HostScreen::new(1, 80, 24, 100);
        let mut viewer = vt100::Parser::new(24, 80, 100);
        let mut apply = |message: &TerminalMessage| match message {
            TerminalMessage::Output { bytes, .. } => viewer.process(bytes),
            TerminalMessage::Resync { state, .. } => viewer.process(state),
            other => panic!("{other:?}"),
        };
        screen.feed(b"$ ls\r\n");
        let first = screen.tick(start).unwrap();
        assert!(matches!(first, TerminalMessage::Output { seq: 1, .. }));
        apply(&first);
        assert!(screen.tick(start).is_none(), "nothing new, nothing sent");

        let mut frames = 0;
        let mut wire_bytes = 0;
        // Two seconds of 1 MiB per tick.
        for tick in 1..=125u32 {
            let now = start + Duration::from_millis(16) * tick;
            for n in 0..1024 {
                screen.feed(format!("{tick:05} {n:0>1016}\r\n").as_bytes());
            }
            if let Some(message) = screen.tick(now) {
                assert!(matches!(message, TerminalMessage::Resync { .. }));
                wire_bytes += postcard::to_allocvec(&message).unwrap().len();
                frames += 1;
                apply(&message);
            }
        }
        assert!((15..=22).contains(&frames), "{frames} redraws in 2 s");
        assert!(wire_bytes < 200 * 1024, "{wire_bytes} bytes on the wire");
        let last = screen
            .tick(start + Duration::from_secs(3))
            .expect("the flood ends with the final screen");
        assert!(matches!(last, TerminalMessage::Resync { .. }));
        apply(&last);
        assert_eq!(viewer.screen().contents(), screen.screen().contents());
        screen.feed(b"$ ");
        assert!(matches!(
            screen.tick(start + Duration::from_secs(4)),
            Some(TerminalMessage::Output { .. })
        ));
    }
}
