//! Drawing the whole screen from the app's state (pure: changes nothing).

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;
use ropey::Rope;

use super::{App, DocumentTexts, OpenFile};
use crate::tui::compositor::RenderContext;
use crate::tui::diagnostics::{message_line, severity_style};
use crate::tui::editor::EditorWidget;
use crate::tui::keymap::Action;
use crate::tui::people::PeopleWidget;
use crate::tui::popup::Here;
use crate::tui::status::{MessageArea, StatusLine, StatusView, Tabs};

impl App {
    /// Draws the whole screen. Pure: reads state, changes nothing. Back to front: tabs,
    /// the editor (layer 0) with its popups, the people panel, the status and message
    /// rows, then the compositor's layers.
    pub fn render(&self, frame: &mut Frame<'_>, documents: &impl DocumentTexts) {
        let regions = self.regions();
        let buf = frame.buffer_mut();
        let tab_views = self.tab_views();
        Tabs {
            tabs: &tab_views,
            active: self.active,
            theme: &self.theme,
        }
        .render(regions.tabs, buf);
        let open = self.tabs.get(self.active).and_then(|tab| {
            let rope = documents.rope(&tab.path)?;
            Some((tab, rope))
        });
        let cursor = self.render_editor(regions.editor, buf, documents);
        if let Some((other, rule)) = regions.other_pane {
            self.render_other_pane(other, rule, buf, documents);
        }
        if let Some(area) = regions.people {
            PeopleWidget {
                people: &self.people,
                theme: &self.theme,
                following: self.follow.leader(),
            }
            .render(area, buf);
        }
        self.render_status(regions.status, buf, open);
        self.render_message_row(regions.message, buf, open);

        let cx = RenderContext {
            theme: &self.theme,
            keymap: &self.keymap,
        };
        self.compositor.render(self.size, buf, &cx);
        // A layer over the editor owns the cursor; the editor's shows only when none is.
        let cursor = cursor.filter(|_| self.compositor.is_empty());
        if let Some(position) = self.compositor.cursor(self.size).or(cursor) {
            frame.set_cursor_position(position);
        }
    }

    /// The active file with its diagnostics and popups, or what stands in its place.
    /// Returns where the terminal's cursor goes.
    fn render_editor(
        &self,
        area: Rect,
        buf: &mut Buffer,
        documents: &impl DocumentTexts,
    ) -> Option<Position> {
        let theme = &self.theme;
        let Some(tab) = self.tabs.get(self.active) else {
            let keys = |action| self.keymap.keys_for(self.keymap.initial_mode(), action);
            let open = keys(Action::OpenFilePicker).unwrap_or_else(|| "the file picker".into());
            let help = keys(Action::ToggleHelp).unwrap_or_else(|| "help".into());
            let welcome = format!("cotype — {open} opens a file, {help} lists the keys");
            self.placeholder(area, buf, &welcome);
            return None;
        };
        let Some(rope) = documents.rope(&tab.path) else {
            self.placeholder(area, buf, &format!("loading {}…", tab.path));
            return None;
        };
        let git = self.git.line_changes(&tab.path, rope);
        let widget = EditorWidget {
            editor: &tab.editor,
            rope,
            syntax: tab.syntax.as_ref(),
            theme,
            remotes: &tab.remotes,
            search: self.search.as_deref(),
            find_pattern: self.file_find.as_ref(),
            git: git.as_deref(),
        };
        let cursor = widget.cursor_position(area);
        widget.render(area, buf);
        let diagnostics = self.diagnostics.for_path(&tab.path);
        crate::tui::diagnostics::draw_in_editor(area, buf, &tab.editor, rope, diagnostics, theme);
        let semantic = self.semantic.for_path(&tab.path);
        crate::tui::semantic::draw_in_editor(area, buf, &tab.editor, rope, semantic, theme);
        let hints = self.inlay.for_path(&tab.path);
        let cursor =
            crate::tui::inlay::draw_in_editor(area, buf, &tab.editor, rope, hints, theme, cursor);
        // A line with fixes usually has a diagnostic: on the cursor's line the lightbulb
        // takes its sign's place (the underline and the message still say what it is).
        self.lightbulb
            .draw(area, buf, &tab.path, &tab.editor, rope, theme);
        let here = Here {
            path: &tab.path,
            rope,
            cursor: tab.editor.cursor(),
            mode: tab.editor.mode,
        };
        self.popups.render(area, cursor, here, theme, buf);
        cursor
    }

    fn render_status(&self, area: Rect, buf: &mut Buffer, open: Option<(&OpenFile, &Rope)>) {
        let tab = self.tabs.get(self.active);
        let (position, mode, modified, read_only) = match open {
            Some((tab, rope)) => {
                let (line, col) = tab.editor.cursor_line_col(rope);
                (
                    Some((line + 1, col + 1)),
                    tab.editor.mode,
                    tab.modified,
                    tab.read_only && tab.loading.is_none(),
                )
            }
            None => (None, self.keymap.initial_mode(), false, false),
        };
        let following = self.follow.leader().map(|id| self.person_name(id));
        let pending = self.keymap.pending();
        StatusLine {
            view: StatusView {
                connection: &self.connection,
                mode,
                show_mode: self.keymap.is_modal(),
                file: tab.map(|tab| tab.path.as_str()),
                modified,
                read_only,
                loading: tab.and_then(|tab| tab.loading),
                position,
                following: following.as_deref(),
                pending_keys: &pending,
                branch: self.git.branch.as_deref(),
            },
            theme: &self.theme,
        }
        .render(area, buf);
    }

    /// The latest message; with none to show, what is wrong on the cursor's line, or else
    /// the intro line.
    fn render_message_row(&self, area: Rect, buf: &mut Buffer, open: Option<(&OpenFile, &Rope)>) {
        let theme = &self.theme;
        MessageArea {
            messages: &self.messages,
            theme,
        }
        .render(area, buf);
        if self.messages.current().is_some() || area.is_empty() {
            return;
        }
        let on_cursor_line = open.and_then(|(tab, rope)| {
            self.diagnostics
                .on_line(&tab.path, tab.editor.cursor_line_col(rope).0)
        });
        let standing = match on_cursor_line {
            Some(item) => {
                let (mark, scope, _) = severity_style(item.severity);
                Some((format!("{mark} {}", message_line(item)), theme.get(scope)))
            }
            None => self
                .intro_line()
                .map(|intro| (intro, theme.get("ui.text.focus"))),
        };
        if let Some((text, scope_style)) = standing {
            let style = theme
                .get("ui.background")
                .patch(theme.get("ui.text"))
                .patch(scope_style);
            buf.set_stringn(area.x, area.y, text, area.width as usize, style);
        }
    }

    pub(super) fn placeholder(&self, area: Rect, buf: &mut Buffer, text: &str) {
        let style = self
            .theme
            .get("ui.background")
            .patch(self.theme.get("comment"));
        buf.set_style(area, style);
        let y = area.y + area.height / 2;
        let width = unicode_width::UnicodeWidthStr::width(text) as u16;
        let x = area.x + area.width.saturating_sub(width) / 2;
        buf.set_stringn(x, y, text, area.width as usize, style);
    }
}
