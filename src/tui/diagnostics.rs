//! The host's diagnostics on the participant's screen: a mark in the gutter (E/W/I/H), the
//! range underlined, the cursor line's message under the status line, and a list of all
//! of them.
//!
//! The host pushes each file's complete list, computed for a revision the participant may
//! already have typed past. Until the next push, the ranges are carried through every edit
//! (ours and others') the way remote cursors are, so a mark stays on its text; one whose
//! text was deleted entirely is dropped.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ropey::Rope;

use crate::protocol::message::{DiagnosticItem, Severity, TextRange};
use crate::text::position::{char_to_line_col, line_col_to_char, line_content_chars};
use crate::text::{Assoc, Operation};
use crate::tui::editor::{Editor, display_col, gutter_width};
use crate::tui::locations::Location;
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

    /// All diagnostics of all files as list rows, by file and position.
    pub fn locations(&self) -> Vec<Location> {
        self.files
            .iter()
            .flat_map(|(path, items)| {
                items.iter().map(move |item| {
                    let (mark, scope, _) = severity_style(item.severity);
                    Location {
                        path: path.clone(),
                        position: item.range.start,
                        text: message_line(item),
                        highlight: None,
                        mark: Some((mark, scope)),
                    }
                })
            })
            .collect()
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

/// Draws marks and underlines over an editor already drawn into `area` (see
/// [`crate::tui::editor::EditorWidget`]): the first gutter column holds the mark.
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
    for (row, line) in (first..last).enumerate() {
        let y = area.y + row as u16;
        let touching = || {
            items
                .iter()
                .filter(move |item| item.range.start.line <= line && line <= item.range.end.line)
        };
        let Some(worst) = touching().min_by_key(|item| rank(item.severity)) else {
            continue;
        };
        let (mark, scope, _) = severity_style(worst.severity);
        if let Some(cell) = buf.cell_mut((area.x, y)) {
            cell.set_char(mark).set_style(theme.get(scope));
        }
        let line_start = rope.line_to_char(line);
        let line_len = line_content_chars(rope, line);
        // Less severe first, so the most severe underline wins where two overlap.
        let mut ordered: Vec<&DiagnosticItem> = touching().collect();
        ordered.sort_by_key(|item| std::cmp::Reverse(rank(item.severity)));
        for item in ordered {
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
            let from_col = display_col(rope, line_start + from, editor.tab_width);
            // An empty range (a missing `)` at the end of a line) still gets one cell.
            let to_col = if to > from {
                display_col(rope, line_start + to, editor.tab_width)
            } else {
                from_col + 1
            };
            let style = theme.get(severity_style(item.severity).2);
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::LineCol;

    fn item(start: (usize, usize), end: (usize, usize), severity: Severity) -> DiagnosticItem {
        DiagnosticItem {
            range: TextRange {
                start: LineCol {
                    line: start.0,
                    col: start.1,
                },
                end: LineCol {
                    line: end.0,
                    col: end.1,
                },
            },
            severity,
            message: "undefined name 'x'\nmore".into(),
            source: Some("pyflakes".into()),
        }
    }

    fn edit(store: &mut DiagnosticStore, text: &str, op: Operation) -> Rope {
        let before = Rope::from_str(text);
        let mut after = before.clone();
        op.apply(&mut after).unwrap();
        store.map_edit("a.py", &before, &op, &after);
        after
    }

    #[test]
    fn ranges_stay_on_their_text_through_edits_and_vanish_with_it() {
        let text = "a = 1\nprint(x)\n";
        let mut store = DiagnosticStore::default();
        store.set("a.py", vec![item((1, 6), (1, 7), Severity::Error)]);

        // A line typed above moves the mark down one line.
        let op = Operation::from_edits(text.chars().count(), [(0..0, "b = 2\n")]).unwrap();
        let after = edit(&mut store, text, op);
        let moved = &store.for_path("a.py")[0];
        assert_eq!(
            (moved.range.start, moved.range.end),
            (LineCol { line: 2, col: 6 }, LineCol { line: 2, col: 7 })
        );
        assert_eq!(store.on_line("a.py", 2).unwrap().severity, Severity::Error);
        assert!(store.on_line("a.py", 1).is_none());

        // Typing right before or after the name does not stretch the range.
        let text = after.to_string();
        let x = line_col_to_char(&after, LineCol { line: 2, col: 6 });
        let op =
            Operation::from_edits(after.len_chars(), [(x..x, "yy"), (x + 1..x + 1, "z")]).unwrap();
        let after = edit(&mut store, &text, op);
        let kept = &store.for_path("a.py")[0];
        let start = line_col_to_char(&after, kept.range.start);
        let end = line_col_to_char(&after, kept.range.end);
        assert_eq!(after.slice(start..end).to_string(), "x");

        // Deleting the name drops the diagnostic, and the file with it.
        let text = after.to_string();
        let op = Operation::from_edits(after.len_chars(), [(start..end, "")]).unwrap();
        edit(&mut store, &text, op);
        assert!(store.for_path("a.py").is_empty() && store.is_empty());
    }

    #[test]
    fn the_list_shows_every_file_with_its_marks() {
        let mut store = DiagnosticStore::default();
        store.set("b.py", vec![item((3, 0), (3, 1), Severity::Warning)]);
        store.set("a.py", vec![item((0, 4), (0, 5), Severity::Error)]);
        let rows: Vec<_> = store
            .locations()
            .iter()
            .map(|l| format!("{:?} {} {}", l.mark, l.place(), l.text))
            .collect();
        assert_eq!(
            rows,
            vec![
                "Some(('E', \"error\")) a.py:1:5 undefined name 'x' (pyflakes)",
                "Some(('W', \"warning\")) b.py:4:1 undefined name 'x' (pyflakes)",
            ]
        );
        store.set("a.py", Vec::new());
        assert_eq!(store.locations().len(), 1);
    }
}
