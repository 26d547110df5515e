//! The current file's diff against HEAD in a popup (`git diff HEAD -- FILE` as everyone
//! sees the file now, unsaved edits included): lines added in the theme's `diff.plus`,
//! removed in `diff.minus`, hunk headers in `diff.delta`. Arrows and page keys scroll;
//! Escape or q closes it.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::Rect;

use crate::tui::compositor::{Component, Context, Event, EventResult, RenderContext, close_layer};
use crate::tui::locations::{draw_popup_frame, list_key, list_popup_area};

pub struct DiffView {
    title: String,
    lines: Vec<String>,
    scroll: usize,
}

impl DiffView {
    pub const ID: &'static str = "git-diff";

    /// `diff` is a unified diff; empty means the file is as HEAD has it.
    pub fn new(path: &str, diff: &str) -> Self {
        let lines: Vec<String> = if diff.is_empty() {
            vec![format!("{path} is as HEAD has it: no changes")]
        } else {
            diff.lines()
                .map(|line| line.replace('\t', "    "))
                .collect()
        };
        DiffView {
            title: format!(" {path} against HEAD · esc closes "),
            lines,
            scroll: 0,
        }
    }

    fn scope(line: &str) -> Option<&'static str> {
        if line.starts_with("+++") || line.starts_with("---") {
            Some("ui.text.focus")
        } else if line.starts_with('+') {
            Some("diff.plus")
        } else if line.starts_with('-') {
            Some("diff.minus")
        } else if line.starts_with("@@") {
            Some("diff.delta")
        } else {
            None
        }
    }
}

impl Component for DiffView {
    fn handle_event(&mut self, event: &Event, _cx: &mut Context<'_>) -> EventResult {
        match event {
            Event::Key(key) => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Esc | KeyCode::Char('q') => {
                        return EventResult::Consumed(Some(close_layer(Self::ID)));
                    }
                    KeyCode::Char('c') if ctrl => {
                        return EventResult::Consumed(Some(close_layer(Self::ID)));
                    }
                    KeyCode::Char('j') => self.scroll += 1,
                    KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
                    KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
                    KeyCode::End | KeyCode::Char('G') => self.scroll = self.lines.len(),
                    _ => {
                        if let Some(delta) = list_key(key) {
                            self.scroll = self.scroll.saturating_add_signed(delta);
                        }
                    }
                }
                self.scroll = self.scroll.min(self.lines.len().saturating_sub(1));
                EventResult::Consumed(None)
            }
            Event::Paste(_) | Event::Mouse(_) => EventResult::Consumed(None),
            Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let style = cx.theme.get("ui.popup");
        let inner = draw_popup_frame(list_popup_area(area, 10), buf, &self.title, style);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let rows = self
            .lines
            .iter()
            .skip(self.scroll)
            .take(inner.height as usize);
        for (y, line) in (inner.y..).zip(rows) {
            let line_style =
                Self::scope(line).map_or(style, |scope| style.patch(cx.theme.get(scope)));
            buf.set_stringn(inner.x, y, line, inner.width as usize, line_style);
        }
    }

    fn id(&self) -> &'static str {
        Self::ID
    }
}
