//! Two files side by side: the focused pane is the active tab, as without a split (keys,
//! following and presence all act on it); the other pane shows another open file by its
//! path, so closing or reopening tabs never leaves it pointing at the wrong one.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

use super::{App, DocumentTexts};
use crate::tui::compositor::AppCommand;
use crate::tui::editor::EditorWidget;
use crate::tui::status::Level;

/// The split: which file the other pane shows, and on which side the focus is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Split {
    pub(super) other: String,
    pub(super) focus_left: bool,
}

/// Columns each pane needs for the split to be worth showing.
const PANE_MIN_COLUMNS: u16 = 20;

impl App {
    /// The split, if there is one and its other file is still open.
    pub(super) fn live_split(&self) -> Option<&Split> {
        self.split
            .as_ref()
            .filter(|split| self.tabs.iter().any(|tab| tab.path == split.other))
    }

    /// The focused pane and the other pane within `editor` (with a one-column rule between
    /// them), when split and the terminal has the room.
    pub(super) fn panes(&self, editor: Rect) -> Option<(Rect, Rect, Rect)> {
        let split = self.live_split()?;
        if editor.width < 2 * PANE_MIN_COLUMNS + 1 {
            return None;
        }
        let [left, rule, right] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(editor);
        Some(if split.focus_left {
            (left, right, rule)
        } else {
            (right, left, rule)
        })
    }

    /// ctrl-\ or `:vsplit`: shows the next open file beside this one (this one again if it
    /// is the only one); again, closes the split.
    pub(super) fn toggle_split(&mut self) {
        if self.live_split().is_some() {
            self.split = None;
        } else if let Some(active) = self.tabs.get(self.active) {
            let next = &self.tabs[(self.active + 1) % self.tabs.len()];
            if next.path == active.path {
                self.messages.push(
                    Level::Info,
                    "split: open another file (the file picker) to see two side by side",
                );
            }
            self.split = Some(Split {
                other: next.path.clone(),
                focus_left: true,
            });
        } else {
            self.messages
                .push(Level::Info, "open a file to split the view");
        }
        self.resize(self.size.width, self.size.height);
    }

    /// Moves the focus to the other pane: its file becomes the active tab.
    pub(super) fn focus_other_pane(&mut self, commands: &mut Vec<AppCommand>) {
        let Some(split) = self.live_split().cloned() else {
            self.messages
                .push(Level::Info, "no split: split the view first (ctrl-\\)");
            return;
        };
        let Some(index) = self.tabs.iter().position(|tab| tab.path == split.other) else {
            return;
        };
        self.stop_following(commands);
        let was = self.tabs[self.active].path.clone();
        self.active = index;
        self.split = Some(Split {
            other: was,
            focus_left: !split.focus_left,
        });
    }

    /// The other pane: its file as the others see it, without our cursor or popups.
    pub(super) fn render_other_pane(
        &self,
        area: Rect,
        rule: Rect,
        buf: &mut Buffer,
        documents: &impl DocumentTexts,
    ) {
        let rule_style = self
            .theme
            .get("ui.background")
            .patch(self.theme.get("comment"));
        for y in rule.top()..rule.bottom() {
            buf.set_string(rule.x, y, "│", rule_style);
        }
        let Some(split) = self.live_split() else {
            return;
        };
        let Some(tab) = self.tabs.iter().find(|tab| tab.path == split.other) else {
            return;
        };
        // Its path on a row of its own at the bottom, the width of the pane (drawn over
        // the last text row, the text around a short path showed through).
        let [area, title_row] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
        let title_style = self.theme.get("ui.statusline");
        buf.set_style(title_row, title_style);
        buf.set_stringn(
            title_row.x,
            title_row.y,
            format!(" {} ", tab.path),
            title_row.width.into(),
            title_style,
        );
        let Some(rope) = documents.rope(&tab.path) else {
            self.placeholder(area, buf, &format!("loading {}…", tab.path));
            return;
        };
        EditorWidget {
            editor: &tab.editor,
            rope,
            syntax: tab.syntax.as_ref(),
            theme: &self.theme,
            remotes: &tab.remotes,
            search: None,
            find_pattern: None,
            git: self.git.line_changes(&tab.path, rope).as_deref(),
        }
        .render(area, buf);
    }
}
