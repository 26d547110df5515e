//! The participant UI as one value: open files with their editors, the layers above them,
//! panels, and who is followed. The app loop owns an [`App`] next to the client session.
//!
//! Wiring, in the loop that owns both (see docs/CONFIG.md for the user side):
//! - terminal event -> [`App::handle_event`] -> carry out each returned [`AppCommand`]
//!   (an `Edit` goes through the session, then [`App::local_edit_applied`]);
//! - a remote edit applied by the session -> [`App::remote_edit`];
//! - presence, members, file list, connection state -> `App::set_*`;
//! - a leader's presence while following -> [`App::leader_moved`] (whom we follow is a
//!   `client::follow::Follow`, which the loop consults through [`App::follow_mut`]);
//! - an [`AppCommand::Ask`] goes to the host (`tui::intel`); its answer ->
//!   [`App::intel_answer`], and [`App::due_ask`] when [`App::next_deadline`] comes;
//! - then draw: `tui.draw(|frame| app.render(frame, &documents))`.
//!
//! The app never holds document text: it reads ropes through [`DocumentTexts`] when it needs
//! them, so the session stays the one owner of the truth.

use std::collections::HashMap;
use std::time::Instant;

use ratatui::layout::{Constraint, Layout, Rect};
use ropey::Rope;

use crate::client::follow::Follow;
use crate::protocol::ParticipantId;
use crate::text::LineCol;
use crate::tui::compositor::{AppCommand, Compositor};
use crate::tui::diagnostics::DiagnosticStore;
use crate::tui::editor::{Editor, RemoteCursor, SaveTidying, Selection};
use crate::tui::highlight::Syntax;
use crate::tui::host_controls::{
    IGNORE_FILES_PROMPT, JoinRequest, SessionCard, ignore_files_prompt, join_request_picker,
};
use crate::tui::keymap::{Action, Keymap};
use crate::tui::people::PersonView;
use crate::tui::picker::Picker;
use crate::tui::popup::Popups;
use crate::tui::prompt::Prompt;
use crate::tui::status::{ConnectionState, Level, Messages};
use crate::tui::theme::Theme;
use crate::tui::tree::FileTree;

mod actions;
mod find_replace;
mod follow;
mod git;
mod inlay;
mod input;
mod intel;
mod language;
mod render;
mod semantic;
mod split;
mod tabs;

/// Read access to the texts of the session's documents by path (the session owns them).
pub trait DocumentTexts {
    fn rope(&self, path: &str) -> Option<&Rope>;
}

impl DocumentTexts for HashMap<String, Rope> {
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
    /// What saving tidies first (config.toml's `trim_trailing_whitespace`, ...).
    save_tidying: SaveTidying,
    tabs: Vec<OpenFile>,
    active: usize,
    compositor: Compositor,
    people: Vec<PersonView>,
    files: Vec<String>,
    connection: ConnectionState,
    /// Whom we follow (the people panel and status line show it), whom we wait for, and
    /// where a leader went in a file still opening.
    follow: Follow,
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
    /// Ignore files that changed and the host has not adopted (host only).
    ignore_files_changed: Vec<String>,
    diagnostics: DiagnosticStore,
    /// Where to put the cursor in a file we asked the session to open (a search result).
    pending_goto: Option<(String, LineCol)>,
    /// Hover, peek and completion at the cursor.
    popups: Popups,
    /// The gutter's mark where the cursor's line has quick fixes.
    lightbulb: crate::tui::lightbulb::Lightbulb,
    /// Input that edited the active file: the popups see it once the session applied the
    /// edit (with the character typed, if one was).
    popups_await_edit: Option<Option<char>>,
    /// Two files side by side (see `split.rs`).
    split: Option<split::Split>,
    /// Actions run from the command palette, newest first (they head its list).
    recent_actions: Vec<Action>,
    /// The pattern of the open find-and-replace prompt: its matches are marked.
    file_find: Option<regex::Regex>,
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
    /// The host's repository: branch, changed files, each open file's base (`tui::git`).
    git: crate::tui::git::GitView,
    /// The language server's types and parameter names, drawn between the characters.
    inlay: crate::tui::inlay::InlayHints,
    /// The language server's colors over tree-sitter's (a setting).
    semantic: crate::tui::semantic::SemanticHighlights,
}

/// The screen regions, computed the same way for input (mouse, paging) and rendering.
struct Regions {
    tabs: Rect,
    /// The focused pane (all of the editor's room without a split).
    editor: Rect,
    /// With a split: the other pane and the rule between the panes.
    other_pane: Option<(Rect, Rect)>,
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
            save_tidying: SaveTidying::default(),
            tabs: Vec::new(),
            active: 0,
            compositor: Compositor::new(),
            people: Vec::new(),
            files: Vec::new(),
            connection: ConnectionState::Connecting,
            follow: Follow::default(),
            messages: Messages::default(),
            intro: None,
            show_people: None,
            search: None,
            size: Rect::new(0, 0, size.0, size.1),
            last_click: None,
            card: SessionCard {
                link: None,
                verification_code: String::new(),
                ssh: None,
            },
            pending: Vec::new(),
            ignore_files_changed: Vec::new(),
            diagnostics: DiagnosticStore::default(),
            pending_goto: None,
            popups: Popups::default(),
            lightbulb: Default::default(),
            popups_await_edit: None,
            find_origin: None,
            file_find: None,
            recent_actions: Vec::new(),
            split: None,
            quit_when_saved: None,
            deferred: None,
            close_armed: None,
            register: Default::default(),
            git: Default::default(),
            inlay: Default::default(),
            semantic: Default::default(),
        };
        app.resize(size.0, size.1);
        app
    }

    /// What saving tidies before the host writes the file (config.toml).
    pub fn set_save_tidying(&mut self, tidying: SaveTidying) {
        self.save_tidying = tidying;
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// Where the editor is drawn (a shared terminal is shown there instead).
    pub fn editor_area(&self) -> Rect {
        self.regions().editor
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
        let (mut editor, people) = match self.people_width(middle.width) {
            Some(width) => {
                let [editor, people] =
                    Layout::horizontal([Constraint::Min(1), Constraint::Length(width)])
                        .areas(middle);
                (editor, Some(people))
            }
            None => (middle, None),
        };
        let mut other_pane = None;
        if let Some((focused, other, rule)) = self.panes(editor) {
            editor = focused;
            other_pane = Some((other, rule));
        }
        Regions {
            tabs,
            editor,
            other_pane,
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
        let natural = crate::tui::people::panel_width(&self.people, self.follow.leader());
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

    /// Everyone in the session. People who share a name are told apart on screen by a
    /// number after it, in the order they joined: `alice`, `alice (2)`.
    pub fn set_people(&mut self, mut people: Vec<PersonView>) {
        crate::tui::people::distinguish_names(&mut people);
        self.people = people;
        // The people panel is as wide as its longest row.
        self.resize(self.size.width, self.size.height);
    }

    pub fn set_files(&mut self, files: Vec<String>) {
        // An open file tree shows the new list (a member created or deleted something).
        if let Some(tree) = self.compositor.find_mut::<FileTree>(FileTree::ID) {
            tree.set_paths(&files);
        }
        // So does an open file picker: opened before the list arrived, it would otherwise
        // say "no files shared yet" until closed and opened again.
        if let Some(picker) = self.compositor.find_mut::<Picker>(Picker::FILES) {
            picker.set_files(&files);
        }
        self.files = files;
    }

    pub fn set_connection(&mut self, connection: ConnectionState) {
        self.connection = connection;
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
            ssh: self.card.ssh.take(),
        };
        if self.compositor.contains(SessionCard::ID) {
            self.show_session_card();
        }
    }

    /// The `ssh` command the session card shows (SSH guests), if the relay offers it.
    pub fn set_ssh_command(&mut self, ssh: Option<String>) {
        self.card.ssh = ssh;
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

    /// Asks the user to choose from `menu` (a question the event loop has, such as
    /// whether to end a shared terminal).
    pub fn show_menu(&mut self, menu: crate::tui::picker::Picker) {
        self.compositor.push(Box::new(menu));
    }

    /// Ignore files changed (host only): the host is asked whether to adopt them, now or
    /// later from the people menu.
    pub fn ignore_files_changed(&mut self, paths: Vec<String>) {
        self.messages.push(
            Level::Warning,
            format!(
                "{} changed; the files it hid stay hidden unless you adopt it (alt-m, later)",
                paths.join(", ")
            ),
        );
        for path in paths {
            if !self.ignore_files_changed.contains(&path) {
                self.ignore_files_changed.push(path);
            }
        }
        // One prompt, naming every file changed so far.
        self.compositor.remove(IGNORE_FILES_PROMPT);
        self.compositor
            .push(Box::new(ignore_files_prompt(&self.ignore_files_changed)));
    }

    /// The host adopted the changed ignore files: nothing is left to ask about. Returns
    /// their paths.
    pub fn ignore_files_adopted(&mut self) -> Vec<String> {
        std::mem::take(&mut self.ignore_files_changed)
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
        let marks_came = self.git.take_finished();
        self.messages.expire(now) || marks_came
    }

    /// When [`App::tick`], [`App::due_ask`] or [`App::due_inlay_ask`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.messages.deadline(),
            self.popups.deadline(),
            self.lightbulb.deadline(),
            self.git.next_deadline(),
            self.inlay_deadline(),
            self.semantic_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
