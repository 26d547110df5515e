//! The participant's event loop (`cotype join`): one `select!` over terminal input, the
//! connection and timers, carrying the UI's commands to the session and the session's
//! events to the UI, and drawing only when something visible changed.
//!
//! Everything runs on one task, so a local edit reaches the rope, the OT state and the
//! screen with no network event in between. The one subtle part is the connection:
//! `Driver::next` is cancel-safe while connected (it waits on a channel), but while it
//! reconnects it sleeps and handshakes, and a keystroke arriving every few milliseconds
//! would restart that forever if the future were dropped on every turn of the loop. So a
//! reconnect runs as a future that owns the driver and survives across turns.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use ratatui::crossterm::event::Event as TermEvent;
use ropey::Rope;
use tokio::time::Instant;

use crate::client::ClientError;
use crate::client::driver::{Driver, DriverEvent, apply};
use crate::client::presence::{OwnPresence, View};
use crate::client::session::{Session, SessionError, SessionEvent};
use crate::host_control::{HostCommand, HostControl, HostEvent};
use crate::latency::RoundTrip;
use crate::link::Link;
use crate::protocol::ParticipantId;
use crate::protocol::control::{FromRelay, ToRelay};
use crate::protocol::message::{Event as SessionMessage, Request, RequestId, Response, Role};
use crate::tui::app::{App, DocumentTexts};
use crate::tui::compositor::{AppCommand, Event};
use crate::tui::config::{Config, ConfigError};
use crate::tui::editor::{RemoteCursor, Selection};
use crate::tui::intel::IntelRequests;
use crate::tui::keymap::{Keymap, KeymapError};
use crate::tui::panel_requests::PanelRequests;
use crate::tui::people::PersonView;
use crate::tui::status::{ConnectionState, Level};
use crate::tui::terminal::{TerminalError, TerminalOptions, Tui, osc52_copy};
use crate::tui::theme::{ColorMode, Theme, ThemeError};

/// Deferred work (re-parsing large files) waits for a pause in typing this long.
const IDLE_AFTER: Duration = Duration::from_millis(50);

/// What `cotype join` was asked for; `None` means "from config.toml, else the default".
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    pub name: Option<String>,
    /// Follow this person (by name) instead of the host.
    pub follow: Option<String>,
    pub keymap: Option<String>,
    pub theme: Option<String>,
    pub no_mouse: bool,
    /// A line that says where the user is (`cotype demo`: who Ada is), kept on the message
    /// row whenever it has nothing else to say, with the keys for help and quitting.
    pub intro: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keymap(#[from] KeymapError),
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Host(anyhow::Error),
}

/// The keymap `cotype join` would use, with the user's overrides applied.
pub fn load_keymap(name: Option<&str>) -> Result<Keymap, RunError> {
    let config = Config::load()?;
    Ok(Keymap::load(name.unwrap_or(&config.keymap))?)
}

impl DocumentTexts for Session {
    fn rope(&self, path: &str) -> Option<&Rope> {
        match self.documents.get(path) {
            Some(document) => Some(&document.rope),
            // What has arrived of a document still loading is shown already.
            None => self.loading(path).map(|loading| &loading.rope),
        }
    }
}

/// The user's choices for the editor, resolved against config.toml.
struct Setup {
    config: Config,
    keymap: Keymap,
    theme: Theme,
    name: String,
}

impl Setup {
    fn load(options: &JoinOptions) -> Result<Self, RunError> {
        let config = Config::load()?;
        let keymap = Keymap::load(options.keymap.as_deref().unwrap_or(&config.keymap))?;
        let theme = Theme::load(
            options.theme.as_deref().unwrap_or(&config.theme),
            ColorMode::detect(),
        )?;
        let name = options
            .name
            .clone()
            .or(config.name.clone())
            .unwrap_or_else(login_name);
        Ok(Self {
            config,
            keymap,
            theme,
            name,
        })
    }

    /// Takes the terminal and builds the event loop around a joined session.
    fn start(
        self,
        options: JoinOptions,
        driver: Driver,
        session: Session,
    ) -> Result<(Tui, Loop), RunError> {
        let follow = match options.follow {
            Some(name) => Some(name),
            None if self.config.follow_host_on_join => None,
            None => Some(String::new()),
        };
        let tui = Tui::enter(TerminalOptions {
            mouse: self.config.mouse && !options.no_mouse,
        })?;
        let size = ratatui::crossterm::terminal::size().unwrap_or((80, 24));
        let app = App::new(self.theme, self.keymap, self.config.tab_width.into(), size);
        Ok((tui, Loop::new(app, driver, session, follow)))
    }
}

/// Joins the session behind `link` and runs the editor until the user quits.
pub async fn join(link: &Link, options: JoinOptions) -> Result<(), RunError> {
    let setup = Setup::load(&options)?;
    // Connect before taking the terminal, so a wrong link is a plain error message.
    let name = setup.name.clone();
    let joining = Driver::join(link, &name);
    tokio::pin!(joining);
    let joined = tokio::select! {
        joined = &mut joining => joined,
        _ = tokio::time::sleep(Duration::from_secs(1)) => {
            // A host that asks before admitting: say why nothing happens yet.
            eprintln!("cotype: waiting for the host to let you in… (ctrl-c gives up)");
            joining.await
        }
    };
    let (driver, session) = joined?;
    // Equal codes on both sides mean nobody in the middle swapped the link's secret or
    // the host's key.
    let code = driver.verification_code();
    let intro = options.intro.clone();
    let (mut tui, mut event_loop) = setup.start(options, driver, session)?;
    event_loop.app.set_session_card(None, code.clone());
    if let Some(intro) = intro {
        event_loop.app.set_intro(intro);
    }
    event_loop.app.message(
        Level::Info,
        format!("joined; verification code {code} (compare it with the host's; F2 shows it)"),
    );
    let result = event_loop.run(&mut tui).await;
    drop(tui);
    result
}

/// What the host's own editor is handed by whoever started the session (`roles::host_ui`):
/// the editor talks to the session only through these, never to a `HostSession`.
pub struct HostedSession {
    /// The link to share, as text.
    pub link: String,
    pub verification_code: String,
    /// The session's controls: commands in, events out.
    pub control: HostControl,
    /// The task serving the session; it ends when the session does.
    pub serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Joins the session as the host's own user (the proof that it is stays inside).
    pub join_as_owner:
        Box<dyn Fn(String) -> futures_util::future::LocalBoxFuture<'static, JoinResult>>,
}

/// A joined connection and the session state it feeds.
pub type JoinResult = Result<(Driver, Session), ClientError>;

/// Runs the host's own editor in a served session until the host ends the session.
///
/// The host's user joins its own session as a participant proven by the session's
/// `OwnerKey`: it edits through the same path as everyone (so its edits are sequenced like
/// anyone's), appears to the others as the host, and drives the session's controls.
///
/// The session runs in its own task and outlives the editor: if the editor panics (a bug),
/// the panic hook gives the terminal back, the session goes on serving everyone, and the
/// host's user chooses on standard input to reopen the editor or end the session cleanly.
pub async fn host(hosted: HostedSession, options: JoinOptions) -> Result<(), RunError> {
    let HostedSession {
        link,
        verification_code: code,
        control,
        serving,
        join_as_owner,
    } = hosted;
    let mut side = HostSide {
        commands: control.commands,
        events: control.events,
        serving,
    };
    let mut first = true;
    loop {
        let setup = Setup::load(&options)?;
        let joined = tokio::select! {
            joined = join_as_owner(setup.name.clone()) => joined,
            served = &mut side.serving => {
                return Err(RunError::Host(match served {
                    Ok(Err(error)) => error,
                    Ok(Ok(())) => anyhow::anyhow!("the session ended"),
                    Err(panic) => anyhow::anyhow!("the host stopped: {panic}"),
                }))
            }
        };
        let (driver, session) = joined?;
        let (mut tui, mut event_loop) = setup.start(options.clone(), driver, session)?;
        event_loop.host = Some(side);
        event_loop
            .app
            .set_session_card(Some(link.clone()), code.clone());
        if first {
            event_loop.app.show_session_card();
        }
        let greeting = if first {
            format!("sharing; verification code {code}; F2 shows the link, alt-m the people")
        } else {
            "the editor is back; the session went on meanwhile".to_owned()
        };
        event_loop.app.message(Level::Info, greeting);
        first = false;
        let outcome = AssertUnwindSafe(event_loop.run(&mut tui))
            .catch_unwind()
            .await;
        drop(tui);
        let Some(taken) = event_loop.host.take() else {
            return outcome
                .unwrap_or_else(|_| Err(RunError::Host(anyhow::anyhow!("the session ended"))));
        };
        side = taken;
        // The editor's connection leaves the session before a new one joins.
        drop(event_loop);
        let panic = match outcome {
            Ok(result) => {
                side.end().await;
                return result;
            }
            Err(panic) => panic,
        };
        eprintln!(
            "\ncotype: the editor stopped on a bug ({}); the session goes on serving everyone.\n\
             Press Enter to reopen the editor, or type `end` and Enter to end the session.",
            panic_message(panic.as_ref())
        );
        match after_a_crash(&mut side.serving).await {
            AfterCrash::Reopen => continue,
            AfterCrash::End => {
                side.end().await;
                return Ok(());
            }
            AfterCrash::SessionOver(result) => return result,
        }
    }
}

/// What the host's user chose after the editor crashed.
enum AfterCrash {
    Reopen,
    End,
    /// The session ended by itself meanwhile.
    SessionOver(Result<(), RunError>),
}

async fn after_a_crash(serving: &mut tokio::task::JoinHandle<anyhow::Result<()>>) -> AfterCrash {
    // A plain thread, not tokio's stdin: a read that never ends must not hold up the
    // runtime's shutdown when the session ends first.
    let (line_sender, line) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let read = std::io::stdin().read_line(&mut text);
        let _ = line_sender.send(read.map(|_| text));
    });
    tokio::select! {
        line = line => match line {
            Ok(Ok(text)) if text.trim() == "end" => AfterCrash::End,
            // End of input (no terminal left to draw on): the session is over.
            Ok(Ok(text)) if text.is_empty() => AfterCrash::End,
            Ok(Ok(_)) => AfterCrash::Reopen,
            _ => AfterCrash::End,
        },
        served = serving => AfterCrash::SessionOver(match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(RunError::Host(error)),
            Err(panic) => Err(RunError::Host(anyhow::anyhow!("the host stopped: {panic}"))),
        }),
    }
}

/// The text a panic was raised with, as the default hook prints it.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// The host's side of the loop: its commands to the serving task, and what it reports.
struct HostSide {
    commands: tokio::sync::mpsc::Sender<HostCommand>,
    events: tokio::sync::mpsc::UnboundedReceiver<HostEvent>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl HostSide {
    /// Ends the session for everyone and lets the serving task say goodbye to the relay.
    async fn end(self) {
        let _ = self.commands.send(HostCommand::End).await;
        match tokio::time::timeout(Duration::from_secs(3), self.serving).await {
            Ok(Ok(Err(error))) => tracing::warn!("the host stopped with an error: {error:#}"),
            Ok(_) => {}
            Err(_) => tracing::warn!("the host did not stop within 3 s"),
        }
    }
}

/// The host's next report, or its end; pending forever in a participant's loop.
async fn next_host_event(host: &mut Option<HostSide>) -> Result<HostEvent, anyhow::Error> {
    let Some(host) = host else {
        return std::future::pending().await;
    };
    tokio::select! {
        Some(event) = host.events.recv() => Ok(event),
        served = &mut host.serving => Err(match served {
            Ok(Ok(())) => anyhow::anyhow!("the session ended"),
            Ok(Err(error)) => error,
            Err(panic) => anyhow::anyhow!("the host stopped: {panic}"),
        }),
    }
}

fn login_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "guest".into())
}

type Reconnect = Pin<Box<dyn Future<Output = (Driver, DriverEvent)>>>;

/// The connection: a driver we may poll and send through, or a reconnect in progress
/// that owns it until it is done (see the module comment).
struct Connection {
    driver: Option<Driver>,
    reconnect: Option<Reconnect>,
}

impl Connection {
    /// The next driver event; safe to drop at any await point and call again.
    async fn next(&mut self) -> DriverEvent {
        if self.reconnect.is_none()
            && let Some(driver) = self.driver.take_if(|driver| !driver.is_connected())
        {
            let mut driver = driver;
            self.reconnect = Some(Box::pin(async move {
                let event = driver.next().await;
                (driver, event)
            }));
        }
        if let Some(reconnect) = &mut self.reconnect {
            let (driver, event) = reconnect.await;
            self.reconnect = None;
            self.driver = Some(driver);
            return event;
        }
        match &mut self.driver {
            Some(driver) => driver.next().await,
            None => std::future::pending().await,
        }
    }

    async fn flush(&mut self, session: &mut Session) {
        if let Some(driver) = &mut self.driver {
            driver.flush(session).await;
        }
    }

    async fn control(&mut self, message: &ToRelay) {
        if let Some(driver) = &self.driver {
            driver.control(message).await;
        }
    }
}

struct Loop {
    app: App,
    session: Session,
    connection: Connection,
    presence: OwnPresence,
    /// The file-list request in flight.
    files_request: Option<RequestId>,
    files: Vec<String>,
    /// Documents requested and not yet arrived, so following does not ask twice.
    opening: HashSet<String>,
    /// Whom to follow once they are in the session: `None` the host, `Some("")` nobody.
    want_follow: Option<String>,
    last_input: Instant,
    edits_while_away: usize,
    dirty: bool,
    quit: bool,
    /// Quit was asked once while edits were unconfirmed; the next quit goes.
    quit_armed: bool,
    /// The others' cursors in our text's coordinates: set from their presence, then
    /// carried through every edit (ours and theirs) until their next presence.
    cursors: HashMap<ParticipantId, (String, Selection)>,
    /// Present when this is the host's own UI.
    host: Option<HostSide>,
    /// Search and preview requests in flight for the search panel.
    panels: PanelRequests,
    /// Hover, peek, definition and completion questions to the host.
    intel: IntelRequests,
    /// Our round trip to the host, measured with `Request::Ping`.
    round_trip: RoundTrip,
    /// The session, for naming the folder of recovery copies.
    session_id: crate::link::SessionId,
    /// Set once the session ended under us (the host gone for good, or it ended the
    /// session): where copies of our documents are kept from then on.
    ended: Option<std::path::PathBuf>,
    /// `COTYPE_CRASH_KEY`: a key that makes the editor panic, so that what a crash does
    /// (the terminal restored, the host's session serving on) can be tried and tested.
    crash_key: Option<crate::tui::keymap::Key>,
}

impl Loop {
    fn new(app: App, driver: Driver, session: Session, follow: Option<String>) -> Self {
        let session_id = driver.link().session;
        Self {
            app,
            session,
            connection: Connection {
                driver: Some(driver),
                reconnect: None,
            },
            presence: OwnPresence::default(),
            files_request: None,
            files: Vec::new(),
            opening: HashSet::new(),
            want_follow: follow,
            last_input: Instant::now(),
            edits_while_away: 0,
            dirty: true,
            quit: false,
            quit_armed: false,
            cursors: HashMap::new(),
            host: None,
            panels: PanelRequests::default(),
            intel: IntelRequests::default(),
            round_trip: RoundTrip::new(Instant::now().into_std()),
            session_id,
            ended: None,
            crash_key: std::env::var("COTYPE_CRASH_KEY")
                .ok()
                .and_then(|key| crate::tui::keymap::Key::parse(&key).ok()),
        }
    }

    async fn run(&mut self, tui: &mut Tui) -> Result<(), RunError> {
        let mut input = crate::tui::input::Input::new();
        self.app.set_connection(ConnectionState::Connected);
        self.files_request = Some(self.session.request(Request::ListFiles));
        self.refresh_people();
        self.try_follow().await;
        if let Some(name) = self.want_follow.clone().filter(|name| !name.is_empty()) {
            self.app.message(
                Level::Info,
                format!("{name} is not in the session yet; you will follow them when they join"),
            );
        }
        self.connection.flush(&mut self.session).await;
        while !self.quit {
            if self.dirty {
                self.dirty = false;
                let (app, session) = (&self.app, &self.session);
                tui.draw(|frame| app.render(frame, session))?;
            }
            let timer = self.next_timer();
            tokio::select! {
                event = input.next() => match event {
                    Some(Ok(event)) => self.terminal_event(event, tui).await?,
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
                self.command(command, tui).await?;
                self.dirty = true;
            }
            self.intel.send_ready(&mut self.session);
            self.connection.flush(&mut self.session).await;
        }
        Ok(())
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
            .driver
            .is_some()
            .then(|| Instant::from_std(self.round_trip.due()));
        [idle, tick, presence, intel, ping]
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
        for late in self.intel.expired(now.into_std()) {
            self.app.message(Level::Warning, late);
            self.dirty = true;
        }
        if self.connection.driver.is_some() && now.into_std() >= self.round_trip.due() {
            let id = self.session.request(Request::Ping);
            if self.round_trip.sent(id, now.into_std()) {
                self.presence.tell_everyone();
                self.refresh_people();
            }
        }
        self.send_presence(now);
    }

    async fn terminal_event(&mut self, event: TermEvent, tui: &mut Tui) -> Result<(), RunError> {
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
            TermEvent::FocusGained | TermEvent::FocusLost => return Ok(()),
        };
        self.last_input = Instant::now();
        self.dirty = true;
        let commands = self.app.handle_event(&event, &self.session);
        // Keys typing `:q` on vim's command line keep a quit asked before armed.
        if matches!(event, Event::Key(_))
            && !commands.contains(&AppCommand::Quit)
            && !self.app.is_typing_command()
        {
            self.quit_armed = false;
        }
        for command in commands {
            self.command(command, tui).await?;
        }
        self.view_changed();
        Ok(())
    }

    async fn command(&mut self, command: AppCommand, tui: &mut Tui) -> Result<(), RunError> {
        match command {
            AppCommand::Edit { path, operation } => {
                let Some(before) = self.session.rope(&path).cloned() else {
                    return Ok(());
                };
                match self.session.local_edit(&path, operation.clone()) {
                    Ok(()) => {
                        if self.connection.driver.is_none() && self.ended.is_none() {
                            self.edits_while_away += 1;
                            self.show_reconnecting();
                        }
                        if let Some(after) = self.session.rope(&path) {
                            self.app
                                .local_edit_applied(&path, &before, &operation, after);
                        }
                        self.map_cursors(&path, &operation, None);
                    }
                    Err(SessionError::ReadOnly) => self.app.message(
                        Level::Warning,
                        "you are read-only in this session; the host decides who may edit",
                    ),
                    Err(error) => self.app.message(Level::Error, error.to_string()),
                }
            }
            AppCommand::Open(path) => self.open(path),
            AppCommand::Ask(ask) => self.intel.ask(ask, &mut self.session),
            // The app opens definitions itself; a GoTo reaching here only needs the file.
            AppCommand::GoTo { path, .. } => self.open(path),
            AppCommand::Save(path) => match (&self.ended, self.session.rope(&path)) {
                (Some(folder), Some(text)) => match crate::recovery::keep(folder, &path, text) {
                    Ok(kept) => {
                        self.app.set_saved(&path, None);
                        self.app.message(
                            Level::Info,
                            format!("saved a local copy: {}", kept.display()),
                        );
                    }
                    Err(error) => self.app.message(
                        Level::Error,
                        format!("cannot save a local copy of {path}: {error}"),
                    ),
                },
                _ => {
                    self.session.save(&path);
                    self.app.message(Level::Info, format!("saving {path}…"));
                }
            },
            AppCommand::Close(path) => {
                self.session.close_document(&path);
                self.opening.remove(&path);
            }
            AppCommand::CopyToClipboard(text) => tui.write_raw(&osc52_copy(&text))?,
            AppCommand::Presence { .. } => self.view_changed(),
            AppCommand::Follow(leader) => {
                self.want_follow = Some(String::new());
                self.follow(leader).await;
            }
            AppCommand::StopFollowing => {
                self.connection
                    .control(&ToRelay::Follow { leader: None })
                    .await;
                self.view_changed();
            }
            AppCommand::AskEveryoneToFollow if self.host.is_some() => {
                self.host_command(HostCommand::FollowMe).await;
                self.app
                    .message(Level::Info, "asked everyone to follow you");
            }
            AppCommand::AskEveryoneToFollow => self.app.message(
                Level::Info,
                "only the host can ask everyone to follow; follow someone with the people list",
            ),
            AppCommand::Admit { participant, role } => {
                self.app.join_answered(participant);
                self.host_command(HostCommand::Admit { participant, role })
                    .await;
            }
            AppCommand::Refuse { participant } => {
                self.app.join_answered(participant);
                self.host_command(HostCommand::Refuse { participant }).await;
                self.app.message(Level::Info, "refused");
            }
            AppCommand::SetRole { participant, role } => {
                self.host_command(HostCommand::SetRole { participant, role })
                    .await;
            }
            AppCommand::Remove { participant } => {
                self.host_command(HostCommand::Remove { participant }).await;
            }
            // The app opens the person's menu itself.
            AppCommand::ManagePerson(_) => {}
            command @ (AppCommand::WorkspaceSearch(_)
            | AppCommand::CancelSearch
            | AppCommand::SearchPreview(_)) => {
                let _ = self
                    .panels
                    .command(command, &mut self.session, &mut self.app);
            }
            AppCommand::ForceQuit => {
                if self.ended.is_some() {
                    self.keep_copies();
                }
                self.quit = true;
            }
            AppCommand::Quit if self.ended.is_some() => {
                self.keep_copies();
                self.quit = true;
            }
            AppCommand::Quit => {
                let unsent = self
                    .session
                    .documents
                    .keys()
                    .filter(|path| !self.session.is_synced(path))
                    .count();
                if self.quit_armed || unsent == 0 && self.host.is_none() {
                    self.quit = true;
                } else if unsent == 0 {
                    // The host's leaving ends the session: first see what it would lose.
                    self.host_command(HostCommand::CheckUnsaved).await;
                } else {
                    // Quitting now would lose them: the host has not confirmed them yet.
                    self.quit_armed = true;
                    self.app.message(
                        Level::Warning,
                        format!(
                            "{unsent} file(s) have edits the host has not confirmed yet; quit again to lose them"
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    fn open(&mut self, path: String) {
        if let Some(document) = self.session.documents.get(&path) {
            let read_only = document.read_only;
            self.app.open_document(&path, &document.rope, read_only);
            self.view_changed();
        } else if self.opening.insert(path.clone()) {
            self.session.open_document(&path);
        }
    }

    async fn follow(&mut self, leader: ParticipantId) {
        self.connection
            .control(&ToRelay::Follow {
                leader: Some(leader),
            })
            .await;
        if self.app.following() != Some(leader) {
            self.app.start_following(leader);
        }
        // Where they are now, if they told us already.
        self.leader_moved(leader).await;
        self.view_changed();
    }

    /// Follows the person asked for on the command line (or the host) once they are here.
    async fn try_follow(&mut self) {
        let leader = match self.want_follow.as_deref() {
            Some("") => return,
            // The host's own user when its terminal UI is in, else the serving process.
            None => self
                .session
                .members
                .values()
                .filter(|member| member.participant != self.session.me.participant)
                .find(|member| member.role == Role::Host)
                .map(|member| member.participant),
            Some(name) => self
                .session
                .members
                .values()
                .find(|member| {
                    member.name == name && member.participant != self.session.me.participant
                })
                .map(|member| member.participant),
        };
        if let Some(leader) = leader {
            self.want_follow = Some(String::new());
            self.follow(leader).await;
        }
    }

    async fn leader_moved(&mut self, leader: ParticipantId) {
        let Some(presence) = self.session.presence.get(&leader) else {
            return;
        };
        let Some(path) = presence.path.clone() else {
            return;
        };
        let (anchor, head) = presence.selections.first().copied().unwrap_or((0, 0));
        // Their cursor as carried over the edits since their presence came, when we have it.
        let selection = match self.cursors.get(&leader) {
            Some((at, selection)) if *at == path => *selection,
            _ => Selection { anchor, head },
        };
        let scroll = presence.scroll_line;
        let commands = self
            .app
            .leader_moved(leader, &path, selection, scroll, &self.session);
        for command in commands {
            if let AppCommand::Open(path) = command {
                self.open(path);
            }
        }
        self.dirty = true;
        // Following moved our cursor and view: the others (the leader first) see us there,
        // not where we last moved by hand.
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
            self.files_request = Some(self.session.request(Request::ListFiles));
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
    fn session_ended(&mut self, reason: &str) {
        self.connection.driver = None;
        self.connection.reconnect = None;
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
    fn keep_copies(&mut self) -> usize {
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

    fn show_reconnecting(&mut self) {
        self.app.set_connection(ConnectionState::Reconnecting {
            attempt: 1,
            unsent_edits: self.edits_while_away,
        });
    }

    async fn session_event(&mut self, event: SessionEvent) {
        self.dirty |= !matches!(
            event,
            SessionEvent::Synced { .. } | SessionEvent::Response { .. }
        );
        match event {
            SessionEvent::DocumentOpened { path } => {
                self.opening.remove(&path);
                if let Some(document) = self.session.documents.get(&path) {
                    self.app
                        .open_document(&path, &document.rope, document.read_only);
                    self.app.set_modified(&path, self.session.is_unsaved(&path));
                }
                self.refresh_cursors();
                self.view_changed();
            }
            // Queued before the last piece arrived: the document is open by now.
            SessionEvent::DocumentLoading { path }
                if self.session.documents.contains_key(&path) => {}
            SessionEvent::DocumentLoading { path } => {
                let loading = self.session.loading(&path);
                let percent = loading.and_then(|l| l.percent()).unwrap_or(0);
                self.app
                    .document_loading(&path, loading.map(|l| &l.rope), percent);
                if loading.is_none() {
                    self.opening.remove(&path);
                }
            }
            SessionEvent::RemoteEdit {
                path,
                before,
                op,
                by,
            } => {
                if let Some(after) = self.session.rope(&path) {
                    self.app.remote_edit(&path, &before, &op, after);
                }
                self.map_cursors(&path, &op, by);
            }
            SessionEvent::EditRefused { path, reason } => self.app.message(
                Level::Error,
                format!("{path}: the host refused an edit ({reason}); reloaded from the host"),
            ),
            SessionEvent::Saved { path, by, .. } => {
                self.app.set_saved(&path, by);
                self.app.set_modified(&path, self.session.is_unsaved(&path));
            }
            // Presence held back while our edits were unconfirmed may go now, and the
            // marker may change (on a Synced, only then is a redraw due).
            SessionEvent::Unsaved { path } | SessionEvent::Synced { path } => {
                if self.app.set_modified(&path, self.session.is_unsaved(&path)) {
                    self.dirty = true;
                }
            }
            SessionEvent::MembersChanged => {
                let session = &self.session;
                self.cursors
                    .retain(|id, _| session.presence.contains_key(id));
                self.refresh_people();
                self.try_follow().await;
                // Newcomers learn where everyone is without waiting for them to move.
                self.presence.tell_everyone();
            }
            SessionEvent::PresenceChanged { participant } => {
                let cursor = self.session.presence.get(&participant).and_then(|p| {
                    let (anchor, head) = p.selections.first().copied()?;
                    Some((p.path.clone()?, Selection { anchor, head }))
                });
                match cursor {
                    Some(cursor) => self.cursors.insert(participant, cursor),
                    None => self.cursors.remove(&participant),
                };
                self.refresh_people();
                if self.app.following() == Some(participant) {
                    self.leader_moved(participant).await;
                }
            }
            SessionEvent::FollowMe { leader } => {
                self.want_follow = Some(String::new());
                self.follow(leader).await;
            }
            SessionEvent::Notice { message } => self.app.message(Level::Info, message),
            SessionEvent::Response { id, done, body } if Some(id) == self.files_request => {
                match body {
                    Response::Files(batch) => {
                        self.files.extend(batch.into_iter().map(|file| file.path));
                    }
                    Response::Error { message } => self.app.message(
                        Level::Error,
                        format!("cannot list the shared files: {message}"),
                    ),
                    _ => {}
                }
                if done {
                    self.dirty = true;
                    self.files_request = None;
                    self.app.set_files(std::mem::take(&mut self.files));
                }
            }
            SessionEvent::Response { id, done, body } if self.panels.owns(id) => {
                self.dirty = true;
                self.panels
                    .response(id, done, body, &mut self.session, &mut self.app);
            }
            SessionEvent::Response { id, body, .. } if self.intel.owns(id) => {
                if let Some((ask, body)) = self.intel.answer(id, body) {
                    for command in self.app.intel_answer(&ask, body, &self.session) {
                        if let AppCommand::Open(path) = command {
                            self.open(path);
                        }
                    }
                    self.dirty = true;
                }
            }
            SessionEvent::Response {
                id,
                body: Response::Pong,
                ..
            } => {
                let shown = self.round_trip.latest();
                if self.round_trip.answered(id, Instant::now().into_std()) {
                    self.presence.tell_everyone();
                }
                if self.round_trip.latest() != shown {
                    self.refresh_people();
                }
            }
            SessionEvent::Response { .. } => {}
            SessionEvent::Failed { what, message } => {
                self.opening.clear();
                self.app.message(Level::Error, format!("{what}: {message}"));
            }
            SessionEvent::Host(SessionMessage::Diagnostics { path, items, .. }) => {
                self.app.set_diagnostics(&path, items);
            }
            // Files were created, deleted or renamed on the host: list them again, so the
            // picker and the tree show what `cotype ls` would.
            SessionEvent::Host(SessionMessage::FilesChanged) => {
                self.files.clear();
                self.files_request = Some(self.session.request(Request::ListFiles));
            }
            SessionEvent::Host(SessionMessage::FileDeleted { path })
                if self.session.documents.contains_key(&path) =>
            {
                self.app.message(
                    Level::Warning,
                    format!("{path} was deleted on the host; saving it writes it again"),
                );
            }
            SessionEvent::Host(event) => tracing::debug!("host event not shown: {event:?}"),
        }
    }

    /// Passes a host control to the serving task (the host's UI only).
    async fn host_command(&mut self, command: HostCommand) {
        match &self.host {
            Some(host) => {
                if host.commands.send(command).await.is_err() {
                    self.app
                        .message(Level::Error, "the session is no longer being served");
                }
            }
            None => self.app.message(
                Level::Info,
                "only the host admits, changes roles or removes people",
            ),
        }
    }

    /// What the serving task reports to the host's user.
    fn host_event(&mut self, event: HostEvent) {
        self.dirty = true;
        match event {
            HostEvent::JoinRequest { participant, name } => {
                self.app
                    .join_requested(crate::tui::host_controls::JoinRequest { participant, name });
            }
            HostEvent::MemberJoined(member)
                if member.participant != self.session.me.participant =>
            {
                self.app.join_answered(member.participant);
                let role = role_words(member.role);
                self.app
                    .message(Level::Info, format!("{} joined as {role}", member.name));
            }
            HostEvent::MemberJoined(_) => {}
            HostEvent::MemberLeft(member) => {
                self.app.join_answered(member.participant);
            }
            HostEvent::RoleChanged(member) => {
                let role = role_words(member.role);
                let name = self.app.person_name(member.participant);
                self.app
                    .message(Level::Info, format!("{name} is now {role}"));
            }
            HostEvent::Rekeyed {
                link,
                verification_code,
            } => {
                self.app
                    .set_session_card(Some(link), verification_code.clone());
                self.app.message(
                    Level::Warning,
                    format!(
                        "removed; keys rotated, the old link no longer works: F2 shows the new one (code {verification_code})"
                    ),
                );
            }
            HostEvent::Unsaved { paths } => {
                let others = self.session.members.len().saturating_sub(1);
                if paths.is_empty() && others == 0 {
                    self.quit = true;
                    return;
                }
                self.quit_armed = true;
                let mut lost = Vec::new();
                if others > 0 {
                    lost.push(format!("ends the session for {others} other(s)"));
                }
                if !paths.is_empty() {
                    lost.push(format!("loses unsaved {}", paths.join(", ")));
                }
                self.app.message(
                    Level::Warning,
                    format!("quitting {}: quit again to confirm", lost.join(" and ")),
                );
            }
            HostEvent::IgnoreFilesChanged { paths } => self.app.message(
                Level::Warning,
                format!(
                    "{} changed; the files it hid stay hidden for this session",
                    paths.join(", ")
                ),
            ),
            HostEvent::Ended => self.quit = true,
        }
    }

    /// Our view may have moved: schedule presence for both audiences.
    fn view_changed(&mut self) {
        let Some(path) = self.app.active_path().map(str::to_owned) else {
            return;
        };
        let Some(editor) = self.app.editor() else {
            return;
        };
        let view = View {
            path,
            selection: (editor.selection.anchor, editor.selection.head),
            scroll_line: editor.scroll_line(),
            following: self.app.following(),
        };
        if self.presence.moved(Some(view)) {
            self.refresh_people();
            self.dirty = true;
        }
    }

    /// Sends our presence to whichever audience is due.
    fn send_presence(&mut self, now: Instant) {
        let latency_ms = self.round_trip.to_share();
        let following = self.app.following();
        if self
            .presence
            .send_due(&mut self.session, now, following, latency_ms)
        {
            self.round_trip.mark_shared();
        }
    }

    fn refresh_people(&mut self) {
        let session = &self.session;
        let me = session.me.participant;
        // Two people may share a name: on screen they are told apart.
        let names = crate::tui::people::display_names(
            session
                .members
                .values()
                .map(|member| (member.participant, member.name.clone())),
        );
        let name_of = |id: ParticipantId| {
            names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("participant {id}"))
        };
        let people = session
            .members
            .values()
            .map(|member| {
                let is_you = member.participant == me;
                let presence = session.presence.get(&member.participant);
                let (file, following) = if is_you {
                    (
                        self.app.active_path().map(str::to_owned),
                        self.app.following(),
                    )
                } else {
                    (
                        presence.and_then(|p| p.path.clone()),
                        presence.and_then(|p| p.following),
                    )
                };
                PersonView {
                    id: member.participant,
                    name: name_of(member.participant),
                    color: member.color.into(),
                    file,
                    following: following.map(name_of),
                    read_only: member.role == Role::ReadOnly,
                    is_host: member.role == Role::Host,
                    is_you,
                    latency_ms: if is_you {
                        self.round_trip.latest()
                    } else {
                        presence.and_then(|p| p.latency_ms)
                    },
                }
            })
            .collect();
        self.app.set_people(people);
        self.refresh_cursors();
        self.dirty = true;
    }

    /// Hands each open tab the cursors of the others who are in that file.
    fn refresh_cursors(&mut self) {
        let paths: Vec<String> = self.app.open_paths().map(str::to_owned).collect();
        // In participant order, so flags that share a spot always queue the same way.
        let mut present: Vec<_> = self.cursors.iter().collect();
        present.sort_by_key(|(id, _)| **id);
        for path in paths {
            let len = self.session.rope(&path).map_or(0, Rope::len_chars);
            let cursors = present
                .iter()
                .filter(|(id, (at, _))| **id != self.session.me.participant && *at == path)
                .filter_map(|(id, (_, selection))| {
                    let member = self.session.members.get(id)?;
                    Some(RemoteCursor {
                        name: self.app.person_name(**id),
                        color: member.color.into(),
                        selection: selection.clamped(len),
                    })
                })
                .collect();
            self.app.set_remote_cursors(&path, cursors);
        }
    }

    /// Carries the others' cursors in `path` over an edit, so they stay on their text.
    /// The typist's own cursor goes past what they typed (where their next presence will
    /// put it anyway, so the screen changes once, not twice).
    fn map_cursors(
        &mut self,
        path: &str,
        operation: &crate::text::Operation,
        typist: Option<ParticipantId>,
    ) {
        for (who, (at, selection)) in self.cursors.iter_mut() {
            if at == path {
                let assoc = if Some(*who) == typist {
                    crate::text::Assoc::After
                } else {
                    crate::text::Assoc::Before
                };
                *selection = selection.map(operation, assoc);
            }
        }
        self.refresh_cursors();
    }
}

/// A role as the host's messages say it ("bob is now read-only").
fn role_words(role: Role) -> &'static str {
    match role {
        Role::ReadOnly => "read-only",
        Role::Editor => "an editor",
        Role::Host => "the host",
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
