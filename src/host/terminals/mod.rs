//! Shared terminals: programs the host runs in a PTY in the shared folder, watched by
//! everyone and typed into by the host's own user and whoever it lets.
//!
//! Each terminal is a thread of its own (with its own small runtime, at a lower priority
//! than the session's) that owns the PTY, the child and the authoritative emulator
//! (`screen::HostScreen`); it reads the program's output continuously and sends at most one
//! frame per 16 ms tick (raw output, or during a flood a redraw of the current screen), and
//! none while the session's outgoing queue is behind; a task on the session's runtime
//! seals and sends them (`forward_to`), so no lock an edit needs is held by the terminal's
//! lower-priority thread. The program runs nicer than the host too, in a scheduling group
//! of its own that is nicer as well (`host::priority`): a flood competes with the session
//! for the CPU as a lesser party, not as an equal. The session keeps `Terminals`:
//! which terminals exist, who may type (by participant: a grant ends with the member),
//! and refuses keystrokes from anyone else here, at the host, whatever their UI shows.

pub mod screen;
mod watchers;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::channel::ChannelSender;
use crate::protocol::header::Route;
use crate::protocol::message::{MAX_TERMINAL_INPUT, Message, TerminalId, TerminalMessage};
use crate::protocol::{HOST_ID, ParticipantId};
use screen::HostScreen;
use watchers::Watchers;

/// How often a terminal sends what its program wrote (at most ~60 frames a second).
const TICK: Duration = Duration::from_millis(16);
/// Past this many bytes waiting in the session's outgoing queue, terminals send nothing
/// (about 1 s of a 2 Mbit/s link: an edit never waits behind more terminal output).
const BACKLOG_MOST: usize = 256 * 1024;
/// A flood is parsed for at most this long per 16 ms tick: the rest of the CPU is left to
/// the session (a flooding program waits for room in the PTY meanwhile).
const PARSE_PER_TICK: Duration = Duration::from_millis(8);
/// How long the parser runs before it gives its CPU back. The kernel lets a thread that
/// never blocks go on until its next tick (4 ms at the common `HZ=250`) when the thread
/// woken beside it is not yet due its share (EEVDF): an edit's thread sometimes waited
/// ~4 ms behind a flood's parsing; now about this long at most.
const YIELD_EVERY: Duration = Duration::from_micros(250);
/// How much nicer than the host the programs in shared terminals run, unless set.
pub const PROGRAMS_NICER: i32 = 10;
/// A person is told their keystrokes were refused at most this often.
const REFUSAL_EVERY: Duration = Duration::from_secs(1);

/// What every shared terminal of a session starts with.
#[derive(Clone, Debug)]
pub struct TerminalOptions {
    /// Columns and rows of a terminal until the host user's pane sizes it.
    pub cols: u16,
    pub rows: u16,
    /// Lines of history a late watcher gets.
    pub scrollback: usize,
    /// How much nicer than the host its programs run (0 to 19; `host::priority`).
    pub programs_nicer: i32,
}

impl Default for TerminalOptions {
    fn default() -> Self {
        TerminalOptions {
            cols: 120,
            rows: 32,
            scrollback: 2000,
            programs_nicer: PROGRAMS_NICER,
        }
    }
}

/// What the session tells a terminal's task.
enum Command {
    Input(Vec<u8>),
    Resize {
        cols: u16,
        rows: u16,
    },
    Watch {
        by: ParticipantId,
    },
    /// A watcher applied the frames up to `seq`.
    Seen {
        by: ParticipantId,
        seq: u64,
    },
    /// A member left: it watches nothing any more.
    Forget {
        participant: ParticipantId,
    },
    Close,
}

struct Running {
    name: String,
    cols: u16,
    rows: u16,
    commands: mpsc::Sender<Command>,
}

/// The session's shared terminals and who may type in them.
pub struct Terminals {
    running: BTreeMap<TerminalId, Running>,
    next_id: TerminalId,
    writers: BTreeSet<ParticipantId>,
    options: TerminalOptions,
    refused: HashMap<ParticipantId, Instant>,
    last_typist: HashMap<TerminalId, ParticipantId>,
}

/// Why a terminal could not be started.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot start a terminal: {0}")]
    Pty(#[from] pty_process::Error),
    #[error("cannot start a terminal's thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl Terminals {
    pub fn new(options: TerminalOptions) -> Self {
        Terminals {
            running: BTreeMap::new(),
            next_id: 1,
            writers: BTreeSet::new(),
            options,
            refused: HashMap::new(),
            last_typist: HashMap::new(),
        }
    }

    /// What terminals opened from now on start with (those running keep theirs).
    pub fn set_options(&mut self, options: TerminalOptions) {
        self.options = options;
    }

    /// Starts `command` (by `sh -c`; `None`: the user's `$SHELL`) in `root` and tells
    /// everyone. The terminal's task sends its output through `sender` from now on.
    pub async fn open(
        &mut self,
        name: Option<String>,
        command: Option<String>,
        root: &Path,
        sender: &ChannelSender,
    ) -> Result<TerminalId, OpenError> {
        let id = self.next_id;
        self.next_id += 1;
        let name = name
            .map(|name| name.chars().filter(|c| !c.is_control()).take(32).collect())
            .filter(|name: &String| !name.trim().is_empty())
            .unwrap_or_else(|| format!("term{id}"));
        let TerminalOptions {
            cols,
            rows,
            scrollback,
            programs_nicer,
        } = self.options;
        let (commands, receiver) = mpsc::channel(256);
        let (started, ready) = tokio::sync::oneshot::channel();
        let thread = Thread {
            screen: HostScreen::new(id, cols, rows, scrollback),
            name: name.clone(),
            command,
            programs_nicer,
            root: root.to_path_buf(),
            commands: receiver,
            outbox: forward_to(sender.clone()),
            sender: sender.clone(),
        };
        std::thread::Builder::new()
            .name(format!("terminal {id}"))
            .spawn(move || thread.run(started))?;
        ready.await.map_err(|_| {
            std::io::Error::other("the terminal's thread ended before it started")
        })??;
        let opened = TerminalMessage::Opened {
            id,
            name: name.clone(),
            cols,
            rows,
        };
        let _ = sender
            .send(Route::Everyone, &Message::Terminal(opened))
            .await;
        tracing::info!(terminal = id, "opened shared terminal {name}");
        self.running.insert(
            id,
            Running {
                name,
                cols,
                rows,
                commands,
            },
        );
        Ok(id)
    }

    /// What a joiner is told right after its welcome: each terminal, and who may type.
    pub fn announcements(&mut self) -> Vec<TerminalMessage> {
        self.running
            .retain(|_, running| !running.commands.is_closed());
        let mut messages = Vec::new();
        for (&id, running) in &self.running {
            messages.push(TerminalMessage::Opened {
                id,
                name: running.name.clone(),
                cols: running.cols,
                rows: running.rows,
            });
            if let Some(&by) = self.last_typist.get(&id) {
                messages.push(TerminalMessage::Typing { id, by });
            }
        }
        messages.push(self.grants());
        messages
    }

    fn grants(&self) -> TerminalMessage {
        TerminalMessage::Grants {
            writers: self.writers.iter().copied().collect(),
        }
    }

    /// Lets `participant` type in terminals, or stops it; the new list for everyone.
    pub fn set_writer(&mut self, participant: ParticipantId, allowed: bool) -> TerminalMessage {
        if allowed {
            self.writers.insert(participant);
        } else {
            self.writers.remove(&participant);
        }
        self.grants()
    }

    /// A member is gone (left or removed): its grant ends with it. The new list, if it
    /// had one.
    pub fn member_gone(&mut self, participant: ParticipantId) -> Option<TerminalMessage> {
        self.refused.remove(&participant);
        let ids: Vec<TerminalId> = self.running.keys().copied().collect();
        for id in ids {
            self.tell(id, Command::Forget { participant });
        }
        self.writers.remove(&participant).then(|| self.grants())
    }

    pub fn may_type(&self, participant: ParticipantId, owner: Option<ParticipantId>) -> bool {
        participant == HOST_ID || Some(participant) == owner || self.writers.contains(&participant)
    }

    /// A terminal message from `from` (admitted), with the host's own user being
    /// `owner`. Returns what to send to whom in answer.
    pub async fn on_message(
        &mut self,
        from: ParticipantId,
        owner: Option<ParticipantId>,
        message: TerminalMessage,
        root: &Path,
        sender: &ChannelSender,
    ) -> Vec<(Route, TerminalMessage)> {
        let is_owner = from == HOST_ID || Some(from) == owner;
        match message {
            TerminalMessage::Watch { id } => {
                self.tell(id, Command::Watch { by: from });
                Vec::new()
            }
            TerminalMessage::Seen { id, seq } => {
                self.tell(id, Command::Seen { by: from, seq });
                Vec::new()
            }
            TerminalMessage::Input { id, bytes } => self.input(from, owner, id, bytes),
            TerminalMessage::Open { name, command } if is_owner => {
                if let Err(error) = self.open(Some(name), command, root, sender).await {
                    tracing::warn!("{error}");
                }
                Vec::new()
            }
            TerminalMessage::Resize { id, cols, rows } if is_owner => {
                let (cols, rows) = (cols.clamp(2, 1000), rows.clamp(2, 500));
                if let Some(running) = self.running.get_mut(&id) {
                    running.cols = cols;
                    running.rows = rows;
                }
                self.tell(id, Command::Resize { cols, rows });
                Vec::new()
            }
            TerminalMessage::Close { id } if is_owner => {
                let _ = self.close(id);
                Vec::new()
            }
            other => {
                tracing::warn!(
                    participant = from,
                    "ignored a terminal message this member may not send: {other:?}"
                );
                Vec::new()
            }
        }
    }

    /// Keystrokes from `from`: passed on only if it may type, else refused (told at most
    /// once a second).
    pub fn input(
        &mut self,
        from: ParticipantId,
        owner: Option<ParticipantId>,
        id: TerminalId,
        bytes: Vec<u8>,
    ) -> Vec<(Route, TerminalMessage)> {
        if !self.running.contains_key(&id) {
            return Vec::new();
        }
        if !self.may_type(from, owner) || bytes.len() > MAX_TERMINAL_INPUT {
            tracing::warn!(
                participant = from,
                terminal = id,
                "refused keystrokes from a member the host has not let type"
            );
            let now = Instant::now();
            let recently = self
                .refused
                .get(&from)
                .is_some_and(|at| now.duration_since(*at) < REFUSAL_EVERY);
            if recently {
                return Vec::new();
            }
            self.refused.insert(from, now);
            let reason = if bytes.len() > MAX_TERMINAL_INPUT {
                "too many keystrokes at once".to_owned()
            } else {
                "the host has not let you type in terminals".to_owned()
            };
            return vec![(
                Route::Participant(from),
                TerminalMessage::InputRefused { id, reason },
            )];
        }
        self.tell(id, Command::Input(bytes));
        if self.last_typist.insert(id, from) != Some(from) {
            return vec![(Route::Everyone, TerminalMessage::Typing { id, by: from })];
        }
        Vec::new()
    }

    /// Ends a terminal's program (its task says `Closed` to everyone). Its name, or
    /// `None` when no terminal `id` runs.
    pub fn close(&mut self, id: TerminalId) -> Option<String> {
        let running = self
            .running
            .get(&id)
            .filter(|running| !running.commands.is_closed())?;
        // Waits for room rather than being dropped behind a burst of keystrokes.
        let commands = running.commands.clone();
        tokio::spawn(async move {
            let _ = commands.send(Command::Close).await;
        });
        Some(running.name.clone())
    }

    fn tell(&mut self, id: TerminalId, command: Command) {
        let Some(running) = self.running.get(&id) else {
            return;
        };
        if running.commands.try_send(command).is_err() && running.commands.is_closed() {
            self.running.remove(&id);
        }
    }
}

/// A program running in a PTY.
struct Pty {
    pty: pty_process::Pty,
    child: tokio::process::Child,
}

fn spawn(
    name: &str,
    command: Option<&str>,
    root: &Path,
    (cols, rows): (u16, u16),
    nicer: i32,
) -> Result<Pty, pty_process::Error> {
    let (pty, pts) = pty_process::open()?;
    pty.resize(pty_process::Size::new(rows, cols))?;
    let shell = std::env::var_os("SHELL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/bin/sh"));
    let program = match command {
        Some(command) => pty_process::Command::new("/bin/sh").arg("-c").arg(command),
        None => pty_process::Command::new(shell),
    };
    let program = program
        .current_dir(root)
        .env("TERM", "xterm-256color")
        .env("COLORTERM", "truecolor")
        .env("COTYPE_TERMINAL", name)
        .kill_on_drop(true);
    // SAFETY: the closure makes only async-signal-safe system calls.
    let program = unsafe {
        program.pre_exec(move || {
            crate::host::priority::nicer_before_exec(nicer);
            Ok(())
        })
    };
    let child = program.spawn(pts)?;
    // Its session, and so its scheduling group, is its own by now (spawn returns once
    // it ran exec).
    if let Some(pid) = child.id().filter(|_| nicer > 0) {
        tokio::spawn(crate::host::priority::nicer_group(pid, nicer));
    }
    Ok(Pty { pty, child })
}

/// What a terminal's own thread needs to start its program and serve it.
struct Thread {
    screen: HostScreen,
    name: String,
    command: Option<String>,
    /// How much nicer than the host its program runs.
    programs_nicer: i32,
    root: PathBuf,
    commands: mpsc::Receiver<Command>,
    /// Where its messages go to be sealed and sent (`forward_to`).
    outbox: Outbox,
    /// Only to see how much waits for the socket.
    sender: ChannelSender,
}

/// A terminal's messages on their way to the session's runtime.
type Outbox = mpsc::Sender<(Route, TerminalMessage)>;

/// How many of a terminal's messages may wait to be sealed (a flood sends a few a second).
const OUTBOX_MESSAGES: usize = 8;

/// A task on the session's runtime that seals and sends what a terminal's thread hands
/// it. Sealing takes the channel's locks (the frame counter's order, the signer), which
/// the session takes for every acknowledgement and broadcast: held by the terminal's
/// lower-priority thread, a lock could keep an edit waiting for as long as the kernel
/// kept that thread off the CPU. Now only threads of the session's priority take them.
fn forward_to(sender: ChannelSender) -> Outbox {
    let (outbox, mut messages) = mpsc::channel::<(Route, TerminalMessage)>(OUTBOX_MESSAGES);
    tokio::spawn(async move {
        while let Some((route, message)) = messages.recv().await {
            if sender
                .send(route, &Message::Terminal(message))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    outbox
}

impl Thread {
    /// Runs the terminal on this thread, with a runtime of its own: reading a flood and
    /// parsing it with vt100 is CPU work (about 10 ms per MB), which on the session's
    /// runtime held a worker for many milliseconds at a time and delayed the tasks queued
    /// behind it (edits among them, p99 13–17 ms instead of 0.7 ms during a 10 MB `cat`).
    /// Here the kernel shares the CPU between this thread and the session's, and the
    /// thread runs 10 nicer than them and gives its CPU back every `YIELD_EVERY`, so a
    /// flood takes mostly the CPU edits leave.
    fn run(self, started: tokio::sync::oneshot::Sender<Result<(), OpenError>>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = started.send(Err(error.into()));
                return;
            }
        };
        let Thread {
            screen,
            name,
            command,
            programs_nicer,
            root,
            commands,
            outbox,
            sender,
        } = self;
        runtime.block_on(async move {
            let (cols, rows) = screen.size();
            // The program starts before the thread lowers its priority (a child inherits
            // it): the program's own is the host's plus `programs_nicer`, no more.
            let pty = match spawn(
                &name,
                command.as_deref(),
                &root,
                (cols, rows),
                programs_nicer,
            ) {
                Ok(pty) => pty,
                Err(error) => {
                    let _ = started.send(Err(error.into()));
                    return;
                }
            };
            crate::host::priority::nicer(10);
            let _ = started.send(Ok(()));
            serve(screen, pty, commands, outbox, sender).await;
        });
    }
}

/// One terminal's task: reads the program, ticks output out, carries out commands, and
/// says `Closed` when the program ends (or is ended).
async fn serve(
    mut screen: HostScreen,
    pty: Pty,
    mut commands: mpsc::Receiver<Command>,
    outbox: Outbox,
    sender: ChannelSender,
) {
    let Pty { pty, mut child } = pty;
    let (mut reader, mut writer) = pty.into_split();
    let id = screen.id();
    let send = |message: TerminalMessage, route: Route| {
        let outbox = outbox.clone();
        async move {
            let _ = outbox.send((route, message)).await;
        }
    };
    // Output goes only to those who asked for the screen: a member who never opened the
    // terminal neither pays for its floods (relay, link, opening frames) nor sees them
    // arrive between its edits' acknowledgements. One frame each; a session has a few.
    // A watcher whose link is behind gets nothing until it caught up (`watchers`).
    let mut watchers = Watchers::default();
    let to_watchers = |message: TerminalMessage, watchers: &mut Watchers| {
        let outbox = outbox.clone();
        let recipients = watchers.recipients(&message);
        async move {
            for watcher in recipients {
                let _ = outbox
                    .send((Route::Participant(watcher), message.clone()))
                    .await;
            }
        }
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buffer = vec![0u8; 64 * 1024];
    // Until someone watches, output stays in the emulator (a watcher's snapshot has it).
    let mut reading = true;
    // Time spent parsing since the last tick: past PARSE_PER_TICK the thread waits for the
    // next tick, and the program for room in the PTY.
    let mut parsing = Duration::ZERO;
    // When the thread last gave its CPU back (a read that has to wait does too, but a
    // flood's reads never wait).
    let mut ran_since = Instant::now();
    let exit_code = loop {
        tokio::select! {
            read = reader.read(&mut buffer), if reading && parsing < PARSE_PER_TICK => match read {
                Ok(0) | Err(_) => reading = false,
                Ok(n) => {
                    let started = Instant::now();
                    screen.feed(&buffer[..n]);
                    let now = Instant::now();
                    parsing += now.duration_since(started);
                    if now.duration_since(ran_since) >= YIELD_EVERY {
                        std::thread::yield_now();
                        ran_since = Instant::now();
                    }
                }
            },
            _ = tick.tick() => {
                parsing = Duration::ZERO;
                // Edits first: while the link is behind, output waits in the emulator
                // (a flood's redraw catches viewers up once it is not).
                if sender.queued_bytes() > BACKLOG_MOST {
                    continue;
                }
                let message = screen.tick(Instant::now()).filter(|_| !watchers.is_empty());
                // The screen now is the screen at this seq: right after a frame, or when
                // nothing waits to be sent.
                let at = message
                    .as_ref()
                    .and_then(TerminalMessage::seq)
                    .or_else(|| screen.settled().then(|| screen.seq()));
                if let Some(message) = message {
                    to_watchers(message, &mut watchers).await;
                }
                let now = Instant::now();
                let owed = watchers.owed_catch_up(now);
                if let Some(seq) = at.filter(|_| !owed.is_empty()) {
                    let catch_up = screen.catch_up(seq);
                    for watcher in owed {
                        watchers.caught_up(watcher, &catch_up, now);
                        send(catch_up.clone(), Route::Participant(watcher)).await;
                    }
                }
            }
            command = commands.recv() => match command {
                Some(Command::Input(bytes)) => {
                    let _ = writer.write_all(&bytes).await;
                }
                Some(Command::Resize { cols, rows }) => {
                    if screen.size() != (cols, rows) {
                        let _ = writer.resize(pty_process::Size::new(rows, cols));
                        for message in screen.resize(cols, rows, Instant::now()) {
                            to_watchers(message, &mut watchers).await;
                        }
                    }
                }
                Some(Command::Watch { by }) => {
                    let (before, snapshot) = screen.snapshot(Instant::now());
                    if let Some(message) = before {
                        to_watchers(message, &mut watchers).await;
                    }
                    watchers.add(by, &snapshot, Instant::now());
                    for piece in snapshot {
                        send(piece, Route::Participant(by)).await;
                    }
                }
                Some(Command::Seen { by, seq }) => watchers.seen(by, seq, Instant::now()),
                Some(Command::Forget { participant }) => watchers.remove(participant),
                Some(Command::Close) | None => {
                    let _ = child.start_kill();
                    break tokio::time::timeout(Duration::from_secs(2), child.wait())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .and_then(|status| status.code());
                }
            },
            status = child.wait() => {
                // What it wrote last is still in the PTY: read it before saying it ended.
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(50), reader.read(&mut buffer)).await
                {
                    if n == 0 {
                        break;
                    }
                    screen.feed(&buffer[..n]);
                }
                break status.ok().and_then(|status| status.code());
            }
        }
    };
    while let Some(message) = screen.tick(Instant::now() + Duration::from_secs(1)) {
        to_watchers(message, &mut watchers).await;
    }
    tracing::info!(terminal = id, "shared terminal ended ({exit_code:?})");
    send(TerminalMessage::Closed { id, exit_code }, Route::Everyone).await;
}
