//! The help overlay: every active binding, read from the keymap itself so it is never out
//! of date with the user's overrides.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use crate::tui::compositor::{
    Component, Context, Event, EventResult, RenderContext, UiCommand, centered, close_layer,
};
use crate::tui::keymap::Action;
use crate::tui::text_wrap::wrap;

#[derive(Debug, Default)]
pub struct HelpOverlay {
    scroll: usize,
    /// The last messages, newest first, shown whole above the keys.
    messages: Vec<String>,
}

/// How many of the last messages help shows.
const MESSAGES_SHOWN: usize = 10;

impl HelpOverlay {
    pub const ID: &'static str = "help";

    /// Help with the messages said so far, newest first.
    pub fn new<'a>(messages: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            scroll: 0,
            messages: messages
                .into_iter()
                .take(MESSAGES_SHOWN)
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// Closes help and opens the command palette with `query` typed.
fn run(query: String, cx: &mut Context<'_>) -> EventResult {
    cx.commands.push(UiCommand::OpenPalette(query));
    EventResult::Consumed(Some(close_layer(HelpOverlay::ID)))
}

impl Component for HelpOverlay {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let Event::Key(key) = event else {
            return EventResult::Consumed(None);
        };
        let close = || EventResult::Consumed(Some(close_layer(HelpOverlay::ID)));
        // The key that opened help (or quit, or escape) closes it.
        let mut keymap = cx.keymap.clone();
        let mode = keymap.initial_mode();
        if let crate::tui::keymap::KeyResult::Action(Action::ToggleHelp | Action::Cancel) =
            keymap.handle(mode, key)
        {
            return close();
        }
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return close(),
            KeyCode::Down | KeyCode::Char('j') => self.scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll += 10,
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            // The "run" side: enter, or typing a name, runs an action from the palette.
            KeyCode::Enter => return run(String::new(), cx),
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                return run(c.to_string(), cx);
            }
            _ => {}
        }
        EventResult::Consumed(None)
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let style = theme.get("ui.help").patch(theme.get("ui.popup"));
        let popup = centered(
            area,
            area.width.saturating_sub(8).max(40),
            area.height.saturating_sub(4),
        );
        Clear.render(popup, buf);
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .title(format!(
                " Keys ({} keymap) — type to run an action · esc closes ",
                cx.keymap.name()
            ))
            .style(style);
        let inner = block.inner(popup);
        block.render(popup, buf);
        let mut lines: Vec<(String, bool)> = Vec::new();
        if !self.messages.is_empty() {
            lines.push(("Messages, newest first".into(), true));
            let width = (inner.width as usize).saturating_sub(2).max(1);
            for message in &self.messages {
                for (i, part) in wrap(message, width).into_iter().enumerate() {
                    let lead = if i == 0 { "• " } else { "  " };
                    lines.push((format!("{lead}{part}"), false));
                }
            }
            lines.push((String::new(), false));
            lines.push(("Keys".into(), true));
        }
        let mut last_mode = None;
        for binding in cx.keymap.bindings() {
            if cx.keymap.is_modal() && last_mode != Some(binding.mode) {
                lines.push((format!("{} mode", binding.mode.name()), true));
                last_mode = Some(binding.mode);
            }
            lines.push((
                format!("  {:<18} {}", binding.keys, binding.action.description()),
                false,
            ));
        }
        let scroll = self
            .scroll
            .min(lines.len().saturating_sub(inner.height as usize));
        for (row, (text, heading)) in lines
            .iter()
            .skip(scroll)
            .take(inner.height as usize)
            .enumerate()
        {
            let line_style = if *heading {
                style.add_modifier(Modifier::BOLD)
            } else {
                style
            };
            buf.set_stringn(
                inner.x,
                inner.y + row as u16,
                text,
                inner.width as usize,
                line_style,
            );
        }
    }

    fn id(&self) -> &'static str {
        Self::ID
    }
}
