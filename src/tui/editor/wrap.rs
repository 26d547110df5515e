//! Soft wrap: long lines continue on the rows below instead of running off the right edge.
//! A line of display width `n` takes `n / width + 1` rows of a view `width` columns wide
//! (the last row keeps room for the cursor after the last character); row `k` of it shows
//! display columns `k * width .. (k + 1) * width`. The view scrolls by whole lines, never
//! sideways; motions still move by lines of the text.

use ropey::Rope;

use super::*;

/// Rows of the screen line `line` takes when wrapped at `width` columns.
pub(super) fn line_rows(rope: &Rope, line: usize, tab_width: usize, width: usize) -> usize {
    display_col(rope, line_end(rope, line), tab_width) / width.max(1) + 1
}

impl Editor {
    /// Whether long lines wrap (toggled with `toggle_soft_wrap`).
    pub fn soft_wrap(&self) -> bool {
        self.soft_wrap
    }

    /// Columns of text the view shows beside the gutter.
    pub(super) fn text_columns(&self, rope: &Rope) -> usize {
        self.viewport.0.saturating_sub(gutter_width(rope)).max(1)
    }

    /// Where char `at` is drawn: rows below the first visible one and display columns
    /// from the left of the text; `None` above the view.
    pub fn screen_offset(&self, rope: &Rope, at: usize) -> Option<(usize, usize)> {
        let at = at.min(rope.len_chars());
        let line = rope.char_to_line(at);
        let col = display_col(rope, at, self.tab_width);
        let lines_above = line.checked_sub(self.scroll_line)?;
        if !self.soft_wrap {
            return Some((lines_above, col.checked_sub(self.scroll_col)?));
        }
        let width = self.text_columns(rope);
        let rows_above: usize = (self.scroll_line..line)
            .take(self.viewport.1 + 1)
            .map(|line| line_rows(rope, line, self.tab_width, width))
            .sum();
        Some((rows_above + col / width, col % width))
    }

    /// The char drawn at `row` rows below the top of the view and display column `col`
    /// of the text (a mouse click): the nearest one on that row.
    pub fn char_at_screen(&self, rope: &Rope, row: usize, col: usize) -> usize {
        let last = rope.len_lines().saturating_sub(1);
        if !self.soft_wrap {
            let line = (self.scroll_line + row).min(last);
            return char_at_display_col(rope, line, col + self.scroll_col, self.tab_width);
        }
        let width = self.text_columns(rope);
        let (mut line, mut row) = (self.scroll_line.min(last), row);
        loop {
            let rows = line_rows(rope, line, self.tab_width, width);
            if row < rows || line == last {
                let row = row.min(rows - 1);
                return char_at_display_col(rope, line, row * width + col, self.tab_width);
            }
            row -= rows;
            line += 1;
        }
    }

    /// [`Editor::ensure_cursor_visible`] with wrapped lines: scrolls by whole lines until
    /// the cursor's row is on screen with the usual margin of lines around it.
    pub(super) fn ensure_wrapped_cursor_visible(&mut self, rope: &Rope) {
        self.scroll_col = 0;
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let rows = self.viewport.1;
        let margin = SCROLL_OFF.min(rows.saturating_sub(1) / 2);
        if line < self.scroll_line + margin {
            self.scroll_line = line.saturating_sub(margin);
        }
        // Every line takes a row at least: the cursor's line is never further down.
        self.scroll_line = self.scroll_line.max(line.saturating_sub(rows));
        let width = self.text_columns(rope);
        let last = rope.len_lines().saturating_sub(1);
        // The margin below is rows of the text after the cursor's line.
        let below = if line < last { margin } else { 0 };
        while self.scroll_line < line {
            let (cursor_row, _) = self.screen_offset(rope, head).unwrap_or_default();
            let rest = line_rows(rope, line, self.tab_width, width)
                - display_col(rope, head, self.tab_width) / width;
            if cursor_row + rest + below <= rows {
                break;
            }
            self.scroll_line += 1;
        }
        self.scroll_anchor = rope.line_to_char(self.scroll_line.min(last));
    }
}
