//! Every action a key can do, declared once in the `actions!` table with its name in
//! keymap files, its kind (edits text, takes a count, is a motion, extends the selection,
//! is a text object, takes a character) and the sentence help shows for it.

use std::fmt;

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
    CommandPalette = "command_palette": "Run any action by name (recently run first)",
    GotoLine = "goto_line": "Go to a line, or line:column (120, 120:5)",
    FindReplace = "find_replace": "Find and replace in this file (regex, case, whole word; one or all)",
    FindNext = "find_next" [COUNT]: "Jump to the next match",
    FindPrevious = "find_previous" [COUNT]: "Jump to the previous match",
    WorkspaceSearch = "workspace_search": "Search all shared files",
    GotoReferences = "goto_references": "List every reference to the symbol at the cursor",
    RenameSymbol = "rename_symbol": "Rename the symbol at the cursor everywhere (the host's language server)",
    CodeActions = "code_actions": "Quick fixes and code actions at the cursor (the host's language server)",
    FormatDocument = "format_document": "Format this file with the host's language server",
    DocumentSymbols = "document_symbols": "Go to a symbol of this file (its outline, from the host's language server)",
    WorkspaceSymbols = "workspace_symbols": "Go to a symbol anywhere in the shared folder, by name as you type (the host's language server)",
    DiagnosticsList = "diagnostics_list": "List the problems the host's language servers found",
    NextChange = "next_change": "Go to the next change against the host's git index",
    PreviousChange = "previous_change": "Go to the previous change against the host's git index",
    ChangedFiles = "changed_files": "Pick one of the files changed in the host's git repository",
    DiffFile = "diff_file": "Show this file's diff against the host's git HEAD",
    Follow = "follow": "Follow someone (pick from the people panel)",
    StopFollowing = "stop_following": "Stop following",
    AskEveryoneToFollow = "ask_everyone_to_follow": "Ask everyone to follow you (host)",
    ManagePeople = "manage_people": "Admit, set roles or remove people (host)",
    SessionInfo = "session_info": "Show the link (host) and the verification code",
    TogglePeople = "toggle_people": "Show or hide the people panel",
    ToggleTerminal = "toggle_terminal": "Show or hide the shared terminal (the host opens one)",
    CloseTerminal = "close_terminal": "End the shared terminal shown (or last shown) for everyone, after asking (host)",
    ToggleFileTree = "toggle_file_tree": "Show or hide the file tree",
    NextTab = "next_tab": "Switch to the next open file",
    PreviousTab = "previous_tab": "Switch to the previous open file",
    CloseTab = "close_tab": "Close the current file",
    SplitVertical = "split_vertical": "Show the next open file side by side with this one (again: one file)",
    FocusOtherPane = "focus_other_pane": "Move the focus to the other side of the split",
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
    AddCursorAbove = "add_cursor_above": "Add a cursor on the line above (type, paste or delete at every cursor; esc: back to one)",
    AddCursorBelow = "add_cursor_below": "Add a cursor on the line below (type, paste or delete at every cursor; esc: back to one)",
    AddNextOccurrence = "add_next_occurrence": "Select the word at the cursor, then add a cursor at the next place the selection occurs",
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
    ToggleComment = "toggle_comment" [EDIT]: "Comment out the line (or the selected lines), or uncomment them",
    MoveLineUp = "move_line_up" [EDIT]: "Move the line (or the selected lines) up one line",
    MoveLineDown = "move_line_down" [EDIT]: "Move the line (or the selected lines) down one line",
    DuplicateLine = "duplicate_line" [EDIT]: "Copy the line (or the selected lines) below itself",
    ToggleSoftWrap = "toggle_soft_wrap": "Wrap long lines at the edge of the view, or stop wrapping them",
    ToggleInlayHints = "toggle_inlay_hints": "Show or hide the language server's inlay hints (types and parameter names, seen only by you)",
    CommandLine = "command_line": "Type a command (:w, :q, :wq, :x, :q!, :42, :s/a/b/g, :%s/a/b/gc)",
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
