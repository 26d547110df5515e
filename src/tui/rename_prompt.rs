//! The rename prompt: one line at the bottom of the screen holding the symbol's name,
//! edited in place; enter asks the host's language server to rename it everywhere,
//! escape leaves it as it was.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::{Clear, Widget};

use crate::tui::compositor::{
    AppCommand, Component, Context, Event, EventResult, LineInput, RenderContext, UiCommand,
    close_layer,
};
use crate::tui::popup::{AskKind, ChangeAsk, IntelAsk};

#[derive(Debug)]
pub struct RenamePrompt {
    /// Where the symbol is (the question a rename becomes, without its new name).
    place: IntelAsk,
    old_name: String,
    input: LineInput,
}

impl RenamePrompt {
    pub const ID: &'static str = "rename-prompt";

    pub fn new(place: IntelAsk, old_name: &str) -> Self {
        let mut input = LineInput::default();
        input.insert(old_name);
        RenamePrompt {
            place,
            old_name: old_name.to_owned(),
            input,
        }
    }

    fn label(&self) -> String {
        format!("rename {} to: ", self.old_name)
    }

    fn row(area: Rect) -> Rect {
        Rect::new(
            area.x,
            area.bottom().saturating_sub(1),
            area.width,
            1.min(area.height),
        )
    }
}

impl Component for RenamePrompt {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = || Some(close_layer(Self::ID));
        match event {
            Event::Key(key) => match key.code {
                KeyCode::Esc => EventResult::Consumed(close()),
                KeyCode::Enter => {
                    let new_name = self.input.text.trim().to_owned();
                    if new_name.is_empty() || new_name == self.old_name {
                        cx.commands
                            .push(UiCommand::Notice("rename: the name is unchanged".into()));
                    } else {
                        cx.commands.push(UiCommand::Notice(format!(
                            "renaming {} to {new_name}…",
                            self.old_name
                        )));
                        cx.commands.push(UiCommand::App(AppCommand::Ask(IntelAsk {
                            kind: AskKind::Change,
                            change: Some(ChangeAsk::Rename(new_name)),
                            ..self.place.clone()
                        })));
                    }
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
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let row = Self::row(area);
        let style = cx.theme.get("ui.background").patch(cx.theme.get("ui.text"));
        Clear.render(row, buf);
        buf.set_style(row, style);
        let text = format!("{}{}", self.label(), self.input.text);
        buf.set_stringn(row.x, row.y, text, row.width as usize, style);
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        let row = Self::row(area);
        let label = unicode_width::UnicodeWidthStr::width(self.label().as_str());
        let x = row.x as usize + label + self.input.cursor_col();
        (x < row.right() as usize).then(|| Position::new(x as u16, row.y))
    }

    fn id(&self) -> &'static str {
        Self::ID
    }
}
