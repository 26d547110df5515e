//! One-line prompts at the bottom of the screen: find in file (`/` in the vim keymap), vim's
//! command line (`:`), and the question a `:s///c` asks at each match.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::widgets::{Clear, Widget};

use crate::tui::compositor::{
    Component, Context, Event, EventResult, LineInput, RenderContext, UiCommand, close_layer,
};
use crate::tui::editor::SubstituteAnswer;

/// What the prompt's text is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// Find in the current file; enter finds the next match and keeps the prompt open
    /// until escape, as in desktop editors.
    Find,
    /// vim's `/`: finds as you type from where the cursor was; enter closes the prompt on
    /// the first match after the cursor, escape goes back to where it was.
    Search,
    /// vim's `:` command line; enter runs the command ([`crate::tui::ex`]).
    Command,
    /// Go to a line, or a line and column (`120`, `120:5`); enter goes, as VS Code's
    /// ctrl-g.
    GoToLine,
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
    pub const COMMAND_ID: &'static str = "command-line";
    pub const GO_TO_LINE_ID: &'static str = "go-to-line";

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
            PromptKind::Search => "/",
            PromptKind::Command => ":",
            PromptKind::GoToLine => "go to line[:column]: ",
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
        let id = self.id();
        let close = || Some(close_layer(id));
        if matches!(self.kind, PromptKind::Command | PromptKind::GoToLine) {
            return match event {
                Event::Key(key) => match key.code {
                    KeyCode::Esc => EventResult::Consumed(close()),
                    // Backspace on an empty line leaves it, as in vim.
                    KeyCode::Backspace if self.input.text.is_empty() => {
                        EventResult::Consumed(close())
                    }
                    KeyCode::Enter => {
                        let text = self.input.text.clone();
                        cx.commands.push(match self.kind {
                            PromptKind::GoToLine => UiCommand::GoToLine(text),
                            _ => UiCommand::Ex(text),
                        });
                        EventResult::Consumed(close())
                    }
                    _ => {
                        self.input.handle_key(key);
                        EventResult::Consumed(None)
                    }
                },
                Event::Paste(text) => {
                    self.input.insert(text);
                    EventResult::Consumed(None)
                }
                _ => EventResult::Ignored(None),
            };
        }
        match event {
            Event::Key(key) => {
                let shift = key.modifiers.contains(KeyModifiers::SHIFT);
                match key.code {
                    KeyCode::Esc if self.kind == PromptKind::Search => {
                        cx.commands.push(UiCommand::FindEnd { cancelled: true });
                        return EventResult::Consumed(close());
                    }
                    KeyCode::Esc => return EventResult::Consumed(close()),
                    KeyCode::Enter if self.kind == PromptKind::Search => {
                        cx.commands.push(UiCommand::Find {
                            query: self.input.text.clone(),
                            forward: true,
                        });
                        cx.commands.push(UiCommand::FindEnd { cancelled: false });
                        return EventResult::Consumed(close());
                    }
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
                        if self.input.handle_key(key) {
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
        match self.kind {
            PromptKind::Command => Self::COMMAND_ID,
            PromptKind::GoToLine => Self::GO_TO_LINE_ID,
            PromptKind::Find | PromptKind::Search => Self::ID,
        }
    }
}

/// What the go-to-line prompt's text names: `120`, `120:5` (or `120,5`), from 1 as
/// shown in the status line; a leading `:` is allowed. The answer counts from 0.
pub fn parse_line_col(text: &str) -> Result<crate::text::LineCol, String> {
    let text = text.trim().trim_start_matches(':');
    let (line, col) = match text.split_once([':', ',']) {
        Some((line, col)) => (line.trim(), Some(col.trim())),
        None => (text, None),
    };
    let number = |text: &str| {
        text.parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("not a line number: {text:?} (type a line, or line:column)"))
    };
    Ok(crate::text::LineCol {
        line: number(line)? - 1,
        col: col.map(number).transpose()?.map_or(0, |col| col - 1),
    })
}

/// The question `:s///c` asks at each match (shown selected in the text), as vim asks it.
/// Every other key is swallowed until it is answered.
#[derive(Debug)]
pub struct SubstituteConfirm {
    replacement: String,
}

impl SubstituteConfirm {
    pub const ID: &'static str = "substitute-confirm";

    pub fn new(replacement: &str) -> Self {
        Self {
            replacement: replacement.to_owned(),
        }
    }

    fn text(&self) -> String {
        format!("replace with {} (y/n/a/q/l)?", self.replacement)
    }
}

impl Component for SubstituteConfirm {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let Event::Key(key) = event else {
            return EventResult::Ignored(None);
        };
        let answer = match key.code {
            KeyCode::Esc => Some(SubstituteAnswer::Quit),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                SubstituteAnswer::from_key(c)
            }
            _ => None,
        };
        if let Some(answer) = answer {
            cx.commands.push(UiCommand::SubstituteAnswer(answer));
        }
        EventResult::Consumed(None)
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let row = Prompt::row(area);
        let style = cx.theme.get("ui.background").patch(cx.theme.get("ui.text"));
        Clear.render(row, buf);
        buf.set_style(row, style);
        buf.set_stringn(row.x, row.y, self.text(), row.width as usize, style);
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        let row = Prompt::row(area);
        let x = row.x as usize + unicode_width::UnicodeWidthStr::width(self.text().as_str());
        (x < row.right() as usize).then(|| Position::new(x as u16, row.y))
    }

    fn id(&self) -> &'static str {
        Self::ID
    }
}
