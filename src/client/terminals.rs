//! The shared terminals as a participant knows them: which exist, who may type, and for
//! each one we watch, an emulator fed the host's snapshot and then its output in order.
//! No terminal UI here: the TUI draws `TerminalView::emulator`'s screen, the headless
//! `term` command prints it.

use std::collections::BTreeMap;

use crate::protocol::ParticipantId;
use crate::protocol::message::{MAX_TERMINAL_INPUT, TerminalId, TerminalMessage};

/// Lines of history a viewer's emulator keeps (the host sends at most its own setting).
pub const VIEWER_SCROLLBACK: usize = 2000;
/// Output kept while a snapshot is still arriving; past it we ask again.
const BUFFERED_MOST: usize = 1024 * 1024;

/// One shared terminal.
pub struct TerminalView {
    pub id: TerminalId,
    pub name: String,
    /// The PTY's size: the host user's pane decides it.
    pub cols: u16,
    pub rows: u16,
    /// Who typed last.
    pub typing: Option<ParticipantId>,
    /// The program ended, with this exit code if it had one.
    pub exited: Option<Option<i32>>,
    /// Present once we watch it; `None` while its snapshot is on the way.
    pub emulator: Option<vt100::Parser>,
    watching: bool,
    seq: u64,
    /// Snapshot pieces so far, and live output that came meanwhile.
    loading: Option<Loading>,
}

#[derive(Default)]
struct Loading {
    snapshot: Vec<u8>,
    buffered: Vec<TerminalMessage>,
    buffered_bytes: usize,
}

impl TerminalView {
    pub fn watching(&self) -> bool {
        self.watching
    }
}

/// What the terminals need sent after taking in a message.
pub type Outgoing = Vec<TerminalMessage>;

#[derive(Default)]
pub struct ClientTerminals {
    pub list: BTreeMap<TerminalId, TerminalView>,
    /// Who the host lets type (its own user always may).
    pub writers: Vec<ParticipantId>,
}

impl ClientTerminals {
    /// Starts watching `id`: the host answers with a snapshot, then output follows.
    pub fn watch(&mut self, id: TerminalId) -> Outgoing {
        let Some(view) = self.list.get_mut(&id) else {
            return Vec::new();
        };
        view.watching = true;
        view.loading = Some(Loading::default());
        vec![TerminalMessage::Watch { id }]
    }

    /// Every terminal we watch, asked for again (after a reconnect).
    pub fn rewatch(&mut self) -> Outgoing {
        let watched: Vec<TerminalId> = self
            .list
            .values()
            .filter(|view| view.watching && view.exited.is_none())
            .map(|view| view.id)
            .collect();
        watched.into_iter().flat_map(|id| self.watch(id)).collect()
    }

    /// Keystrokes for `id`, in frames of at most `MAX_TERMINAL_INPUT` bytes.
    pub fn input(id: TerminalId, bytes: &[u8]) -> Outgoing {
        bytes
            .chunks(MAX_TERMINAL_INPUT)
            .map(|chunk| TerminalMessage::Input {
                id,
                bytes: chunk.to_vec(),
            })
            .collect()
    }

    /// Takes in a message from the host; returns what to send back (a new `Watch` when
    /// output was missed).
    pub fn on_message(&mut self, message: TerminalMessage) -> Outgoing {
        match message {
            TerminalMessage::Opened {
                id,
                name,
                cols,
                rows,
            } => {
                let view = self.list.entry(id).or_insert_with(|| TerminalView {
                    id,
                    name: String::new(),
                    cols,
                    rows,
                    typing: None,
                    exited: None,
                    emulator: None,
                    watching: false,
                    seq: 0,
                    loading: None,
                });
                view.name = name;
                Vec::new()
            }
            TerminalMessage::Grants { writers } => {
                self.writers = writers;
                Vec::new()
            }
            TerminalMessage::Typing { id, by } => {
                if let Some(view) = self.list.get_mut(&id) {
                    view.typing = Some(by);
                }
                Vec::new()
            }
            TerminalMessage::Closed { id, exit_code } => {
                if let Some(view) = self.list.get_mut(&id) {
                    view.exited = Some(exit_code);
                    view.loading = None;
                }
                Vec::new()
            }
            TerminalMessage::Snapshot {
                id,
                seq,
                cols,
                rows,
                last,
                bytes,
            } => self.on_snapshot(id, seq, cols, rows, last, bytes),
            TerminalMessage::Output { id, .. }
            | TerminalMessage::Resync { id, .. }
            | TerminalMessage::Resized { id, .. }
            | TerminalMessage::CatchUp { id, .. } => self.on_live(id, message),
            // Refusals are the session's to tell; the rest only members send.
            TerminalMessage::InputRefused { .. }
            | TerminalMessage::Watch { .. }
            | TerminalMessage::Seen { .. }
            | TerminalMessage::Input { .. }
            | TerminalMessage::Open { .. }
            | TerminalMessage::Resize { .. }
            | TerminalMessage::Close { .. } => Vec::new(),
        }
    }

    fn on_snapshot(
        &mut self,
        id: TerminalId,
        seq: u64,
        cols: u16,
        rows: u16,
        last: bool,
        bytes: Vec<u8>,
    ) -> Outgoing {
        let Some(view) = self.list.get_mut(&id) else {
            return Vec::new();
        };
        let Some(loading) = view.loading.as_mut() else {
            return Vec::new();
        };
        loading.snapshot.extend_from_slice(&bytes);
        if !last {
            return Vec::new();
        }
        let loading = view.loading.take().unwrap_or_default();
        let mut parser = vt100::Parser::new(rows.max(1), cols.max(1), VIEWER_SCROLLBACK);
        parser.process(&loading.snapshot);
        view.emulator = Some(parser);
        view.cols = cols;
        view.rows = rows;
        view.seq = seq;
        let mut outgoing = vec![TerminalMessage::Seen { id, seq }];
        for message in loading.buffered {
            outgoing.extend(self.on_live(id, message));
        }
        outgoing
    }

    fn on_live(&mut self, id: TerminalId, message: TerminalMessage) -> Outgoing {
        let Some(view) = self.list.get_mut(&id).filter(|view| view.watching) else {
            return Vec::new();
        };
        if let Some(loading) = view.loading.as_mut() {
            loading.buffered_bytes += message.screen_bytes();
            loading.buffered.push(message);
            if loading.buffered_bytes > BUFFERED_MOST {
                return self.watch(id);
            }
            return Vec::new();
        }
        let Some(seq) = message.seq() else {
            return Vec::new();
        };
        if seq <= view.seq {
            return Vec::new();
        }
        // A catch-up is the whole screen at its seq: it closes the gap it was sent for.
        let catch_up = matches!(message, TerminalMessage::CatchUp { .. });
        if seq != view.seq + 1 && !catch_up {
            // Output went missing: start again from a snapshot.
            return self.watch(id);
        }
        view.seq = seq;
        let Some(parser) = view.emulator.as_mut() else {
            return Vec::new();
        };
        match message {
            TerminalMessage::Output { bytes, .. } => parser.process(&bytes),
            TerminalMessage::Resync { state, .. } => parser.process(&state),
            TerminalMessage::Resized { cols, rows, .. } => {
                parser.screen_mut().set_size(rows.max(1), cols.max(1));
                view.cols = cols;
                view.rows = rows;
            }
            TerminalMessage::CatchUp {
                cols, rows, state, ..
            } => {
                parser.screen_mut().set_size(rows.max(1), cols.max(1));
                parser.process(&state);
                view.cols = cols;
                view.rows = rows;
            }
            _ => {}
        }
        // The host sends us more only as we say what we applied.
        vec![TerminalMessage::Seen { id, seq }]
    }
}

impl crate::client::Participant {
    /// Starts watching shared terminal `id` (its screen comes, then its output).
    pub async fn watch_terminal(&mut self, id: TerminalId) {
        self.session.watch_terminal(id);
        self.driver.flush(&mut self.session).await;
    }

    /// Types `bytes` into terminal `id`: refused here if the host has not let us type.
    pub async fn type_in_terminal(&mut self, id: TerminalId, bytes: &[u8]) -> Result<(), String> {
        self.session.terminal_input(id, bytes)?;
        self.driver.flush(&mut self.session).await;
        Ok(())
    }

    /// The id of the shared terminal called `name` (any: the first open), once the host
    /// has said it is open (right after the welcome for those open then); waits up to
    /// `HOST_TIMEOUT`.
    pub async fn find_terminal(
        &mut self,
        name: Option<&str>,
    ) -> Result<TerminalId, crate::client::ClientError> {
        let deadline = tokio::time::Instant::now() + crate::client::HOST_TIMEOUT;
        loop {
            let found =
                self.session.terminals.list.values().find(|view| {
                    view.exited.is_none() && name.is_none_or(|name| view.name == name)
                });
            if let Some(view) = found {
                return Ok(view.id);
            }
            self.next_terminal_event(deadline).await?;
        }
    }

    /// Waits for the next change to any terminal (output, a grant, the end); a
    /// `HostTimeout` after `HOST_TIMEOUT` of quiet is no error for a watcher.
    pub async fn next_terminal_change(&mut self) -> Result<(), crate::client::ClientError> {
        let deadline = tokio::time::Instant::now() + crate::client::HOST_TIMEOUT;
        self.next_terminal_event(deadline).await
    }

    async fn next_terminal_event(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Result<(), crate::client::ClientError> {
        let wanted = |event: &crate::client::session::SessionEvent| {
            matches!(event, crate::client::session::SessionEvent::Terminal { .. })
        };
        tokio::time::timeout_at(deadline, self.next_event(wanted))
            .await
            .map_err(|_| crate::client::ClientError::HostTimeout)??;
        Ok(())
    }

    /// Waits (up to `HOST_TIMEOUT`) until terminal `id`'s screen, as text, satisfies
    /// `ready`, and returns it; the terminals' state is kept current meanwhile.
    pub async fn terminal_screen(
        &mut self,
        id: TerminalId,
        ready: impl Fn(&str) -> bool,
    ) -> Result<String, crate::client::ClientError> {
        let deadline = tokio::time::Instant::now() + crate::client::HOST_TIMEOUT;
        loop {
            let contents = self
                .session
                .terminals
                .list
                .get(&id)
                .and_then(|view| view.emulator.as_ref())
                .map(|parser| parser.screen().contents());
            if let Some(contents) = contents.filter(|contents| ready(contents)) {
                return Ok(contents);
            }
            self.next_terminal_event(deadline).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(terminals: &mut ClientTerminals) {
        terminals.on_message(TerminalMessage::Opened {
            id: 1,
            name: "build".into(),
            cols: 20,
            rows: 4,
        });
    }

    fn output(seq: u64, bytes: &[u8]) -> TerminalMessage {
        TerminalMessage::Output {
            id: 1,
            seq,
            bytes: bytes.to_vec(),
        }
    }

    /// Output that came while the snapshot was arriving applies after it, without what
    /// the snapshot already had; a gap asks for a new snapshot.
    #[test]
    fn the_snapshot_then_output_in_order_and_a_gap_asks_again() {
        let mut terminals = ClientTerminals::default();
        opened(&mut terminals);
        assert_eq!(terminals.watch(1), vec![TerminalMessage::Watch { id: 1 }]);
        assert!(terminals.on_message(output(3, b"old")).is_empty());
        assert!(terminals.on_message(output(4, b" new")).is_empty());
        let snapshot = TerminalMessage::Snapshot {
            id: 1,
            seq: 3,
            cols: 20,
            rows: 4,
            last: true,
            bytes: b"$ old".to_vec(),
        };
        let seen = |seq| TerminalMessage::Seen { id: 1, seq };
        assert_eq!(terminals.on_message(snapshot), vec![seen(3), seen(4)]);
        let screen = terminals.list[&1].emulator.as_ref().unwrap().screen();
        assert_eq!(screen.contents().trim_end(), "$ old new");
        assert_eq!(terminals.on_message(output(5, b"!")), vec![seen(5)]);
        assert_eq!(
            terminals.on_message(output(7, b"lost one")),
            vec![TerminalMessage::Watch { id: 1 }]
        );
    }

    /// A watcher whose link fell behind missed frames; the host's catch-up is the screen at
    /// its seq and the frames after it follow on from there.
    #[test]
    fn a_catch_up_replaces_the_screen_and_the_frames_follow_on_from_it() {
        let mut terminals = ClientTerminals::default();
        opened(&mut terminals);
        terminals.watch(1);
        let snapshot = TerminalMessage::Snapshot {
            id: 1,
            seq: 2,
            cols: 20,
            rows: 4,
            last: true,
            bytes: b"$ ".to_vec(),
        };
        terminals.on_message(snapshot);
        let catch_up = TerminalMessage::CatchUp {
            id: 1,
            seq: 40,
            cols: 30,
            rows: 5,
            state: b"\x1b[H\x1b[Jline 39\r\n$ ".to_vec(),
        };
        assert_eq!(
            terminals.on_message(catch_up),
            vec![TerminalMessage::Seen { id: 1, seq: 40 }]
        );
        assert_eq!(
            terminals.on_message(output(41, b"ls")),
            vec![TerminalMessage::Seen { id: 1, seq: 41 }]
        );
        let view = &terminals.list[&1];
        assert_eq!((view.cols, view.rows), (30, 5));
        let screen = view.emulator.as_ref().unwrap().screen();
        assert_eq!(screen.size(), (5, 30));
        assert_eq!(screen.contents().trim_end(), "line 39\n$ ls");
    }

    #[test]
    fn large_input_goes_in_bounded_frames() {
        let frames = ClientTerminals::input(1, &vec![b'x'; MAX_TERMINAL_INPUT * 2 + 1]);
        assert_eq!(frames.len(), 3);
    }
}
