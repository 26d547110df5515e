//! The participant UI as one value: open files with their editors, the layers above them,
//! panels, and who is followed. The app loop owns an [`App`] next to the client session.
//!
//! Wiring, in the loop that owns both (see docs/CONFIG.md for the user side):
//! - terminal event -> [`App::handle_event`] -> carry out each returned [`AppCommand`]
//!   (an `Edit` goes through the session, then [`App::local_edit_applied`]);
//! - a remote edit applied by the session -> [`App::remote_edit`];
//! - presence, members, file list, connection state -> `App::set_*`;
//! - a leader's presence while following -> [`App::leader_moved`];
//! - an [`AppCommand::Ask`] goes to the host (`tui::intel`); its answer ->
//!   [`App::intel_answer`], and [`App::due_ask`] when [`App::next_deadline`] comes;
//! - then draw: `tui.draw(|frame| app.render(frame, &documents))`.
//!
//! The app never holds document text: it reads ropes through [`Documents`] when it needs
//! them, so the session stays the one owner of the truth.

use std::collections::HashMap;
use std::time::Instant;

use ratatui::Frame;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;
use ropey::Rope;

use crate::protocol::ParticipantId;
use crate::protocol::message::{DiagnosticItem, ReferenceHit};
use crate::protocol::search::{SearchHit, SearchQuery, SearchSummary};
use crate::text::{LineCol, Operation};
use crate::tui::compositor::{AppCommand, Compositor, Context, Event, RenderContext, UiCommand};
use crate::tui::diagnostics::{DiagnosticStore, DiagnosticsList, message_line, severity_style};
use crate::tui::editor::{
    Editor, EditorInput, EditorWidget, RemoteCursor, Selection, gutter_width,
};
use crate::tui::ex::ExCommand;
use crate::tui::help::HelpOverlay;
use crate::tui::highlight::Syntax;
use crate::tui::host_controls::{
    JoinRequest, SessionCard, join_request_picker, people_menu, person_menu,
};
use crate::tui::keymap::{Action, KeyResult, Keymap};
use crate::tui::locations::{Location, LocationList};
use crate::tui::people::{PeopleWidget, PersonView, follow_picker};
use crate::tui::picker::{Picker, PickerItem};
use crate::tui::popup::{Answered, AskKind, Here, IntelAsk, KeyOutcome, Popups};
use crate::tui::prompt::{Prompt, PromptKind, SubstituteConfirm};
use crate::tui::search_panel::SearchPanel;
use crate::tui::status::{
    ConnectionState, Level, MessageArea, Messages, StatusLine, StatusView, TabView, Tabs,
};
use crate::tui::theme::Theme;
use crate::tui::tree::FileTree;

/// Read access to the session's documents by path.
pub trait Documents {
    fn rope(&self, path: &str) -> Option<&Rope>;
}

impl Documents for HashMap<String, Rope> {
    fn rope(&self, path: &str) -> Option<&Rope> {
        self.get(path)
    }
}

/// Below this many columns the people panel hides itself (the people toggle shows it).
const PEOPLE_AUTO_COLUMNS: u16 = 100;
/// Columns of code the people panel leaves, where the terminal has them.
const CODE_COLUMNS: u16 = 60;
/// The narrowest people panel; shown only when asked for if the code keeps this many.
const PEOPLE_MIN_WIDTH: u16 = 16;
const CODE_MIN_COLUMNS: u16 = 30;

struct OpenFile {
    path: String,
    editor: Editor,
    syntax: Option<Syntax>,
    modified: bool,
    read_only: bool,
    remotes: Vec<RemoteCursor>,
    /// The text is still arriving: this much of it, in percent. Shown, never edited.
    loading: Option<u8>,
}

pub struct App {
    theme: Theme,
    keymap: Keymap,
    tab_width: usize,
    tabs: Vec<OpenFile>,
    active: usize,
    compositor: Compositor,
    people: Vec<PersonView>,
    files: Vec<String>,
    connection: ConnectionState,
    following: Option<ParticipantId>,
    /// A leader's position in a file we asked the session to open.
    pending_follow: Option<(String, Selection, usize)>,
    messages: Messages,
    intro: Option<String>,
    /// The user's choice with the people toggle; `None`: shown when the terminal is wide.
    show_people: Option<bool>,
    search: Option<String>,
    size: Rect,
    last_click: Option<usize>,
    /// The link (host only) and the verification code, for the session card.
    card: SessionCard,
    /// People who asked to join and wait for the host's answer (host only).
    pending: Vec<JoinRequest>,
    diagnostics: DiagnosticStore,
    /// Where to put the cursor in a file we asked the session to open (a search result).
    pending_goto: Option<(String, LineCol)>,
    /// Hover, peek and completion at the cursor.
    popups: Popups,
    /// Where the cursor was when vim's `/` opened: it searches from there as you type.
    find_origin: Option<Selection>,
    /// `:wq` saved this file; leave once the host says it is saved.
    quit_when_saved: Option<String>,
    /// A command for the loop that came from something other than a key (a save arrived).
    deferred: Option<AppCommand>,
    /// A file whose tab was asked to close while unsaved: asking again closes it.
    close_armed: Option<String>,
    /// What was copied, for pasting in any tab.
    register: crate::tui::editor::SharedRegister,
}

/// The screen regions, computed the same way for input (mouse, paging) and rendering.
struct Regions {
    tabs: Rect,
    editor: Rect,
    people: Option<Rect>,
    status: Rect,
    message: Rect,
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, tab_width: usize, size: (u16, u16)) -> Self {
        let mut app = Self {
            theme,
            keymap,
            tab_width: tab_width.max(1),
            tabs: Vec::new(),
            active: 0,
            compositor: Compositor::new(),
            people: Vec::new(),
            files: Vec::new(),
            connection: ConnectionState::Connecting,
            following: None,
            pending_follow: None,
            messages: Messages::default(),
            intro: None,
            show_people: None,
            search: None,
            size: Rect::new(0, 0, size.0, size.1),
            last_click: None,
            card: SessionCard {
                link: None,
                verification_code: String::new(),
            },
            pending: Vec::new(),
            diagnostics: DiagnosticStore::default(),
            pending_goto: None,
            popups: Popups::default(),
            find_origin: None,
            quit_when_saved: None,
            deferred: None,
            close_armed: None,
            register: Default::default(),
        };
        app.resize(size.0, size.1);
        app
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// Where each part goes. A terminal too short for all of them gives its rows to the
    /// text first, then the status line, the message line and the tabs last: one row
    /// shows a line of the file, two add the status line, three the message line.
    fn regions(&self) -> Regions {
        let rows = self.size.height;
        let row_if = |fits: bool| Constraint::Length(u16::from(fits));
        let [tabs, middle, status, message] = Layout::vertical([
            row_if(rows >= 4),
            Constraint::Min(0),
            row_if(rows >= 2),
            row_if(rows >= 3),
        ])
        .areas(self.size);
        let (editor, people) = match self.people_width(middle.width) {
            Some(width) => {
                let [editor, people] =
                    Layout::horizontal([Constraint::Min(1), Constraint::Length(width)])
                        .areas(middle);
                (editor, Some(people))
            }
            None => (middle, None),
        };
        Regions {
            tabs,
            editor,
            people,
            status,
            message,
        }
    }

    /// The people panel's width beside `columns` of editor, if it is shown: as wide as its
    /// longest row, leaving the code [`CODE_COLUMNS`] where the terminal has them. It shows
    /// by itself from [`PEOPLE_AUTO_COLUMNS`]; narrower, when the user asks for it.
    fn people_width(&self, columns: u16) -> Option<u16> {
        let shown = self.show_people.unwrap_or(columns >= PEOPLE_AUTO_COLUMNS);
        if !shown || columns < PEOPLE_MIN_WIDTH + CODE_MIN_COLUMNS {
            return None;
        }
        let natural = crate::tui::people::panel_width(&self.people, self.following);
        Some(
            natural
                .min(columns.saturating_sub(CODE_COLUMNS))
                .max(PEOPLE_MIN_WIDTH),
        )
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = Rect::new(0, 0, width, height);
        let editor = self.regions().editor;
        for tab in &mut self.tabs {
            tab.editor
                .set_viewport(editor.width as usize, editor.height as usize);
        }
    }

    /// Shows a document (newly fetched, or already open) in a tab and makes it active.
    pub fn open_document(&mut self, path: &str, rope: &Rope, read_only: bool) {
        self.open_tab(path, rope, read_only, None);
    }

    /// Shows a document whose text is still arriving (read-only, with how much came), or
    /// with `rope` `None` closes its tab: opening it failed.
    pub fn document_loading(&mut self, path: &str, rope: Option<&Rope>, percent: u8) {
        match rope {
            Some(rope) => self.open_tab(path, rope, true, Some(percent)),
            None => {
                self.tabs
                    .retain(|tab| tab.path != path || tab.loading.is_none());
                self.active = self.active.min(self.tabs.len().saturating_sub(1));
            }
        }
    }

    fn open_tab(&mut self, path: &str, rope: &Rope, read_only: bool, loading: Option<u8>) {
        if let Some(index) = self.tabs.iter().position(|tab| tab.path == path) {
            let tab = &mut self.tabs[index];
            tab.read_only = read_only;
            if tab.loading.is_some() && loading.is_none() {
                // Highlighting needs the whole text, which has just arrived.
                tab.syntax = Syntax::for_path(path, rope);
                if let Some(notice) = tab.syntax.as_ref().and_then(Syntax::notice) {
                    self.messages.push(Level::Warning, notice);
                }
            }
            tab.loading = loading;
            if loading.is_none() {
                self.active = index;
            }
        } else {
            let mut editor = Editor::new(self.keymap.initial_mode());
            editor.share_register(&self.register);
            editor.tab_width = self.tab_width;
            let region = self.regions().editor;
            editor.set_viewport(region.width as usize, region.height as usize);
            let syntax = match loading {
                Some(_) => None,
                None => Syntax::for_path(path, rope),
            };
            if let Some(notice) = syntax.as_ref().and_then(Syntax::notice) {
                self.messages.push(Level::Warning, notice);
            }
            self.tabs.push(OpenFile {
                path: path.into(),
                editor,
                syntax,
                modified: false,
                read_only,
                remotes: Vec::new(),
                loading,
            });
            self.active = self.tabs.len() - 1;
        }
        if let Some((pending_path, position)) = self.pending_goto.take() {
            if pending_path == path {
                let rows = self.regions().editor.height as usize;
                let editor = &mut self.tabs[self.active].editor;
                let at = crate::text::position::line_col_to_char(rope, position);
                let line = rope.char_to_line(at);
                // A place jumped to shows with context above it, not on the last row.
                let scroll = if (editor.scroll_line()..editor.scroll_line() + rows).contains(&line)
                {
                    editor.scroll_line()
                } else {
                    line.saturating_sub(rows / 3)
                };
                editor.follow_to(rope, Selection::cursor(at), scroll);
            } else {
                self.pending_goto = Some((pending_path, position));
            }
        }
        if let Some((pending_path, selection, scroll)) = self.pending_follow.take() {
            if pending_path == path {
                self.tabs[self.active]
                    .editor
                    .follow_to(rope, selection, scroll);
            } else {
                self.pending_follow = Some((pending_path, selection, scroll));
            }
        }
    }

    /// The session applied a local edit that [`App::handle_event`] returned.
    pub fn local_edit_applied(
        &mut self,
        path: &str,
        before: &Rope,
        operation: &Operation,
        after: &Rope,
    ) {
        self.diagnostics.map_edit(path, before, operation, after);
        if let Some(tab) = self.tabs.iter_mut().find(|tab| tab.path == path) {
            tab.modified = true;
            // The editor could not scroll to its new cursor before the text existed.
            tab.editor.ensure_cursor_visible(after);
            update_syntax(
                &mut tab.syntax,
                before,
                operation,
                after,
                &mut self.messages,
            );
        }
    }

    /// The session applied someone else's edit to `path`.
    pub fn remote_edit(&mut self, path: &str, before: &Rope, operation: &Operation, after: &Rope) {
        self.diagnostics.map_edit(path, before, operation, after);
        if let Some(tab) = self.tabs.iter_mut().find(|tab| tab.path == path) {
            // Whether it is unsaved is the host's word (`set_modified`), not ours: the
            // edit may have been an undo back to the saved text, or a reload from disk.
            tab.editor.apply_remote(operation, after);
            for remote in &mut tab.remotes {
                remote.selection = remote.selection.map(operation, crate::text::Assoc::Before);
            }
            update_syntax(
                &mut tab.syntax,
                before,
                operation,
                after,
                &mut self.messages,
            );
        }
    }

    /// Whether [`App::idle_work`] has something to do: large documents re-parse for
    /// syntax colors when typing pauses (call it ~50 ms after the last input).
    pub fn has_idle_work(&self) -> bool {
        self.tabs
            .iter()
            .any(|tab| tab.syntax.as_ref().is_some_and(Syntax::needs_reparse))
    }

    /// Catches up deferred work (syntax re-parses of large documents); redraw afterwards.
    pub fn idle_work(&mut self, documents: &impl Documents) {
        for tab in &mut self.tabs {
            if let (Some(syntax), Some(rope)) = (tab.syntax.as_mut(), documents.rope(&tab.path))
                && syntax.needs_reparse()
            {
                syntax.reparse_now(rope);
                if let Some(notice) = syntax.notice() {
                    self.messages.push(Level::Warning, notice);
                }
            }
        }
    }

    /// Other people's cursors in `path`, mapped to the current document by the session.
    pub fn set_remote_cursors(&mut self, path: &str, cursors: Vec<RemoteCursor>) {
        if let Some(tab) = self.tabs.iter_mut().find(|tab| tab.path == path) {
            tab.remotes = cursors;
        }
    }

    /// Everyone in the session. People who share a name are told apart on screen by a
    /// number after it, in the order they joined: `alice`, `alice (2)`.
    pub fn set_people(&mut self, mut people: Vec<PersonView>) {
        crate::tui::people::distinguish_names(&mut people);
        self.people = people;
        // The people panel is as wide as its longest row.
        self.resize(self.size.width, self.size.height);
    }

    pub fn set_files(&mut self, files: Vec<String>) {
        self.files = files;
    }

    pub fn set_connection(&mut self, connection: ConnectionState) {
        self.connection = connection;
    }

    /// Whether `path` shows as unsaved (`[+]`): `Session::is_unsaved`, one definition
    /// for everyone. True if that changed what is shown.
    pub fn set_modified(&mut self, path: &str, modified: bool) -> bool {
        if !modified && self.close_armed.as_deref() == Some(path) {
            self.close_armed = None;
        }
        match self.tabs.iter_mut().find(|tab| tab.path == path) {
            Some(tab) if tab.modified != modified => {
                tab.modified = modified;
                true
            }
            _ => false,
        }
    }

    /// The host saved `path` for `by` (`None`: for us): the message line says who saved
    /// it (whether it is still unsaved comes with `set_modified`).
    pub fn set_saved(&mut self, path: &str, by: Option<ParticipantId>) {
        let someone_else = by.filter(|id| {
            !self
                .people
                .iter()
                .any(|person| person.id == *id && person.is_you)
        });
        let message = match someone_else {
            Some(id) => format!("{} saved {path}", self.person_name(id)),
            None => format!("saved {path}"),
        };
        self.messages.push(Level::Info, message);
        if self.quit_when_saved.as_deref() == Some(path) {
            self.quit_when_saved = None;
            self.deferred = Some(AppCommand::Quit);
        }
    }

    /// A command that did not come from an event (`:wq` leaving once its save is done);
    /// the loop carries it out like those [`App::handle_event`] returns.
    pub fn take_deferred(&mut self) -> Option<AppCommand> {
        self.deferred.take()
    }

    /// Whether vim's command line is open (a `:q` being typed).
    pub fn is_typing_command(&self) -> bool {
        self.compositor.contains(Prompt::COMMAND_ID)
    }

    /// What the session card shows; a link makes this the host's UI (host controls on).
    pub fn set_session_card(&mut self, link: Option<String>, verification_code: String) {
        self.card = SessionCard {
            link,
            verification_code,
        };
        if self.compositor.contains(SessionCard::ID) {
            self.show_session_card();
        }
    }

    pub fn show_session_card(&mut self) {
        self.compositor.push(Box::new(self.card.clone()));
    }

    fn is_host(&self) -> bool {
        self.card.link.is_some()
    }

    /// Someone asks to join: ask the host now; the people menu keeps them until answered.
    pub fn join_requested(&mut self, request: JoinRequest) {
        self.messages.push(
            Level::Warning,
            format!("{} asks to join (alt-m answers later)", request.name),
        );
        self.compositor
            .push(Box::new(join_request_picker(&request)));
        self.pending.push(request);
    }

    /// The host answered (or the person gave up): no longer waiting.
    pub fn join_answered(&mut self, participant: ParticipantId) {
        self.pending
            .retain(|request| request.participant != participant);
    }

    pub fn message(&mut self, level: Level, text: impl Into<String>) {
        self.messages.push(level, text);
    }

    /// A standing line for the message row (see `JoinOptions::intro`); the keys for help
    /// and quitting are added as this keymap spells them.
    pub fn set_intro(&mut self, intro: impl Into<String>) {
        self.intro = Some(intro.into());
    }

    /// The intro line with the help and quit keys, if there is an intro.
    fn intro_line(&self) -> Option<String> {
        let intro = self.intro.as_ref()?;
        let mode = self.keymap.initial_mode();
        let mut parts = vec![intro.clone()];
        if let Some(help) = self.keymap.keys_for(mode, Action::ToggleHelp) {
            parts.push(format!("{help}: keys"));
        }
        if let Some(quit) = self.keymap.keys_for(mode, Action::Quit) {
            parts.push(format!("{quit}: quit"));
        }
        Some(parts.join(" · "))
    }

    /// Expires old messages; true if a redraw is due.
    pub fn tick(&mut self, now: Instant) -> bool {
        self.messages.expire(now)
    }

    /// When [`App::tick`] or [`App::due_ask`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.messages.deadline(), self.popups.deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Completions to ask for now that typing paused, if any.
    pub fn due_ask(&mut self, now: Instant) -> Option<AppCommand> {
        self.popups.due_ask(now).map(AppCommand::Ask)
    }

    /// The completion labels on screen, best first (empty when the menu is closed).
    pub fn completion_labels(&self) -> Vec<&str> {
        self.popups.completion_labels()
    }

    /// The host answered a question the app asked with [`AppCommand::Ask`]; shows it if
    /// the cursor is still where it was asked. May ask to open a file (a definition).
    pub fn intel_answer(
        &mut self,
        ask: &IntelAsk,
        response: crate::protocol::message::Response,
        documents: &impl Documents,
    ) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        if ask.kind == AskKind::References {
            use crate::protocol::message::Response;
            self.show_references(match response {
                Response::References(hits) => Ok(hits),
                Response::Nothing { reason } => Err(reason),
                Response::Error { message } => Err(message),
                other => {
                    tracing::debug!("unexpected answer to references: {other:?}");
                    return commands;
                }
            });
            return commands;
        }
        let here = Self::here(&self.tabs, self.active, documents);
        match self.popups.answer(ask, response, here, &mut self.messages) {
            Answered::Done => {}
            Answered::GoTo(path, at) => self.go_to(path, at, documents, &mut commands),
            Answered::Choose(places) => {
                let items = places
                    .into_iter()
                    .map(|place| PickerItem {
                        label: format!("{}:{}", place.path, place.range.start.line + 1),
                        command: AppCommand::GoTo {
                            path: place.path,
                            at: place.range.start,
                        },
                    })
                    .collect();
                let picker = Picker::new("definition-picker", "Definitions", items, "");
                self.compositor.push(Box::new(picker));
            }
        }
        commands
    }

    fn here<'a>(
        tabs: &'a [OpenFile],
        active: usize,
        documents: &'a impl Documents,
    ) -> Option<Here<'a>> {
        let tab = tabs.get(active)?;
        Some(Here {
            path: &tab.path,
            rope: documents.rope(&tab.path)?,
            cursor: tab.editor.cursor(),
            mode: tab.editor.mode,
        })
    }

    /// Opens `path` with the cursor at `at`: now if its text is here, else once it is.
    fn go_to(
        &mut self,
        path: String,
        at: crate::text::LineCol,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        self.stop_following(commands);
        self.pending_goto = Some((path.clone(), at));
        match documents.rope(&path) {
            Some(rope) => self.open_document(&path, rope, false),
            None => commands.push(AppCommand::Open(path)),
        }
    }

    /// An `Ask` for the cursor's place in the active file.
    fn ask(&self, kind: AskKind, documents: &impl Documents) -> Option<AppCommand> {
        let tab = self.tabs.get(self.active)?;
        let rope = documents.rope(&tab.path)?;
        Some(AppCommand::Ask(IntelAsk {
            kind,
            path: tab.path.clone(),
            at: crate::text::position::char_to_line_col(rope, tab.editor.cursor()),
            explicit: true,
        }))
    }

    pub fn following(&self) -> Option<ParticipantId> {
        self.following
    }

    /// The path of the active tab.
    pub fn active_path(&self) -> Option<&str> {
        self.tabs.get(self.active).map(|tab| tab.path.as_str())
    }

    /// Paths of every open tab, so the loop can hand each its remote cursors.
    pub fn open_paths(&self) -> impl Iterator<Item = &str> {
        self.tabs.iter().map(|tab| tab.path.as_str())
    }

    pub fn editor(&self) -> Option<&Editor> {
        self.tabs.get(self.active).map(|tab| &tab.editor)
    }

    /// Starts following `leader` (chosen by the user, `--follow`, or the host's request).
    pub fn start_following(&mut self, leader: ParticipantId) {
        self.following = Some(leader);
        self.resize(self.size.width, self.size.height);
        let name = self.person_name(leader);
        self.messages
            .push(Level::Info, format!("following {name}; move to stop"));
    }

    fn stop_following(&mut self, commands: &mut Vec<AppCommand>) {
        if let Some(leader) = self.following {
            // Said here, so no "following X; move to stop" outlives it, whatever stopped it.
            let name = self.person_name(leader);
            self.messages
                .push(Level::Info, format!("stopped following {name}"));
            self.following = None;
            commands.push(AppCommand::StopFollowing);
            self.resize(self.size.width, self.size.height);
        }
    }

    /// The name `id` has on screen (numbered if someone else has the same).
    pub fn person_name(&self, id: ParticipantId) -> String {
        self.people
            .iter()
            .find(|person| person.id == id)
            .map_or_else(|| format!("participant {id}"), |person| person.name.clone())
    }

    /// A leader's presence arrived. If it is the one we follow, the view goes where they
    /// are; returns `Open` when their file is not open here yet.
    pub fn leader_moved(
        &mut self,
        leader: ParticipantId,
        path: &str,
        selection: Selection,
        scroll_line: usize,
        documents: &impl Documents,
    ) -> Vec<AppCommand> {
        if self.following != Some(leader) {
            return Vec::new();
        }
        // A popup belongs to where our cursor was.
        self.popups.close();
        match documents.rope(path) {
            Some(rope) => {
                if self.active_path() != Some(path) {
                    self.open_document(path, rope, false);
                }
                if let Some(tab) = self.tabs.get_mut(self.active) {
                    tab.editor.follow_to(rope, selection, scroll_line);
                }
                Vec::new()
            }
            None => {
                self.pending_follow = Some((path.into(), selection, scroll_line));
                vec![AppCommand::Open(path.into())]
            }
        }
    }

    /// Handles one terminal event; returns what the session must do.
    pub fn handle_event(&mut self, event: &Event, documents: &impl Documents) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        if let Event::Key(key) = event
            && key.kind == KeyEventKind::Release
        {
            return commands;
        }
        if let Event::Resize(width, height) = event {
            self.resize(*width, *height);
            return commands;
        }
        if self.popups.is_open() && self.compositor.is_empty() {
            let leaves_insert = matches!(event, Event::Key(key) if key.code == KeyCode::Esc)
                && self.keymap.is_modal()
                && self.current_mode() == crate::tui::keymap::Mode::Insert;
            match event {
                // In vim, escape closes the completion menu and leaves insert mode at once.
                Event::Key(_) if leaves_insert => self.popups.close(),
                Event::Key(key) => match self.popups.handle_key(key) {
                    KeyOutcome::Consumed => return commands,
                    KeyOutcome::Pass => {}
                    KeyOutcome::GoTo(path, at) => {
                        self.go_to(path, at, documents, &mut commands);
                        return commands;
                    }
                    KeyOutcome::Accept(text) => {
                        self.accept_completion(text, documents, &mut commands);
                        return commands;
                    }
                },
                _ => self.popups.close(),
            }
        }
        if !self.compositor.is_empty() {
            let mut ui = Vec::new();
            let mut cx = Context {
                commands: &mut ui,
                keymap: &self.keymap,
            };
            let consumed = self.compositor.handle_event(event, &mut cx);
            for command in ui {
                self.ui_command(command, documents, &mut commands);
            }
            if consumed {
                return commands;
            }
        }
        if matches!(event, Event::Key(_)) {
            // A key typed after `:wq` means staying.
            self.quit_when_saved = None;
        }
        let before = self.view_state();
        let mut typed = None;
        match event {
            Event::Key(key) => {
                let mode = self.current_mode();
                match self.keymap.handle(mode, key) {
                    KeyResult::Action(action) => self.action(action, documents, &mut commands),
                    KeyResult::Command(command) => {
                        self.editor_input(EditorInput::Command(command), documents, &mut commands)
                    }
                    KeyResult::Insert(c) => {
                        typed = Some(c);
                        self.editor_input(EditorInput::Insert(c), documents, &mut commands)
                    }
                    KeyResult::Unbound
                        if self.keymap.is_modal()
                            && mode == crate::tui::keymap::Mode::Insert
                            && key.modifiers == KeyModifiers::ALT =>
                    {
                        // Escape and then a letter, typed fast (over SSH they arrive in one
                        // read), reach us as alt-letter. Unbound in insert mode, it is what
                        // vim makes of it too: leave insert mode, then the letter.
                        if let KeyCode::Char(c) = key.code {
                            for key in [
                                KeyEvent::from(KeyCode::Esc),
                                KeyEvent::from(KeyCode::Char(c)),
                            ] {
                                commands.extend(self.handle_event(&Event::Key(key), documents));
                            }
                            return commands;
                        }
                    }
                    KeyResult::Pending | KeyResult::Unbound => {}
                }
            }
            Event::Paste(text) => {
                self.editor_input(EditorInput::Paste(text.clone()), documents, &mut commands)
            }
            Event::Mouse(mouse) => self.mouse(mouse, documents, &mut commands),
            Event::Resize(..) => {}
        }
        if matches!(event, Event::Key(_) | Event::Paste(_)) {
            // The text is the session's to change: judge it as it will be after our edit.
            let edited = commands.iter().find_map(|command| match command {
                AppCommand::Edit { path, operation } => Some((path, operation)),
                _ => None,
            });
            let after_edit = edited.and_then(|(path, operation)| {
                let mut rope = documents.rope(path)?.clone();
                operation.apply(&mut rope).ok()?;
                Some(rope)
            });
            let here = match (&after_edit, self.tabs.get(self.active)) {
                (Some(rope), Some(tab)) => Some(Here {
                    path: &tab.path,
                    rope,
                    cursor: tab.editor.cursor(),
                    mode: tab.editor.mode,
                }),
                _ => Self::here(&self.tabs, self.active, documents),
            };
            // A character that did not go in (a read-only file) asks for nothing.
            let typed = typed.filter(|_| after_edit.is_some());
            self.popups.after_input(here, typed, Instant::now());
        }
        let after = self.view_state();
        if before != after
            && let Some((path, selection, scroll_line)) = after
        {
            commands.push(AppCommand::Presence {
                path,
                selection,
                scroll_line,
            });
        }
        commands
    }

    fn view_state(&self) -> Option<(String, Selection, usize)> {
        let tab = self.tabs.get(self.active)?;
        Some((
            tab.path.clone(),
            tab.editor.selection,
            tab.editor.scroll_line(),
        ))
    }

    fn current_mode(&self) -> crate::tui::keymap::Mode {
        self.tabs
            .get(self.active)
            .map_or(self.keymap.initial_mode(), |tab| tab.editor.mode)
    }

    fn ui_command(
        &mut self,
        command: UiCommand,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        match command {
            UiCommand::Find { query, forward } => {
                self.search = Some(query.clone()).filter(|q| !q.is_empty());
                // vim's `/` searches from where it started with every key typed.
                if let (Some(origin), Some(tab)) =
                    (self.find_origin, self.tabs.get_mut(self.active))
                    && let Some(rope) = documents.rope(&tab.path)
                {
                    tab.editor.set_selection(rope, origin);
                }
                self.editor_input(EditorInput::Find { query, forward }, documents, commands);
            }
            UiCommand::FindEnd { cancelled } => {
                if let (true, Some(origin), Some(tab)) =
                    (cancelled, self.find_origin, self.tabs.get_mut(self.active))
                    && let Some(rope) = documents.rope(&tab.path)
                {
                    tab.editor.set_selection(rope, origin);
                }
                self.find_origin = None;
            }
            UiCommand::Ex(text) => self.ex_command(&text, documents, commands),
            UiCommand::SubstituteAnswer(answer) => {
                self.editor_input(EditorInput::SubstituteAnswer(answer), documents, commands);
                if !self.editor().is_some_and(Editor::is_confirming_substitute) {
                    self.compositor.remove(SubstituteConfirm::ID);
                }
            }
            UiCommand::App(AppCommand::Follow(id)) => {
                self.start_following(id);
                commands.push(AppCommand::Follow(id));
            }
            UiCommand::App(AppCommand::Open(path)) => {
                // Opening a file yourself is navigation.
                self.stop_following(commands);
                match documents.rope(&path) {
                    Some(rope) => self.open_document(&path, rope, false),
                    None => commands.push(AppCommand::Open(path)),
                }
            }
            UiCommand::App(AppCommand::ManagePerson(id)) => {
                match person_menu(id, &self.pending, &self.people) {
                    Some(menu) => self.compositor.push(Box::new(menu)),
                    None => self
                        .messages
                        .push(Level::Info, "they are not in the session any more"),
                }
            }
            UiCommand::App(AppCommand::SearchPreview(path)) => match documents.rope(&path) {
                Some(rope) => self.search_preview(&path, rope.clone()),
                None => commands.push(AppCommand::SearchPreview(path)),
            },
            UiCommand::App(AppCommand::GoTo { path, at }) => {
                self.go_to(path, at, documents, commands)
            }
            UiCommand::App(command) => commands.push(command),
            UiCommand::Notice(text) => self.messages.push(Level::Info, text),
        }
    }

    /// Replaces the word before the cursor with an accepted completion, as typing would.
    fn accept_completion(
        &mut self,
        text: String,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let Some(rope) = documents.rope(&tab.path) else {
            return;
        };
        let cursor = tab.editor.cursor();
        let start = crate::tui::popup::word_start(rope, cursor);
        tab.editor.set_selection(
            rope,
            Selection {
                anchor: start,
                head: cursor,
            },
        );
        self.editor_input(EditorInput::Paste(text), documents, commands);
    }

    fn action(
        &mut self,
        action: Action,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        let path = self.active_path().map(str::to_owned);
        match action {
            Action::Quit => commands.push(AppCommand::Quit),
            Action::Save => match path {
                Some(path) => commands.push(AppCommand::Save(path)),
                None => self.messages.push(Level::Info, "no file open to save"),
            },
            Action::OpenFilePicker => self.compositor.push(Box::new(Picker::files(&self.files))),
            Action::ToggleHelp => {
                let messages = self.messages.history().map(|(_, text)| text);
                self.compositor.push(Box::new(HelpOverlay::new(messages)));
            }
            Action::Find => {
                // Escape hides the matches; the query stays to search again.
                let initial = self
                    .search
                    .clone()
                    .or_else(|| self.editor()?.last_search().map(str::to_owned))
                    .unwrap_or_default();
                let kind = if self.keymap.is_modal() {
                    self.find_origin = self.editor().map(|editor| editor.selection);
                    PromptKind::Search
                } else {
                    PromptKind::Find
                };
                self.compositor.push(Box::new(Prompt::new(kind, &initial)));
            }
            Action::CommandLine => self
                .compositor
                .push(Box::new(Prompt::new(PromptKind::Command, ""))),
            Action::SaveAndQuit => self.run_ex(ExCommand::Exit, documents, commands),
            Action::SearchWordForward | Action::SearchWordBackward => {
                self.editor_input(EditorInput::Action(action), documents, commands);
                if let Some(word) = self
                    .editor()
                    .and_then(Editor::last_search)
                    .map(str::to_owned)
                {
                    self.search = Some(word);
                }
            }
            Action::WorkspaceSearch => self.compositor.push(Box::new(SearchPanel::new())),
            Action::GotoReferences => match self.ask(AskKind::References, documents) {
                Some(ask) => {
                    commands.push(ask);
                    self.messages.push(Level::Info, "finding references…");
                }
                None => self
                    .messages
                    .push(Level::Info, "open a file to find references"),
            },
            Action::DiagnosticsList => self.compositor.push(Box::new(DiagnosticsList::new(
                self.diagnostics.rows(),
                "no diagnostics: the host's language servers report no problems",
            ))),
            Action::TogglePeople => {
                self.show_people = Some(self.regions().people.is_none());
                let (width, height) = (self.size.width, self.size.height);
                self.resize(width, height);
            }
            Action::ToggleFileTree => {
                if self.compositor.remove(FileTree::ID).is_none() {
                    self.compositor.push(Box::new(FileTree::new(&self.files)));
                }
            }
            Action::Follow => self.compositor.push(Box::new(follow_picker(&self.people))),
            Action::StopFollowing => {
                self.stop_following(commands);
            }
            Action::AskEveryoneToFollow => commands.push(AppCommand::AskEveryoneToFollow),
            Action::ManagePeople if self.is_host() => self
                .compositor
                .push(Box::new(people_menu(&self.pending, &self.people))),
            Action::ManagePeople => self.messages.push(
                Level::Info,
                "only the host admits, changes roles or removes people",
            ),
            Action::SessionInfo => self.show_session_card(),
            Action::Hover | Action::PeekDefinition | Action::GotoDefinition | Action::Complete => {
                let kind = match action {
                    Action::Hover => AskKind::Hover,
                    Action::PeekDefinition => AskKind::Peek,
                    Action::GotoDefinition => AskKind::Definition,
                    _ => AskKind::Completion,
                };
                match self.ask(kind, documents) {
                    Some(ask) => commands.push(ask),
                    None => self
                        .messages
                        .push(Level::Info, "open a file to ask about its code"),
                }
            }
            Action::NextTab | Action::PreviousTab if !self.tabs.is_empty() => {
                self.stop_following(commands);
                let len = self.tabs.len();
                self.active = if action == Action::NextTab {
                    (self.active + 1) % len
                } else {
                    (self.active + len - 1) % len
                };
            }
            Action::CloseTab
                if self.tabs[self.active].modified
                    && self.close_armed.as_deref()
                        != Some(self.tabs[self.active].path.as_str()) =>
            {
                let path = self.tabs[self.active].path.clone();
                self.messages.push(
                    Level::Warning,
                    format!(
                        "{path} has unsaved edits: they stay in the shared text until someone saves; close again to close it"
                    ),
                );
                self.close_armed = Some(path);
            }
            Action::CloseTab if !self.tabs.is_empty() => {
                self.close_armed = None;
                let tab = self.tabs.remove(self.active);
                commands.push(AppCommand::Close(tab.path));
                self.active = self.active.min(self.tabs.len().saturating_sub(1));
            }
            Action::Cancel if self.search.is_some() => {
                self.search = None;
                self.editor_input(EditorInput::Action(action), documents, commands);
            }
            _ => self.editor_input(EditorInput::Action(action), documents, commands),
        }
    }

    /// Runs what was typed on vim's command line.
    fn ex_command(
        &mut self,
        text: &str,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        match crate::tui::ex::parse(text) {
            Ok(command) => self.run_ex(command, documents, commands),
            Err(message) => self.messages.push(Level::Error, message),
        }
    }

    fn run_ex(
        &mut self,
        command: ExCommand,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        let path = self.active_path().map(str::to_owned);
        let modified = self.tabs.get(self.active).is_some_and(|tab| tab.modified);
        match command {
            ExCommand::Nothing => {}
            ExCommand::Write => self.action(Action::Save, documents, commands),
            ExCommand::WriteQuit | ExCommand::Exit
                if path.is_some() && (modified || matches!(command, ExCommand::WriteQuit)) =>
            {
                self.action(Action::Save, documents, commands);
                self.quit_when_saved = path;
            }
            ExCommand::WriteQuit | ExCommand::Exit => {
                self.run_ex(ExCommand::Quit { force: false }, documents, commands)
            }
            ExCommand::Quit { force: true } => commands.push(AppCommand::ForceQuit),
            ExCommand::Quit { force: false } => {
                // As vim: unsaved edits keep you here until `:w`, or `:q!` leaves anyway.
                let unsaved = self
                    .tabs
                    .iter()
                    .enumerate()
                    .filter(|(_, tab)| tab.modified)
                    .min_by_key(|(index, _)| *index != self.active)
                    .map(|(index, tab)| (index == self.active, tab.path.clone()));
                match unsaved {
                    Some((true, _)) => self.messages.push(
                        Level::Error,
                        "E37: No write since last change (add ! to override)",
                    ),
                    Some((false, other)) => self.messages.push(
                        Level::Error,
                        format!("E162: No write since last change for buffer \"{other}\""),
                    ),
                    None => commands.push(AppCommand::Quit),
                }
            }
            ExCommand::GoToLine(line) => {
                let Some(rope) = path.as_deref().and_then(|path| documents.rope(path)) else {
                    return;
                };
                let last = rope.len_lines().max(1);
                let line = match line {
                    crate::tui::editor::substitute::LineSpec::Number(n) => n.max(1),
                    crate::tui::editor::substitute::LineSpec::Current => {
                        return;
                    }
                    crate::tui::editor::substitute::LineSpec::Last => last,
                };
                let command = crate::tui::keymap::Command {
                    count: Some(line),
                    operator: None,
                    action: Action::MoveFileStart,
                    argument: None,
                };
                self.editor_input(EditorInput::Command(command), documents, commands);
            }
            ExCommand::Substitute(request) => {
                self.editor_input(EditorInput::Substitute(request), documents, commands);
                if let Some(replacement) = self
                    .editor()
                    .and_then(Editor::substitute_replacement)
                    .map(str::to_owned)
                {
                    self.compositor
                        .push(Box::new(SubstituteConfirm::new(&replacement)));
                }
            }
        }
    }

    fn editor_input(
        &mut self,
        input: EditorInput,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let Some(rope) = documents.rope(&tab.path) else {
            return;
        };
        let is_edit = matches!(
            input,
            EditorInput::Insert(_)
                | EditorInput::Paste(_)
                | EditorInput::Substitute(_)
                | EditorInput::SubstituteAnswer(_)
        ) || matches!(&input, EditorInput::Action(action) if is_editing(*action))
            || matches!(&input, EditorInput::Command(command) if command.is_edit());
        if is_edit && let Some(percent) = tab.loading {
            self.messages.push(
                Level::Info,
                format!("still loading ({percent}%); you can edit once all of it has arrived"),
            );
            return;
        }
        if is_edit && tab.read_only {
            self.messages.push(
                Level::Warning,
                "this file is read-only for you; the host decides who may edit",
            );
            return;
        }
        let outcome = tab.editor.handle(input, rope);
        if let Some(operation) = outcome.operation {
            commands.push(AppCommand::Edit {
                path: tab.path.clone(),
                operation,
            });
        }
        if let Some(text) = outcome.copied {
            commands.push(AppCommand::CopyToClipboard(text));
        }
        if let Some(message) = outcome.message {
            self.messages.push(Level::Info, message);
        }
        if outcome.navigated {
            self.stop_following(commands);
        }
    }

    fn mouse(
        &mut self,
        mouse: &ratatui::crossterm::event::MouseEvent,
        documents: &impl Documents,
        commands: &mut Vec<AppCommand>,
    ) {
        let regions = self.regions();
        if mouse.kind == MouseEventKind::Down(MouseButton::Left) && mouse.row == regions.tabs.y {
            let clicked = Tabs {
                tabs: &self.tab_views(),
                active: self.active,
                theme: &self.theme,
            }
            .layout(regions.tabs)
            .into_iter()
            .find(|(_, columns)| columns.contains(&mouse.column));
            if let Some((index, _)) = clicked {
                self.stop_following(commands);
                self.active = index;
            }
            return;
        }
        let area = regions.editor;
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let Some(rope) = documents.rope(&tab.path) else {
            return;
        };
        let inside = mouse.column >= area.x
            && mouse.column < area.right()
            && mouse.row >= area.y
            && mouse.row < area.bottom();
        let at = || {
            let line = (tab.editor.scroll_line() + (mouse.row - area.y) as usize)
                .min(rope.len_lines().saturating_sub(1));
            let gutter = gutter_width(rope) as u16;
            let col =
                mouse.column.saturating_sub(area.x + gutter) as usize + tab.editor.scroll_col();
            crate::tui::editor::char_at_display_col(rope, line, col, tab.editor.tab_width)
        };
        let navigated = match mouse.kind {
            MouseEventKind::ScrollUp if inside => {
                tab.editor.scroll_by(rope, -3);
                true
            }
            MouseEventKind::ScrollDown if inside => {
                tab.editor.scroll_by(rope, 3);
                true
            }
            MouseEventKind::Down(MouseButton::Left) if inside => {
                let at = at();
                tab.editor.set_selection(rope, Selection::cursor(at));
                self.last_click = Some(at);
                true
            }
            MouseEventKind::Drag(MouseButton::Left) if inside => {
                let head = at();
                let anchor = self.last_click.unwrap_or(head);
                tab.editor.set_selection(rope, Selection { anchor, head });
                true
            }
            _ => false,
        };
        if navigated {
            self.stop_following(commands);
        }
    }

    fn tab_views(&self) -> Vec<TabView<'_>> {
        self.tabs
            .iter()
            .map(|tab| TabView {
                path: &tab.path,
                modified: tab.modified,
            })
            .collect()
    }

    /// Draws the whole screen. Pure: reads state, changes nothing.
    pub fn render(&self, frame: &mut Frame<'_>, documents: &impl Documents) {
        let regions = self.regions();
        let buf = frame.buffer_mut();
        let theme = &self.theme;
        let tab_views = self.tab_views();
        Tabs {
            tabs: &tab_views,
            active: self.active,
            theme,
        }
        .render(regions.tabs, buf);

        let tab = self.tabs.get(self.active);
        let rope = tab.and_then(|tab| documents.rope(&tab.path));
        let mut cursor = None;
        match (tab, rope) {
            (Some(tab), Some(rope)) => {
                let widget = EditorWidget {
                    editor: &tab.editor,
                    rope,
                    syntax: tab.syntax.as_ref(),
                    theme,
                    remotes: &tab.remotes,
                    search: self.search.as_deref(),
                };
                cursor = widget.cursor_position(regions.editor);
                widget.render(regions.editor, buf);
                crate::tui::diagnostics::draw_in_editor(
                    regions.editor,
                    buf,
                    &tab.editor,
                    rope,
                    self.diagnostics.for_path(&tab.path),
                    theme,
                );
                let here = Here {
                    path: &tab.path,
                    rope,
                    cursor: tab.editor.cursor(),
                    mode: tab.editor.mode,
                };
                self.popups.render(regions.editor, cursor, here, theme, buf);
            }
            (Some(tab), None) => {
                self.placeholder(regions.editor, buf, &format!("loading {}…", tab.path));
            }
            (None, _) => {
                let open = self
                    .keymap
                    .keys_for(self.keymap.initial_mode(), Action::OpenFilePicker)
                    .unwrap_or_else(|| "the file picker".into());
                let help = self
                    .keymap
                    .keys_for(self.keymap.initial_mode(), Action::ToggleHelp)
                    .unwrap_or_else(|| "help".into());
                self.placeholder(
                    regions.editor,
                    buf,
                    &format!("cotype — {open} opens a file, {help} lists the keys"),
                );
            }
        }
        if let Some(area) = regions.people {
            PeopleWidget {
                people: &self.people,
                theme,
                following: self.following,
            }
            .render(area, buf);
        }
        let (position, mode, modified, read_only) = match (tab, rope) {
            (Some(tab), Some(rope)) => {
                let (line, col) = tab.editor.cursor_line_col(rope);
                (
                    Some((line + 1, col + 1)),
                    tab.editor.mode,
                    tab.modified,
                    tab.read_only && tab.loading.is_none(),
                )
            }
            _ => (None, self.keymap.initial_mode(), false, false),
        };
        let following = self.following.map(|id| self.person_name(id));
        let pending = self.keymap.pending();
        StatusLine {
            view: StatusView {
                connection: &self.connection,
                mode,
                show_mode: self.keymap.is_modal(),
                file: tab.map(|tab| tab.path.as_str()),
                modified,
                read_only,
                loading: tab.and_then(|tab| tab.loading),
                position,
                following: following.as_deref(),
                pending_keys: &pending,
            },
            theme,
        }
        .render(regions.status, buf);
        MessageArea {
            messages: &self.messages,
            theme,
        }
        .render(regions.message, buf);
        // With no message to show, the message row tells what is wrong on the cursor's line,
        // or else holds the intro line.
        let on_cursor_line = match (tab, rope) {
            (Some(tab), Some(rope)) => self
                .diagnostics
                .on_line(&tab.path, tab.editor.cursor_line_col(rope).0),
            _ => None,
        };
        let standing = match on_cursor_line {
            Some(item) => {
                let (mark, scope, _) = severity_style(item.severity);
                Some((format!("{mark} {}", message_line(item)), theme.get(scope)))
            }
            None => self
                .intro_line()
                .map(|intro| (intro, theme.get("ui.text.focus"))),
        };
        let area = regions.message;
        if self.messages.current().is_none()
            && !area.is_empty()
            && let Some((text, scope_style)) = standing
        {
            let style = theme
                .get("ui.background")
                .patch(theme.get("ui.text"))
                .patch(scope_style);
            buf.set_stringn(area.x, area.y, text, area.width as usize, style);
        }

        let cx = RenderContext {
            theme,
            keymap: &self.keymap,
        };
        self.compositor.render(self.size, buf, &cx);
        if let Some(position) =
            self.compositor
                .cursor(self.size)
                .or(if self.compositor.is_empty() {
                    cursor
                } else {
                    None
                })
        {
            frame.set_cursor_position(position);
        }
    }

    /// The host's diagnostics for `path` (its complete list; empty clears it).
    pub fn set_diagnostics(&mut self, path: &str, items: Vec<DiagnosticItem>) {
        self.diagnostics.set(path, items);
        if let Some(list) = self
            .compositor
            .find_mut::<DiagnosticsList>(DiagnosticsList::ID)
        {
            list.set_rows(self.diagnostics.rows(), "no diagnostics left");
        }
    }

    /// A batch of workspace search results; returns what the session must fetch for the
    /// preview.
    pub fn search_results(
        &mut self,
        hits: Vec<SearchHit>,
        documents: &impl Documents,
    ) -> Vec<AppCommand> {
        let mut ui = Vec::new();
        if let Some(panel) = self.compositor.find_mut::<SearchPanel>(SearchPanel::ID) {
            panel.add_results(hits, &mut ui);
        }
        let mut commands = Vec::new();
        for command in ui {
            self.ui_command(command, documents, &mut commands);
        }
        commands
    }

    /// The search ended: how, or the host's error.
    pub fn search_finished(&mut self, outcome: Result<SearchSummary, String>) {
        if let Some(panel) = self.compositor.find_mut::<SearchPanel>(SearchPanel::ID) {
            match outcome {
                Ok(summary) => panel.finish(summary),
                Err(message) => panel.fail(message),
            }
        }
    }

    /// The open search panel's query, to ask again after a reconnect (its results cleared).
    pub fn restart_search(&mut self) -> Option<SearchQuery> {
        self.compositor
            .find_mut::<SearchPanel>(SearchPanel::ID)?
            .restart()
    }

    /// The text of `path` for the search panel's preview.
    pub fn search_preview(&mut self, path: &str, text: Rope) {
        if let Some(panel) = self.compositor.find_mut::<SearchPanel>(SearchPanel::ID) {
            panel.set_preview(path, text);
        }
    }

    /// The host's answer to a references question: the list, or why there is none.
    pub fn show_references(&mut self, answer: Result<Vec<ReferenceHit>, String>) {
        let hits = match answer {
            Ok(hits) => hits,
            Err(message) => {
                self.messages
                    .push(Level::Error, format!("references: {message}"));
                return;
            }
        };
        // Places outside the shared folder cannot be opened here; they are only counted.
        let (outside, inside): (Vec<_>, Vec<_>) =
            hits.into_iter().partition(|hit| hit.location.external);
        let items: Vec<Location> = inside
            .into_iter()
            .map(|hit| {
                let range = hit.location.range;
                let len = if range.start.line == range.end.line {
                    range.end.col.saturating_sub(range.start.col)
                } else {
                    1
                };
                Location {
                    path: hit.location.path,
                    position: range.start,
                    text: hit.context_line,
                    highlight: Some(range.start.col..range.start.col + len.max(1)),
                    mark: None,
                }
            })
            .collect();
        let count = items.len();
        let mut message = format!("{count} reference{}", if count == 1 { "" } else { "s" });
        if !outside.is_empty() {
            message += &format!(" (and {} outside the shared folder)", outside.len());
        }
        self.messages.push(Level::Info, message);
        self.compositor.push(Box::new(LocationList::new(
            LocationList::REFERENCES,
            "References",
            items,
            "no references found",
        )));
    }

    fn placeholder(&self, area: Rect, buf: &mut ratatui::buffer::Buffer, text: &str) {
        let style = self
            .theme
            .get("ui.background")
            .patch(self.theme.get("comment"));
        buf.set_style(area, style);
        let y = area.y + area.height / 2;
        let width = unicode_width::UnicodeWidthStr::width(text) as u16;
        let x = area.x + area.width.saturating_sub(width) / 2;
        buf.set_stringn(x, y, text, area.width as usize, style);
    }
}

fn is_editing(action: Action) -> bool {
    use Action as A;
    matches!(
        action,
        A::InsertNewline
            | A::InsertTab
            | A::Dedent
            | A::DeleteBackward
            | A::DeleteForward
            | A::DeleteWordBackward
            | A::DeleteWordForward
            | A::DeleteLine
            | A::OpenLineBelow
            | A::OpenLineAbove
            | A::Undo
            | A::Redo
            | A::Cut
            | A::Paste
            | A::RepeatChange
            | A::JoinLines
            | A::ToggleCase
            | A::OperatorChange
            | A::OperatorDelete
    )
}

fn update_syntax(
    syntax: &mut Option<Syntax>,
    before: &Rope,
    operation: &Operation,
    after: &Rope,
    messages: &mut Messages,
) {
    if let Some(syntax) = syntax {
        let was_enabled = syntax.is_enabled();
        syntax.update(before, operation, after);
        if was_enabled && let Some(notice) = syntax.notice() {
            messages.push(Level::Warning, notice);
        }
    }
}
