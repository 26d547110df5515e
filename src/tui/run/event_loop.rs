//! The participant's event loop: one `select!` over terminal input, the connection, the
//! host's reports (host UI only) and timers; drawing when something visible changed.

use std::collections::{HashMap, HashSet};

use ratatui::crossterm::event::Event as TermEvent;
use tokio::time::Instant;

use super::host_side::{HostSide, next_host_event};
use super::screen::{Screen, TerminalInput};
use super::{IDLE_AFTER, RunError};
use crate::client::connection::Connection;

/// How long the file list may take (from asking, or from its last part) before it is
/// asked for again.
const FILES_ASK_AGAIN: std::time::Duration = std::time::Duration::from_secs(5);
use crate::client::ClientError;
use crate::client::driver::{Driver, DriverEvent, apply};
use crate::client::follow::{Follow, Wanted};
use crate::client::presence::OwnPresence;
use crate::client::session::Session;
use crate::latency::RoundTrip;
use crate::protocol::ParticipantId;
use crate::protocol::control::{FromRelay, ToRelay};
use crate::protocol::message::{Request, RequestId};
use crate::tui::app::App;
use crate::tui::compositor::{AppCommand, Event};
use crate::tui::editor::Selection;
use crate::tui::intel::IntelRequests;
use crate::tui::panel_requests::PanelRequests;
use crate::tui::status::{ConnectionState, Level};

/// The participant's editor at work: the UI, the session it shows, the connection, and
/// what is in flight between them.
pub(super) struct ParticipantLoop {
    pub(super) app: App,
    pub(super) session: Session,
    pub(super) connection: Connection,
    pub(super) presence: OwnPresence,
    /// The file-list request in flight, and when it was asked or last answered in part.
    pub(super) files_request: Option<RequestId>,
    pub(super) files_progress: Instant,
    pub(super) files: Vec<String>,
    /// Documents requested and not yet arrived, so following does not ask twice.
    pub(super) opening: HashSet<String>,
    pub(super) last_input: Instant,
    pub(super) edits_while_away: usize,
    pub(super) dirty: bool,
    pub(super) quit: bool,
    /// Quit was asked once while edits were unconfirmed; the next quit goes.
    pub(super) quit_armed: bool,
    /// The others' cursors in our text's coordinates: set from their presence, then
    /// carried through every edit (ours and theirs) until their next presence.
    pub(super) cursors: HashMap<ParticipantId, (String, Selection)>,
    /// Their other cursors (multiple cursors), in the same file as `cursors` says.
    pub(super) extra_cursors: HashMap<ParticipantId, Vec<Selection>>,
    /// Present when this is the host's own UI.
    pub(super) host: Option<HostSide>,
    /// Search and preview requests in flight for the search panel.
    pub(super) panels: PanelRequests,
    /// Hover, peek, definition and completion questions to the host.
    pub(super) intel: IntelRequests,
    /// Questions to the host about its git repository.
    pub(super) git: crate::tui::git::GitRequests,
    /// Our round trip to the host, measured with `Request::Ping`.
    pub(super) round_trip: RoundTrip,
    /// The session, for naming the folder of recovery copies.
    pub(super) session_id: crate::link::SessionId,
    /// Set once the session ended under us (the host gone for good, or it ended the
    /// session): where copies of our documents are kept from then on.
    pub(super) ended: Option<std::path::PathBuf>,
    /// `COTYPE_CRASH_KEY`: a key that makes the editor panic, so that what a crash does
    /// (the terminal restored, the host's session serving on) can be tried and tested.
    pub(super) crash_key: Option<crate::tui::keymap::Key>,
    /// Bytes for the terminal outside a frame (OSC 52 copies), written at the end of the
    /// turn that made them.
    pub(super) to_terminal: Vec<u8>,
    /// The shared terminal shown in place of the editor, if any.
    pub(super) terminal: crate::tui::terminal_pane::TerminalPane,
}

impl ParticipantLoop {
    pub(super) fn new(mut app: App, driver: Driver, session: Session, follow: Wanted) -> Self {
        *app.follow_mut() = Follow::new(follow);
        let session_id = driver.link().session;
        let terminal = crate::tui::terminal_pane::TerminalPane::new(app.keymap());
        Self {
            app,
            session,
            connection: Connection::new(driver),
            presence: OwnPresence::default(),
            files_request: None,
            files_progress: Instant::now(),
            files: Vec::new(),
            opening: HashSet::new(),
            last_input: Instant::now(),
            edits_while_away: 0,
            dirty: true,
            quit: false,
            quit_armed: false,
            cursors: HashMap::new(),
            extra_cursors: HashMap::new(),
            host: None,
            panels: PanelRequests::default(),
            intel: IntelRequests::default(),
            git: Default::default(),
            round_trip: RoundTrip::new(Instant::now().into_std()),
            session_id,
            ended: None,
            to_terminal: Vec::new(),
            terminal,
            crash_key: std::env::var("COTYPE_CRASH_KEY")
                .ok()
                .and_then(|key| crate::tui::keymap::Key::parse(&key).ok()),
        }
    }

    /// Runs until the user quits, the terminal is gone, or the session fails.
    pub(super) async fn run(
        &mut self,
        screen: &mut impl Screen,
        input: &mut impl TerminalInput,
    ) -> Result<(), RunError> {
        self.app.set_connection(ConnectionState::Connected);
        self.ask_for_files();
        self.git.ask_status(&mut self.session, false);
        self.refresh_people();
        self.try_follow().await;
        if let Some(name) = self.app.follow().waiting_for().map(str::to_owned) {
            self.app.message(
                Level::Info,
                format!("{name} is not in the session yet; you will follow them when they join"),
            );
        }
        self.connection.flush(&mut self.session).await;
        while !self.quit {
            if self.dirty {
                self.dirty = false;
                let (app, session, pane) = (&self.app, &self.session, &self.terminal);
                screen.draw(|frame| {
                    app.render(frame, session);
                    pane.render(frame, app.editor_area(), session, app.theme());
                })?;
            }
            let timer = self.next_timer();
            tokio::select! {
                event = input.next() => match event {
                    Some(Ok(event)) => self.terminal_event(event).await,
                    // The terminal is gone (hangup): nothing left to show anything on.
                    Some(Err(_)) | None => return Ok(()),
                },
                event = self.connection.next() => self.driver_event(event).await?,
                event = next_host_event(&mut self.host) => match event {
                    Ok(event) => self.host_event(event),
                    Err(error) => {
                        // The serving task is gone: nothing is shared any more.
                        self.host = None;
                        return Err(RunError::Host(error));
                    }
                },
                _ = sleep_until(timer) => self.timers(),
            }
            if let Some(command) = self.app.take_deferred() {
                self.command(command).await;
                self.dirty = true;
            }
            if !self.to_terminal.is_empty() {
                screen.write_raw(&std::mem::take(&mut self.to_terminal))?;
            }
            self.intel.send_ready(&mut self.session);
            self.connection.flush(&mut self.session).await;
        }
        Ok(())
    }

    /// Asks the host for the list of shared files (again: whatever came of an earlier
    /// request is dropped).
    pub(super) fn ask_for_files(&mut self) {
        self.files.clear();
        self.files_request = Some(self.session.request(Request::ListFiles));
        self.files_progress = Instant::now();
    }

    fn next_timer(&self) -> Option<Instant> {
        let idle = self
            .app
            .has_idle_work()
            .then_some(self.last_input + IDLE_AFTER);
        let tick = self.app.next_deadline().map(Instant::from_std);
        let presence = self.presence.deadline(&self.session);
        let intel = self.intel.deadline().map(Instant::from_std);
        let ping = self
            .connection
            .is_ready()
            .then(|| Instant::from_std(self.round_trip.due()));
        let files = self
            .files_request
            .is_some()
            .then_some(self.files_progress + FILES_ASK_AGAIN);
        [idle, tick, presence, intel, ping, files]
            .into_iter()
            .flatten()
            .min()
    }

    fn timers(&mut self) {
        let now = Instant::now();
        if self.app.has_idle_work() && now >= self.last_input + IDLE_AFTER {
            self.app.idle_work(&self.session);
            self.dirty = true;
        }
        if self.app.tick(now.into_std()) {
            self.dirty = true;
        }
        if let Some(AppCommand::Ask(ask)) = self.app.due_ask(now.into_std()) {
            self.intel.ask(ask, &mut self.session);
        }
        if let Some(ask) = self.app.due_inlay_ask(now.into_std()) {
            self.intel.ask(ask, &mut self.session);
        }
        if let Some(ask) = self.app.due_semantic_ask(now.into_std()) {
            self.intel.ask(ask, &mut self.session);
        }
        if let Some(AppCommand::Ask(ask)) = self.app.due_lightbulb(now.into_std(), &self.session) {
            self.intel.ask(ask, &mut self.session);
        }
        for late in self.intel.expired(now.into_std()) {
            self.app.message(Level::Warning, late);
            self.dirty = true;
        }
        // The file list (the picker's, the tree's) has made no progress in a while though
        // no reconnect was seen (those ask again above): ask again. A safety net, not the
        // mechanism; no lost request is known to reach it.
        if self.files_request.is_some()
            && self.connection.is_ready()
            && now >= self.files_progress + FILES_ASK_AGAIN
        {
            self.ask_for_files();
        }
        if self.connection.is_ready() && now.into_std() >= self.round_trip.due() {
            let id = self.session.request(Request::Ping);
            if self.round_trip.sent(id, now.into_std()) {
                self.presence.tell_everyone();
                self.refresh_people();
            }
        }
        self.send_presence(now);
    }

    async fn terminal_event(&mut self, event: TermEvent) {
        if let TermEvent::Key(key) = &event
            && self.crash_key.is_some()
            && crate::tui::keymap::Key::from_event(key) == self.crash_key
        {
            panic!("COTYPE_CRASH_KEY was pressed");
        }
        let event = match event {
            TermEvent::Key(key) => Event::Key(key),
            TermEvent::Paste(text) => Event::Paste(text),
            TermEvent::Mouse(mouse) => Event::Mouse(mouse),
            TermEvent::Resize(width, height) => Event::Resize(width, height),
            TermEvent::FocusGained | TermEvent::FocusLost => return,
        };
        self.last_input = Instant::now();
        self.dirty = true;
        if self.terminal_input(&event) {
            return;
        }
        let resized = matches!(event, Event::Resize(..));
        let commands = self.app.handle_event(&event, &self.session);
        if resized {
            self.terminal_sync();
        }
        // Keys typing `:q` on vim's command line keep a quit asked before armed.
        if matches!(event, Event::Key(_))
            && !commands.contains(&AppCommand::Quit)
            && !self.app.is_typing_command()
        {
            self.quit_armed = false;
        }
        for command in commands {
            self.command(command).await;
        }
        self.view_changed();
    }

    async fn driver_event(&mut self, event: DriverEvent) -> Result<(), RunError> {
        // Only what shows redraws: an acknowledgement or a relay notice changes nothing on
        // screen, and even an empty frame costs bytes on a slow link.
        self.dirty |= !matches!(
            event,
            DriverEvent::Message { .. } | DriverEvent::Relay(FromRelay::PeerJoined { .. })
        );
        match &event {
            DriverEvent::Disconnected { reason } => {
                tracing::info!("connection lost: {reason}");
                self.edits_while_away = 0;
                self.show_reconnecting();
            }
            DriverEvent::Reconnected { .. } => {
                self.app.set_connection(ConnectionState::Connected);
                self.app.message(Level::Info, "reconnected");
            }
            DriverEvent::Relay(FromRelay::HostAway { .. }) => {
                self.app.set_connection(ConnectionState::HostAway);
            }
            DriverEvent::Relay(FromRelay::HostBack) => {
                self.app.set_connection(ConnectionState::Connected);
            }
            _ => {}
        }
        if self.host.is_some() && matches!(event, DriverEvent::Rekeyed { .. }) {
            // The host's own rekey: `HostEvent::Rekeyed` tells its user, with the new link.
            return Ok(());
        }
        let reconnected = matches!(event, DriverEvent::Reconnected { .. });
        let requests_lost = reconnected || matches!(event, DriverEvent::Relay(FromRelay::HostBack));
        if let Some(fatal) = apply(&mut self.session, event) {
            // The host gone for good, or the session ended: keep everything we have.
            if self.host.is_none() && matches!(fatal, ClientError::SessionGone(_)) {
                self.session_ended(&fatal.to_string());
                return Ok(());
            }
            return Err(fatal.into());
        }
        if requests_lost {
            self.panels
                .resend_after_reconnect(&mut self.session, &mut self.app);
            for lost in self.intel.lost() {
                self.app.message(Level::Warning, lost);
            }
            self.git.forget();
            self.ask_git_again();
            // A file list still coming died with the connection, ours or the host's.
            if reconnected || self.files_request.is_some() {
                self.ask_for_files();
            }
        }
        if reconnected {
            // The relay forgot whom we follow, and the others forgot where we are.
            if let Some(leader) = self.app.following() {
                self.connection
                    .control(&ToRelay::Follow {
                        leader: Some(leader),
                    })
                    .await;
            }
            self.presence.tell_everyone();
            self.round_trip.reset(Instant::now().into_std());
        }
        while let Some(event) = self.session.next_event() {
            self.session_event(event).await;
        }
        Ok(())
    }

    /// The session ended under us: no more connection, and a copy of every document we
    /// have (unsaved and unconfirmed edits included) in the recovery folder, which the
    /// message names. ctrl-s writes there from now on, and quitting writes once more.
    pub(super) fn session_ended(&mut self, reason: &str) {
        self.connection.close();
        self.app.set_connection(ConnectionState::Disconnected {
            reason: "the session ended".into(),
        });
        let Some(folder) = crate::recovery::folder(&self.session_id) else {
            self.app.message(
                Level::Error,
                format!("{reason}; this system has no data folder to keep copies in: copy what you need now"),
            );
            return;
        };
        self.ended = Some(folder.clone());
        let kept = self.keep_copies();
        self.app.message(
            Level::Error,
            format!(
                "{reason}. Your {kept} open file(s) are kept in {}; ctrl-s saves there again, ctrl-q quits",
                folder.display()
            ),
        );
    }

    /// Writes every open document to the recovery folder; how many were written.
    pub(super) fn keep_copies(&mut self) -> usize {
        let Some(folder) = self.ended.clone() else {
            return 0;
        };
        let mut kept = 0;
        for (path, document) in &self.session.documents {
            match crate::recovery::keep(&folder, path, &document.rope) {
                Ok(_) => kept += 1,
                Err(error) => self.app.message(
                    Level::Error,
                    format!("cannot keep a copy of {path}: {error}"),
                ),
            }
        }
        kept
    }

    pub(super) fn show_reconnecting(&mut self) {
        self.app.set_connection(ConnectionState::Reconnecting {
            attempt: 1,
            unsent_edits: self.edits_while_away,
        });
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
