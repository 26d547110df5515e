//! A one-line prompt at the bottom of the screen (find in file).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::widgets::{Clear, Widget};

use crate::tui::compositor::{
    Component, Context, Event, EventResult, LineInput, RenderContext, UiCommand, close_layer,
};

/// What the prompt's text is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// Find in the current file; enter finds the next match and keeps the prompt open
    /// until escape, as in desktop editors.
    Find,
}

#[derive(Debug)]
pub struct Prompt {
    kind: PromptKind,
    input: LineInput,
    /// The text it opened with is selected: typing or pasting replaces it, backspace or
    /// delete clears it, a move keeps it (as in VS Code's find box; enter finds it again).
    selected: bool,
}

impl Prompt {
    pub const ID: &'static str = "prompt";

    pub fn new(kind: PromptKind, initial: &str) -> Self {
        let mut input = LineInput::default();
        input.insert(initial);
        Self {
            kind,
            input,
            selected: !initial.is_empty(),
        }
    }

    fn label(&self) -> &'static str {
        match self.kind {
            PromptKind::Find => "find: ",
        }
    }

    /// The prompt's row: the last row of the screen (the message area).
    fn row(area: Rect) -> Rect {
        Rect::new(
            area.x,
            area.bottom().saturating_sub(1),
            area.width,
            1.min(area.height),
        )
    }
}

impl Component for Prompt {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = || Some(close_layer(Prompt::ID));
        match event {
            Event::Key(key) => {
                let shift = key.modifiers.contains(KeyModifiers::SHIFT);
                match key.code {
                    KeyCode::Esc => return EventResult::Consumed(close()),
                    KeyCode::Enter => {
                        let query = self.input.text.clone();
                        cx.commands.push(UiCommand::Find {
                            query,
                            forward: !shift,
                        });
                        return EventResult::Consumed(None);
                    }
                    _ => {
                        if std::mem::take(&mut self.selected) {
                            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                            let replaces = match key.code {
                                KeyCode::Char(_) => !ctrl,
                                KeyCode::Backspace | KeyCode::Delete => true,
                                _ => false,
                            };
                            if replaces {
                                self.input = LineInput::default();
                                if matches!(key.code, KeyCode::Backspace | KeyCode::Delete) {
                                    cx.commands.push(UiCommand::Find {
                                        query: String::new(),
                                        forward: true,
                                    });
                                    return EventResult::Consumed(None);
                                }
                            }
                        }
                        if self.input.handle_key(key) && self.kind == PromptKind::Find {
                            // Find as you type.
                            cx.commands.push(UiCommand::Find {
                                query: self.input.text.clone(),
                                forward: true,
                            });
                        }
                    }
                }
                EventResult::Consumed(None)
            }
            Event::Paste(text) => {
                if std::mem::take(&mut self.selected) {
                    self.input = LineInput::default();
                }
                self.input.insert(text);
                cx.commands.push(UiCommand::Find {
                    query: self.input.text.clone(),
                    forward: true,
                });
                EventResult::Consumed(None)
            }
            _ => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let row = Self::row(area);
        let style = cx.theme.get("ui.background").patch(cx.theme.get("ui.text"));
        // The row is the message line's: what a message wrote there goes.
        Clear.render(row, buf);
        buf.set_style(row, style);
        let text = format!("{}{}", self.label(), self.input.text);
        buf.set_stringn(row.x, row.y, text, row.width as usize, style);
        if self.selected {
            let start = row.x + self.label().len() as u16;
            let width = unicode_width::UnicodeWidthStr::width(self.input.text.as_str()) as u16;
            let selected = Rect::new(start, row.y, width, 1).intersection(row);
            buf.set_style(selected, style.patch(cx.theme.get("ui.selection")));
        }
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        let row = Self::row(area);
        let x = row.x as usize + self.label().len() + self.input.cursor_col();
        (x < row.right() as usize).then(|| Position::new(x as u16, row.y))
    }

    fn id(&self) -> &'static str {
        Self::ID
    }
}
