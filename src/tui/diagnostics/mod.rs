//! The host's diagnostics on the participant's screen: a mark in the gutter (E/W/I/H), the
//! range underlined (unnecessary code dimmed), the cursor line's message under the status
//! line, and a list of all of them (F8), the most severe first.
//!
//! The host pushes each file's complete list, computed for a revision the participant may
//! already have typed past. Until the next push, the ranges are carried through every edit
//! (ours and others') the way remote cursors are, so a mark stays on its text; one whose
//! text was deleted entirely is dropped.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::Rect;
use ropey::Rope;

use ratatui::style::{Modifier, Style};

use crate::protocol::message::{DiagnosticItem, DiagnosticTag, Severity, TextRange};
use crate::text::position::{char_to_line_col, line_col_to_char, line_content_chars};
use crate::text::{Assoc, Operation};
use crate::tui::compositor::{Component, Context, Event, EventResult, RenderContext, close_layer};
use crate::tui::editor::{Editor, display_col, gutter_width};
use crate::tui::locations::{
    LocationRow, draw_list_row, draw_popup_frame, list_popup_area, move_in_list,
};
use crate::tui::text_wrap::wrap;
use crate::tui::theme::Theme;

/// The gutter letter and the theme scopes of a severity: (mark, text scope, underline scope).
pub fn severity_style(severity: Severity) -> (char, &'static str, &'static str) {
    match severity {
        Severity::Error => ('E', "error", "diagnostic.error"),
        Severity::Warning => ('W', "warning", "diagnostic.warning"),
        Severity::Information => ('I', "info", "diagnostic.info"),
        Severity::Hint => ('H', "hint", "diagnostic.hint"),
    }
}

/// Lower is more severe: the gutter shows the most severe mark of a line.
fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Information => 2,
        Severity::Hint => 3,
    }
}

/// Every file's diagnostics as the host last pushed them, carried through edits since.
#[derive(Debug, Default)]
pub struct DiagnosticStore {
    files: BTreeMap<String, Vec<DiagnosticItem>>,
}

impl DiagnosticStore {
    /// The host's complete list for `path` (an empty list clears it).
    pub fn set(&mut self, path: &str, mut items: Vec<DiagnosticItem>) {
        if items.is_empty() {
            self.files.remove(path);
        } else {
            items.sort_by_key(|item| (item.range.start, rank(item.severity)));
            self.files.insert(path.to_owned(), items);
        }
    }

    pub fn for_path(&self, path: &str) -> &[DiagnosticItem] {
        self.files.get(path).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Carries `path`'s ranges over an edit from `before` to `after`.
    pub fn map_edit(&mut self, path: &str, before: &Rope, operation: &Operation, after: &Rope) {
        let Some(items) = self.files.get_mut(path) else {
            return;
        };
        items.retain_mut(|item| {
            let start = line_col_to_char(before, item.range.start);
            let end = line_col_to_char(before, item.range.end).max(start);
            // Text typed at either edge is not part of the problem.
            let new_start = operation.transform_position(start, Assoc::After);
            let new_end = operation
                .transform_position(end, Assoc::Before)
                .max(new_start);
            if start < end && new_start == new_end {
                // All of its text is gone: so is what it said about it.
                return false;
            }
            item.range = TextRange {
                start: char_to_line_col(after, new_start),
                end: char_to_line_col(after, new_end),
            };
            true
        });
        if items.is_empty() {
            self.files.remove(path);
        }
    }

    /// The most severe diagnostic touching `line` of `path`.
    pub fn on_line(&self, path: &str, line: usize) -> Option<&DiagnosticItem> {
        self.for_path(path)
            .iter()
            .filter(|item| item.range.start.line <= line && line <= item.range.end.line)
            .min_by_key(|item| rank(item.severity))
    }

    /// All diagnostics of all files as list rows: the most severe first, then by file
    /// and position.
    pub fn rows(&self) -> Vec<DiagnosticRow> {
        let mut rows: Vec<DiagnosticRow> = self
            .files
            .iter()
            .flat_map(|(path, items)| {
                items.iter().map(move |item| {
                    let (mark, scope, _) = severity_style(item.severity);
                    DiagnosticRow {
                        severity: item.severity,
                        location: LocationRow {
                            path: path.clone(),
                            position: item.range.start,
                            text: message_line(item),
                            highlight: None,
                            mark: Some((mark, scope)),
                        },
                        detail: detail_text(item),
                    }
                })
            })
            .collect();
        // Stable: within a severity, the store's order (file, then position) stays.
        rows.sort_by_key(|row| rank(row.severity));
        rows
    }
}

/// One row of the diagnostics list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticRow {
    pub severity: Severity,
    pub location: LocationRow,
    /// The whole message (every line) and its source, for the detail view.
    pub detail: String,
}

/// The diagnostic in full: every line of its message and where it comes from.
fn detail_text(item: &DiagnosticItem) -> String {
    match &item.source {
        Some(source) => format!("{} ({source})", item.message.trim_end()),
        None => item.message.trim_end().to_owned(),
    }
}

/// Which diagnostics the list shows; `f` in the list goes to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SeverityFilter {
    #[default]
    All,
    Errors,
    WarningsAndErrors,
}

impl SeverityFilter {
    fn next(self) -> Self {
        match self {
            SeverityFilter::All => SeverityFilter::Errors,
            SeverityFilter::Errors => SeverityFilter::WarningsAndErrors,
            SeverityFilter::WarningsAndErrors => SeverityFilter::All,
        }
    }

    fn admits(self, severity: Severity) -> bool {
        match self {
            SeverityFilter::All => true,
            SeverityFilter::Errors => severity == Severity::Error,
            SeverityFilter::WarningsAndErrors => rank(severity) <= rank(Severity::Warning),
        }
    }

    fn label(self) -> &'static str {
        match self {
            SeverityFilter::All => "all",
            SeverityFilter::Errors => "errors",
            SeverityFilter::WarningsAndErrors => "errors and warnings",
        }
    }
}

/// F8: every file's diagnostics, the most severe first, filtered by severity (`f`), with
/// the selected one's whole message wrapped below the list; Enter goes there.
pub struct DiagnosticsList {
    rows: Vec<DiagnosticRow>,
    filter: SeverityFilter,
    /// Index into the rows the filter admits.
    selected: usize,
    empty_text: String,
}

impl DiagnosticsList {
    pub const ID: &'static str = "diagnostics-list";

    pub fn new(rows: Vec<DiagnosticRow>, empty_text: &str) -> Self {
        Self {
            rows,
            filter: SeverityFilter::All,
            selected: 0,
            empty_text: empty_text.into(),
        }
    }

    fn shown(&self) -> impl Iterator<Item = &DiagnosticRow> {
        self.rows
            .iter()
            .filter(|row| self.filter.admits(row.severity))
    }

    pub fn selected(&self) -> Option<&DiagnosticRow> {
        self.shown().nth(self.selected)
    }

    /// The host pushed a file's new list: keeps the selection on the same place.
    pub fn set_rows(&mut self, rows: Vec<DiagnosticRow>, empty_text: &str) {
        let keep = self
            .selected()
            .map(|row| (row.location.path.clone(), row.location.position));
        self.rows = rows;
        self.empty_text = empty_text.into();
        self.selected = keep
            .and_then(|(path, position)| {
                self.shown()
                    .position(|row| row.location.path == path && row.location.position == position)
            })
            .unwrap_or(0);
    }
}

impl Component for DiagnosticsList {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = close_layer(Self::ID);
        match event {
            Event::Key(key) => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                let count = self.shown().count();
                match key.code {
                    KeyCode::Esc => return EventResult::Consumed(Some(close)),
                    KeyCode::Char('c') if ctrl => return EventResult::Consumed(Some(close)),
                    KeyCode::Enter => {
                        if let Some(row) = self.selected() {
                            cx.commands.push(row.location.go_to());
                            return EventResult::Consumed(Some(close));
                        }
                    }
                    KeyCode::Char('f') if !ctrl => {
                        let keep = self
                            .selected()
                            .map(|row| (row.location.path.clone(), row.location.position));
                        self.filter = self.filter.next();
                        self.selected = keep
                            .and_then(|(path, position)| {
                                self.shown().position(|row| {
                                    row.location.path == path && row.location.position == position
                                })
                            })
                            .unwrap_or(0);
                    }
                    _ => self.selected = move_in_list(self.selected, key, count),
                }
                EventResult::Consumed(None)
            }
            // Modal, like the other lists: nothing below reacts while it is open.
            Event::Paste(_) | Event::Mouse(_) => EventResult::Consumed(None),
            Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let style = theme.get("ui.popup");
        let shown: Vec<&DiagnosticRow> = self.shown().collect();
        let title = format!(
            " Diagnostics: {} ({} of {}) · f filters ",
            self.filter.label(),
            shown.len(),
            self.rows.len()
        );
        // Two rows more than other lists: the message under them.
        let inner = draw_popup_frame(list_popup_area(area, 10), buf, &title, style);
        if inner.height == 0 || inner.width < 4 {
            return;
        }
        if shown.is_empty() {
            let text = if self.rows.is_empty() {
                self.empty_text.clone()
            } else {
                format!("no {}; f shows more", self.filter.label())
            };
            buf.set_stringn(
                inner.x + 1,
                inner.y,
                text,
                inner.width as usize - 1,
                style.patch(theme.get("comment")),
            );
            return;
        }
        // The selected diagnostic's whole message, wrapped, under a rule: at most half
        // of the popup, and never the row of the list the selection is on.
        let detail = self
            .selected()
            .map(|row| wrap(&row.detail, inner.width.saturating_sub(2) as usize))
            .unwrap_or_default();
        let detail_rows = (detail.len() as u16).min(inner.height / 2);
        let list_rows = if detail_rows > 0 {
            inner.height.saturating_sub(detail_rows + 1)
        } else {
            inner.height
        };
        let rows = list_rows as usize;
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        for (index, row) in shown.iter().enumerate().skip(first).take(rows) {
            let line = Rect::new(inner.x, inner.y + (index - first) as u16, inner.width, 1);
            draw_list_row(
                buf,
                line,
                &row.location,
                index == self.selected,
                style,
                theme,
            );
        }
        if detail_rows == 0 || list_rows == 0 {
            return;
        }
        let rule_y = inner.y + list_rows;
        buf.set_stringn(
            inner.x,
            rule_y,
            "─".repeat(inner.width as usize),
            inner.width as usize,
            style.patch(theme.get("ui.virtual")),
        );
        for (offset, text) in detail.iter().take(detail_rows as usize).enumerate() {
            buf.set_stringn(
                inner.x + 1,
                rule_y + 1 + offset as u16,
                text,
                inner.width.saturating_sub(1) as usize,
                style,
            );
        }
    }

    fn id(&self) -> &'static str {
        Self::ID
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// The diagnostic as one line: its message (first line) and where it comes from.
pub fn message_line(item: &DiagnosticItem) -> String {
    let message = item.message.lines().next().unwrap_or_default();
    match &item.source {
        Some(source) => format!("{message} ({source})"),
        None => message.to_owned(),
    }
}

/// Draws marks, underlines and dimming over an editor already drawn into `area` (see
/// [`crate::tui::editor::EditorWidget`]): the first gutter column holds the mark.
///
/// A diagnostic is marked and underlined once, where it starts: on its first line, to
/// that line's end. Ranges that span many lines (rust-analyzer's "file not included in
/// the module tree" covers the whole file) would otherwise mark and underline every line.
/// Unnecessary code (an unused import, a block `#[cfg]` leaves out) is dimmed over its
/// whole range instead; a hint that only says so is not underlined, as editors do.
pub fn draw_in_editor(
    area: Rect,
    buf: &mut Buffer,
    editor: &Editor,
    rope: &Rope,
    items: &[DiagnosticItem],
    theme: &Theme,
) {
    if items.is_empty() || area.width == 0 {
        return;
    }
    let text_x = area.x as usize + gutter_width(rope);
    let first = editor.scroll_line();
    let last = (first + area.height as usize).min(rope.len_lines());
    let unnecessary_style = theme
        .try_get("diagnostic.unnecessary")
        .unwrap_or_else(|| Style::default().add_modifier(Modifier::DIM));
    let deprecated_style = theme
        .try_get("diagnostic.deprecated")
        .unwrap_or_else(|| Style::default().add_modifier(Modifier::CROSSED_OUT));
    for (row, line) in (first..last).enumerate() {
        let y = area.y + row as u16;
        let line_start = rope.line_to_char(line);
        let line_len = line_content_chars(rope, line);
        // Display columns `from..to` of this line (an empty range still gets one cell).
        let paint = |buf: &mut Buffer, from: usize, to: usize, style: Style| {
            let from_col = display_col(rope, line_start + from, editor.tab_width);
            let to_col = if to > from {
                display_col(rope, line_start + to, editor.tab_width)
            } else {
                from_col + 1
            };
            for col in from_col..to_col {
                let Some(visible) = col.checked_sub(editor.scroll_col()) else {
                    continue;
                };
                let x = text_x + visible;
                if x >= area.right() as usize {
                    break;
                }
                if let Some(cell) = buf.cell_mut((x as u16, y)) {
                    cell.set_style(style);
                }
            }
        };
        // What of each touching diagnostic lies on this line: `from..to` in chars.
        let span = |item: &DiagnosticItem| {
            let from = if item.range.start.line == line {
                item.range.start.col.min(line_len)
            } else {
                0
            };
            let to = if item.range.end.line == line {
                item.range.end.col.min(line_len)
            } else {
                line_len
            };
            (from, to)
        };
        for item in items
            .iter()
            .filter(|item| item.range.start.line <= line && line <= item.range.end.line)
        {
            let (from, to) = span(item);
            if item.tags.contains(&DiagnosticTag::Unnecessary) && to > from {
                paint(buf, from, to, unnecessary_style);
            }
            if item.tags.contains(&DiagnosticTag::Deprecated) {
                paint(buf, from, to, deprecated_style);
            }
        }
        let starting = || {
            items
                .iter()
                .filter(move |item| item.range.start.line == line)
        };
        let Some(worst) = starting().min_by_key(|item| rank(item.severity)) else {
            continue;
        };
        let (mark, scope, _) = severity_style(worst.severity);
        if let Some(cell) = buf.cell_mut((area.x, y)) {
            cell.set_char(mark).set_style(theme.get(scope));
        }
        // Less severe first, so the most severe underline wins where two overlap.
        let mut ordered: Vec<&DiagnosticItem> =
            starting().filter(|item| underlined(item)).collect();
        ordered.sort_by_key(|item| std::cmp::Reverse(rank(item.severity)));
        for item in ordered {
            let (from, to) = span(item);
            paint(buf, from, to, theme.get(severity_style(item.severity).2));
        }
    }
}

/// Whether a diagnostic's text is underlined: all but hints that only say the code is
/// unnecessary, which are shown dimmed (an unused variable's *warning* keeps its line).
fn underlined(item: &DiagnosticItem) -> bool {
    !(item.severity == Severity::Hint && item.tags.contains(&DiagnosticTag::Unnecessary))
}

#[cfg(test)]
mod tests;
