//! Drawing the popups at the cursor: the completion menu, the hover text and the peek
//! window, each placed beside the cursor where there is room.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};
use unicode_width::UnicodeWidthStr;

use super::*;

impl Popups {
    /// Draws the open popup over the editor in `area`; `cursor` is the cursor's cell.
    pub fn render(
        &self,
        area: Rect,
        cursor: Option<Position>,
        here: Here<'_>,
        theme: &Theme,
        buf: &mut Buffer,
    ) {
        let Some(cursor) = cursor else {
            return;
        };
        if let Some(menu) = &self.completion {
            let start = word_start(here.rope, here.cursor);
            let typed: String = here.rope.slice(start..here.cursor).chars().collect();
            let x = cursor.x.saturating_sub(typed.width() as u16 + 1);
            menu.render(area, Position::new(x.max(area.x), cursor.y), theme, buf);
        }
        if let Some(hover) = &self.hover {
            hover.render(area, cursor, theme, buf);
        }
        if let Some(peek) = &self.peek {
            peek.render(area, cursor, theme, buf);
        }
        self.render_signature(area, cursor, theme, buf);
    }
}

impl CompletionMenu {
    fn render(&self, area: Rect, at: Position, theme: &Theme, buf: &mut Buffer) {
        let style = theme.get("ui.menu");
        let rows = self.shown.len().min(COMPLETION_ROWS);
        let label_width = self
            .shown
            .iter()
            .map(|&item| self.items[item].label.width())
            .max()
            .unwrap_or(0);
        let detail_width = self
            .shown
            .iter()
            .filter_map(|&item| self.items[item].detail.as_deref())
            .map(UnicodeWidthStr::width)
            .max()
            .unwrap_or(0);
        let inner_width = (label_width
            + if detail_width > 0 {
                detail_width + 2
            } else {
                0
            })
        .clamp(12, COMPLETION_WIDTH);
        let width = (inner_width as u16 + 2).min(area.width);
        let height = rows as u16 + 2;
        let Some(popup) = beside(area, at, width, height) else {
            return;
        };
        Clear.render(popup, buf);
        let title = format!(" {}/{} ", self.selected + 1, self.shown.len());
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .title_bottom(Line::from(title).right_aligned())
            .style(style);
        let inner = block.inner(popup);
        block.render(popup, buf);
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        let detail_style = style.patch(theme.get("comment"));
        for (row, &item) in self.shown.iter().skip(first).take(rows).enumerate() {
            let y = inner.y + row as u16;
            let item = &self.items[item];
            let row_style = if first + row == self.selected {
                style.patch(theme.get("ui.menu.selected"))
            } else {
                style
            };
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), row_style);
            let (x, _) = buf.set_stringn(inner.x, y, &item.label, inner.width as usize, row_style);
            if let Some(detail) = &item.detail {
                let room = inner.right().saturating_sub(x + 2) as usize;
                let shown = truncate(detail, room);
                let dx = inner.right() - shown.width() as u16;
                buf.set_stringn(dx, y, &shown, room, row_style.patch(detail_style));
            }
        }
    }
}

impl HoverPopup {
    fn render(&self, area: Rect, cursor: Position, theme: &Theme, buf: &mut Buffer) {
        let style = theme.get("ui.popup");
        let max_inner = HOVER_WIDTH.min(area.width).saturating_sub(2) as usize;
        let lines = markdown::render(&self.markdown, max_inner, theme);
        let inner_width = lines
            .iter()
            .map(Line::width)
            .max()
            .unwrap_or(0)
            .clamp(10, max_inner);
        let room = area
            .height
            .saturating_sub(1)
            .min(HOVER_HEIGHT)
            .saturating_sub(2) as usize;
        let size = (inner_width as u16 + 2, lines.len().min(room) as u16 + 2);
        let Some(popup) = beside(area, cursor, size.0, size.1) else {
            return;
        };
        let rows = popup.height as usize - 2;
        let scroll = self.scroll.min(lines.len().saturating_sub(rows));
        let mut block = Block::bordered().border_type(BorderType::Rounded);
        if lines.len() > rows {
            let more = format!(" {}-{}/{} ", scroll + 1, scroll + rows, lines.len());
            block = block.title_bottom(Line::from(more).right_aligned());
        }
        draw_lines(popup, block, style, &lines[scroll..], buf);
    }
}

impl PeekPopup {
    fn render(&self, area: Rect, cursor: Position, theme: &Theme, buf: &mut Buffer) {
        let style = theme.get("ui.popup");
        let view = &self.views[self.current];
        let place = &view.location;
        let mut title = format!(" {}:{} ", place.path, place.range.start.line + 1);
        if self.views.len() > 1 {
            title.push_str(&format!(
                "({}/{}, tab for the next) ",
                self.current + 1,
                self.views.len()
            ));
        }
        let body: Vec<Line<'static>> = if view.lines.is_empty() {
            let why = if place.external {
                "outside the shared folder: nothing of it is shown"
            } else {
                "the host could not read these lines"
            };
            vec![Line::from(Span::styled(why, theme.get("comment")))]
        } else {
            let number_width = (view.first_line as usize + view.lines.len())
                .to_string()
                .len();
            let language = Language::from_path(&place.path);
            markdown::highlighted(language, &view.lines, theme)
                .into_iter()
                .enumerate()
                .map(|(index, line)| {
                    let number = view.first_line as usize + index;
                    let number_style = if number == place.range.start.line {
                        theme.get("ui.linenr.selected")
                    } else {
                        theme.get("ui.linenr")
                    };
                    let gutter = format!("{:>number_width$} ", number + 1);
                    let mut spans = vec![Span::styled(gutter, number_style)];
                    spans.extend(line.spans);
                    Line::from(spans)
                })
                .collect()
        };
        // Under the cursor line, across the editor; above it when there is more room.
        let below = area.bottom().saturating_sub(cursor.y + 1);
        let above = cursor.y.saturating_sub(area.y);
        let wanted = (body.len() as u16 + 2).min(PEEK_HEIGHT);
        let (y, height) = if below >= wanted || below >= above {
            (cursor.y + 1, wanted.min(below))
        } else {
            let height = wanted.min(above);
            (cursor.y - height, height)
        };
        if height < 3 {
            return;
        }
        let popup = Rect::new(area.x, y, area.width, height);
        let rows = height as usize - 2;
        let definition = place
            .range
            .start
            .line
            .saturating_sub(view.first_line as usize);
        let natural = definition.saturating_sub(rows / 3) as isize;
        let last = body.len().saturating_sub(rows) as isize;
        let scroll = (natural + self.scroll).clamp(0, last) as usize;
        let hint = if place.external {
            " esc closes "
        } else {
            " enter opens · esc closes "
        };
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .title(Line::from(title).style(style.add_modifier(Modifier::BOLD)))
            .title_bottom(Line::from(hint).right_aligned());
        draw_lines(popup, block, style, &body[scroll..], buf);
    }
}

fn draw_lines(popup: Rect, block: Block<'_>, style: Style, lines: &[Line<'_>], buf: &mut Buffer) {
    Clear.render(popup, buf);
    let block = block.style(style);
    let inner = block.inner(popup);
    block.render(popup, buf);
    for (row, line) in lines.iter().take(inner.height as usize).enumerate() {
        let line = line.clone().patch_style(Style::default());
        buf.set_line(inner.x, inner.y + row as u16, &line, inner.width);
    }
}

/// A `width` x `height` box next to the cell `at`: below it, or above when there is more
/// room there; shifted left to stay inside `area`.
fn beside(area: Rect, at: Position, width: u16, height: u16) -> Option<Rect> {
    let below = area.bottom().saturating_sub(at.y + 1);
    let above = at.y.saturating_sub(area.y);
    let (y, height) = if below >= height || below >= above {
        (at.y + 1, height.min(below))
    } else {
        let height = height.min(above);
        (at.y - height, height)
    };
    let width = width.min(area.width);
    let x = at.x.min(area.right().saturating_sub(width)).max(area.x);
    (height >= 3 && width >= 4).then(|| Rect::new(x, y, width, height))
}

fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + 2 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
