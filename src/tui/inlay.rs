//! Inlay hints: the types and parameter names the host's language server would show
//! between the characters, drawn dimmed in the participant's own view only. They are
//! virtual text: no one else sees them, the shared text does not change, and the cursor
//! still moves over real characters (line and column on the status line are the text's).
//!
//! The host answers for the revision it computed them at; the session loop carries them
//! into our text (as presence is carried, `client::presence::localize`), and from then on
//! every edit, ours or others', moves them as it moves remote cursors, so a hint stays
//! beside its token while people type. Once typing pauses they are asked for again.

use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect};
use ropey::Rope;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::protocol::hints::{HintKind, INLAY_HINT_LINES};
use crate::text::{Assoc, LineCol, Operation};
use crate::tui::ask_again::AskAgain;
use crate::tui::editor::{Editor, gutter_width};
use crate::tui::popup::{AskKind, IntelAsk};
use crate::tui::theme::Theme;

/// Typing pauses this long before the hints are asked for again.
pub const INLAY_DELAY: Duration = crate::tui::ask_again::AFTER_TYPING;
/// Lines above the view that an answer covers too, so scrolling up a little needs none.
const LINES_ABOVE: usize = 40;

/// One hint in our text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// Drawn before the char at this index.
    pub at: usize,
    pub label: String,
    pub kind: HintKind,
}

#[derive(Debug, Default)]
struct FileHints {
    hints: Vec<Hint>,
    /// The lines the last answer covered.
    covered: Option<Range<usize>>,
    ask: AskAgain,
}

/// Every open file's hints, and when to ask for them. Hidden until enabled.
#[derive(Debug, Default)]
pub struct InlayHints {
    enabled: bool,
    files: HashMap<String, FileHints>,
}

impl InlayHints {
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Shows or hides them; hidden, none are asked for.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        if !enabled {
            self.files.clear();
        }
    }

    /// The hints of `path`, in text order.
    pub fn for_path(&self, path: &str) -> &[Hint] {
        self.files
            .get(path)
            .map_or(&[], |file| file.hints.as_slice())
    }

    /// The host's hints for `lines` of `path`, already in our text.
    pub fn set(&mut self, path: &str, lines: Range<usize>, mut hints: Vec<Hint>) {
        let file = self.files.entry(path.to_owned()).or_default();
        hints.sort_by_key(|hint| hint.at);
        file.hints = hints;
        file.covered = Some(lines);
        file.ask.answered();
    }

    /// The host could not answer for `path`: keep what is shown, ask again much later.
    pub fn failed(&mut self, path: &str, now: Instant) {
        self.files
            .entry(path.to_owned())
            .or_default()
            .ask
            .failed(now);
    }

    /// The server has news about `path` (its diagnostics came: it analysed the file
    /// again, or finished loading the project): ask again once typing pauses.
    pub fn server_spoke(&mut self, path: &str, now: Instant) {
        if let Some(file) = self.files.get_mut(path) {
            file.ask.edited(now);
        }
    }

    /// The answer was for an older question or could not be placed: ask again.
    pub fn dropped(&mut self, path: &str) {
        if let Some(file) = self.files.get_mut(path) {
            file.ask.dropped();
        }
    }

    /// Carries `path`'s hints over an edit (anyone's); asks again once typing pauses.
    pub fn map_edit(&mut self, path: &str, operation: &Operation, now: Instant) {
        let Some(file) = self.files.get_mut(path) else {
            return;
        };
        for hint in &mut file.hints {
            // Text typed right at a hint goes before it: a type hint follows the name
            // being typed, a parameter name stays before its argument.
            hint.at = operation.transform_position(hint.at, Assoc::After);
        }
        file.ask.edited(now);
    }

    /// The file closed: forget its hints.
    pub fn forget(&mut self, path: &str) {
        self.files.remove(path);
    }

    /// When the question for `path`, whose view starts at `first_line` and shows
    /// `rows` lines, is due (`None`: none is).
    pub fn deadline(&self, path: &str, first_line: usize, rows: usize) -> Option<Instant> {
        self.due_at(path, first_line, rows, Instant::now())
    }

    /// As `deadline`, with `now` for "at once".
    fn due_at(&self, path: &str, first_line: usize, rows: usize, now: Instant) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        let Some(file) = self.files.get(path) else {
            return Some(now);
        };
        let view = first_line..first_line + rows;
        let covers = file
            .covered
            .as_ref()
            .is_some_and(|covered| covered.start <= view.start && view.end <= covered.end);
        file.ask.due_at(now, !covers)
    }

    /// The question for `path` if it is due now; it counts as asked.
    pub fn due_ask(
        &mut self,
        path: &str,
        first_line: usize,
        rows: usize,
        now: Instant,
    ) -> Option<IntelAsk> {
        if self.due_at(path, first_line, rows, now)? > now {
            return None;
        }
        self.files
            .entry(path.to_owned())
            .or_default()
            .ask
            .asked(now);
        let first = first_line.saturating_sub(LINES_ABOVE);
        // The view must fit the lines asked even when the answer comes.
        debug_assert!(rows < INLAY_HINT_LINES as usize - LINES_ABOVE);
        Some(IntelAsk {
            kind: AskKind::InlayHints,
            path: path.to_owned(),
            at: LineCol {
                line: first,
                col: 0,
            },
            explicit: false,
            change: None,
        })
    }
}

/// Draws `hints` into the editor already drawn in `area`, each before its char, shifting
/// the rest of its row to the right (cells pushed past the edge are not shown). Returns
/// where the terminal cursor goes now. With soft wrap on, nothing is drawn: a hint would
/// push text off a row that continues on the next one.
pub fn draw_in_editor(
    area: Rect,
    buf: &mut Buffer,
    editor: &Editor,
    rope: &Rope,
    hints: &[Hint],
    theme: &Theme,
    cursor: Option<Position>,
) -> Option<Position> {
    if hints.is_empty() || editor.soft_wrap() || area.is_empty() {
        return cursor;
    }
    let text_x = area.x + (gutter_width(rope) as u16).min(area.width);
    let style = theme
        .get("ui.background")
        .patch(theme.get("ui.virtual.inlay-hint"));
    // Per screen row: (column from the text's left, label), in text order.
    let mut rows: HashMap<u16, Vec<(usize, &str)>> = HashMap::new();
    for hint in hints {
        let Some((row, col)) = editor.screen_offset(rope, hint.at.min(rope.len_chars())) else {
            continue;
        };
        if row >= area.height as usize || text_x as usize + col >= area.right() as usize {
            continue;
        }
        rows.entry(area.y + row as u16)
            .or_default()
            .push((col, hint.label.as_str()));
    }
    let mut cursor = cursor;
    for (y, row_hints) in rows {
        let width = (area.right() - text_x) as usize;
        let old: Vec<Cell> = (0..width)
            .map(|col| buf[(text_x + col as u16, y)].clone())
            .collect();
        let mut new: Vec<Cell> = Vec::with_capacity(width);
        let mut shift_before_cursor = 0;
        let cursor_col = cursor
            .filter(|at| at.y == y)
            .map(|at| at.x.saturating_sub(text_x) as usize);
        let mut pending = row_hints.iter().peekable();
        for (col, cell) in old.into_iter().enumerate() {
            while let Some((_, label)) = pending.next_if(|(at, _)| *at <= col) {
                let before = new.len();
                push_label(&mut new, label, style);
                if cursor_col.is_some_and(|cursor| col <= cursor) {
                    shift_before_cursor += new.len() - before;
                }
            }
            new.push(cell);
        }
        for (col, cell) in new.into_iter().take(width).enumerate() {
            buf[(text_x + col as u16, y)] = cell;
        }
        if let Some(at) = cursor.as_mut().filter(|at| at.y == y) {
            let x = at.x as usize + shift_before_cursor;
            at.x = x.min(area.right().saturating_sub(1) as usize) as u16;
        }
    }
    cursor
}

/// The text's display column under a click at display column `col` of view row `row`,
/// with `hints` drawn on that row (`draw_in_editor`): the hints before it taken out; a
/// click on a hint lands on the char it stands before.
pub fn text_col(editor: &Editor, rope: &Rope, hints: &[Hint], row: usize, col: usize) -> usize {
    if editor.soft_wrap() {
        return col;
    }
    let mut shift = 0;
    for hint in hints {
        let Some((hint_row, hint_col)) = editor.screen_offset(rope, hint.at.min(rope.len_chars()))
        else {
            continue;
        };
        if hint_row != row {
            continue;
        }
        let drawn = hint_col + shift;
        let width = hint.label.width();
        if col >= drawn + width {
            shift += width;
        } else if col >= drawn {
            return hint_col;
        } else {
            break;
        }
    }
    col - shift
}

fn push_label(cells: &mut Vec<Cell>, label: &str, style: ratatui::style::Style) {
    for grapheme in label.graphemes(true) {
        let width = grapheme.width();
        if width == 0 {
            continue;
        }
        let mut cell = Cell::default();
        cell.set_symbol(grapheme).set_style(style);
        cells.push(cell);
        // The cells a wide grapheme covers stay blank, as ratatui leaves them.
        for _ in 1..width {
            let mut covered = Cell::default();
            covered.set_style(style);
            cells.push(covered);
        }
    }
}

#[cfg(test)]
mod tests;
