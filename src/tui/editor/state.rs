//! What one person's view of a document holds: the selection, the mode, the scroll
//! position, the undo history and the shared register, and how they follow the text
//! when others edit it.

use std::ops::Range;

use ropey::Rope;

use super::*;
use crate::text::{Assoc, Operation, UndoHistory};

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

/// The view state of one document.
#[derive(Debug, Clone)]
pub struct Editor {
    pub selection: Selection,
    pub(super) scroll_line: usize,
    pub(super) scroll_col: usize,
    /// Char index of the first visible line's start; mapped through remote edits so the
    /// view stays on the same text when lines are added above it.
    pub(super) scroll_anchor: usize,
    pub mode: Mode,
    pub tab_width: usize,
    /// Display column that vertical motions aim for.
    pub(super) desired_col: Option<usize>,
    pub(super) viewport: (usize, usize),
    /// Only this person's edits, carried through everyone else's (`text::undo`).
    pub(super) history: UndoHistory,
    /// Whether the last edit was typing, which the next typed character may join.
    pub(super) typing_group_open: bool,
    /// Shared by every tab of one participant (`Editor::share_register`).
    pub(super) register: SharedRegister,
    pub(super) last_search: Option<String>,
    /// What `.` repeats.
    pub(super) last_change: Option<commands::LastChange>,
    /// The last `f`, `t`, `F` or `T` and its character, for `;` and `,`.
    pub(super) last_char_find: Option<(Action, char)>,
    /// A `:s///c` waiting for the user's answer at each match.
    pub(super) substitute: Option<substitute::Confirming>,
    /// Undo steps of the last edit, until the session accepts it.
    pub(super) unconfirmed: undo::Unconfirmed,
    /// Cursors besides the selection (see `cursors.rs`).
    pub(super) extra_cursors: Vec<Selection>,
    /// The file's comment marker and whether `:` opens a block (`Editor::set_path`).
    pub(super) conventions: LineConventions,
    /// Long lines continue on the next rows instead of running off the right edge.
    pub(super) soft_wrap: bool,
    /// The document's syntax tree, for Enter's indentation (`Editor::set_indent_tree`).
    pub(super) indent_tree: Option<crate::tui::highlight::IndentTree>,
}

/// The last copied text; `linewise` text came from whole lines and pastes as lines.
#[derive(Debug, Clone, Default)]
pub(super) struct Register {
    pub(super) text: String,
    pub(super) linewise: bool,
}

/// One participant's register: copy in one tab, paste in another. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct SharedRegister(std::sync::Arc<std::sync::Mutex<Register>>);

impl SharedRegister {
    pub(super) fn get(&self) -> Register {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(super) fn set(&self, register: Register) {
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
            unconfirmed: Default::default(),
            extra_cursors: Vec::new(),
            conventions: LineConventions::default(),
            soft_wrap: false,
            indent_tree: None,
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
        self.forget_refused_edit();
        self.keep_view_through(operation, after);
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

    /// An edit the host made for this user (their rename, code action or format) was
    /// applied to the text `before`: the view follows it as it follows anyone's, and it
    /// is one undo step of the user's own, undone through the shared text like typing.
    pub fn apply_edit_made_for_me(&mut self, operation: &Operation, before: &Rope, after: &Rope) {
        self.forget_refused_edit();
        self.keep_view_through(operation, after);
        if let Some(confirming) = &mut self.substitute {
            confirming.map(operation);
        }
        self.history.end_group();
        if self.history.record_local(operation, before).is_err() {
            // Cannot happen for an edit applied to `before`; start afresh if it does.
            self.history = UndoHistory::with_limit(UNDO_LIMIT);
        }
        self.end_typing_group();
    }

    /// Keeps the cursors and the scroll position on the same text across `operation`.
    fn keep_view_through(&mut self, operation: &Operation, after: &Rope) {
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
        self.map_extra_cursors(operation, after.len_chars());
        // A line shortened under us must not leave the view scrolled past its end.
        self.clamp_scroll_col(after);
    }

    /// After the text changed under us: scrolls sideways so the cursor is in view, as far
    /// left as keeps it there (a line that got shorter shows from its start if it fits).
    pub(super) fn clamp_scroll_col(&mut self, rope: &Rope) {
        if self.soft_wrap {
            self.scroll_col = 0;
            return;
        }
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
        if self.soft_wrap {
            return self.ensure_wrapped_cursor_visible(rope);
        }
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
