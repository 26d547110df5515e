//! Keys are data: a table from key sequences to named actions, per mode.
//!
//! Keymap files (`keymaps/*.toml`, and the user's own in the config folder) map an action
//! name to the keys that trigger it, per mode:
//!
//! ```toml
//! [insert]
//! save = "ctrl-s"
//! open_file_picker = ["ctrl-p", "ctrl-o"]
//! ```
//!
//! Because the action is the key of the table, a user file overrides by action name: it
//! replaces the keys of the actions it names and leaves the rest alone (`save = []`
//! unbinds). The same table lists the active bindings for `cotype keys` and the help
//! overlay. Modeless keymaps have only an `[insert]` table; modal ones add `[normal]` and
//! `[visual]` and start in normal mode. A binding may be a sequence (`"g g"`).
//!
//! In normal mode, keys follow vim's grammar ([`grammar`]): a count, an operator, a
//! motion or (from the `[operator]` table) a text object: `3j`, `d2w`, `ciw`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod grammar;
pub use grammar::{Command, Operator};

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error(
        "no keymap named {name:?}; built-in keymaps are default and vim, user keymaps go in {user_dir}"
    )]
    NotFound { name: String, user_dir: String },
    #[error("cannot read keymap {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("keymap {name:?} is not valid TOML: {message}")]
    Toml { name: String, message: String },
    #[error(
        "keymap {name:?}: unknown mode [{mode}]; modes are normal, insert, visual and operator"
    )]
    UnknownMode { name: String, mode: String },
    #[error("keymap {name:?}: unknown action {action:?}; `cotype keys` lists the actions")]
    UnknownAction { name: String, action: String },
    #[error("keymap {name:?}: cannot read key {key:?} for {action}: {reason}")]
    BadKey {
        name: String,
        action: String,
        key: String,
        reason: String,
    },
}

/// Editing modes. Modeless keymaps live entirely in `Insert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Normal,
    Insert,
    Visual,
    /// Vim's operator-pending mode: the keymap is in it between an operator (`d`) and its
    /// motion; its table holds what only follows an operator (text objects), and the
    /// normal table supplies the motions. The editor itself is never in it.
    Operator,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Insert => "insert",
            Self::Visual => "visual",
            Self::Operator => "operator",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "normal" => Self::Normal,
            "insert" => Self::Insert,
            "visual" => Self::Visual,
            "operator" => Self::Operator,
            _ => return None,
        })
    }
}

/// What kind of action an action is, declared once for each in the `actions!` table and
/// read through [`Action`]'s accessors (`edits_text`, `takes_count`, ...), so the keymap's
/// grammar, the editor and the app agree on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Traits(u8);

impl Traits {
    const NONE: Self = Self(0);
    /// Changes the text: a read-only participant, or a document still loading, refuses it.
    const EDIT: Self = Self(1);
    /// In vim's normal mode a count repeats it without an operator (`3x`, `3 ctrl-d`).
    const COUNT: Self = Self(1 << 1);
    /// A motion an operator can take (`dw`, `d3j`); every motion also takes a count.
    const MOTION: Self = Self(1 << 2);
    /// Moves the cursor and keeps the selection's anchor (shift-arrows).
    const EXTEND: Self = Self(1 << 3);
    /// A text object: what an operator acts on when typed after it (`diw`).
    const OBJECT: Self = Self(1 << 4);
    /// Takes the next key typed as its argument (the `x` of `fx`, `rx`).
    const ARGUMENT: Self = Self(1 << 5);

    const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    const fn has(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal $([$($traits:ident)|+])? : $doc:literal,)*) => {
        /// Everything a key can do, by the name users write in keymap files.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action { $(#[doc = $doc] $variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Action::$variant => $doc,)* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }

            fn traits(self) -> Traits {
                match self {
                    $(Action::$variant => Traits::NONE $($(.with(Traits::$traits))+)?,)*
                }
            }
        }
    };
}

impl Action {
    /// Whether it changes the text (so a read-only participant, or a document still
    /// loading, refuses it).
    pub fn edits_text(self) -> bool {
        self.traits().has(Traits::EDIT)
    }

    /// Whether a count typed before it in vim's normal mode applies to it (`3j`, `3x`,
    /// `3 ctrl-d`); other actions drop a count.
    pub fn takes_count(self) -> bool {
        self.traits().has(Traits::COUNT) || self.is_motion()
    }

    /// Whether an operator can take it as its motion (`dw`).
    pub fn is_motion(self) -> bool {
        self.traits().has(Traits::MOTION)
    }

    /// Whether it moves the cursor keeping the selection's anchor.
    pub fn extends_selection(self) -> bool {
        self.traits().has(Traits::EXTEND)
    }

    /// Whether it is a text object, meaningful only after an operator (`iw`).
    pub fn is_text_object(self) -> bool {
        self.traits().has(Traits::OBJECT)
    }

    /// Whether it takes the next key typed as its argument (`fx`, `rx`).
    pub fn takes_char(self) -> bool {
        self.traits().has(Traits::ARGUMENT)
    }
}

actions! {
    OpenFilePicker = "open_file_picker": "Open a file by fuzzy name",
    Save = "save": "Save the file on the host",
    Quit = "quit": "Leave the session",
    ToggleHelp = "toggle_help": "Show or hide the key bindings",
    Find = "find": "Find in this file",
    FindNext = "find_next" [COUNT]: "Jump to the next match",
    FindPrevious = "find_previous" [COUNT]: "Jump to the previous match",
    WorkspaceSearch = "workspace_search": "Search all shared files",
    GotoReferences = "goto_references": "List every reference to the symbol at the cursor",
    DiagnosticsList = "diagnostics_list": "List the problems the host's language servers found",
    Follow = "follow": "Follow someone (pick from the people panel)",
    StopFollowing = "stop_following": "Stop following",
    AskEveryoneToFollow = "ask_everyone_to_follow": "Ask everyone to follow you (host)",
    ManagePeople = "manage_people": "Admit, set roles or remove people (host)",
    SessionInfo = "session_info": "Show the link (host) and the verification code",
    TogglePeople = "toggle_people": "Show or hide the people panel",
    ToggleFileTree = "toggle_file_tree": "Show or hide the file tree",
    NextTab = "next_tab": "Switch to the next open file",
    PreviousTab = "previous_tab": "Switch to the previous open file",
    CloseTab = "close_tab": "Close the current file",
    Undo = "undo" [EDIT | COUNT]: "Undo your last edit (never someone else's)",
    Redo = "redo" [EDIT | COUNT]: "Redo your last undone edit",
    Copy = "copy": "Copy the selection (or the line) to the system clipboard",
    Cut = "cut" [EDIT]: "Cut the selection (or the line) to the system clipboard",
    Paste = "paste" [EDIT | COUNT]: "Paste the last copied text",
    PasteBefore = "paste_before" [EDIT | COUNT]: "Put the last copied text before the cursor (lines above it)",
    MoveLeft = "move_left" [MOTION]: "Move the cursor one character left",
    MoveRight = "move_right" [MOTION]: "Move the cursor one character right",
    MoveUp = "move_up" [MOTION]: "Move the cursor one line up",
    MoveDown = "move_down" [MOTION]: "Move the cursor one line down",
    MoveWordLeft = "move_word_left" [MOTION]: "Move to the start of the previous word",
    MoveWordRight = "move_word_right" [MOTION]: "Move to the start of the next word",
    MoveWordEnd = "move_word_end" [MOTION]: "Move to the end of the word",
    MoveLineStart = "move_line_start" [MOTION]: "Move to the start of the line",
    MoveLineEnd = "move_line_end" [MOTION]: "Move to the end of the line",
    MoveFirstNonBlank = "move_first_nonblank" [MOTION]: "Move to the first non-blank character of the line",
    PageUp = "page_up" [COUNT]: "Scroll one page up",
    PageDown = "page_down" [COUNT]: "Scroll one page down",
    MoveFileStart = "move_file_start" [MOTION]: "Move to the start of the file",
    MoveFileEnd = "move_file_end" [MOTION]: "Move to the end of the file",
    ExtendLeft = "extend_left" [EXTEND]: "Extend the selection one character left",
    ExtendRight = "extend_right" [EXTEND]: "Extend the selection one character right",
    ExtendUp = "extend_up" [EXTEND]: "Extend the selection one line up",
    ExtendDown = "extend_down" [EXTEND]: "Extend the selection one line down",
    ExtendWordLeft = "extend_word_left" [EXTEND]: "Extend the selection to the previous word",
    ExtendWordRight = "extend_word_right" [EXTEND]: "Extend the selection to the next word",
    ExtendLineStart = "extend_line_start" [EXTEND]: "Extend the selection to the start of the line",
    ExtendLineEnd = "extend_line_end" [EXTEND]: "Extend the selection to the end of the line",
    ExtendPageUp = "extend_page_up" [EXTEND]: "Extend the selection one page up",
    ExtendPageDown = "extend_page_down" [EXTEND]: "Extend the selection one page down",
    ExtendFileStart = "extend_file_start" [EXTEND]: "Extend the selection to the start of the file",
    ExtendFileEnd = "extend_file_end" [EXTEND]: "Extend the selection to the end of the file",
    SelectAll = "select_all": "Select the whole file",
    SelectLine = "select_line": "Select the current line",
    InsertNewline = "insert_newline" [EDIT]: "Insert a line break, keeping the indentation",
    InsertTab = "insert_tab" [EDIT | COUNT]: "Indent (a tab or spaces, as the file does)",
    Dedent = "dedent" [EDIT | COUNT]: "Remove one level of indentation from the line",
    DeleteBackward = "delete_backward" [EDIT | COUNT]: "Delete the selection or the character before the cursor",
    DeleteForward = "delete_forward" [EDIT | COUNT]: "Delete the selection or the character under the cursor",
    DeleteWordBackward = "delete_word_backward" [EDIT]: "Delete to the start of the word",
    DeleteWordForward = "delete_word_forward" [EDIT]: "Delete to the start of the next word",
    DeleteLine = "delete_line" [EDIT]: "Delete the current line (and copy it)",
    OpenLineBelow = "open_line_below" [EDIT]: "Start a new line below and insert there",
    OpenLineAbove = "open_line_above" [EDIT]: "Start a new line above and insert there",
    NormalMode = "normal_mode": "Leave insert or visual mode",
    InsertMode = "insert_mode": "Insert before the cursor",
    AppendMode = "append_mode": "Insert after the cursor",
    InsertAtLineStart = "insert_at_line_start": "Insert at the first non-blank of the line",
    AppendAtLineEnd = "append_at_line_end": "Insert at the end of the line",
    VisualMode = "visual_mode": "Start selecting",
    Cancel = "cancel": "Close the popup or clear the selection",
    Hover = "hover": "Show what the language server knows about the symbol at the cursor",
    PeekDefinition = "peek_definition": "Show the definition's lines under the cursor without opening its file",
    GotoDefinition = "goto_definition": "Open the file at the definition of the symbol at the cursor",
    Complete = "complete": "Show completions at the cursor",
    OperatorDelete = "operator_delete" [EDIT]: "Delete what the next motion covers (twice: the line), and copy it",
    OperatorChange = "operator_change" [EDIT]: "Change what the next motion covers (twice: the line)",
    OperatorYank = "operator_yank": "Copy what the next motion covers (twice: the line)",
    DeleteToLineEnd = "delete_to_line_end" [EDIT]: "Delete to the end of the line, and copy it",
    ChangeToLineEnd = "change_to_line_end" [EDIT]: "Change to the end of the line",
    ChangeLine = "change_line" [EDIT]: "Change the whole line, keeping its indentation",
    InnerWord = "inner_word" [OBJECT]: "After an operator: the word under the cursor",
    AroundWord = "around_word" [OBJECT]: "After an operator: the word and the space after it",
    InnerParens = "inner_parens" [OBJECT]: "After an operator: what the parentheses around the cursor hold",
    AroundParens = "around_parens" [OBJECT]: "After an operator: the parentheses around the cursor and what they hold",
    InnerBrackets = "inner_brackets" [OBJECT]: "After an operator: what the square brackets around the cursor hold",
    AroundBrackets = "around_brackets" [OBJECT]: "After an operator: the square brackets around the cursor and what they hold",
    InnerBraces = "inner_braces" [OBJECT]: "After an operator: what the braces around the cursor hold",
    AroundBraces = "around_braces" [OBJECT]: "After an operator: the braces around the cursor and what they hold",
    InnerDoubleQuotes = "inner_double_quotes" [OBJECT]: "After an operator: the text between the double quotes at the cursor",
    AroundDoubleQuotes = "around_double_quotes" [OBJECT]: "After an operator: the double-quoted text at the cursor, quotes and the blanks after included",
    InnerSingleQuotes = "inner_single_quotes" [OBJECT]: "After an operator: the text between the single quotes at the cursor",
    AroundSingleQuotes = "around_single_quotes" [OBJECT]: "After an operator: the single-quoted text at the cursor, quotes and the blanks after included",
    RepeatChange = "repeat_change" [EDIT]: "Repeat the last d, c or x command (with the text typed after c)",
    ExtendWordEnd = "extend_word_end" [EXTEND]: "Extend the selection to the end of the word",
    FindChar = "find_char" [MOTION | ARGUMENT]: "Move onto the next given character on the line (vim's f)",
    FindCharBackward = "find_char_backward" [MOTION | ARGUMENT]: "Move onto the previous given character on the line (vim's F)",
    TillChar = "till_char" [MOTION | ARGUMENT]: "Move to just before the next given character on the line (vim's t)",
    TillCharBackward = "till_char_backward" [MOTION | ARGUMENT]: "Move to just after the previous given character on the line (vim's T)",
    RepeatCharFind = "repeat_char_find" [MOTION]: "Repeat the last f, t, F or T",
    RepeatCharFindReverse = "repeat_char_find_reverse" [MOTION]: "Repeat the last f, t, F or T the other way",
    MatchBracket = "match_bracket" [MOTION]: "Jump to the bracket that matches the one at or after the cursor",
    SearchWordForward = "search_word_forward": "Find the next place the word under the cursor occurs",
    SearchWordBackward = "search_word_backward": "Find the previous place the word under the cursor occurs",
    JoinLines = "join_lines" [EDIT | COUNT]: "Join the next line to this one with a space",
    ReplaceChar = "replace_char" [EDIT | COUNT | ARGUMENT]: "Replace the character under the cursor with the next key typed",
    ToggleCase = "toggle_case" [EDIT | COUNT]: "Switch the case of the character under the cursor and move right",
    MoveLongWordRight = "move_long_word_right" [MOTION]: "Move to the start of the next blank-separated word (vim's W)",
    MoveLongWordLeft = "move_long_word_left" [MOTION]: "Move to the start of the previous blank-separated word (vim's B)",
    MoveLongWordEnd = "move_long_word_end" [MOTION]: "Move to the end of the blank-separated word (vim's E)",
    MoveParagraphForward = "move_paragraph_forward" [MOTION]: "Move to the next blank line",
    MoveParagraphBackward = "move_paragraph_backward" [MOTION]: "Move to the previous blank line",
    HalfPageDown = "half_page_down" [COUNT]: "Move and scroll half a page down",
    HalfPageUp = "half_page_up" [COUNT]: "Move and scroll half a page up",
    CenterCursor = "center_cursor": "Scroll so the cursor's line is in the middle of the view",
    SaveAndQuit = "save_and_quit": "Save the file if it has unsaved edits, then leave (vim's ZZ and :x)",
    CommandLine = "command_line": "Type a command (:w, :q, :wq, :x, :q!, :42, :s/a/b/g, :%s/a/b/gc)",
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One key press with its modifiers, normalized so that `G` and `shift-g` are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// `KeyCode` restricted to what keymaps bind, ordered for stable listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Tab,
    Backspace,
    Delete,
    Insert,
    Esc,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
}

impl Key {
    /// Normalizes a terminal key event; `None` for keys no keymap can bind.
    pub fn from_event(event: &KeyEvent) -> Option<Self> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Tab => KeyCodeOrd::Tab,
            // Terminals send shift-tab as its own key.
            KeyCode::BackTab => {
                return Some(Self {
                    code: KeyCodeOrd::Tab,
                    ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
                    alt: event.modifiers.contains(KeyModifiers::ALT),
                    shift: true,
                });
            }
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Insert => KeyCodeOrd::Insert,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            _ => return None,
        };
        Some(Self::new(code, event.modifiers).normalized())
    }

    fn new(code: KeyCodeOrd, modifiers: KeyModifiers) -> Self {
        Self {
            code,
            ctrl: modifiers.contains(KeyModifiers::CONTROL),
            alt: modifiers.contains(KeyModifiers::ALT),
            shift: modifiers.contains(KeyModifiers::SHIFT),
        }
    }

    /// For characters, the shift is in the character itself (`G`, `?`).
    fn normalized(mut self) -> Self {
        if let KeyCodeOrd::Char(c) = self.code {
            if self.shift && c.is_ascii_lowercase() {
                self.code = KeyCodeOrd::Char(c.to_ascii_uppercase());
            }
            self.shift = false;
        }
        self
    }

    /// Whether a terminal without extended keys still tells this key apart: tmux and
    /// GNU screen by default, plain xterm. Their legacy encoding has no ctrl-shift letters
    /// (ctrl-shift-k arrives as ctrl-k), no ctrl with digits or punctuation, and ctrl-h,
    /// ctrl-i, ctrl-j and ctrl-m are backspace, tab and enter; ctrl or shift on enter,
    /// backspace or esc is lost. Alt is an escape before the key, so alt keys survive;
    /// arrows, home, end, page keys, delete and F keys carry their modifiers in xterm's
    /// form, which tmux passes on by default.
    pub fn survives_legacy_terminals(&self) -> bool {
        match self.code {
            KeyCodeOrd::Char(c) if self.ctrl => {
                c == ' ' || (c.is_ascii_lowercase() && !matches!(c, 'h' | 'i' | 'j' | 'm'))
            }
            KeyCodeOrd::Char(_) => true,
            KeyCodeOrd::Enter | KeyCodeOrd::Backspace | KeyCodeOrd::Esc => {
                !self.ctrl && !self.shift
            }
            KeyCodeOrd::Tab => !self.ctrl,
            _ => true,
        }
    }

    /// The character this key types, if it is plain text input.
    pub fn typed_char(&self) -> Option<char> {
        match self.code {
            KeyCodeOrd::Char(c) if !self.ctrl && !self.alt => Some(c),
            _ => None,
        }
    }

    /// Parses `ctrl-s`, `shift-left`, `alt-f`, `F1`, `pagedown`, `G`, `space`, `C-x`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text;
        while let Some((prefix, tail)) = rest.split_once('-') {
            if tail.is_empty() {
                break; // the key itself is '-'
            }
            match prefix.to_ascii_lowercase().as_str() {
                "ctrl" | "c" => ctrl = true,
                "alt" | "a" | "meta" | "m" => alt = true,
                "shift" | "s" => shift = true,
                other => return Err(format!("unknown modifier {other:?}")),
            }
            rest = tail;
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "ret" | "return" => KeyCodeOrd::Enter,
            "tab" => KeyCodeOrd::Tab,
            "backspace" | "bs" => KeyCodeOrd::Backspace,
            "delete" | "del" => KeyCodeOrd::Delete,
            "insert" | "ins" => KeyCodeOrd::Insert,
            "esc" | "escape" => KeyCodeOrd::Esc,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            "pageup" | "pgup" => KeyCodeOrd::PageUp,
            "pagedown" | "pgdown" | "pgdn" => KeyCodeOrd::PageDown,
            "space" => KeyCodeOrd::Char(' '),
            "minus" => KeyCodeOrd::Char('-'),
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCodeOrd::Char(c),
                    _ => match lower.strip_prefix('f').map(str::parse::<u8>) {
                        Some(Ok(n)) if (1..=24).contains(&n) => KeyCodeOrd::F(n),
                        _ => return Err(format!("unknown key {rest:?}")),
                    },
                }
            }
        };
        Ok(Self {
            code,
            ctrl,
            alt,
            shift,
        }
        .normalized())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        if self.shift {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            // With ctrl or alt, as the docs write it: ctrl-shift-k, alt-shift-f (`G` alone).
            KeyCodeOrd::Char(c) if (self.ctrl || self.alt) && c.is_ascii_uppercase() => {
                write!(f, "shift-{}", c.to_ascii_lowercase())
            }
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            other => {
                let name = match other {
                    KeyCodeOrd::Enter => "enter",
                    KeyCodeOrd::Tab => "tab",
                    KeyCodeOrd::Backspace => "backspace",
                    KeyCodeOrd::Delete => "delete",
                    KeyCodeOrd::Insert => "insert",
                    KeyCodeOrd::Esc => "esc",
                    KeyCodeOrd::Left => "left",
                    KeyCodeOrd::Right => "right",
                    KeyCodeOrd::Up => "up",
                    KeyCodeOrd::Down => "down",
                    KeyCodeOrd::Home => "home",
                    KeyCodeOrd::End => "end",
                    KeyCodeOrd::PageUp => "pageup",
                    _ => "pagedown",
                };
                f.write_str(name)
            }
        }
    }
}

/// One active binding, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub mode: Mode,
    /// Space-separated key sequence, e.g. `ctrl-s` or `g g`.
    pub keys: String,
    pub action: Action,
}

/// What a key press meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyResult {
    Action(Action),
    /// An action with a count or an operator (vim's normal mode): `3j`, `d2w`, `dd`.
    Command(Command),
    /// The key starts a longer sequence; wait for the next one.
    Pending,
    /// Insert this character (insert mode, no binding).
    Insert(char),
    /// Nothing is bound; the pending sequence was dropped.
    Unbound,
}

type Table = BTreeMap<Action, Vec<Vec<Key>>>;

/// A loaded keymap plus the keys pressed so far of a sequence.
#[derive(Debug, Clone)]
pub struct Keymap {
    name: String,
    modes: BTreeMap<Mode, Table>,
    pending: Vec<Key>,
    /// Count and operator typed so far in normal mode.
    command: grammar::PendingCommand,
}

const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

impl Keymap {
    /// Loads a keymap by name (user `keymaps/NAME.toml` in the config folder first, then
    /// the built-in ones) and applies the user's `keymaps/overrides.toml` if present.
    pub fn load(name: &str) -> Result<Self, KeymapError> {
        let dir = crate::tui::config::config_dir().map(|dir| dir.join("keymaps"));
        Self::load_from(name, dir.as_deref())
    }

    pub fn load_from(name: &str, user_dir: Option<&Path>) -> Result<Self, KeymapError> {
        let user_file = |stem: &str| -> Result<Option<String>, KeymapError> {
            let Some(dir) = user_dir else { return Ok(None) };
            if stem.contains(['/', '\\']) || stem.starts_with('.') {
                return Ok(None);
            }
            let path = dir.join(format!("{stem}.toml"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(KeymapError::Read { path, source }),
            }
        };
        let text = match user_file(name)? {
            Some(text) => text,
            None => BUILTIN
                .iter()
                .find(|(builtin, _)| *builtin == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| KeymapError::NotFound {
                    name: name.into(),
                    user_dir: user_dir
                        .map(|dir| dir.display().to_string())
                        .unwrap_or_else(|| "(no config folder)".into()),
                })?,
        };
        let mut keymap = Self::from_toml(name, &text)?;
        if let Some(overrides) = user_file("overrides")? {
            keymap.apply_overrides("overrides", &overrides)?;
        }
        Ok(keymap)
    }

    pub fn from_toml(name: &str, text: &str) -> Result<Self, KeymapError> {
        let mut keymap = Self {
            name: name.into(),
            modes: BTreeMap::new(),
            pending: Vec::new(),
            command: Default::default(),
        };
        keymap.apply_overrides(name, text)?;
        Ok(keymap)
    }

    /// Replaces the keys of each action the TOML names, mode by mode.
    pub fn apply_overrides(&mut self, source: &str, text: &str) -> Result<(), KeymapError> {
        let table: toml::Table = toml::from_str(text).map_err(|error| KeymapError::Toml {
            name: source.into(),
            message: error.to_string(),
        })?;
        for (mode_name, bindings) in table {
            let mode = Mode::from_name(&mode_name).ok_or_else(|| KeymapError::UnknownMode {
                name: source.into(),
                mode: mode_name.clone(),
            })?;
            let toml::Value::Table(bindings) = bindings else {
                return Err(KeymapError::UnknownMode {
                    name: source.into(),
                    mode: mode_name,
                });
            };
            let mode_table = self.modes.entry(mode).or_default();
            for (action_name, keys) in bindings {
                let action =
                    Action::from_name(&action_name).ok_or_else(|| KeymapError::UnknownAction {
                        name: source.into(),
                        action: action_name.clone(),
                    })?;
                let bad_key = |key: String, reason: String| KeymapError::BadKey {
                    name: source.into(),
                    action: action_name.clone(),
                    key,
                    reason,
                };
                let key_texts: Vec<String> = match keys {
                    toml::Value::String(single) => vec![single],
                    toml::Value::Array(list) => list
                        .into_iter()
                        .map(|item| match item {
                            toml::Value::String(text) => Ok(text),
                            other => Err(bad_key(other.to_string(), "not a string".into())),
                        })
                        .collect::<Result<_, _>>()?,
                    other => return Err(bad_key(other.to_string(), "not a string".into())),
                };
                let mut sequences = Vec::new();
                for text in key_texts {
                    let sequence = text
                        .split_whitespace()
                        .map(Key::parse)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|reason| bad_key(text.clone(), reason))?;
                    if sequence.is_empty() {
                        return Err(bad_key(text, "empty".into()));
                    }
                    sequences.push(sequence);
                }
                // A key given to this action is taken from any other in the mode: what
                // the user binds last wins, so an override never silently loses.
                for (other, their) in mode_table.iter_mut() {
                    if *other != action {
                        their.retain(|sequence| !sequences.contains(sequence));
                    }
                }
                mode_table.insert(action, sequences);
            }
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mode a session starts in: normal for modal keymaps, insert for modeless ones.
    pub fn initial_mode(&self) -> Mode {
        if self.is_modal() {
            Mode::Normal
        } else {
            Mode::Insert
        }
    }

    pub fn is_modal(&self) -> bool {
        self.modes.contains_key(&Mode::Normal)
    }

    /// Feeds one key press in `mode`.
    pub fn handle(&mut self, mode: Mode, event: &KeyEvent) -> KeyResult {
        let Some(key) = Key::from_event(event) else {
            self.pending.clear();
            self.command = Default::default();
            return KeyResult::Unbound;
        };
        self.handle_key(mode, key)
    }

    pub fn handle_key(&mut self, mode: Mode, key: Key) -> KeyResult {
        if mode == Mode::Normal {
            return self.handle_normal(key);
        }
        self.command = Default::default();
        self.resolve(mode, key)
    }

    /// Looks `key` up in `mode`'s table, continuing a pending sequence.
    fn resolve(&mut self, mode: Mode, key: Key) -> KeyResult {
        self.pending.push(key);
        let mut prefix_of_longer = false;
        let mut exact = None;
        if let Some(table) = self.modes.get(&mode) {
            for (action, sequences) in table {
                for sequence in sequences {
                    if *sequence == self.pending {
                        exact = Some(*action);
                    } else if sequence.starts_with(&self.pending) {
                        prefix_of_longer = true;
                    }
                }
            }
        }
        if let Some(action) = exact {
            self.pending.clear();
            return KeyResult::Action(action);
        }
        if prefix_of_longer {
            return KeyResult::Pending;
        }
        let was_sequence = self.pending.len() > 1;
        self.pending.clear();
        match key.typed_char() {
            Some(c) if mode == Mode::Insert && !was_sequence => KeyResult::Insert(c),
            _ => KeyResult::Unbound,
        }
    }

    /// The keys typed so far of an unfinished sequence or command (shown in the status
    /// line, as vim's showcmd): `g`, `2d`.
    pub fn pending(&self) -> String {
        format!("{}{}", self.command.typed(), join_keys(&self.pending))
    }

    /// Every active binding, by mode then action.
    pub fn bindings(&self) -> Vec<Binding> {
        let mut out = Vec::new();
        for (mode, table) in &self.modes {
            for (action, sequences) in table {
                for sequence in sequences {
                    out.push(Binding {
                        mode: *mode,
                        keys: join_keys(sequence),
                        action: *action,
                    });
                }
            }
        }
        out
    }

    /// The keys for `action` in `mode`, e.g. `"ctrl-s"`, for hints in messages.
    pub fn keys_for(&self, mode: Mode, action: Action) -> Option<String> {
        let sequence = self.modes.get(&mode)?.get(&action)?.first()?;
        Some(join_keys(sequence))
    }
}

fn join_keys(keys: &[Key]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text `cotype keys` prints: one line per binding, grouped by mode.
pub fn format_bindings(keymap: &Keymap) -> String {
    let mut out = String::new();
    let mut last_mode = None;
    for binding in keymap.bindings() {
        if last_mode != Some(binding.mode) {
            if keymap.is_modal() {
                out.push_str(&format!("[{}]\n", binding.mode.name()));
            }
            last_mode = Some(binding.mode);
        }
        out.push_str(&format!(
            "  {:<16} {:<24} {}\n",
            binding.keys,
            binding.action.name(),
            binding.action.description()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's kinds agree with what the names and descriptions promise users: the
    /// `extend_` actions extend the selection, text objects are the "After an operator"
    /// ones, and whatever takes a character says which.
    #[test]
    fn action_kinds_agree_with_their_names() {
        for &action in Action::ALL {
            let (name, doc) = (action.name(), action.description());
            assert_eq!(
                action.extends_selection(),
                name.starts_with("extend_"),
                "{name}"
            );
            assert_eq!(
                action.is_text_object(),
                doc.starts_with("After an operator"),
                "{name}"
            );
            assert!(!action.is_motion() || action.takes_count(), "{name}");
            assert!(
                !(action.edits_text() && (action.is_motion() || action.extends_selection())),
                "{name}"
            );
        }
    }

    /// A key bound twice in one mode of a shipped keymap would silently go to the action
    /// named last; each key must mean one thing.
    #[test]
    fn shipped_keymaps_give_each_key_one_action_per_mode() {
        for (name, text) in BUILTIN {
            let table: toml::Table = toml::from_str(text).unwrap();
            for (mode, bindings) in table {
                let mut seen: std::collections::HashMap<String, String> = Default::default();
                for (action, keys) in bindings.as_table().unwrap() {
                    let keys: Vec<String> = match keys {
                        toml::Value::String(key) => vec![key.clone()],
                        toml::Value::Array(list) => list
                            .iter()
                            .map(|key| key.as_str().unwrap().to_owned())
                            .collect(),
                        other => panic!("{name}: {action} = {other}"),
                    };
                    for key in keys {
                        if let Some(first) = seen.insert(key.clone(), action.clone()) {
                            panic!("{name} [{mode}]: {key} is bound to {first} and {action}");
                        }
                    }
                }
            }
        }
    }

    fn press(keymap: &mut Keymap, mode: Mode, key: &str) -> KeyResult {
        keymap.handle_key(mode, Key::parse(key).unwrap())
    }

    #[test]
    fn default_keymap_has_the_promised_bindings() {
        let mut keymap = Keymap::load_from("default", None).unwrap();
        assert_eq!(keymap.initial_mode(), Mode::Insert);
        for (key, action) in [
            ("ctrl-p", Action::OpenFilePicker),
            ("ctrl-s", Action::Save),
            ("ctrl-q", Action::Quit),
            ("F1", Action::ToggleHelp),
            ("ctrl-f", Action::Find),
            ("ctrl-z", Action::Undo),
            ("ctrl-y", Action::Redo),
            ("ctrl-c", Action::Copy),
            ("ctrl-x", Action::Cut),
            ("ctrl-v", Action::Paste),
            ("shift-left", Action::ExtendLeft),
            ("ctrl-right", Action::MoveWordRight),
            ("pagedown", Action::PageDown),
            ("ctrl-end", Action::MoveFileEnd),
            ("alt-f", Action::Follow),
            ("ctrl-t", Action::WorkspaceSearch),
            ("ctrl-b", Action::ToggleFileTree),
        ] {
            assert_eq!(
                press(&mut keymap, Mode::Insert, key),
                KeyResult::Action(action),
                "{key}"
            );
        }
        assert_eq!(
            press(&mut keymap, Mode::Insert, "x"),
            KeyResult::Insert('x')
        );
        assert_eq!(
            press(&mut keymap, Mode::Insert, "X"),
            KeyResult::Insert('X')
        );
    }

    #[test]
    fn vim_keymap_is_modal_with_sequences() {
        let mut keymap = Keymap::load_from("vim", None).unwrap();
        assert_eq!(keymap.initial_mode(), Mode::Normal);
        assert_eq!(
            press(&mut keymap, Mode::Normal, "j"),
            KeyResult::Action(Action::MoveDown)
        );
        assert_eq!(press(&mut keymap, Mode::Normal, "g"), KeyResult::Pending);
        assert_eq!(keymap.pending(), "g");
        assert_eq!(
            press(&mut keymap, Mode::Normal, "g"),
            KeyResult::Action(Action::MoveFileStart)
        );
        assert_eq!(
            press(&mut keymap, Mode::Normal, "G"),
            KeyResult::Action(Action::MoveFileEnd)
        );
        assert_eq!(press(&mut keymap, Mode::Normal, "d"), KeyResult::Pending);
        // The operator twice: the line (see grammar.rs for counts and motions).
        assert_eq!(
            press(&mut keymap, Mode::Normal, "d"),
            KeyResult::Command(Command {
                count: None,
                operator: Some(Operator::Delete),
                action: Action::OperatorDelete,
                argument: None,
            })
        );
        // An unbound key in normal mode never types text.
        assert_eq!(press(&mut keymap, Mode::Normal, "Q"), KeyResult::Unbound);
        assert_eq!(
            press(&mut keymap, Mode::Visual, "l"),
            KeyResult::Action(Action::ExtendRight)
        );
        assert_eq!(
            press(&mut keymap, Mode::Insert, "esc"),
            KeyResult::Action(Action::NormalMode)
        );
        assert_eq!(
            press(&mut keymap, Mode::Insert, "j"),
            KeyResult::Insert('j')
        );
    }

    #[test]
    fn user_overrides_replace_keys_by_action_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("overrides.toml"),
            "[insert]\nsave = [\"F2\", \"ctrl-w\"]\nquit = []\n",
        )
        .unwrap();
        let mut keymap = Keymap::load_from("default", Some(dir.path())).unwrap();
        assert_eq!(
            press(&mut keymap, Mode::Insert, "F2"),
            KeyResult::Action(Action::Save)
        );
        assert_eq!(
            press(&mut keymap, Mode::Insert, "ctrl-s"),
            KeyResult::Unbound
        );
        assert_eq!(
            press(&mut keymap, Mode::Insert, "ctrl-q"),
            KeyResult::Unbound
        );
        // Untouched actions keep their keys.
        assert_eq!(
            press(&mut keymap, Mode::Insert, "ctrl-p"),
            KeyResult::Action(Action::OpenFilePicker)
        );
        let listing = format_bindings(&keymap);
        assert!(
            listing.contains("F2") && !listing.contains("ctrl-s "),
            "{listing}"
        );
    }

    #[test]
    fn mistakes_in_keymaps_are_named() {
        let error = Keymap::from_toml("k", "[insert]\nsavee = \"ctrl-s\"\n").unwrap_err();
        assert!(error.to_string().contains("savee"), "{error}");
        let error = Keymap::from_toml("k", "[insert]\nsave = \"ctrl-bogus\"\n").unwrap_err();
        assert!(error.to_string().contains("bogus"), "{error}");
        let error = Keymap::from_toml("k", "[command]\nsave = \"s\"\n").unwrap_err();
        assert!(error.to_string().contains("command"), "{error}");
    }

    #[test]
    fn keys_round_trip_through_their_names() {
        for text in [
            "ctrl-s",
            "shift-left",
            "alt-f",
            "F1",
            "pagedown",
            "G",
            "space",
            "ctrl-home",
            "ctrl-shift-k",
            "alt-shift-f",
            "ctrl-shift-end",
        ] {
            assert_eq!(Key::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Key::parse("C-x").unwrap(), Key::parse("ctrl-x").unwrap());
        assert_eq!(Key::parse("shift-g").unwrap(), Key::parse("G").unwrap());
        let event = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&event), Some(Key::parse("G").unwrap()));
    }

    /// In tmux with its defaults (no extended keys), GNU screen or plain xterm,
    /// ctrl-shift-k arrives as ctrl-k: an action bound only to such keys cannot be used
    /// there, or does something else. Every action of a shipped keymap has a key that
    /// arrives as itself.
    #[test]
    fn every_shipped_action_has_a_key_legacy_terminals_deliver() {
        assert!(
            !Key::parse("ctrl-shift-k")
                .unwrap()
                .survives_legacy_terminals()
        );
        assert!(
            Key::parse("alt-shift-f")
                .unwrap()
                .survives_legacy_terminals()
        );
        assert!(
            !Key::parse("ctrl-backspace")
                .unwrap()
                .survives_legacy_terminals()
        );
        assert!(!Key::parse("ctrl-.").unwrap().survives_legacy_terminals());
        assert!(
            Key::parse("ctrl-shift-left")
                .unwrap()
                .survives_legacy_terminals()
        );
        let mut missing = Vec::new();
        for (name, _) in BUILTIN {
            let keymap = Keymap::load_from(name, None).unwrap();
            let mut actions: Vec<(Mode, Action)> = keymap
                .bindings()
                .iter()
                .map(|binding| (binding.mode, binding.action))
                .collect();
            actions.dedup();
            for (mode, action) in actions {
                let delivered = keymap.bindings().iter().any(|binding| {
                    binding.mode == mode
                        && binding.action == action
                        && binding.keys.split(' ').all(|key| {
                            Key::parse(key).is_ok_and(|key| key.survives_legacy_terminals())
                        })
                });
                if !delivered {
                    missing.push(format!("{name} [{}] {}", mode.name(), action.name()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "only keys legacy terminals lose: {missing:#?}"
        );
    }

    #[test]
    fn every_builtin_keymap_lets_a_new_user_save_quit_and_find_help() {
        for (name, _) in BUILTIN {
            let keymap = Keymap::load_from(name, None).unwrap();
            for action in [Action::Save, Action::Quit, Action::ToggleHelp] {
                assert!(
                    keymap.keys_for(keymap.initial_mode(), action).is_some(),
                    "{name} does not bind {action} in its first mode"
                );
            }
        }
    }
}
