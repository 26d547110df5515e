//! The editor: one person's view of one shared document.
//!
//! The document (a rope) belongs to the client session, because every change to it must go
//! through the OT client. So this view never mutates text: an edit command returns an
//! [`Operation`] that the caller applies through the session (which applies local edits at
//! once), and the view has already placed its selection where the edit leaves it. Edits by
//! others arrive as operations too; [`Editor::apply_remote`] maps the selection, the scroll
//! position and the undo history through them, so undo only ever removes your own text.
//!
//! Positions are char indices (as ropey and `text::Operation` count); motions step over
//! grapheme clusters, so an emoji ZWJ sequence or a letter with combining marks is one
//! step, and columns on screen are display columns (tabs to tab stops, CJK and emoji two
//! wide). Rendering ([`EditorWidget`]) is a pure function of the view, the rope, the
//! syntax tree and the other people's cursors.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;
use ropey::{Rope, RopeSlice};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::text::{Assoc, Operation, UndoHistory};
use crate::tui::highlight::Syntax;
use crate::tui::keymap::{Action, Command, Mode, Operator};
use crate::tui::theme::Theme;

mod commands;
mod motions;
pub mod substitute;

pub use substitute::{SubstituteAnswer, SubstituteRequest};

/// Lines kept visible above and below the cursor when scrolling.
const SCROLL_OFF: usize = 3;
/// Undo steps kept per document.
const UNDO_LIMIT: usize = 1000;

/// A selection in char indices. `head` is where the cursor is; `anchor` where the
/// selection started. Equal means a plain cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Selection {
    pub anchor: usize,
    pub head: usize,
}

impl Selection {
    pub fn cursor(at: usize) -> Self {
        Self {
            anchor: at,
            head: at,
        }
    }

    pub fn range(&self) -> Range<usize> {
        self.anchor.min(self.head)..self.anchor.max(self.head)
    }

    pub fn is_empty(&self) -> bool {
        self.anchor == self.head
    }

    pub fn clamped(self, len: usize) -> Self {
        Self {
            anchor: self.anchor.min(len),
            head: self.head.min(len),
        }
    }

    /// Where this selection lands after `operation`.
    pub fn map(self, operation: &Operation, assoc: Assoc) -> Self {
        Self {
            anchor: operation.transform_position(self.anchor, assoc),
            head: operation.transform_position(self.head, assoc),
        }
    }
}

/// What the editor is asked to do: a bound action, a typed character, or pasted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorInput {
    Action(Action),
    Insert(char),
    /// Bracketed paste from the terminal: applied as one edit, one undo step.
    Paste(String),
    /// Find `query` from the cursor (`forward` or backward) and select the match.
    Find {
        query: String,
        forward: bool,
    },
    /// A normal-mode command with a count or an operator (`3j`, `d2w`).
    Command(Command),
    /// vim's `:s///` (one edit, one undo step), or with `c` its first question.
    Substitute(SubstituteRequest),
    /// The answer to the match a `:s///c` shows.
    SubstituteAnswer(SubstituteAnswer),
}

/// What came of an input. The caller must apply `operation` to the rope (through the
/// session) before giving the editor the next input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub operation: Option<Operation>,
    /// Text for the system clipboard (the caller sends it as OSC 52).
    pub copied: Option<String>,
    /// The user moved the view on their own; following someone stops.
    pub navigated: bool,
    /// Something to tell the user in the message area.
    pub message: Option<String>,
    /// The editor did not know the action; the caller may handle it (save, quit, ...).
    pub ignored: bool,
}

/// The view state of one document.
#[derive(Debug, Clone)]
pub struct Editor {
    pub selection: Selection,
    scroll_line: usize,
    scroll_col: usize,
    /// Char index of the first visible line's start; mapped through remote edits so the
    /// view stays on the same text when lines are added above it.
    scroll_anchor: usize,
    pub mode: Mode,
    pub tab_width: usize,
    /// Display column that vertical motions aim for.
    desired_col: Option<usize>,
    viewport: (usize, usize),
    /// Only this person's edits, carried through everyone else's (`text::undo`).
    history: UndoHistory,
    /// Whether the last edit was typing, which the next typed character may join.
    typing_group_open: bool,
    /// Shared by every tab of one participant (`Editor::share_register`).
    register: SharedRegister,
    last_search: Option<String>,
    /// What `.` repeats.
    last_change: Option<commands::LastChange>,
    /// The last `f`, `t`, `F` or `T` and its character, for `;` and `,`.
    last_char_find: Option<(Action, char)>,
    /// A `:s///c` waiting for the user's answer at each match.
    substitute: Option<substitute::Confirming>,
}

impl Editor {
    /// In vim's normal mode, `x` and `X` keep what they delete for `p` (so `xp` swaps two
    /// characters), in the editor's register only: a character deleted is not worth the
    /// system clipboard.
    fn keep_deleted(&mut self, rope: &Rope, range: std::ops::Range<usize>) {
        if self.mode == Mode::Normal {
            self.register.set(Register {
                text: rope.slice(range).to_string(),
                linewise: false,
            });
        }
    }
}

/// The last copied text; `linewise` text came from whole lines and pastes as lines.
#[derive(Debug, Clone, Default)]
struct Register {
    text: String,
    linewise: bool,
}

/// One participant's register: copy in one tab, paste in another. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct SharedRegister(std::sync::Arc<std::sync::Mutex<Register>>);

impl SharedRegister {
    fn get(&self) -> Register {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, register: Register) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = register;
    }
}

impl Default for Editor {
    fn default() -> Self {
        Self::new(Mode::Insert)
    }
}

impl Editor {
    pub fn new(mode: Mode) -> Self {
        Self {
            selection: Selection::default(),
            scroll_line: 0,
            scroll_col: 0,
            scroll_anchor: 0,
            mode,
            tab_width: 4,
            desired_col: None,
            viewport: (80, 24),
            history: UndoHistory::with_limit(UNDO_LIMIT),
            typing_group_open: false,
            register: SharedRegister::default(),
            last_search: None,
            last_change: None,
            last_char_find: None,
            substitute: None,
        }
    }

    /// Uses `register` (the participant's, shared by all its tabs) for copy and paste.
    pub fn share_register(&mut self, register: &SharedRegister) {
        self.register = register.clone();
    }

    /// Tells the editor the size of its text area (columns, rows) for paging and scrolling;
    /// call on every resize and before the first input.
    pub fn set_viewport(&mut self, columns: usize, rows: usize) {
        self.viewport = (columns.max(1), rows.max(1));
    }

    /// First visible line.
    pub fn scroll_line(&self) -> usize {
        self.scroll_line
    }

    /// First visible display column.
    pub fn scroll_col(&self) -> usize {
        self.scroll_col
    }

    /// Scrolls the view without moving the cursor (mouse wheel); counts as navigation.
    pub fn scroll_by(&mut self, rope: &Rope, lines: isize) {
        let last = rope.len_lines().saturating_sub(1) as isize;
        self.scroll_line = (self.scroll_line as isize + lines).clamp(0, last) as usize;
        self.scroll_anchor = rope.line_to_char(self.scroll_line);
    }

    /// What `n` and `N` look for.
    pub fn last_search(&self) -> Option<&str> {
        self.last_search.as_deref()
    }

    pub fn cursor(&self) -> usize {
        self.selection.head
    }

    /// Line and char column of the cursor, both from zero.
    pub fn cursor_line_col(&self, rope: &Rope) -> (usize, usize) {
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        (line, head - rope.line_to_char(line))
    }

    /// Places the selection and scroll as a leader's presence says (following).
    pub fn follow_to(&mut self, rope: &Rope, selection: Selection, scroll_line: usize) {
        self.selection = selection.clamped(rope.len_chars());
        self.scroll_line = scroll_line.min(rope.len_lines().saturating_sub(1));
        self.scroll_anchor = rope.line_to_char(self.scroll_line);
        self.desired_col = None;
        self.ensure_cursor_visible(rope);
    }

    pub fn set_selection(&mut self, rope: &Rope, selection: Selection) {
        self.forget_open_change();
        self.selection = selection.clamped(rope.len_chars());
        self.desired_col = None;
        self.ensure_cursor_visible(rope);
    }

    /// Someone else's edit was applied to the document: keep this view on the same text.
    pub fn apply_remote(&mut self, operation: &Operation, after: &Rope) {
        // The cursor stays in front of text inserted exactly at it, so a collaborator
        // typing at your cursor does not push it along.
        self.selection = self
            .selection
            .map(operation, Assoc::Before)
            .clamped(after.len_chars());
        // Keep the same text at the top of the screen when lines are added above it.
        self.scroll_anchor = operation
            .transform_position(self.scroll_anchor, Assoc::Before)
            .min(after.len_chars());
        self.scroll_line = after.char_to_line(self.scroll_anchor);
        // A line shortened under us must not leave the view scrolled past its end.
        self.clamp_scroll_col(after);
        if self.history.on_remote(operation).is_err() {
            // Cannot happen for an edit applied to this very text; start afresh if it does.
            self.history = UndoHistory::with_limit(UNDO_LIMIT);
        }
        match &mut self.substitute {
            // A `:s///c` stays one undo step while others type.
            Some(confirming) => confirming.map(operation),
            None => self.end_typing_group(),
        }
    }

    /// Handles one input against the current document.
    pub fn handle(&mut self, input: EditorInput, rope: &Rope) -> Outcome {
        if input == EditorInput::Action(Action::RepeatChange) {
            return self.repeat_change(rope);
        }
        // A substitution makes its own undo step, and keeps it open between answers.
        let input = match input {
            EditorInput::Substitute(request) => {
                let outcome = self.substitute(request, rope);
                return self.after_substitute(rope, outcome);
            }
            EditorInput::SubstituteAnswer(answer) => {
                let outcome = self.substitute_answer(answer, rope);
                return self.after_substitute(rope, outcome);
            }
            other => other,
        };
        let tracked = commands::Tracked::of(&input);

        let mode_before = self.mode;
        let mut outcome = Outcome::default();
        let typing = matches!(input, EditorInput::Insert(_));
        // A change's deletion and the text typed after it are one undo step.
        let starts_typing = matches!(
            input,
            EditorInput::Command(Command {
                operator: Some(Operator::Change),
                ..
            }) | EditorInput::Action(Action::OperatorChange)
        );
        match input {
            EditorInput::Insert(c) => {
                let mut text = c.to_string();
                if c == '\n' {
                    text = self.newline_text(rope);
                }
                outcome.operation = self.replace_selection(rope, &text, typing);
            }
            EditorInput::Paste(text) => {
                // Terminals send pasted line breaks as \r; they become the document's.
                let text = with_line_breaks(&text, line_break(rope));
                outcome.operation = self.replace_selection(rope, &text, false);
            }
            EditorInput::Find { query, forward } => {
                outcome.navigated = true;
                outcome.message = self.find(rope, &query, forward);
                self.last_search = Some(query).filter(|q| !q.is_empty());
            }
            EditorInput::Action(action) => self.action(action, rope, &mut outcome),
            EditorInput::Command(command) => self.command(command, rope, &mut outcome),
            EditorInput::Substitute(_) | EditorInput::SubstituteAnswer(_) => {}
        }
        if !typing && !starts_typing {
            self.end_typing_group();
        }
        self.keep_normal_cursor_on_text(rope, &outcome);
        if outcome.operation.is_none() {
            self.ensure_cursor_visible(rope);
        }
        self.track_change(tracked, mode_before, &outcome);
        outcome
    }

    fn after_substitute(&mut self, rope: &Rope, outcome: Outcome) -> Outcome {
        if outcome.operation.is_some() {
            // `.` repeats d, c and x; after another change it has nothing to repeat.
            self.last_change = None;
        }
        self.keep_normal_cursor_on_text(rope, &outcome);
        outcome
    }

    /// In vim's normal mode the cursor is on a character, never after the last one of a
    /// line (so `$x` deletes that character and `u` lands on text): wherever a command
    /// left it, it steps back onto the line's last character. `rope` is the text before
    /// `outcome`'s edit.
    fn keep_normal_cursor_on_text(&mut self, rope: &Rope, outcome: &Outcome) {
        if self.mode != Mode::Normal || !self.selection.is_empty() {
            return;
        }
        let edited;
        let text = match &outcome.operation {
            Some(operation) => {
                let mut after = rope.clone();
                if operation.apply(&mut after).is_err() {
                    return;
                }
                edited = after;
                &edited
            }
            None => rope,
        };
        let head = self.selection.head.min(text.len_chars());
        let line = text.char_to_line(head);
        let end = line_end(text, line);
        if head >= end && end > text.line_to_char(line) {
            self.selection = Selection::cursor(prev_grapheme(text, end));
        }
    }

    /// `;` and `,`: the last `f`/`t`/`F`/`T` again, `n` times, the same or the other way.
    fn repeat_char_find(&self, rope: &Rope, head: usize, reverse: bool, n: usize) -> Option<usize> {
        let (action, target) = self.last_char_find?;
        let forward = matches!(action, Action::FindChar | Action::TillChar) != reverse;
        let till = matches!(action, Action::TillChar | Action::TillCharBackward);
        motions::find_on_line(rope, head, target, forward, till, n, true)
    }

    fn action(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        use Action as A;
        let len = rope.len_chars();
        let head = self.selection.head.min(len);
        let motion = |editor: &Self, action: Action| -> Option<usize> {
            Some(match action {
                A::MoveLeft | A::ExtendLeft => prev_grapheme(rope, head),
                A::MoveRight | A::ExtendRight => next_grapheme(rope, head),
                A::MoveUp | A::ExtendUp => editor.vertical(rope, -1),
                A::MoveDown | A::ExtendDown => editor.vertical(rope, 1),
                A::PageUp | A::ExtendPageUp => {
                    editor.vertical(rope, -(editor.viewport.1 as isize - 1).max(1))
                }
                A::PageDown | A::ExtendPageDown => {
                    editor.vertical(rope, (editor.viewport.1 as isize - 1).max(1))
                }
                A::MoveWordLeft | A::ExtendWordLeft => word_left(rope, head),
                A::MoveWordRight | A::ExtendWordRight => word_right(rope, head),
                A::MoveWordEnd => word_end(rope, head),
                A::MoveLineStart | A::ExtendLineStart => rope.line_to_char(rope.char_to_line(head)),
                A::MoveFirstNonBlank => first_non_blank(rope, rope.char_to_line(head)),
                A::MoveLineEnd | A::ExtendLineEnd => line_end(rope, rope.char_to_line(head)),
                A::MoveFileStart | A::ExtendFileStart => 0,
                // vim's `G` goes to the last line's first non-blank.
                A::MoveFileEnd if editor.mode == Mode::Normal => {
                    first_non_blank(rope, commands::last_line(rope))
                }
                A::MoveFileEnd | A::ExtendFileEnd => len,
                A::MoveLongWordRight => motions::long_word_right(rope, head),
                A::MoveLongWordLeft => motions::long_word_left(rope, head),
                A::MoveLongWordEnd => motions::long_word_end(rope, head),
                A::MoveParagraphForward => motions::paragraph_forward(rope, head),
                A::MoveParagraphBackward => motions::paragraph_backward(rope, head),
                A::MatchBracket => motions::match_bracket(rope, head).unwrap_or(head),
                A::RepeatCharFind | A::RepeatCharFindReverse => editor
                    .repeat_char_find(rope, head, action == A::RepeatCharFindReverse, 1)
                    .unwrap_or(head),
                // vim's visual selection holds the character under the cursor: the word's
                // end is looked for from that character, and its last character is taken.
                A::ExtendWordEnd => {
                    let on = if editor.selection.head > editor.selection.anchor {
                        prev_grapheme(rope, head)
                    } else {
                        head
                    };
                    next_grapheme(rope, word_end(rope, on))
                }
                A::HalfPageDown => editor.vertical(rope, editor.half_page() as isize),
                A::HalfPageUp => editor.vertical(rope, -(editor.half_page() as isize)),
                _ => return None,
            })
        };
        if let Some(target) = motion(self, action) {
            let vertical = matches!(
                action,
                A::MoveUp
                    | A::MoveDown
                    | A::ExtendUp
                    | A::ExtendDown
                    | A::PageUp
                    | A::PageDown
                    | A::ExtendPageUp
                    | A::ExtendPageDown
                    | A::HalfPageDown
                    | A::HalfPageUp
            );
            if vertical {
                self.desired_col
                    .get_or_insert_with(|| display_col(rope, head, self.tab_width));
            } else {
                self.desired_col = None;
            }
            let extend = action.name().starts_with("extend_") || self.mode == Mode::Visual;
            // Moving left/right off a selection lands on its edge, as in desktop editors.
            let target = match action {
                A::MoveLeft if !extend && !self.selection.is_empty() => {
                    self.selection.range().start
                }
                A::MoveRight if !extend && !self.selection.is_empty() => self.selection.range().end,
                _ => target,
            };
            self.selection = if extend {
                Selection {
                    anchor: self.selection.anchor,
                    head: target,
                }
            } else {
                Selection::cursor(target)
            };
            if matches!(
                action,
                A::PageUp | A::PageDown | A::ExtendPageUp | A::ExtendPageDown
            ) {
                let rows = self.viewport.1.saturating_sub(1).max(1) as isize;
                let up = matches!(action, A::PageUp | A::ExtendPageUp);
                self.scroll_by(rope, if up { -rows } else { rows });
            }
            if matches!(action, A::HalfPageDown | A::HalfPageUp) {
                let rows = self.half_page() as isize;
                self.scroll_by(rope, if action == A::HalfPageUp { -rows } else { rows });
            }
            outcome.navigated = true;
            return;
        }
        match action {
            A::SelectAll => {
                self.selection = Selection {
                    anchor: 0,
                    head: len,
                };
                outcome.navigated = true;
            }
            A::SelectLine => {
                let line = rope.char_to_line(head);
                let start = rope.line_to_char(line);
                let end = rope.line_to_char((line + 1).min(rope.len_lines()));
                let end = if line + 1 >= rope.len_lines() {
                    len
                } else {
                    end
                };
                self.selection = Selection {
                    anchor: start,
                    head: end,
                };
                if self.mode == Mode::Normal {
                    self.mode = Mode::Visual;
                }
                outcome.navigated = true;
            }
            A::InsertNewline => {
                let text = self.newline_text(rope);
                outcome.operation = self.replace_selection(rope, &text, false);
            }
            // vim's `>>` and `<<`: the line, whatever the cursor's column.
            A::InsertTab | A::Dedent if self.mode == Mode::Normal => {
                outcome.operation = self.shift_lines(rope, 1, action == A::InsertTab)
            }
            A::InsertTab => outcome.operation = self.indent(rope),
            A::Dedent => outcome.operation = self.dedent(rope),
            A::JoinLines => outcome.operation = self.join_lines(rope, 2),
            A::ToggleCase => outcome.operation = self.toggle_case(rope, 1),
            A::CenterCursor => {
                let line = rope.char_to_line(head);
                self.scroll_line = line.saturating_sub(self.viewport.1 / 2);
                self.scroll_anchor = rope.line_to_char(self.scroll_line);
                outcome.navigated = true;
            }
            A::SearchWordForward | A::SearchWordBackward => match motions::word_at(rope, head) {
                Some((start, word)) => {
                    self.selection = Selection::cursor(start);
                    outcome.navigated = true;
                    outcome.message = self.find(rope, &word, action == A::SearchWordForward);
                    self.last_search = Some(word);
                }
                None => outcome.message = Some("no word under the cursor to search for".into()),
            },
            // Visual `d`, `c`, `y` act on the selection.
            A::OperatorDelete | A::OperatorChange | A::OperatorYank
                if self.mode == Mode::Visual && !self.selection.is_empty() =>
            {
                let range = self.selection.range();
                let text = rope.slice(range.clone()).to_string();
                self.register.set(Register {
                    text: text.clone(),
                    linewise: false,
                });
                outcome.copied = Some(text);
                let before = self.selection;
                self.selection = Selection::cursor(range.start);
                self.mode = if action == A::OperatorChange {
                    Mode::Insert
                } else {
                    Mode::Normal
                };
                if action != A::OperatorYank
                    && let Ok(operation) = Operation::replace(rope.len_chars(), range, "")
                {
                    // A change and what is typed after it are one undo step.
                    self.record(rope, &operation, before, action == A::OperatorChange);
                    outcome.operation = Some(operation);
                }
            }
            A::DeleteBackward | A::DeleteForward | A::DeleteWordBackward | A::DeleteWordForward => {
                let range = if !self.selection.is_empty() {
                    self.selection.range()
                } else {
                    match action {
                        A::DeleteBackward => self.backspace_range(rope, head),
                        A::DeleteForward => head..next_grapheme(rope, head),
                        A::DeleteWordBackward => word_left(rope, head)..head,
                        _ => head..word_right(rope, head),
                    }
                };
                if !range.is_empty() {
                    if matches!(action, A::DeleteForward | A::DeleteBackward)
                        && self.selection.is_empty()
                    {
                        self.keep_deleted(rope, range.clone());
                    }
                    outcome.operation = self.edit(rope, range.clone(), "", range.start);
                }
            }
            A::DeleteLine => {
                let line = rope.char_to_line(head);
                let range = line_range(rope, line);
                let text = line_text(rope, line);
                self.register.set(Register {
                    text: text.clone(),
                    linewise: true,
                });
                outcome.copied = Some(text);
                outcome.operation = self.edit(rope, range.clone(), "", range.start);
            }
            A::Copy | A::Cut => {
                let line = rope.char_to_line(head);
                let (range, text, linewise) = if self.selection.is_empty() {
                    (line_range(rope, line), line_text(rope, line), true)
                } else {
                    let range = self.selection.range();
                    let text = rope.slice(range.clone()).to_string();
                    (range, text, false)
                };
                self.register.set(Register {
                    text: text.clone(),
                    linewise,
                });
                outcome.copied = Some(text);
                if action == A::Cut {
                    outcome.operation = self.edit(rope, range.clone(), "", range.start);
                }
                if self.mode == Mode::Visual {
                    self.mode = Mode::Normal;
                    if action == A::Copy {
                        self.selection = Selection::cursor(self.selection.range().start);
                    }
                }
            }
            A::Paste | A::PasteBefore => {
                // Vim's `p` puts after the cursor (lines below), `P` and the modeless
                // keymap's paste before it (lines above).
                let after = action == A::Paste && self.mode == Mode::Normal;
                let Register { text, linewise } = self.register.get();
                let eol = line_break(rope);
                let text = with_line_breaks(&text, eol);
                if text.is_empty() {
                    outcome.message = Some(
                        "nothing copied in this session yet; paste from the system clipboard with your terminal's paste key".into(),
                    );
                } else if linewise && self.selection.is_empty() {
                    // Whole lines paste as lines.
                    let line = rope.char_to_line(head);
                    let at = if after {
                        line_range(rope, line).end
                    } else {
                        rope.line_to_char(line)
                    };
                    let text = if at == len && len > 0 && rope.char(len - 1) != '\n' {
                        // Pasting lines after a last line that has no line break.
                        format!("{eol}{}", text.strip_suffix(eol).unwrap_or(&text))
                    } else {
                        text
                    };
                    // Vim puts the cursor on the pasted line; desktop editors leave it on
                    // the line it was on, which moved down.
                    let cursor = if self.mode == Mode::Normal {
                        at + if text.starts_with(eol) { eol.len() } else { 0 }
                    } else {
                        head + text.chars().count()
                    };
                    outcome.operation = self.edit(rope, at..at, &text, cursor);
                } else if self.mode == Mode::Normal && self.selection.is_empty() {
                    // Vim's `p` and `P`: after or before the character under the cursor,
                    // ending on the last character put in.
                    let end_of_line = line_end(rope, rope.char_to_line(head));
                    let at = if after && head < end_of_line {
                        next_grapheme(rope, head)
                    } else {
                        head
                    };
                    let cursor = at + text.chars().count().saturating_sub(1);
                    outcome.operation = self.edit(rope, at..at, &text, cursor);
                } else {
                    outcome.operation = self.replace_selection(rope, &text, false);
                }
            }
            A::Undo | A::Redo => {
                self.typing_group_open = false;
                let step = if action == A::Undo {
                    self.history.undo(rope)
                } else {
                    self.history.redo(rope)
                };
                match step {
                    Ok(Some(revert)) => {
                        // Undo lands where the undone change began (as vim does), redo
                        // after what it put back.
                        let after_len = revert.target_len();
                        let landing = revert.changes().last().map(|change| {
                            if action == A::Undo {
                                change.range.start
                            } else {
                                change.range.start + change.text.chars().count()
                            }
                        });
                        if let Some(at) = landing {
                            self.selection = Selection::cursor(at.min(after_len));
                        }
                        outcome.operation = Some(revert);
                    }
                    Ok(None) | Err(_) => {
                        outcome.message = Some(if action == A::Undo {
                            "nothing of yours to undo".into()
                        } else {
                            "nothing to redo".into()
                        })
                    }
                }
            }
            A::NormalMode => {
                if self.mode == Mode::Visual {
                    self.selection = Selection::cursor(self.selection.head.min(len));
                } else if self.mode == Mode::Insert {
                    // As in vim, leaving insert mode steps back onto the last character.
                    let line_start = rope.line_to_char(rope.char_to_line(head));
                    if head > line_start {
                        self.selection = Selection::cursor(prev_grapheme(rope, head));
                    }
                }
                self.mode = Mode::Normal;
            }
            A::InsertMode => self.mode = Mode::Insert,
            A::AppendMode => {
                let line_end = line_end(rope, rope.char_to_line(head));
                self.selection =
                    Selection::cursor(next_grapheme(rope, head).min(line_end.max(head)));
                self.mode = Mode::Insert;
            }
            A::InsertAtLineStart => {
                self.selection = Selection::cursor(first_non_blank(rope, rope.char_to_line(head)));
                self.mode = Mode::Insert;
            }
            A::AppendAtLineEnd => {
                self.selection = Selection::cursor(line_end(rope, rope.char_to_line(head)));
                self.mode = Mode::Insert;
            }
            A::OpenLineBelow | A::OpenLineAbove => {
                let line = rope.char_to_line(head);
                let indent = leading_whitespace(rope.line(line));
                let eol = line_break(rope);
                let (at, text, cursor) = if action == A::OpenLineBelow {
                    let at = line_end(rope, line);
                    let cursor = at + eol.len() + indent.chars().count();
                    (at, format!("{eol}{indent}"), cursor)
                } else {
                    let at = rope.line_to_char(line);
                    (at, format!("{indent}{eol}"), at + indent.chars().count())
                };
                self.mode = Mode::Insert;
                outcome.operation = self.edit(rope, at..at, &text, cursor);
            }
            A::VisualMode => {
                self.mode = Mode::Visual;
                // Vim's visual mode includes the character under the cursor.
                self.selection = Selection {
                    anchor: head,
                    head: next_grapheme(rope, head),
                };
            }
            A::FindNext | A::FindPrevious => match self.last_search.clone() {
                Some(query) => {
                    outcome.navigated = true;
                    outcome.message = self.find(rope, &query, action == A::FindNext);
                }
                None => {
                    outcome.message = Some("no search yet; find with the find key first".into())
                }
            },
            A::Cancel => {
                if self.selection.is_empty() {
                    outcome.ignored = true;
                } else {
                    self.selection = Selection::cursor(head);
                }
            }
            _ => outcome.ignored = true,
        }
    }

    /// The text a line break inserts: the current indentation, one level more after an
    /// opening bracket or a colon ending the line (Python).
    fn newline_text(&self, rope: &Rope) -> String {
        let head = self.selection.range().start.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        let before: String = rope.slice(line_start..head).to_string();
        let indent: String = before
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let mut text = format!("{}{indent}", line_break(rope));
        if matches!(
            before.trim_end().chars().last(),
            Some('{' | '(' | '[' | ':')
        ) {
            text.push_str(&self.indent_unit(rope));
        }
        text
    }

    /// One level of indentation as this file writes it: a tab if most indented lines
    /// start with one, otherwise `tab_width` spaces.
    fn indent_unit(&self, rope: &Rope) -> String {
        let (mut tabs, mut spaces) = (0, 0);
        for line in rope.lines().take(1000) {
            match line.chars().next() {
                Some('\t') => tabs += 1,
                Some(' ') => spaces += 1,
                _ => {}
            }
        }
        if tabs > spaces {
            "\t".into()
        } else {
            " ".repeat(self.tab_width)
        }
    }

    fn indent(&mut self, rope: &Rope) -> Option<Operation> {
        let unit = self.indent_unit(rope);
        let range = self.selection.range();
        let first = rope.char_to_line(range.start);
        let last = rope.char_to_line(range.end);
        if self.selection.is_empty() || first == last && !self.is_line_selection(rope) {
            return self.replace_selection(rope, &unit, false);
        }
        let edits: Vec<(Range<usize>, &str)> = (first..=last)
            .filter(|line| *line != last || rope.line_to_char(*line) < range.end)
            .map(|line| {
                let at = rope.line_to_char(line);
                (at..at, unit.as_str())
            })
            .collect();
        self.multi_edit(rope, edits)
    }

    /// Lines `half_page` moves over (vim's ctrl-d and ctrl-u).
    fn half_page(&self) -> usize {
        (self.viewport.1 / 2).max(1)
    }

    /// `>>`, `<<` (and `3>>`): `n` lines from the cursor's, one level in or out, as one
    /// edit; the cursor goes to the first line's first non-blank.
    fn shift_lines(&mut self, rope: &Rope, n: usize, indent: bool) -> Option<Operation> {
        let first = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let last = (first + n.max(1) - 1).min(commands::last_line(rope).max(first));
        let landing = first_non_blank(rope, first);
        let operation = if indent {
            let unit = self.indent_unit(rope);
            let edits: Vec<(Range<usize>, &str)> = (first..=last)
                .filter(|line| line_content(rope, *line).len_chars() > 0)
                .map(|line| {
                    let at = rope.line_to_char(line);
                    (at..at, unit.as_str())
                })
                .collect();
            if edits.is_empty() {
                return None;
            }
            self.multi_edit(rope, edits)?
        } else {
            self.selection = Selection {
                anchor: rope.line_to_char(first),
                head: rope.line_to_char(last),
            };
            let operation = self.dedent(rope);
            self.selection = Selection::cursor(landing);
            operation?
        };
        self.selection = Selection::cursor(operation.transform_position(landing, Assoc::After));
        Some(operation)
    }

    /// `J` (`3J`): `lines` lines from the cursor's made one, each line break and the
    /// indentation after it replaced by one space (none before an empty line or a `)`, or
    /// after a blank). The cursor lands where the last two were joined.
    fn join_lines(&mut self, rope: &Rope, lines: usize) -> Option<Operation> {
        let line = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let last = (line + lines.max(2) - 1).min(commands::last_line(rope));
        if last <= line {
            return None;
        }
        let edits: Vec<(Range<usize>, &str)> = (line..last)
            .map(|joined| {
                let end = line_end(rope, joined);
                let next = first_non_blank(rope, joined + 1);
                let next_empty = next == line_end(rope, joined + 1);
                let ends_blank =
                    end > rope.line_to_char(joined) && matches!(rope.char(end - 1), ' ' | '\t');
                let separator = if next_empty || ends_blank || rope.char(next) == ')' {
                    ""
                } else {
                    " "
                };
                (end..next, separator)
            })
            .collect();
        let join_at = edits.last()?.0.start;
        let operation = self.multi_edit(rope, edits)?;
        self.selection = Selection::cursor(operation.transform_position(join_at, Assoc::Before));
        Some(operation)
    }

    /// `~` (`3~`): the case of `n` characters from the cursor switched, within the line.
    fn toggle_case(&mut self, rope: &Rope, n: usize) -> Option<Operation> {
        let head = self.selection.head.min(rope.len_chars());
        let end = (head + n.max(1)).min(line_end(rope, rope.char_to_line(head)));
        if end <= head {
            return None;
        }
        let toggled: String = rope
            .slice(head..end)
            .chars()
            .flat_map(|c| {
                let flipped: Vec<char> = if c.is_lowercase() {
                    c.to_uppercase().collect()
                } else if c.is_uppercase() {
                    c.to_lowercase().collect()
                } else {
                    vec![c]
                };
                flipped
            })
            .collect();
        let cursor = head + toggled.chars().count();
        self.edit(rope, head..end, &toggled, cursor)
    }

    /// `rx` (`3rx`): `n` characters from the cursor replaced by `with`; nothing when the
    /// line has fewer, as in vim. The cursor stays on the last one replaced.
    fn replace_chars(&mut self, rope: &Rope, with: char, n: usize) -> Option<Operation> {
        let head = self.selection.head.min(rope.len_chars());
        let end_of_line = line_end(rope, rope.char_to_line(head));
        let mut end = head;
        for _ in 0..n.max(1) {
            if end >= end_of_line {
                return None;
            }
            end = next_grapheme(rope, end);
        }
        let text = with.to_string().repeat(n.max(1));
        let cursor = head + n.max(1) - 1;
        self.edit(rope, head..end, &text, cursor)
    }

    fn is_line_selection(&self, rope: &Rope) -> bool {
        let range = self.selection.range();
        range.start == rope.line_to_char(rope.char_to_line(range.start)) && range.len() > 1
    }

    fn dedent(&mut self, rope: &Rope) -> Option<Operation> {
        let range = self.selection.range();
        let first = rope.char_to_line(range.start);
        let last = rope.char_to_line(range.end);
        let width = self.tab_width;
        let edits: Vec<(Range<usize>, &str)> = (first..=last)
            .filter_map(|line| {
                let start = rope.line_to_char(line);
                let mut remove = 0;
                for c in rope.line(line).chars().take(width) {
                    match c {
                        '\t' => {
                            remove += 1;
                            break;
                        }
                        ' ' => remove += 1,
                        _ => break,
                    }
                }
                (remove > 0).then_some((start..start + remove, ""))
            })
            .collect();
        if edits.is_empty() {
            return None;
        }
        self.multi_edit(rope, edits)
    }

    /// Several edits at once (indenting lines); the selection is mapped through them.
    fn multi_edit(&mut self, rope: &Rope, edits: Vec<(Range<usize>, &str)>) -> Option<Operation> {
        let operation = Operation::from_edits(rope.len_chars(), edits).ok()?;
        let before = self.selection;
        let anchor_assoc = if self.selection.anchor <= self.selection.head {
            Assoc::Before
        } else {
            Assoc::After
        };
        let selection = Selection {
            anchor: operation.transform_position(before.anchor, anchor_assoc),
            head: operation.transform_position(before.head, Assoc::After),
        };
        self.record(rope, &operation, before, false);
        self.selection = selection;
        Some(operation)
    }

    /// Backspace: in leading indentation made of spaces, remove back to the previous stop.
    fn backspace_range(&self, rope: &Rope, head: usize) -> Range<usize> {
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        let before: String = rope.slice(line_start..head).to_string();
        if !before.is_empty() && before.chars().all(|c| c == ' ') {
            let width = before.chars().count();
            let stop = (width - 1) / self.tab_width * self.tab_width;
            return line_start + stop..head;
        }
        prev_grapheme(rope, head)..head
    }

    fn replace_selection(&mut self, rope: &Rope, text: &str, typing: bool) -> Option<Operation> {
        let range = self.selection.range();
        if range.is_empty() && text.is_empty() {
            return None;
        }
        let cursor = range.start + text.chars().count();
        let before = self.selection;
        let operation = Operation::replace(rope.len_chars(), range, text).ok()?;
        self.record(rope, &operation, before, typing);
        self.selection = Selection::cursor(cursor);
        if self.mode == Mode::Visual {
            self.mode = Mode::Normal;
        }
        Some(operation)
    }

    /// Replace `range` by `text` and put the cursor at `cursor` (in the new document).
    fn edit(
        &mut self,
        rope: &Rope,
        range: Range<usize>,
        text: &str,
        cursor: usize,
    ) -> Option<Operation> {
        let before = self.selection;
        let operation = Operation::replace(rope.len_chars(), range, text).ok()?;
        self.record(rope, &operation, before, false);
        self.selection = Selection::cursor(cursor.min(operation.target_len()));
        if self.mode == Mode::Visual {
            self.mode = Mode::Normal;
        }
        Some(operation)
    }

    /// Remembers how to revert a local edit; consecutive typing is one undo step.
    fn record(&mut self, rope: &Rope, operation: &Operation, _before: Selection, typing: bool) {
        self.scroll_anchor = operation.transform_position(self.scroll_anchor, Assoc::Before);
        if !(typing && self.typing_group_open) {
            self.history.end_group();
        }
        if self.history.record_local(operation, rope).is_err() {
            return;
        }
        self.typing_group_open = typing;
        if !typing {
            self.history.end_group();
        }
    }

    fn end_typing_group(&mut self) {
        self.typing_group_open = false;
        self.history.end_group();
    }

    fn vertical(&self, rope: &Rope, delta: isize) -> usize {
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let target_line = (line as isize + delta).clamp(0, rope.len_lines() as isize - 1) as usize;
        if target_line == line {
            // At the first or last line, up/down go to the start or end, as editors do.
            return if delta < 0 {
                0
            } else if delta > 0 {
                rope.len_chars()
            } else {
                head
            };
        }
        let col = self
            .desired_col
            .unwrap_or_else(|| display_col(rope, head, self.tab_width));
        char_at_display_col(rope, target_line, col, self.tab_width)
    }

    /// Moves the selection to the next (or previous) match of `query`; smart case.
    fn find(&mut self, rope: &Rope, query: &str, forward: bool) -> Option<String> {
        if query.is_empty() {
            return None;
        }
        let ignore_case = !query.chars().any(char::is_uppercase);
        let fold = |s: &str| {
            if ignore_case {
                s.to_lowercase()
            } else {
                s.to_owned()
            }
        };
        let haystack = rope.to_string();
        let folded = fold(&haystack);
        let needle = fold(query);
        // Case folding can change byte lengths; only search the folded text when it did not.
        let text = if folded.len() == haystack.len() {
            &folded
        } else {
            &haystack
        };
        let range = self.selection.range();
        // In vim's normal mode the cursor is on a character: `/` and `n` look after it.
        let from = match (forward, self.mode) {
            (true, Mode::Normal) if range.is_empty() => next_grapheme(rope, range.end),
            (true, _) => range.end,
            (false, _) => range.start,
        };
        let from_byte = rope.char_to_byte(from.min(rope.len_chars()));
        let found = if forward {
            text[from_byte..]
                .find(&needle)
                .map(|at| at + from_byte)
                .or_else(|| text.find(&needle))
        } else {
            text[..from_byte]
                .rfind(&needle)
                .or_else(|| text.rfind(&needle))
        };
        match found {
            Some(byte) => {
                let start = rope.byte_to_char(byte);
                let end = rope.byte_to_char(byte + needle.len());
                // vim lands on the match's first character; others select the match.
                self.selection = if self.mode == Mode::Normal {
                    Selection::cursor(start)
                } else {
                    Selection {
                        anchor: start,
                        head: end,
                    }
                };
                self.desired_col = None;
                None
            }
            None => Some(format!("no match for {query:?}")),
        }
    }

    /// After the text changed under us: scrolls sideways so the cursor is in view, as far
    /// left as keeps it there (a line that got shorter shows from its start if it fits).
    fn clamp_scroll_col(&mut self, rope: &Rope) {
        let head = self.selection.head.min(rope.len_chars());
        let col = display_col(rope, head, self.tab_width);
        let columns = self.viewport.0.saturating_sub(gutter_width(rope)).max(1);
        let lowest = (col + 1).saturating_sub(columns);
        if self.scroll_col > col || self.scroll_col < lowest {
            self.scroll_col = lowest;
        }
    }

    /// Scrolls so that the cursor is visible with a margin.
    pub fn ensure_cursor_visible(&mut self, rope: &Rope) {
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let rows = self.viewport.1;
        let margin = SCROLL_OFF.min(rows.saturating_sub(1) / 2);
        if line < self.scroll_line + margin {
            self.scroll_line = line.saturating_sub(margin);
        } else if line + margin >= self.scroll_line + rows {
            self.scroll_line = (line + margin + 1).saturating_sub(rows);
        }
        let col = display_col(rope, head, self.tab_width);
        let columns = self.viewport.0.saturating_sub(gutter_width(rope)).max(1);
        if col < self.scroll_col {
            self.scroll_col = col;
        } else if col >= self.scroll_col + columns {
            self.scroll_col = col + 1 - columns;
        }
        self.scroll_anchor =
            rope.line_to_char(self.scroll_line.min(rope.len_lines().saturating_sub(1)));
    }
}

fn char_class(c: char) -> u8 {
    if c.is_whitespace() {
        0
    } else if c.is_alphanumeric() || c == '_' {
        1
    } else {
        2
    }
}

/// Start of the next word (vim `w`, ctrl-right): skip the current run, then whitespace.
fn word_right(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    let mut i = at;
    if i >= len {
        return len;
    }
    let class = char_class(rope.char(i));
    while i < len && class != 0 && char_class(rope.char(i)) == class {
        i += 1;
    }
    while i < len && char_class(rope.char(i)) == 0 {
        // Stop at an empty line, as editors do.
        if rope.char(i) == '\n' && i + 1 < len && rope.char(i + 1) == '\n' && i > at {
            return i + 1;
        }
        i += 1;
    }
    i
}

/// End of the word (vim `e`): the last char of the next run.
fn word_end(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    let mut i = (at + 1).min(len);
    while i < len && char_class(rope.char(i)) == 0 {
        i += 1;
    }
    if i >= len {
        return len;
    }
    let class = char_class(rope.char(i));
    while i + 1 < len && char_class(rope.char(i + 1)) == class {
        i += 1;
    }
    i
}

/// Start of the previous word (vim `b`, ctrl-left).
fn word_left(rope: &Rope, at: usize) -> usize {
    let mut i = at.min(rope.len_chars());
    while i > 0 && char_class(rope.char(i - 1)) == 0 {
        i -= 1;
    }
    if i == 0 {
        return 0;
    }
    let class = char_class(rope.char(i - 1));
    while i > 0 && char_class(rope.char(i - 1)) == class {
        i -= 1;
    }
    i
}

/// The line break this document uses, as its first line ends (`\r\n`, `\n` or a lone
/// `\r`; `\n` for a single line). Line breaks the editor inserts follow it, so a CRLF file
/// stays CRLF.
pub fn line_break(rope: &Rope) -> &'static str {
    if rope.len_lines() < 2 {
        return "\n";
    }
    let first = rope.line(0);
    let len = first.len_chars();
    match (first.char(len - 1), len > 1 && first.char(len - 2) == '\r') {
        ('\n', true) => "\r\n",
        ('\r', _) => "\r",
        _ => "\n",
    }
}

/// `text` with each of its line breaks (`\r\n`, `\r` or `\n`) written as `eol`.
pub fn with_line_breaks(text: &str, eol: &str) -> String {
    if !text.contains(['\r', '\n']) {
        return text.to_owned();
    }
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', eol)
}

/// The chars of `line` without its line break.
fn line_content(rope: &Rope, line: usize) -> RopeSlice<'_> {
    let slice = rope.line(line);
    let mut len = slice.len_chars();
    if len > 0 && slice.char(len - 1) == '\n' {
        len -= 1;
    }
    if len > 0 && slice.char(len - 1) == '\r' {
        len -= 1;
    }
    slice.slice(..len)
}

fn line_end(rope: &Rope, line: usize) -> usize {
    rope.line_to_char(line) + line_content(rope, line).len_chars()
}

/// The whole line with its line break (or, for the last line, with the break before it).
fn line_range(rope: &Rope, line: usize) -> Range<usize> {
    let start = rope.line_to_char(line);
    let end = if line + 1 < rope.len_lines() {
        rope.line_to_char(line + 1)
    } else {
        rope.len_chars()
    };
    if end == rope.len_chars() && line > 0 && line + 1 >= rope.len_lines() {
        // The last line: take the line break before it so no empty line is left behind.
        return start - 1..end;
    }
    start..end
}

/// A whole line as copied text: its content and one line break.
fn line_text(rope: &Rope, line: usize) -> String {
    format!("{}\n", line_content(rope, line))
}

fn first_non_blank(rope: &Rope, line: usize) -> usize {
    let start = rope.line_to_char(line);
    start
        + line_content(rope, line)
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .count()
}

fn leading_whitespace(line: RopeSlice<'_>) -> String {
    line.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Char offsets of the grapheme boundaries in `line_text`.
fn grapheme_starts(line_text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut chars = 0;
    line_text.graphemes(true).map(move |g| {
        let at = chars;
        chars += g.chars().count();
        (at, g)
    })
}

fn next_grapheme(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    if at >= len {
        return len;
    }
    let line = rope.char_to_line(at);
    let start = rope.line_to_char(line);
    let text = rope.line(line).to_string();
    for (offset, g) in grapheme_starts(&text) {
        let end = start + offset + g.chars().count();
        if end > at {
            return end;
        }
    }
    (at + 1).min(len)
}

fn prev_grapheme(rope: &Rope, at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    let at = at.min(rope.len_chars());
    // The grapheme before `at` may end a line, so look at the line of `at - 1`.
    let line = rope.char_to_line(at - 1);
    let start = rope.line_to_char(line);
    let text = rope.line(line).to_string();
    let mut previous = start;
    for (offset, _) in grapheme_starts(&text) {
        if start + offset >= at {
            break;
        }
        previous = start + offset;
    }
    previous
}

/// Display width of one grapheme at display column `col`.
fn grapheme_width(g: &str, col: usize, tab_width: usize) -> usize {
    if g == "\t" {
        return tab_width - col % tab_width;
    }
    if g.chars().all(char::is_control) {
        // Control characters are drawn as one replacement cell.
        return 1;
    }
    g.width()
}

/// The display column of char index `at` within its line.
pub fn display_col(rope: &Rope, at: usize, tab_width: usize) -> usize {
    let at = at.min(rope.len_chars());
    let line = rope.char_to_line(at);
    let start = rope.line_to_char(line);
    let text = line_content(rope, line).to_string();
    let mut col = 0;
    for (offset, g) in grapheme_starts(&text) {
        if start + offset >= at {
            break;
        }
        col += grapheme_width(g, col, tab_width);
    }
    col
}

/// The char index in `line` at display column `target` (or the line end if shorter).
pub fn char_at_display_col(rope: &Rope, line: usize, target: usize, tab_width: usize) -> usize {
    let start = rope.line_to_char(line);
    let text = line_content(rope, line).to_string();
    let mut col = 0;
    for (offset, g) in grapheme_starts(&text) {
        let width = grapheme_width(g, col, tab_width);
        if col + width > target {
            return start + offset;
        }
        col += width;
    }
    start + text.chars().count()
}

/// Columns taken by the gutter: a sign column (diagnostics marks), line numbers, a space.
pub fn gutter_width(rope: &Rope) -> usize {
    rope.len_lines().to_string().len().max(3) + 2
}

/// Someone else's cursor and selection, as presence reports them (already mapped to the
/// current document by the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCursor {
    pub name: String,
    /// Index into the theme's participant colors.
    pub color: usize,
    pub selection: Selection,
}

/// Draws one document: gutter, text with syntax colors, selections, remote cursors.
pub struct EditorWidget<'a> {
    pub editor: &'a Editor,
    pub rope: &'a Rope,
    pub syntax: Option<&'a Syntax>,
    pub theme: &'a Theme,
    pub remotes: &'a [RemoteCursor],
    /// Matches of the active search to mark, if any.
    pub search: Option<&'a str>,
}

impl EditorWidget<'_> {
    /// Where the terminal cursor goes for the local cursor, if it is on screen.
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        let head = self.editor.selection.head.min(self.rope.len_chars());
        let line = self.rope.char_to_line(head);
        let row = line.checked_sub(self.editor.scroll_line)?;
        let col = display_col(self.rope, head, self.editor.tab_width)
            .checked_sub(self.editor.scroll_col)?;
        let x = area.x as usize + gutter_width(self.rope) + col;
        (row < area.height as usize && x < area.right() as usize)
            .then(|| Position::new(x as u16, area.y + row as u16))
    }
}

impl Widget for EditorWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // A part the terminal has no room for (see `App::regions`) draws nothing.
        if area.is_empty() {
            return;
        }
        let theme = self.theme;
        let rope = self.rope;
        let editor = self.editor;
        let base = theme.get("ui.background").patch(theme.get("ui.text"));
        buf.set_style(area, base);
        if area.width == 0 || area.height == 0 {
            return;
        }
        let gutter = gutter_width(rope) as u16;
        let text_x = area.x + gutter.min(area.width);
        let text_width = area.width.saturating_sub(gutter) as usize;
        let first = editor.scroll_line.min(rope.len_lines().saturating_sub(1));
        let last = (first + area.height as usize).min(rope.len_lines());
        let head_line = rope.char_to_line(editor.selection.head.min(rope.len_chars()));

        let byte_range = rope.line_to_byte(first)..rope.line_to_byte(last);
        let highlights = self
            .syntax
            .map(|syntax| syntax.highlights(rope, byte_range));
        let capture_styles = highlights
            .as_ref()
            .map(|highlights| theme.capture_styles(highlights.capture_names()))
            .unwrap_or_default();
        let selection_style = theme.get("ui.selection");
        let match_style = theme.get("ui.text.match");
        let remote_select_style = |color: usize| -> Style {
            match theme.participant(color) {
                Color::Reset => Style::default().add_modifier(Modifier::UNDERLINED),
                color => Style::default().bg(color).fg(theme.ink_on(color)),
            }
        };
        // Where our selection covers someone else's, ours is the background (it is what
        // our keys act on) and theirs is underlined in their color, so both stay visible
        // and no two layers' colors meet as text on background.
        let remote_under_own_style = |color: usize| -> Style {
            let underline = Style::default().add_modifier(Modifier::UNDERLINED);
            match theme.participant(color) {
                Color::Reset => underline,
                color => underline.underline_color(color),
            }
        };
        let remote_cursor_style = |color: usize| -> Style {
            match theme.participant(color) {
                Color::Reset => Style::default().add_modifier(Modifier::REVERSED),
                color => Style::default().bg(color).fg(theme.ink_on(color)),
            }
        };
        let search_ranges = self
            .search
            .filter(|query| !query.is_empty())
            .map(|query| visible_matches(rope, first, last, query))
            .unwrap_or_default();

        for (row, line) in (first..last).enumerate() {
            let y = area.y + row as u16;
            let number_style = if line == head_line {
                theme.get("ui.linenr.selected")
            } else {
                theme.get("ui.linenr")
            };
            let number = format!(" {:>width$} ", line + 1, width = gutter as usize - 2);
            buf.set_stringn(
                area.x,
                y,
                &number,
                gutter as usize,
                base.patch(number_style),
            );

            let line_start = rope.line_to_char(line);
            let mut byte = rope.line_to_byte(line);
            let text = line_content(rope, line).to_string();
            let mut col = 0usize;
            for (offset, g) in grapheme_starts(&text) {
                let at = line_start + offset;
                let width = grapheme_width(g, col, editor.tab_width);
                let mut style = base;
                if let Some(capture) = highlights.as_ref().and_then(|h| h.capture_at(byte))
                    && let Some(Some(capture_style)) = capture_styles.get(capture as usize)
                {
                    style = style.patch(*capture_style);
                }
                let in_match = search_ranges.iter().any(|r| r.contains(&at));
                if in_match {
                    style = style.patch(match_style);
                }
                // The last one listed is drawn on top, as before.
                let remote_selection = self
                    .remotes
                    .iter()
                    .rev()
                    .find(|remote| remote.selection.range().contains(&at));
                let own_selection = editor.selection.range().contains(&at);
                style = match (own_selection, remote_selection) {
                    (true, Some(remote)) => style
                        .patch(selection_style)
                        .patch(remote_under_own_style(remote.color)),
                    (true, None) => style.patch(selection_style),
                    (false, Some(remote)) => style.patch(remote_select_style(remote.color)),
                    (false, None) => style,
                };
                let remote_cursor = self
                    .remotes
                    .iter()
                    .rev()
                    .find(|remote| remote.selection.head == at);
                if let Some(remote) = remote_cursor {
                    style = style.patch(remote_cursor_style(remote.color));
                }
                if in_match
                    || own_selection
                    || remote_selection.is_some()
                    || remote_cursor.is_some()
                {
                    // Layers met here: whatever the colors, the text must still read.
                    style = theme.readable(style);
                }
                draw_grapheme(
                    buf,
                    text_x,
                    y,
                    col,
                    editor.scroll_col,
                    text_width,
                    g,
                    width,
                    style,
                );
                col += width;
                byte += g.len();
            }
            // A cursor at the end of a line (or on an empty line) still needs a cell.
            let end = line_start + text.chars().count();
            for remote in self.remotes {
                if remote.selection.head == end {
                    draw_grapheme(
                        buf,
                        text_x,
                        y,
                        col,
                        editor.scroll_col,
                        text_width,
                        " ",
                        1,
                        base.patch(remote_cursor_style(remote.color)),
                    );
                }
            }
        }

        // Name flags, in their color: just above the cursor where that covers only blank
        // cells (as in Live Share), otherwise at the right edge of the cursor's row, so a
        // flag never hides code and stays put while someone types on that line (a flag
        // that moved with every keystroke would cost bytes on every frame). Only a line
        // too long for that pushes its flag past its end. Flags on one row queue up side
        // by side, so two people at one spot (a follower on their leader) stay readable.
        let mut next_free: std::collections::HashMap<u16, usize> = Default::default();
        // The top and bottom rows end with markers for people out of view (drawn below).
        let mut next_right: std::collections::HashMap<u16, usize> = Default::default();
        for (row, above_view) in [(area.y, true), (area.bottom().saturating_sub(1), false)] {
            let markers: usize = self
                .remotes
                .iter()
                .filter(|remote| {
                    let line = rope.char_to_line(remote.selection.head.min(rope.len_chars()));
                    if above_view {
                        line < first
                    } else {
                        line >= last
                    }
                })
                .map(|remote| flag_label(&remote.name).trim().width() + 4)
                .sum();
            if markers > 0 {
                next_right.insert(row, (area.right() as usize).saturating_sub(markers));
            }
        }
        for remote in self.remotes {
            let head = remote.selection.head.min(rope.len_chars());
            let line = rope.char_to_line(head);
            if line < first || line >= last {
                continue;
            }
            let style = remote_cursor_style(remote.color).add_modifier(Modifier::BOLD);
            let label = flag_label(&remote.name);
            let label_width = label.width();
            let row = area.y + (line - first) as u16;
            let col = display_col(rope, head, editor.tab_width).saturating_sub(editor.scroll_col);
            let x = text_x as usize + col.min(text_width.saturating_sub(1));
            let blank_above = row > area.y
                && (x..(x + label_width).min(area.right() as usize)).all(|cx| {
                    buf.cell((cx as u16, row - 1))
                        .is_none_or(|cell| cell.symbol() == " ")
                });
            let (x, y) = if blank_above {
                (x, row - 1)
            } else {
                let end_col = display_col(rope, line_end(rope, line), editor.tab_width)
                    .saturating_sub(editor.scroll_col);
                let text_end = text_x as usize + end_col + 2;
                let right = next_right
                    .get(&row)
                    .copied()
                    .unwrap_or(area.right() as usize);
                let x = match right.checked_sub(label_width + 1) {
                    Some(x) if x >= text_end => {
                        next_right.insert(row, x);
                        x + 1
                    }
                    _ => {
                        let x = text_end.max(next_free.get(&row).copied().unwrap_or(0));
                        next_free.insert(row, x + label_width + 1);
                        x
                    }
                };
                (x, row)
            };
            let room = (area.right() as usize).saturating_sub(x);
            if room > 0 {
                buf.set_stringn(x as u16, y, &label, room, style);
            }
        }

        // Markers at the edges for people whose cursor is above or below the view.
        let mut above = Vec::new();
        let mut below = Vec::new();
        for remote in self.remotes {
            let line = rope.char_to_line(remote.selection.head.min(rope.len_chars()));
            if line < first {
                above.push(remote);
            } else if line >= last {
                below.push(remote);
            }
        }
        for (people, y, arrow) in [
            (above, area.y, '▲'),
            (below, area.bottom().saturating_sub(1), '▼'),
        ] {
            let mut x = area.right();
            for remote in people.iter().rev() {
                let label = format!("{arrow} {}", flag_label(&remote.name).trim());
                let width = label.width() as u16 + 2;
                if x < text_x + width {
                    break;
                }
                x -= width;
                let style = remote_cursor_style(remote.color);
                buf.set_stringn(x, y, format!(" {label} "), width as usize, style);
            }
        }
    }
}

/// Draws one grapheme at display column `col` of the line, honoring horizontal scroll: a
/// wide character cut by the left edge shows as blanks rather than half a glyph.
#[allow(clippy::too_many_arguments)]
fn draw_grapheme(
    buf: &mut Buffer,
    x0: u16,
    y: u16,
    col: usize,
    scroll: usize,
    width_limit: usize,
    g: &str,
    width: usize,
    style: Style,
) {
    if col + width <= scroll || col >= scroll + width_limit {
        return;
    }
    let visible_start = col.max(scroll) - scroll;
    let fits = col >= scroll && col + width <= scroll + width_limit;
    let x = x0 + visible_start as u16;
    if g == "\t" || !fits || width == 0 {
        let blanks = width
            .min(width_limit - visible_start)
            .max(usize::from(width == 0));
        buf.set_stringn(x, y, " ".repeat(blanks), blanks, style);
        return;
    }
    if g.chars().all(char::is_control) {
        buf.set_stringn(x, y, "\u{fffd}", 1, style);
        return;
    }
    if let Some(cell) = buf.cell_mut((x, y)) {
        cell.set_symbol(g).set_style(style);
    }
    // The cells a wide character covers must be emptied so the terminal draws it whole.
    for extra in 1..width {
        if let Some(cell) = buf.cell_mut((x + extra as u16, y)) {
            cell.reset();
            cell.set_symbol("").set_style(style);
        }
    }
}

fn flag_label(name: &str) -> String {
    let short: String = name.graphemes(true).take(16).collect();
    format!(" {short} ")
}

/// Char ranges of `query` matches within lines `first..last` (smart case).
fn visible_matches(rope: &Rope, first: usize, last: usize, query: &str) -> Vec<Range<usize>> {
    let ignore_case = !query.chars().any(char::is_uppercase);
    let needle = if ignore_case {
        query.to_lowercase()
    } else {
        query.to_owned()
    };
    let mut out = Vec::new();
    for line in first..last {
        let text = rope.line(line).to_string();
        let hay = if ignore_case {
            text.to_lowercase()
        } else {
            text.clone()
        };
        if hay.len() != text.len() {
            continue;
        }
        let start = rope.line_to_char(line);
        for (byte, _) in hay.match_indices(&needle) {
            let from = start + text[..byte].chars().count();
            out.push(from..from + needle.chars().count());
        }
    }
    out
}
