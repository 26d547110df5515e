//! Drawing one document: the gutter, the text with syntax colors and search matches, the
//! selections (ours and other people's), their cursors and name flags, and markers for
//! people out of view. A pure function of the view, the rope, the syntax tree and the
//! other people's cursors.

use std::collections::HashMap;
use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;
use ropey::Rope;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::*;
use crate::tui::highlight::{Highlights, Syntax};
use crate::tui::theme::Theme;

/// Someone else's cursor and selection, as presence reports them (already mapped to the
/// current document by the client). An empty `name` is one of their extra cursors
/// (multiple cursors): drawn in their color, with no flag (the name flies on the primary).
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
    /// Matches of the find-and-replace prompt's pattern to mark instead, while it is open.
    pub find_pattern: Option<&'a regex::Regex>,
    /// Lines changed against the host's git index, marked in the gutter's last column.
    pub git: Option<&'a crate::client::git::LineChanges>,
}

impl EditorWidget<'_> {
    /// Where the terminal cursor goes for the local cursor, if it is on screen.
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        let (row, col) = self
            .editor
            .screen_offset(self.rope, self.editor.selection.head)?;
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
        let view = View::new(&self, area);
        buf.set_style(area, view.base);
        let highlights = self.syntax.map(|syntax| {
            let range = self.rope.line_to_byte(view.first)..self.rope.line_to_byte(view.last);
            syntax.highlights(self.rope, range)
        });
        let capture_styles = highlights
            .as_ref()
            .map(|highlights| self.theme.capture_styles(highlights.capture_names()))
            .unwrap_or_default();
        let layers = Layers {
            highlights: highlights.as_ref(),
            capture_styles,
            search: match self.find_pattern {
                Some(pattern) => replace::lines_matches(self.rope, pattern, view.first, view.last),
                None => self
                    .search
                    .filter(|query| !query.is_empty())
                    .map(|query| visible_matches(self.rope, view.first, view.last, query))
                    .unwrap_or_default(),
            },
            brackets: self.bracket_pair(&view),
            selection_style: self.theme.get("ui.selection"),
            match_style: self.theme.get("ui.text.match"),
            bracket_style: self.theme.get("ui.cursor.match"),
        };
        for line in view.first..view.last {
            self.draw_line_number(&view, line, buf);
            self.draw_line(&view, &layers, line, buf);
        }
        self.draw_flags(&view, buf);
        self.draw_out_of_view(&view, buf);
    }
}

/// Where things go on screen for one frame.
struct View {
    area: Rect,
    /// The style under everything.
    base: Style,
    gutter: u16,
    text_x: u16,
    text_width: usize,
    /// The lines on screen.
    first: usize,
    last: usize,
    /// The line of our cursor.
    head_line: usize,
    tab_width: usize,
    scroll_col: usize,
    /// With soft wrap, the columns each row of a line shows.
    wrap: Option<usize>,
    /// The row (from the top of the view) each visible line starts on.
    starts: Vec<usize>,
}

impl View {
    fn new(widget: &EditorWidget<'_>, area: Rect) -> Self {
        let (rope, editor) = (widget.rope, widget.editor);
        let gutter = gutter_width(rope) as u16;
        let first = editor.scroll_line.min(rope.len_lines().saturating_sub(1));
        let text_width = area.width.saturating_sub(gutter) as usize;
        let wrap = editor.soft_wrap.then_some(text_width.max(1));
        let mut starts = Vec::new();
        let (mut line, mut row) = (first, 0);
        while row < area.height as usize && line < rope.len_lines() {
            starts.push(row);
            row += wrap.map_or(1, |width| {
                wrap::line_rows(rope, line, editor.tab_width, width)
            });
            line += 1;
        }
        Self {
            area,
            base: widget
                .theme
                .get("ui.background")
                .patch(widget.theme.get("ui.text")),
            gutter,
            text_x: area.x + gutter.min(area.width),
            text_width,
            first,
            last: first + starts.len(),
            head_line: rope.char_to_line(editor.selection.head.min(rope.len_chars())),
            tab_width: editor.tab_width,
            scroll_col: editor.scroll_col,
            wrap,
            starts,
        }
    }

    /// The screen row a visible line starts on.
    fn row(&self, line: usize) -> u16 {
        self.area.y + self.starts[line - self.first] as u16
    }

    /// Where display column `col` of the line starting on row `y` is: its row and its x.
    fn cell(&self, y: u16, col: usize) -> (u16, usize) {
        let x = self.text_x as usize;
        match self.wrap {
            Some(width) => (y + (col / width) as u16, x + col % width),
            None => (
                y,
                x + col
                    .saturating_sub(self.scroll_col)
                    .min(self.text_width.saturating_sub(1)),
            ),
        }
    }

    /// Draws `g` at display column `col` of the line starting on row `y`: scrolled
    /// sideways, or with soft wrap on the row of the line that shows that column.
    fn draw(&self, buf: &mut Buffer, y: u16, col: usize, g: &str, width: usize, style: Style) {
        let Some(wrap) = self.wrap else {
            let columns = (self.text_x, self.scroll_col, self.text_width);
            return draw_grapheme(buf, columns, y, col, g, width, style);
        };
        // A wide character across a row's end shows as blanks on both rows.
        for k in col / wrap..=(col + width.max(1) - 1) / wrap {
            let row = y as usize + k;
            if row >= self.area.bottom() as usize {
                return;
            }
            draw_grapheme(
                buf,
                (self.text_x, k * wrap, wrap),
                row as u16,
                col,
                g,
                width,
                style,
            );
        }
    }
}

/// What colors the text besides the selections: syntax and search matches.
struct Layers<'a> {
    highlights: Option<&'a Highlights>,
    capture_styles: Vec<Option<Style>>,
    search: Vec<Range<usize>>,
    /// The bracket at the cursor and the one matching it.
    brackets: Option<(usize, usize)>,
    /// The theme's styles for them, looked up once per frame rather than per character.
    selection_style: Style,
    match_style: Style,
    bracket_style: Style,
}

impl EditorWidget<'_> {
    /// The bracket at the cursor and its match, when both would be in view (a match is
    /// looked for no further than the screen reaches, so a frame stays cheap).
    fn bracket_pair(&self, view: &View) -> Option<(usize, usize)> {
        let rope = self.rope;
        let head = self.editor.selection.head.min(rope.len_chars());
        let start = rope.line_to_char(view.first);
        let end = rope.line_to_char(view.last.min(rope.len_lines()));
        let reach = end.saturating_sub(start) + 1;
        motions::bracket_pair_at(rope, head, reach)
    }

    fn draw_line_number(&self, view: &View, line: usize, buf: &mut Buffer) {
        let style = if line == view.head_line {
            self.theme.get("ui.linenr.selected")
        } else {
            self.theme.get("ui.linenr")
        };
        let gutter = view.gutter as usize;
        let number = format!(" {:>width$} ", line + 1, width = gutter - 2);
        let (x, y) = (view.area.x, view.row(line));
        buf.set_stringn(x, y, &number, gutter, view.base.patch(style));
        if let Some(change) = self.git.and_then(|changes| changes.at(line)) {
            let (mark, scope) = crate::tui::git::mark_style(change);
            let column = x + view.gutter.saturating_sub(1);
            if column < view.area.right()
                && let Some(cell) = buf.cell_mut((column, y))
            {
                cell.set_char(mark)
                    .set_style(view.base.patch(self.theme.get(scope)));
            }
        }
    }

    fn draw_line(&self, view: &View, layers: &Layers<'_>, line: usize, buf: &mut Buffer) {
        let rope = self.rope;
        let y = view.row(line);
        let line_start = rope.line_to_char(line);
        let mut byte = rope.line_to_byte(line);
        let text = line_content(rope, line).to_string();
        let mut col = 0usize;
        for (offset, g) in grapheme_starts(&text) {
            let width = grapheme_width(g, col, view.tab_width);
            let style = self.style_at(view.base, layers, line_start + offset, byte);
            view.draw(buf, y, col, g, width, style);
            col += width;
            byte += g.len();
        }
        // A cursor at the end of a line (or on an empty line) still needs a cell.
        let end = line_start + text.chars().count();
        if self
            .editor
            .extra_cursors()
            .iter()
            .any(|cursor| cursor.head == end)
        {
            let style = view.base.add_modifier(Modifier::REVERSED);
            view.draw(buf, y, col, " ", 1, style);
        }
        for remote in self.remotes {
            if remote.selection.head == end {
                let style = view.base.patch(self.remote_cursor_style(remote.color));
                view.draw(buf, y, col, " ", 1, style);
            }
        }
    }

    /// The style of the character at char `at` (byte `byte`): its syntax color, then a
    /// search match, the selections and other people's cursors on top.
    fn style_at(&self, base: Style, layers: &Layers<'_>, at: usize, byte: usize) -> Style {
        let theme = self.theme;
        let mut style = base;
        if let Some(capture) = layers.highlights.and_then(|h| h.capture_at(byte))
            && let Some(Some(capture_style)) = layers.capture_styles.get(capture as usize)
        {
            style = style.patch(*capture_style);
        }
        if layers.brackets.is_some_and(|(a, b)| a == at || b == at) {
            style = style.patch(layers.bracket_style);
        }
        let in_match = layers.search.iter().any(|r| r.contains(&at));
        if in_match {
            style = style.patch(layers.match_style);
        }
        // The last one listed is drawn on top, as before.
        let remote_selection = self
            .remotes
            .iter()
            .rev()
            .find(|remote| remote.selection.range().contains(&at));
        let own_selection = self.editor.selection.range().contains(&at)
            || self
                .editor
                .extra_cursors()
                .iter()
                .any(|cursor| cursor.range().contains(&at));
        let selection_style = layers.selection_style;
        style = match (own_selection, remote_selection) {
            (true, Some(remote)) => style
                .patch(selection_style)
                .patch(self.remote_under_own_style(remote.color)),
            (true, None) => style.patch(selection_style),
            (false, Some(remote)) => style.patch(self.remote_select_style(remote.color)),
            (false, None) => style,
        };
        let remote_cursor = self
            .remotes
            .iter()
            .rev()
            .find(|remote| remote.selection.head == at);
        if let Some(remote) = remote_cursor {
            style = style.patch(self.remote_cursor_style(remote.color));
        }
        // Our other cursors: the terminal draws only the primary one.
        let extra_cursor = self
            .editor
            .extra_cursors()
            .iter()
            .any(|cursor| cursor.head == at);
        if extra_cursor {
            style = style.add_modifier(Modifier::REVERSED);
        }
        if in_match || own_selection || remote_selection.is_some() || remote_cursor.is_some() {
            // Layers met here: whatever the colors, the text must still read.
            style = theme.readable(style);
        }
        style
    }

    fn remote_select_style(&self, color: usize) -> Style {
        match self.theme.participant(color) {
            Color::Reset => Style::default().add_modifier(Modifier::UNDERLINED),
            color => Style::default().bg(color).fg(self.theme.ink_on(color)),
        }
    }

    /// Where our selection covers someone else's, ours is the background (it is what our
    /// keys act on) and theirs is underlined in their color, so both stay visible and no
    /// two layers' colors meet as text on background.
    fn remote_under_own_style(&self, color: usize) -> Style {
        let underline = Style::default().add_modifier(Modifier::UNDERLINED);
        match self.theme.participant(color) {
            Color::Reset => underline,
            color => underline.underline_color(color),
        }
    }

    fn remote_cursor_style(&self, color: usize) -> Style {
        match self.theme.participant(color) {
            Color::Reset => Style::default().add_modifier(Modifier::REVERSED),
            color => Style::default().bg(color).fg(self.theme.ink_on(color)),
        }
    }

    fn line_of(&self, remote: &RemoteCursor) -> usize {
        self.rope
            .char_to_line(remote.selection.head.min(self.rope.len_chars()))
    }

    /// Name flags, in their color: just above the cursor where that covers only blank
    /// cells (as in Live Share), otherwise at the right edge of the cursor's row, so a
    /// flag never hides code and stays put while someone types on that line (a flag that
    /// moved with every keystroke would cost bytes on every frame). Only a line too long
    /// for that pushes its flag past its end. Flags on one row queue up side by side, so
    /// two people at one spot (a follower on their leader) stay readable.
    fn draw_flags(&self, view: &View, buf: &mut Buffer) {
        let mut rows = FlagRows {
            next_free: HashMap::new(),
            next_right: self.out_of_view_reserved(view),
        };
        for remote in self.remotes {
            let line = self.line_of(remote);
            if line < view.first || line >= view.last || remote.name.is_empty() {
                continue;
            }
            let label = flag_label(&remote.name);
            let (x, y) = self.flag_place(view, remote, &label, &mut rows, buf);
            let room = (view.area.right() as usize).saturating_sub(x);
            if room > 0 {
                let style = self
                    .remote_cursor_style(remote.color)
                    .add_modifier(Modifier::BOLD);
                buf.set_stringn(x as u16, y, &label, room, style);
            }
        }
    }

    /// The top and bottom rows end with markers for people out of view
    /// ([`Self::draw_out_of_view`]): where on those rows the flags must stop.
    fn out_of_view_reserved(&self, view: &View) -> HashMap<u16, usize> {
        let mut reserved = HashMap::new();
        let area = view.area;
        for (row, above_view) in [(area.y, true), (area.bottom().saturating_sub(1), false)] {
            let markers: usize = self
                .remotes
                .iter()
                .filter(|remote| {
                    let line = self.line_of(remote);
                    if above_view {
                        line < view.first
                    } else {
                        line >= view.last
                    }
                })
                .map(|remote| flag_label(&remote.name).trim().width() + 4)
                .sum();
            if markers > 0 {
                reserved.insert(row, (area.right() as usize).saturating_sub(markers));
            }
        }
        reserved
    }

    /// Where `remote`'s flag goes (see [`Self::draw_flags`]).
    fn flag_place(
        &self,
        view: &View,
        remote: &RemoteCursor,
        label: &str,
        rows: &mut FlagRows,
        buf: &Buffer,
    ) -> (usize, u16) {
        let (rope, area) = (self.rope, view.area);
        let head = remote.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let label_width = label.width();
        let col = display_col(rope, head, view.tab_width);
        let (row, x) = view.cell(view.row(line), col);
        let row = row.min(area.bottom().saturating_sub(1));
        let blank_above = row > area.y
            && (x..(x + label_width).min(area.right() as usize)).all(|cx| {
                buf.cell((cx as u16, row - 1))
                    .is_none_or(|cell| cell.symbol() == " ")
            });
        if blank_above {
            return (x, row - 1);
        }
        let end_col = display_col(rope, line_end(rope, line), view.tab_width);
        let end_col = match view.wrap {
            // The row's own text: up to the line's end on its last row, else all of it.
            Some(width) if end_col / width == col / width => end_col % width,
            Some(width) => width,
            None => end_col.saturating_sub(view.scroll_col),
        };
        let text_end = view.text_x as usize + end_col + 2;
        let right = rows
            .next_right
            .get(&row)
            .copied()
            .unwrap_or(area.right() as usize);
        let x = match right.checked_sub(label_width + 1) {
            Some(x) if x >= text_end => {
                rows.next_right.insert(row, x);
                x + 1
            }
            _ => {
                let x = text_end.max(rows.next_free.get(&row).copied().unwrap_or(0));
                rows.next_free.insert(row, x + label_width + 1);
                x
            }
        };
        (x, row)
    }

    /// Markers at the edges for people whose cursor is above or below the view.
    fn draw_out_of_view(&self, view: &View, buf: &mut Buffer) {
        let area = view.area;
        let (above, below): (Vec<&RemoteCursor>, Vec<&RemoteCursor>) = self
            .remotes
            .iter()
            .filter(|remote| {
                let line = self.line_of(remote);
                !remote.name.is_empty() && (line < view.first || line >= view.last)
            })
            .partition(|remote| self.line_of(remote) < view.first);
        for (people, y, arrow) in [
            (above, area.y, '▲'),
            (below, area.bottom().saturating_sub(1), '▼'),
        ] {
            let mut x = area.right();
            for remote in people.iter().rev() {
                let label = format!("{arrow} {}", flag_label(&remote.name).trim());
                let width = label.width() as u16 + 2;
                if x < view.text_x + width {
                    break;
                }
                x -= width;
                let style = self.remote_cursor_style(remote.color);
                buf.set_stringn(x, y, format!(" {label} "), width as usize, style);
            }
        }
    }
}

/// How far flags have filled each row, from the left past the text and from the right.
struct FlagRows {
    next_free: HashMap<u16, usize>,
    next_right: HashMap<u16, usize>,
}

/// Draws one grapheme at display column `col` of the line, honoring horizontal scroll: a
/// wide character cut by the left edge shows as blanks rather than half a glyph.
/// `columns` is where the text starts on screen, the first display column shown and how
/// many are shown.
fn draw_grapheme(
    buf: &mut Buffer,
    (x0, scroll, width_limit): (u16, usize, usize),
    y: u16,
    col: usize,
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
