//! The find-and-replace prompt (ctrl-h in the default keymap), a layer over the bottom two
//! rows: what to find with its toggles, and what to replace it with.
//!
//! Keys (as VS Code's find widget where a terminal delivers them): tab or up/down switch
//! field; alt-c match case, alt-w whole word, alt-r regex; enter in the find field finds
//! the next match (shift-enter the previous), in the replace field replaces the selected
//! match and selects the next; alt-a (or ctrl-alt-enter) replaces all; escape closes.
//! The layer only asks ([`UiCommand::FindReplace`]); the app does it in the active file
//! and tells the layer how many matches there are ([`FindReplacePrompt::set_status`]).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::widgets::{Clear, Widget};
use unicode_width::UnicodeWidthStr;

use crate::tui::compositor::{
    Component, Context, Event, EventResult, LineInput, RenderContext, UiCommand, close_layer,
};
use crate::tui::editor::FindOptions;

/// What a key in the prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceStep {
    /// The query or a toggle changed: select the nearest match from the cursor.
    Update,
    Next,
    Previous,
    /// Replace the selected match (or select the next one if none is selected).
    ReplaceOne,
    ReplaceAll,
}

/// What the app found for the prompt's query in the active file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MatchStatus {
    #[default]
    Empty,
    /// `total` matches; the selection is the `current`th (from 1), if it is one.
    Count {
        current: Option<usize>,
        total: usize,
    },
    /// The query is not a valid regex.
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Find,
    Replace,
}

#[derive(Debug)]
pub struct FindReplacePrompt {
    find: LineInput,
    replace: LineInput,
    focus: Field,
    regex: bool,
    match_case: bool,
    whole_word: bool,
    status: MatchStatus,
}

const FIND_LABEL: &str = "find:    ";
const REPLACE_LABEL: &str = "replace: ";

impl FindReplacePrompt {
    pub const ID: &'static str = "find-replace";

    /// Opens with `initial` as the query (the selection or the last search).
    pub fn new(initial: &str) -> Self {
        let mut find = LineInput::default();
        find.insert(initial);
        Self {
            find,
            replace: LineInput::default(),
            focus: if initial.is_empty() {
                Field::Find
            } else {
                Field::Replace
            },
            regex: false,
            match_case: false,
            whole_word: false,
            status: MatchStatus::Empty,
        }
    }

    pub fn options(&self) -> FindOptions {
        FindOptions {
            query: self.find.text.clone(),
            regex: self.regex,
            match_case: self.match_case,
            whole_word: self.whole_word,
        }
    }

    /// The request for `step` with the prompt's current text and toggles.
    pub fn request(&self, step: ReplaceStep) -> UiCommand {
        UiCommand::FindReplace {
            options: self.options(),
            replacement: self.replace.text.clone(),
            step,
        }
    }

    pub fn set_status(&mut self, status: MatchStatus) {
        self.status = status;
    }

    fn status_text(&self) -> String {
        match &self.status {
            MatchStatus::Empty => String::new(),
            MatchStatus::Count { total: 0, .. } => "no results".into(),
            MatchStatus::Count {
                current: Some(current),
                total,
            } => format!("{current} of {total}"),
            MatchStatus::Count {
                current: None,
                total,
            } => format!("{total} found"),
            MatchStatus::Invalid(message) => message.clone(),
        }
    }

    fn input(&mut self) -> &mut LineInput {
        match self.focus {
            Field::Find => &mut self.find,
            Field::Replace => &mut self.replace,
        }
    }

    /// The step a key asks for, if it asks for one beyond editing the text.
    fn step_for(&mut self, key: &KeyEvent) -> Option<ReplaceStep> {
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Char('c' | 'C') if alt => self.match_case = !self.match_case,
            KeyCode::Char('w' | 'W') if alt => self.whole_word = !self.whole_word,
            KeyCode::Char('r' | 'R') if alt => self.regex = !self.regex,
            KeyCode::Char('a' | 'A') if alt => return Some(ReplaceStep::ReplaceAll),
            KeyCode::Enter if alt && ctrl => return Some(ReplaceStep::ReplaceAll),
            KeyCode::Enter if self.focus == Field::Replace => return Some(ReplaceStep::ReplaceOne),
            KeyCode::Enter if shift => return Some(ReplaceStep::Previous),
            KeyCode::Enter => return Some(ReplaceStep::Next),
            KeyCode::F(3) if shift => return Some(ReplaceStep::Previous),
            KeyCode::F(3) => return Some(ReplaceStep::Next),
            _ => return None,
        }
        Some(ReplaceStep::Update)
    }

    /// The bottom two rows of the screen (the status line and the message line).
    fn rows(area: Rect) -> (Rect, Rect) {
        let height = area.height.min(2);
        let top = area.bottom().saturating_sub(height);
        let row = |y: u16| Rect::new(area.x, y, area.width, u16::from(y < area.bottom()));
        (row(top), row(top + height.saturating_sub(1)))
    }
}

impl Component for FindReplacePrompt {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        match event {
            Event::Key(key) => {
                match key.code {
                    KeyCode::Esc => {
                        cx.commands.push(UiCommand::FindReplaceClosed);
                        return EventResult::Consumed(Some(close_layer(Self::ID)));
                    }
                    KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                        self.focus = match self.focus {
                            Field::Find => Field::Replace,
                            Field::Replace => Field::Find,
                        };
                        return EventResult::Consumed(None);
                    }
                    _ => {}
                }
                if let Some(step) = self.step_for(key) {
                    cx.commands.push(self.request(step));
                } else if self.input().handle_key(key) && self.focus == Field::Find {
                    cx.commands.push(self.request(ReplaceStep::Update));
                }
                EventResult::Consumed(None)
            }
            Event::Paste(text) => {
                self.input().insert(text);
                if self.focus == Field::Find {
                    cx.commands.push(self.request(ReplaceStep::Update));
                }
                EventResult::Consumed(None)
            }
            // The editor above stays live: clicks and scrolling pass to it.
            Event::Mouse(_) | Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let style = theme.get("ui.background").patch(theme.get("ui.text"));
        let dim = style.patch(theme.get("comment"));
        let (find_row, replace_row) = Self::rows(area);
        let toggle = |on: bool, text: &str| {
            let style = if on {
                style.patch(theme.get("ui.selection"))
            } else {
                dim
            };
            (format!("[{text}]"), style)
        };
        let toggles = [
            toggle(self.match_case, "Aa alt-c"),
            toggle(self.whole_word, "word alt-w"),
            toggle(self.regex, ".* alt-r"),
        ];
        for (row, label, input) in [
            (find_row, FIND_LABEL, &self.find),
            (replace_row, REPLACE_LABEL, &self.replace),
        ] {
            if row.is_empty() {
                continue;
            }
            Clear.render(row, buf);
            buf.set_style(row, style);
            let label_style = if (label == FIND_LABEL) == (self.focus == Field::Find) {
                style.add_modifier(Modifier::BOLD)
            } else {
                dim
            };
            buf.set_stringn(row.x, row.y, label, row.width as usize, label_style);
            let x = row.x + label.len() as u16;
            buf.set_stringn(
                x,
                row.y,
                &input.text,
                row.right().saturating_sub(x) as usize,
                style,
            );
        }
        // The toggles and the count on the find row's right, the keys on the replace row's.
        let status = self.status_text();
        let status_style = if matches!(self.status, MatchStatus::Invalid(_)) {
            style.patch(theme.get("diagnostic.error"))
        } else {
            style.add_modifier(Modifier::BOLD)
        };
        let mut parts: Vec<(String, ratatui::style::Style)> = toggles.into_iter().collect();
        parts.push((status, status_style));
        right_aligned(buf, find_row, &parts);
        let hint = "enter: replace · alt-a: all · tab: field · esc: close";
        right_aligned(buf, replace_row, &[(hint.to_owned(), dim)]);
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        let (find_row, replace_row) = Self::rows(area);
        let (row, label, input) = match self.focus {
            Field::Find => (find_row, FIND_LABEL, &self.find),
            Field::Replace => (replace_row, REPLACE_LABEL, &self.replace),
        };
        let x = row.x as usize + label.len() + input.cursor_col();
        (x < row.right() as usize && !row.is_empty()).then(|| Position::new(x as u16, row.y))
    }

    fn id(&self) -> &'static str {
        Self::ID
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// Draws `parts` with a space between them against the right edge of `row`, where they
/// fit after what the row already shows (they give way to the text typed).
fn right_aligned(buf: &mut Buffer, row: Rect, parts: &[(String, ratatui::style::Style)]) {
    let width: usize = parts.iter().map(|(text, _)| text.width() + 1).sum();
    let Some(mut x) = (row.right() as usize).checked_sub(width) else {
        return;
    };
    let used = (row.x..row.right())
        .rev()
        .find(|&x| buf[(x, row.y)].symbol() != " ")
        .map_or(row.x as usize, |x| x as usize + 1);
    if x < used + 2 {
        return;
    }
    for (text, style) in parts {
        buf.set_string(x as u16, row.y, text, *style);
        x += text.width() + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::Keymap;

    fn press(
        prompt: &mut FindReplacePrompt,
        code: KeyCode,
        modifiers: KeyModifiers,
    ) -> Vec<UiCommand> {
        let keymap = Keymap::load_from("default", None).unwrap();
        let mut commands = Vec::new();
        let mut cx = Context {
            commands: &mut commands,
            keymap: &keymap,
        };
        prompt.handle_event(&Event::Key(KeyEvent::new(code, modifiers)), &mut cx);
        commands
    }

    #[test]
    fn keys_edit_the_focused_field_toggle_options_and_ask_for_steps() {
        let mut prompt = FindReplacePrompt::new("");
        let typed = press(&mut prompt, KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(typed, vec![prompt.request(ReplaceStep::Update)]);
        press(&mut prompt, KeyCode::Char('r'), KeyModifiers::ALT);
        press(&mut prompt, KeyCode::Char('c'), KeyModifiers::ALT);
        press(&mut prompt, KeyCode::Char('w'), KeyModifiers::ALT);
        assert_eq!(
            prompt.options(),
            FindOptions {
                query: "a".into(),
                regex: true,
                match_case: true,
                whole_word: true,
            }
        );
        assert!(matches!(
            press(&mut prompt, KeyCode::Enter, KeyModifiers::NONE)[..],
            [UiCommand::FindReplace {
                step: ReplaceStep::Next,
                ..
            }]
        ));
        press(&mut prompt, KeyCode::Tab, KeyModifiers::NONE);
        // Typing the replacement asks for nothing; enter replaces one, alt-a all.
        assert!(press(&mut prompt, KeyCode::Char('b'), KeyModifiers::NONE).is_empty());
        assert!(matches!(
            &press(&mut prompt, KeyCode::Enter, KeyModifiers::NONE)[..],
            [UiCommand::FindReplace { step: ReplaceStep::ReplaceOne, replacement, .. }] if replacement == "b"
        ));
        assert!(matches!(
            press(&mut prompt, KeyCode::Char('a'), KeyModifiers::ALT)[..],
            [UiCommand::FindReplace {
                step: ReplaceStep::ReplaceAll,
                ..
            }]
        ));
        assert_eq!(
            press(&mut prompt, KeyCode::Esc, KeyModifiers::NONE),
            vec![UiCommand::FindReplaceClosed]
        );
    }
}
