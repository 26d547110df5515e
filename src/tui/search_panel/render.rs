//! Drawing the search panel: the fields and toggles, the status line, the results (or,
//! with a replacement typed, each file's changes as they will read) and the preview of
//! the selected match.

use ratatui::style::Style;

use super::*;
use crate::text::position::line_content_chars;
use crate::tui::compositor::centered;
use crate::tui::locations::{draw_list_row, draw_popup_frame};

impl SearchPanel {
    pub(super) fn status(&self) -> (String, &'static str) {
        let files = {
            let mut paths: Vec<&str> = self.hits.iter().map(|hit| hit.path.as_str()).collect();
            paths.dedup();
            paths.len()
        };
        let found = format!(
            "{} match{} in {files} file{}",
            self.hits.len(),
            if self.hits.len() == 1 { "" } else { "es" },
            if files == 1 { "" } else { "s" },
        );
        if self.replacing {
            return ("replacing…".into(), "comment");
        }
        if self.replacing_mode() && matches!(self.state, SearchState::Done(_)) {
            let left_out = self.hits.iter().filter(|hit| self.is_excluded(hit)).count();
            return (
                format!(
                    "{found}, {left_out} left out: alt-a replaces the rest, alt-e/alt-f leave out a match/file"
                ),
                "comment",
            );
        }
        match &self.state {
            SearchState::Idle => ("type to search all shared files".into(), "comment"),
            SearchState::Searching => (format!("{found}; searching…"), "comment"),
            SearchState::Done(summary) => match summary.notice() {
                Some(notice) => (notice, "warning"),
                None => (
                    format!("{found} ({} searched)", summary.files_searched),
                    "comment",
                ),
            },
            SearchState::Failed(message) => (message.replace('\n', " "), "error"),
        }
    }

    /// The toggles' row up to the glob field.
    pub(super) fn toggles(&self) -> String {
        let toggle = |on: bool| if on { "[x]" } else { "[ ]" };
        format!(
            "{} regex alt-r  {} case alt-c  {} word alt-w  files (tab): ",
            toggle(self.regex),
            toggle(self.match_case),
            toggle(self.whole_word),
        )
    }

    pub(super) fn popup_area(area: Rect) -> Rect {
        let width = (area.width * 9 / 10).max(60);
        let height = (area.height * 9 / 10).max(14);
        centered(area, width, height)
    }

    /// The preview's lines: from the file's text if we have it, else the hits' own lines.
    pub(super) fn preview_lines(&self, hit: &SearchHit, rows: usize) -> Vec<(usize, String)> {
        let target = hit.line.saturating_sub(1) as usize;
        let first = target.saturating_sub(PREVIEW_ABOVE);
        if let Some((_, rope)) = self.preview.as_ref().filter(|(at, _)| *at == hit.path)
            && target < rope.len_lines()
        {
            return (first..(first + rows).min(rope.len_lines()))
                .map(|line| {
                    let text: String = rope
                        .line(line)
                        .chars()
                        .take(line_content_chars(rope, line))
                        .collect();
                    (line, text)
                })
                .collect();
        }
        // The file has not arrived (or is too large to read whole): its matching lines.
        let mut lines: Vec<(usize, String)> = self
            .hits
            .iter()
            .filter(|other| other.path == hit.path)
            .map(|other| (other.line.saturating_sub(1) as usize, other.text.clone()))
            .filter(|(line, _)| (first..first + rows).contains(line))
            .collect();
        lines.dedup_by_key(|(line, _)| *line);
        lines
    }

    /// The replace preview: the results grouped by file, a header row per file (its
    /// matches, and whether it is left out), each match's line as it will read.
    fn draw_replace_preview(
        &self,
        buf: &mut Buffer,
        area: Rect,
        style: Style,
        theme: &crate::tui::theme::Theme,
    ) {
        enum Row<'a> {
            File(&'a str, usize),
            Hit(usize),
        }
        let mut rows = Vec::new();
        for (index, hit) in self.hits.iter().enumerate() {
            if index == 0 || self.hits[index - 1].path != hit.path {
                let count = self.hits[index..]
                    .iter()
                    .take_while(|other| other.path == hit.path)
                    .count();
                rows.push(Row::File(&hit.path, count));
            }
            rows.push(Row::Hit(index));
        }
        let selected_row = rows
            .iter()
            .position(|row| matches!(row, Row::Hit(index) if *index == self.selected))
            .unwrap_or(0);
        let height = area.height as usize;
        let first = selected_row.saturating_sub(height.saturating_sub(1));
        let dim = style.patch(theme.get("comment"));
        for (offset, row) in rows.iter().skip(first).take(height).enumerate() {
            let line = Rect::new(area.x, area.y + offset as u16, area.width, 1);
            match row {
                Row::File(path, count) => {
                    let left_out = self.excluded.contains(&Exclusion::File {
                        path: (*path).to_owned(),
                    });
                    let header = format!(
                        "{path} ({count} match{}){}",
                        if *count == 1 { "" } else { "es" },
                        if left_out { ", left out" } else { "" }
                    );
                    buf.set_stringn(line.x, line.y, header, area.width as usize, dim);
                }
                Row::Hit(index) => {
                    let hit = &self.hits[*index];
                    let shown = self.replace_row(hit);
                    draw_list_row(buf, line, &shown, *index == self.selected, style, theme);
                }
            }
        }
    }

    pub(super) fn draw(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let style = theme.get("ui.popup");
        let inner = draw_popup_frame(Self::popup_area(area), buf, " Search all files ", style);
        if inner.height < 6 || inner.width < 20 {
            return;
        }
        let width = inner.width as usize;
        let dim = style.patch(theme.get("comment"));
        let (x, mut y) = (inner.x, inner.y);

        buf.set_stringn(x, y, "search: ", width, dim);
        buf.set_stringn(x + 8, y, &self.query.text, width - 8, style);
        y += 1;
        let (after, _) = buf.set_stringn(x, y, self.toggles(), width, dim);
        buf.set_stringn(
            after,
            y,
            &self.globs.text,
            inner.right().saturating_sub(after) as usize,
            style,
        );
        y += 1;
        buf.set_stringn(x, y, "replace: ", width, dim);
        buf.set_stringn(
            x + 9,
            y,
            &self.replacement.text,
            width.saturating_sub(9),
            style,
        );
        y += 1;
        let (status, scope) = self.status();
        buf.set_stringn(x, y, &status, width, style.patch(theme.get(scope)));
        y += 1;

        let rest = inner.bottom().saturating_sub(y);
        let list_rows = (rest / 2).max(1) as usize;
        if self.replacing_mode() {
            self.draw_replace_preview(
                buf,
                Rect::new(x, y, inner.width, list_rows as u16),
                style,
                theme,
            );
        } else {
            let first = self.selected.saturating_sub(list_rows.saturating_sub(1));
            for (index, hit) in self.hits.iter().enumerate().skip(first).take(list_rows) {
                let row = Rect::new(x, y + (index - first) as u16, inner.width, 1);
                let selected = index == self.selected;
                draw_list_row(buf, row, &self.location(hit), selected, style, theme);
            }
        }
        y += list_rows as u16;
        let Some(hit) = self.selected_hit() else {
            return;
        };
        if y >= inner.bottom() {
            return;
        }
        let title = format!(" {}:{} ", hit.path, hit.line);
        let rule = format!("──{title}{}", "─".repeat(width));
        buf.set_stringn(x, y, &rule, width, dim);
        y += 1;
        let rows = (inner.bottom() - y) as usize;
        let target = hit.line.saturating_sub(1) as usize;
        let location = self.location(hit);
        for (row, (line, text)) in self.preview_lines(hit, rows).into_iter().enumerate() {
            let row_y = y + row as u16;
            if row_y >= inner.bottom() {
                break;
            }
            let row_style = if line == target {
                style.patch(theme.get("ui.selection"))
            } else {
                style
            };
            buf.set_style(Rect::new(x, row_y, inner.width, 1), row_style);
            let number = format!("{:>5} ", line + 1);
            buf.set_stringn(
                x,
                row_y,
                &number,
                6,
                row_style.patch(theme.get("ui.linenr")),
            );
            let shown = LocationRow {
                path: String::new(),
                position: location.position,
                text,
                highlight: (line == target)
                    .then(|| location.highlight.clone())
                    .flatten(),
                mark: None,
            };
            draw_text(buf, (x + 6, row_y, inner.right()), &shown, row_style, theme);
        }
    }
}

/// A preview line: the text as it is (indentation kept), the match highlighted.
fn draw_text(
    buf: &mut Buffer,
    (x, y, right): (u16, u16, u16),
    line: &LocationRow,
    row_style: Style,
    theme: &crate::tui::theme::Theme,
) {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    let highlight = line.highlight.clone().unwrap_or(0..0);
    let match_style = row_style.patch(theme.get("ui.text.match"));
    let (mut x, mut index) = (x, 0usize);
    for g in line.text.graphemes(true) {
        let (shown, width) = if g == "\t" {
            ("    ", 4)
        } else if g.chars().all(char::is_control) {
            (" ", 1)
        } else {
            (g, g.width() as u16)
        };
        if x + width > right {
            break;
        }
        let style = if highlight.contains(&index) {
            match_style
        } else {
            row_style
        };
        buf.set_stringn(x, y, shown, width as usize, style);
        x += width;
        index += g.chars().count();
    }
}
