//! A list of places in the shared files (references, diagnostics), one row each as
//! `path:line:col text`, with the part that matters highlighted; Enter jumps there.
//!
//! The search panel draws its results with the same rows ([`draw_row`]), so every list of
//! places reads the same way.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, BorderType, Clear, Widget};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::text::LineCol;
use crate::tui::compositor::{
    AppCommand, Component, Context, Event, EventResult, RenderContext, UiCommand, centered,
    close_layer,
};
use crate::tui::theme::Theme;

/// One place: where it is, the text shown after it, and what of that text to highlight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationRow {
    pub path: String,
    /// 0-based line and char column.
    pub position: LineCol,
    pub text: String,
    /// Chars of `text` to highlight (the match, the reference).
    pub highlight: Option<Range<usize>>,
    /// A one-letter mark before the row in a theme scope's color (`E` in `error`).
    pub mark: Option<(char, &'static str)>,
}

impl LocationRow {
    /// `path:line:col`, 1-based as editors and compilers print it.
    pub fn place(&self) -> String {
        format!(
            "{}:{}:{}",
            self.path,
            self.position.line + 1,
            self.position.col + 1
        )
    }

    /// The app's command to go there.
    pub fn go_to(&self) -> UiCommand {
        UiCommand::App(AppCommand::GoTo {
            path: self.path.clone(),
            at: self.position,
        })
    }
}

/// Draws `location` on row `y` from `x` to `right`: mark, place, then its text with
/// leading blanks dropped and the highlight in `match_style`.
pub fn draw_row(
    buf: &mut Buffer,
    (x, y, right): (u16, u16, u16),
    location: &LocationRow,
    row_style: Style,
    theme: &Theme,
) {
    let mut x = x;
    if let Some((mark, scope)) = location.mark {
        buf.set_stringn(
            x,
            y,
            format!("{mark} "),
            right.saturating_sub(x) as usize,
            row_style.patch(theme.get(scope)),
        );
        x += 2;
    }
    let place = format!("{}  ", location.place());
    let path_style = row_style.patch(theme.get("ui.virtual"));
    let (after, _) = buf.set_stringn(x, y, &place, right.saturating_sub(x) as usize, path_style);
    x = after;
    let indent = location
        .text
        .chars()
        .take_while(|c| c.is_whitespace())
        .count();
    let highlight = location.highlight.clone().unwrap_or(0..0);
    let match_style = row_style.patch(theme.get("ui.text.match"));
    let room = right.saturating_sub(x) as usize;
    // A match far along a long line is brought into view, after an ellipsis.
    let mut skip = indent;
    let before_match = location
        .text
        .chars()
        .skip(indent)
        .take(highlight.start.saturating_sub(indent))
        .collect::<String>()
        .width();
    if before_match + 1 > room.saturating_sub(room / 3) && room > 8 {
        let mut width = 0;
        let mut back = highlight.start;
        for c in location
            .text
            .chars()
            .take(highlight.start)
            .collect::<Vec<_>>()
            .iter()
            .rev()
        {
            width += unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
            if width > room / 3 {
                break;
            }
            back -= 1;
        }
        skip = back.max(indent);
        let (after, _) = buf.set_stringn(x, y, "…", 1, row_style);
        x = after;
    }
    let mut char_index = skip;
    let text: String = location.text.chars().skip(skip).collect();
    for g in text.graphemes(true) {
        let width = g.width() as u16;
        if x + width > right {
            break;
        }
        let style = if highlight.contains(&char_index) {
            match_style
        } else {
            row_style
        };
        if g.chars().all(char::is_control) {
            buf.set_stringn(x, y, " ", 1, style);
            x += 1;
        } else if width > 0 {
            buf.set_stringn(x, y, g, width as usize, style);
            x += width;
        }
        char_index += g.chars().count();
    }
}

/// Clears `popup` and draws its rounded frame with `title`; returns the inside.
pub fn draw_popup_frame(popup: Rect, buf: &mut Buffer, title: &str, style: Style) -> Rect {
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(title)
        .style(style);
    let inner = block.inner(popup);
    block.render(popup, buf);
    inner
}

/// One row of a list of places within `row`: a `▶` and the selection's colors when
/// `selected`, then [`draw_row`].
pub fn draw_list_row(
    buf: &mut Buffer,
    row: Rect,
    location: &LocationRow,
    selected: bool,
    style: Style,
    theme: &Theme,
) {
    let row_style = if selected {
        style.patch(theme.get("ui.menu.selected"))
    } else {
        style
    };
    buf.set_style(row, row_style);
    buf.set_stringn(
        row.x,
        row.y,
        if selected { "▶ " } else { "  " },
        2,
        row_style,
    );
    draw_row(
        buf,
        (row.x + 2, row.y, row.right()),
        location,
        row_style,
        theme,
    );
}

/// Moves `selected` by `delta` within `len` rows, stopping at the ends.
pub fn step(selected: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (selected as isize + delta).clamp(0, len as isize - 1) as usize
}

/// The list-moving keys every list here shares; `None` if `key` is not one of them.
pub fn list_key(key: &ratatui::crossterm::event::KeyEvent) -> Option<isize> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Up => -1,
        KeyCode::Char('p' | 'k') if ctrl => -1,
        KeyCode::Down => 1,
        KeyCode::Char('n' | 'j') if ctrl => 1,
        KeyCode::PageUp => -10,
        KeyCode::PageDown => 10,
        _ => return None,
    })
}

/// Where the selection of a list of `count` rows goes on `key`: Home, End, or a step
/// [`list_key`] knows; any other key leaves it at `selected`.
pub fn move_in_list(
    selected: usize,
    key: &ratatui::crossterm::event::KeyEvent,
    count: usize,
) -> usize {
    match key.code {
        KeyCode::Home => 0,
        KeyCode::End => count.saturating_sub(1),
        _ => list_key(key).map_or(selected, |delta| step(selected, delta, count)),
    }
}

/// A popup listing places; Enter goes to the selected one and closes the list.
pub struct LocationList {
    id: &'static str,
    title: String,
    items: Vec<LocationRow>,
    selected: usize,
    empty_text: String,
}

impl LocationList {
    pub const REFERENCES: &'static str = "references";

    pub fn new(id: &'static str, title: &str, items: Vec<LocationRow>, empty_text: &str) -> Self {
        Self {
            id,
            title: title.into(),
            items,
            selected: 0,
            empty_text: empty_text.into(),
        }
    }

    pub fn items(&self) -> &[LocationRow] {
        &self.items
    }

    pub fn selected(&self) -> Option<&LocationRow> {
        self.items.get(self.selected)
    }

    /// Replaces the rows (an answer arrived), keeping the selection on the same place.
    pub fn set_items(&mut self, items: Vec<LocationRow>, empty_text: &str) {
        let keep = self
            .selected()
            .map(|item| (item.path.clone(), item.position));
        self.items = items;
        self.empty_text = empty_text.into();
        self.selected = keep
            .and_then(|(path, position)| {
                self.items
                    .iter()
                    .position(|item| item.path == path && item.position == position)
            })
            .unwrap_or(0);
    }
}

/// Where a list of places opens: centered, three quarters wide, two thirds high, at
/// least `min_height` rows.
pub fn list_popup_area(area: Rect, min_height: u16) -> Rect {
    let width = (area.width * 3 / 4).max(50);
    let height = (area.height * 2 / 3).max(min_height);
    centered(area, width, height)
}

impl Component for LocationList {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = close_layer(self.id);
        match event {
            Event::Key(key) => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Esc => return EventResult::Consumed(Some(close)),
                    KeyCode::Char('c') if ctrl => return EventResult::Consumed(Some(close)),
                    KeyCode::Enter => {
                        if let Some(item) = self.selected() {
                            cx.commands.push(item.go_to());
                            return EventResult::Consumed(Some(close));
                        }
                    }
                    _ => self.selected = move_in_list(self.selected, key, self.items.len()),
                }
                EventResult::Consumed(None)
            }
            // Modal, like the pickers: nothing below reacts while the list is open.
            Event::Paste(_) | Event::Mouse(_) => EventResult::Consumed(None),
            Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let style = theme.get("ui.popup");
        let title = format!(" {} ({}) ", self.title, self.items.len());
        let inner = draw_popup_frame(list_popup_area(area, 8), buf, &title, style);
        if inner.height == 0 || inner.width < 4 {
            return;
        }
        if self.items.is_empty() {
            buf.set_stringn(
                inner.x + 1,
                inner.y,
                &self.empty_text,
                inner.width as usize - 1,
                style.patch(theme.get("comment")),
            );
            return;
        }
        let rows = inner.height as usize;
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        for (index, item) in self.items.iter().enumerate().skip(first).take(rows) {
            let row = Rect::new(inner.x, inner.y + (index - first) as u16, inner.width, 1);
            draw_list_row(buf, row, item, index == self.selected, style, theme);
        }
    }

    fn id(&self) -> &'static str {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_text(location: &LocationRow, width: u16) -> String {
        let theme = Theme::load_from(
            "default-dark",
            None,
            crate::tui::theme::ColorMode::TrueColor,
        )
        .unwrap();
        let mut buf = Buffer::empty(Rect::new(0, 0, width, 1));
        draw_row(&mut buf, (0, 0, width), location, Style::default(), &theme);
        buf.content.iter().map(|cell| cell.symbol()).collect()
    }

    #[test]
    fn rows_drop_indentation_and_bring_a_far_match_into_view() {
        let near = LocationRow {
            path: "a.rs".into(),
            position: LineCol { line: 2, col: 8 },
            text: "        greet(i);".into(),
            highlight: Some(8..13),
            mark: Some(('E', "error")),
        };
        assert_eq!(row_text(&near, 30).trim_end(), "E a.rs:3:9  greet(i);");

        let long_line = format!("let s = \"{}\"; needle();", "x".repeat(80));
        let at = long_line.find("needle").unwrap();
        let far = LocationRow {
            path: "b.rs".into(),
            position: LineCol { line: 0, col: at },
            text: long_line,
            highlight: Some(at..at + 6),
            mark: None,
        };
        let row = row_text(&far, 50);
        assert!(row.starts_with("b.rs:1:"), "{row}");
        assert!(row.contains("…") && row.contains("needle();"), "{row}");
    }
}
