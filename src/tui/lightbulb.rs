//! The lightbulb: a mark in the gutter of the cursor's line when the host's language
//! server has quick fixes for that line. It is asked once the cursor has rested on a line
//! for a moment (`REST`), and not again while the line stays as it was asked about, so
//! moving and typing cost no question each; a file whose language has no server on the
//! host is not asked about again.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ropey::Rope;

use crate::protocol::message::Response;
use crate::text::LineCol;
use crate::tui::editor::Editor;
use crate::tui::popup::{AskKind, IntelAsk};
use crate::tui::theme::Theme;

/// How long the cursor rests on a line before the lightbulb asks about it.
pub const REST: Duration = Duration::from_millis(400);

/// The mark, in the gutter's first column (over a diagnostic's sign on the cursor's line).
pub const MARK: char = '◆';

/// What the lightbulb knows and waits for.
#[derive(Debug, Default)]
pub struct Lightbulb {
    /// When to ask about the cursor's line, after the last input.
    due: Option<Instant>,
    /// The line last asked about: its file, number and text.
    asked: Option<(String, usize, String)>,
    /// The line with fixes, as the last answer said.
    shown: Option<(String, usize)>,
    /// Files the host has no language server for.
    quiet: HashSet<String>,
}

impl Lightbulb {
    /// The user did something (a key, a click, a paste): ask once the cursor rests.
    pub fn moved(&mut self, now: Instant) {
        self.due = Some(now + REST);
    }

    /// When [`Self::due_ask`] has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        self.due
    }

    /// The question about the cursor's line, once it has rested there, unless that line
    /// was asked about as it is.
    pub fn due_ask(
        &mut self,
        now: Instant,
        path: &str,
        rope: &Rope,
        cursor: usize,
    ) -> Option<IntelAsk> {
        if self.due.is_none_or(|due| due > now) {
            return None;
        }
        self.due = None;
        if self.quiet.contains(path) {
            return None;
        }
        let line = rope.char_to_line(cursor.min(rope.len_chars()));
        let text = rope.line(line).to_string();
        let asking = (path.to_owned(), line, text);
        if self.asked.as_ref() == Some(&asking) {
            return None;
        }
        self.asked = Some(asking);
        Some(IntelAsk {
            kind: AskKind::LineActions,
            path: path.to_owned(),
            at: LineCol { line, col: 0 },
            explicit: false,
            change: None,
        })
    }

    /// The host's answer about a line: the mark goes there if it has fixes.
    pub fn answer(&mut self, ask: &IntelAsk, response: Response) {
        let line = (ask.path.clone(), ask.at.line);
        match response {
            Response::CodeActions(actions) if actions.iter().any(|action| action.fix) => {
                self.shown = Some(line);
            }
            Response::Error { message } if message.starts_with("no language server") => {
                self.quiet.insert(ask.path.clone());
                self.shown = None;
            }
            _ if self.shown.as_ref() == Some(&line) => self.shown = None,
            _ => {}
        }
    }

    /// Whether the mark is on `line` of `path`.
    pub fn is_shown(&self, path: &str, line: usize) -> bool {
        self.shown
            .as_ref()
            .is_some_and(|(shown, at)| shown == path && *at == line)
    }

    /// Draws the mark in the gutter of the cursor's line, if that line has fixes (a line
    /// the cursor left keeps no mark).
    pub fn draw(
        &self,
        area: Rect,
        buf: &mut Buffer,
        path: &str,
        editor: &Editor,
        rope: &Rope,
        theme: &Theme,
    ) {
        let line = rope.char_to_line(editor.cursor().min(rope.len_chars()));
        if !self.is_shown(path, line) {
            return;
        }
        let Some((row, _)) = editor.screen_offset(rope, rope.line_to_char(line)) else {
            return;
        };
        if row >= area.height as usize || area.width == 0 {
            return;
        }
        if let Some(cell) = buf.cell_mut((area.x, area.y + row as u16)) {
            cell.set_char(MARK).set_style(theme.get("warning"));
        }
    }
}
