//! The file tree: the host's file list as folders to open and close, for browsing when
//! you do not know a name to type into the picker. It is a layer on the left of the
//! screen; enter opens a file (or opens/closes a folder), escape hides it.
//!
//! It also changes the shared folder, through the host (who checks every path and tells
//! everyone): `a` a new file, `A` a new folder (both in the selected folder), `r` renames
//! or moves the selected file or folder, `d` deletes it after a `y` to a question naming
//! it. The path is typed on the tree's last row; enter asks, escape gives up.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::protocol::message::Request;
use crate::tui::compositor::{
    AppCommand, Component, Context, Event, EventResult, LineInput, RenderContext, UiCommand,
    close_layer,
};
use crate::tui::keymap::{Action, KeyResult};

/// Width of the tree panel.
const WIDTH: u16 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    depth: usize,
    name: String,
    /// Full path; folders end without a slash.
    path: String,
    is_dir: bool,
}

/// A change to the shared folder being typed or confirmed on the tree's last row.
#[derive(Debug)]
enum Change {
    New { folder: bool, path: LineInput },
    Rename { from: String, to: LineInput },
    Delete { path: String },
}

impl Change {
    fn prompt(&self) -> (String, Option<&LineInput>) {
        match self {
            Change::New {
                folder: false,
                path,
            } => ("new file: ".into(), Some(path)),
            Change::New { folder: true, path } => ("new folder: ".into(), Some(path)),
            Change::Rename { to, .. } => ("rename to: ".into(), Some(to)),
            Change::Delete { path } => (format!("delete {path}? y/n"), None),
        }
    }

    /// The request to send once the path is typed (enter) or the deletion confirmed.
    fn request(&self) -> Option<Request> {
        let typed = |input: &LineInput| {
            Some(crate::protocol::message::normal_path(&input.text)).filter(|p| !p.is_empty())
        };
        Some(match self {
            Change::New { folder, path } => Request::CreatePath {
                path: typed(path)?,
                folder: *folder,
                content: String::new(),
            },
            Change::Rename { from, to } => Request::MovePath {
                from: from.clone(),
                to: typed(to)?,
            },
            Change::Delete { path } => Request::DeletePath { path: path.clone() },
        })
    }
}

#[derive(Debug, Default)]
pub struct FileTree {
    /// Folder path -> its entries (name, is_dir), sorted folders first.
    children: BTreeMap<String, Vec<(String, bool)>>,
    open: BTreeSet<String>,
    selected: usize,
    change: Option<Change>,
}

impl FileTree {
    pub const ID: &'static str = "file-tree";

    /// The host's file list changed: show the new one, keeping the open folders and the
    /// selected entry where it still is.
    pub fn set_paths(&mut self, paths: &[String]) {
        let selected = self.rows().get(self.selected).map(|row| row.path.clone());
        let fresh = Self::new(paths);
        self.children = fresh.children;
        let rows = self.rows();
        self.selected = selected
            .and_then(|path| rows.iter().position(|row| row.path == path))
            .unwrap_or(self.selected.min(rows.len().saturating_sub(1)));
    }

    /// Keys while a change is typed or confirmed.
    fn change_key(
        &mut self,
        key: &ratatui::crossterm::event::KeyEvent,
        cx: &mut Context<'_>,
    ) -> EventResult {
        let Some(change) = self.change.as_mut() else {
            return EventResult::Ignored(None);
        };
        let send = match (&mut *change, key.code) {
            (_, KeyCode::Esc) => false,
            (Change::Delete { .. }, KeyCode::Char('y' | 'Y')) | (_, KeyCode::Enter) => true,
            (Change::Delete { .. }, _) => false,
            (Change::New { path: input, .. } | Change::Rename { to: input, .. }, _) => {
                input.handle_key(key);
                return EventResult::Consumed(None);
            }
        };
        // Asked or given up, the row goes back to the tree.
        if let Some(change) = self.change.take()
            && send
            && let Some(request) = change.request()
        {
            cx.commands
                .push(UiCommand::App(AppCommand::FileOperation(request)));
        }
        EventResult::Consumed(None)
    }

    /// Starts typing or confirming a change about `row` (the selected entry).
    fn start_change(&mut self, code: KeyCode, row: &Row) -> bool {
        // New entries go into the selected folder, or beside the selected file.
        let folder = if row.is_dir {
            row.path.clone()
        } else {
            row.path
                .rsplit_once('/')
                .map_or(String::new(), |(parent, _)| parent.to_owned())
        };
        let filled = |text: &str| {
            let mut input = LineInput::default();
            input.insert(text);
            input
        };
        let inside = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        self.change = Some(match code {
            KeyCode::Char('a') => Change::New {
                folder: false,
                path: filled(&inside),
            },
            KeyCode::Char('A') => Change::New {
                folder: true,
                path: filled(&inside),
            },
            KeyCode::Char('r') => Change::Rename {
                from: row.path.clone(),
                to: filled(&row.path),
            },
            KeyCode::Char('d') => Change::Delete {
                path: row.path.clone(),
            },
            _ => return false,
        });
        true
    }

    pub fn new(paths: &[String]) -> Self {
        let mut children: BTreeMap<String, BTreeSet<(bool, String)>> = BTreeMap::new();
        for path in paths {
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            for (depth, part) in parts.iter().enumerate() {
                let parent = parts[..depth].join("/");
                let is_dir = depth + 1 < parts.len();
                // `!is_dir` sorts folders first.
                children
                    .entry(parent)
                    .or_default()
                    .insert((!is_dir, (*part).to_owned()));
            }
        }
        let children = children
            .into_iter()
            .map(|(dir, entries)| {
                let entries = entries
                    .into_iter()
                    .map(|(file, name)| (name, !file))
                    .collect();
                (dir, entries)
            })
            .collect();
        Self {
            children,
            open: BTreeSet::new(),
            selected: 0,
            change: None,
        }
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        self.collect("", 0, &mut rows);
        rows
    }

    fn collect(&self, dir: &str, depth: usize, rows: &mut Vec<Row>) {
        let Some(entries) = self.children.get(dir) else {
            return;
        };
        for (name, is_dir) in entries {
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            rows.push(Row {
                depth,
                name: name.clone(),
                path: path.clone(),
                is_dir: *is_dir,
            });
            if *is_dir && self.open.contains(&path) {
                self.collect(&path, depth + 1, rows);
            }
        }
    }

    /// The visible entries as text (for tests): folders end with `/`.
    pub fn visible(&self) -> Vec<String> {
        self.rows()
            .into_iter()
            .map(|row| {
                let slash = if row.is_dir { "/" } else { "" };
                format!("{}{}{slash}", "  ".repeat(row.depth), row.name)
            })
            .collect()
    }

    fn area(area: Rect) -> Rect {
        Rect {
            width: WIDTH.min(area.width),
            height: area.height.saturating_sub(3),
            y: area.y + 1,
            ..area
        }
    }
}

impl Component for FileTree {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = || EventResult::Consumed(Some(close_layer(FileTree::ID)));
        let Event::Key(key) = event else {
            return EventResult::Ignored(None);
        };
        if self.change.is_some() {
            return self.change_key(key, cx);
        }
        let mut keymap = cx.keymap.clone();
        if let KeyResult::Action(Action::ToggleFileTree | Action::Quit) =
            keymap.handle(keymap.initial_mode(), key)
        {
            return close();
        }
        let rows = self.rows();
        let Some(row) = rows
            .get(self.selected.min(rows.len().saturating_sub(1)))
            .cloned()
        else {
            return match key.code {
                KeyCode::Esc => close(),
                // An empty folder: a first file can still be made.
                KeyCode::Char('a' | 'A') => {
                    let root = Row {
                        depth: 0,
                        name: String::new(),
                        path: String::new(),
                        is_dir: true,
                    };
                    self.start_change(key.code, &root);
                    EventResult::Consumed(None)
                }
                _ => EventResult::Consumed(None),
            };
        };
        if self.start_change(key.code, &row) {
            return EventResult::Consumed(None);
        }
        match key.code {
            KeyCode::Esc => return close(),
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(rows.len() - 1)
            }
            KeyCode::Left | KeyCode::Char('h') => {
                // Close an open folder; otherwise jump to the parent folder and close it.
                let closed = row.is_dir && self.open.remove(&row.path);
                if !closed && let Some((parent, _)) = row.path.rsplit_once('/') {
                    let parent = parent.to_owned();
                    self.open.remove(&parent);
                    self.selected = self
                        .rows()
                        .iter()
                        .position(|r| r.path == parent)
                        .unwrap_or(0);
                }
            }
            KeyCode::Right | KeyCode::Char('l') if row.is_dir => {
                self.open.insert(row.path);
            }
            KeyCode::Enter | KeyCode::Char(' ') | KeyCode::Right | KeyCode::Char('l') => {
                if row.is_dir {
                    if !self.open.remove(&row.path) {
                        self.open.insert(row.path);
                    }
                } else {
                    cx.commands.push(UiCommand::App(AppCommand::Open(row.path)));
                    return close();
                }
            }
            _ => {}
        }
        EventResult::Consumed(None)
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let panel = Self::area(area);
        let style = theme.get("ui.popup");
        Clear.render(panel, buf);
        let block = Block::default()
            .borders(Borders::RIGHT)
            .title(" Files ")
            .style(style);
        let inner = block.inner(panel);
        block.render(panel, buf);
        let rows = self.rows();
        let height = inner.height as usize;
        let first = self.selected.saturating_sub(height.saturating_sub(1));
        for (i, row) in rows.iter().enumerate().skip(first).take(height) {
            let y = inner.y + (i - first) as u16;
            let row_style = if i == self.selected {
                style.patch(theme.get("ui.menu.selected"))
            } else if row.is_dir {
                style.patch(theme.get("ui.text.directory"))
            } else {
                style
            };
            let marker = match (row.is_dir, self.open.contains(&row.path)) {
                (true, true) => "▾ ",
                (true, false) => "▸ ",
                _ => "  ",
            };
            let text = format!("{}{marker}{}", "  ".repeat(row.depth), row.name);
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), row_style);
            buf.set_stringn(inner.x, y, text, inner.width as usize, row_style);
        }
        if let Some(change) = &self.change
            && inner.height > 0
        {
            let y = inner.bottom() - 1;
            let (label, input) = change.prompt();
            let line = Rect::new(inner.x, y, inner.width, 1);
            Clear.render(line, buf);
            buf.set_style(line, style.patch(theme.get("ui.menu.selected")));
            let text = format!("{label}{}", input.map_or("", |input| input.text.as_str()));
            buf.set_stringn(
                inner.x,
                y,
                text,
                inner.width as usize,
                style.patch(theme.get("ui.menu.selected")),
            );
        }
    }

    fn cursor(&self, area: Rect) -> Option<ratatui::layout::Position> {
        let change = self.change.as_ref()?;
        let (label, input) = change.prompt();
        let input = input?;
        let inner = Self::area(area);
        let x = inner.x
            + (unicode_width::UnicodeWidthStr::width(label.as_str()) + input.cursor_col()) as u16;
        let y = (inner.y + inner.height).checked_sub(1)?;
        (x < inner.right()).then_some(ratatui::layout::Position::new(x, y))
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn id(&self) -> &'static str {
        Self::ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::compositor::Compositor;
    use crate::tui::keymap::Keymap;
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};

    #[test]
    fn folders_open_and_files_open_in_the_editor() {
        let paths: Vec<String> = [
            "src/tui/app.rs",
            "src/main.rs",
            "README.md",
            "docs/CONFIG.md",
        ]
        .map(String::from)
        .to_vec();
        let keymap = Keymap::load_from("default", None).unwrap();
        let mut compositor = Compositor::new();
        compositor.push(Box::new(FileTree::new(&paths)));
        let mut commands = Vec::new();
        let mut press = |code| {
            let mut cx = Context {
                commands: &mut commands,
                keymap: &keymap,
            };
            compositor.handle_event(
                &Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
                &mut cx,
            );
        };
        // docs/, src/, README.md; open src/ (second row), then its tui/ folder.
        press(KeyCode::Down);
        press(KeyCode::Enter);
        press(KeyCode::Down);
        press(KeyCode::Right);
        press(KeyCode::Down);
        press(KeyCode::Enter);
        assert_eq!(
            commands,
            vec![UiCommand::App(AppCommand::Open("src/tui/app.rs".into()))]
        );
        let tree = FileTree::new(&paths);
        assert_eq!(tree.visible(), vec!["docs/", "src/", "README.md"]);
    }

    #[test]
    fn a_new_file_folder_rename_and_confirmed_delete_ask_the_host() {
        let paths: Vec<String> = ["src/main.rs", "README.md"].map(String::from).to_vec();
        let keymap = Keymap::load_from("vim", None).unwrap();
        let mut compositor = Compositor::new();
        compositor.push(Box::new(FileTree::new(&paths)));
        let mut press = |code| {
            let mut commands = Vec::new();
            let mut cx = Context {
                commands: &mut commands,
                keymap: &keymap,
            };
            compositor.handle_event(
                &Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
                &mut cx,
            );
            commands
        };
        let asked = |request| vec![UiCommand::App(AppCommand::FileOperation(request))];
        let typed = |press: &mut dyn FnMut(KeyCode) -> Vec<UiCommand>, text: &str| {
            for c in text.chars() {
                assert!(press(KeyCode::Char(c)).is_empty(), "typing asks nothing");
            }
        };
        // On src/ (the first row): `a` starts in it.
        assert!(press(KeyCode::Char('a')).is_empty());
        typed(&mut press, "lib.rs");
        assert_eq!(
            press(KeyCode::Enter),
            asked(Request::CreatePath {
                path: "src/lib.rs".into(),
                folder: false,
                content: String::new()
            })
        );
        press(KeyCode::Char('A'));
        typed(&mut press, "docs");
        assert_eq!(
            press(KeyCode::Enter),
            asked(Request::CreatePath {
                path: "src/docs".into(),
                folder: true,
                content: String::new()
            })
        );
        // Escape gives up; `j`, typed in the path, is text, not a move.
        press(KeyCode::Char('r'));
        typed(&mut press, "j");
        assert!(press(KeyCode::Esc).is_empty());
        press(KeyCode::Down);
        press(KeyCode::Char('r'));
        for _ in 0.."README.md".len() {
            press(KeyCode::Backspace);
        }
        typed(&mut press, "docs/README.md");
        assert_eq!(
            press(KeyCode::Enter),
            asked(Request::MovePath {
                from: "README.md".into(),
                to: "docs/README.md".into()
            })
        );
        // Delete asks first: any key but `y` keeps the file.
        press(KeyCode::Char('d'));
        assert!(press(KeyCode::Char('n')).is_empty());
        press(KeyCode::Char('d'));
        assert_eq!(
            press(KeyCode::Char('y')),
            asked(Request::DeletePath {
                path: "README.md".into()
            })
        );
    }
}
