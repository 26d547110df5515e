//! A shared terminal shown in place of the editor: its emulator's screen drawn cell by
//! cell (colors, attributes, wide characters, cursor), a title row with its name, the PTY
//! size (the host user's pane decides it: larger panes pad, smaller ones clip around the
//! cursor) and who types, and the keys: to the program when we may type, else scrolling.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};

use crate::client::session::Session;
use crate::client::terminals::TerminalView;
use crate::protocol::message::TerminalId;
use crate::tui::compositor::AppCommand;
use crate::tui::keymap::{Action, Key, Keymap};
use crate::tui::picker::{Picker, PickerItem};
use crate::tui::theme::Theme;

/// The layer id of the question before a terminal is ended.
pub const CLOSE_CONFIRMATION: &str = "close-terminal";

/// Which terminal is shown, and the keys that show and hide it.
#[derive(Default)]
pub struct TerminalPane {
    /// The terminal shown in place of the editor (it has the keys while shown).
    pub shown: Option<TerminalId>,
    /// The last one shown, to show again.
    pub last: Option<TerminalId>,
    /// Shown because the person we follow looks at it (hidden again when they leave it).
    pub by_following: bool,
    toggle: Vec<Key>,
    /// Single keys of `close_terminal`: the pane takes them from the program too.
    close: Vec<Key>,
    /// Terminals whose end was already told on the message line.
    told_ended: std::collections::BTreeSet<TerminalId>,
}

/// What a key in the pane did.
#[derive(Debug, PartialEq, Eq)]
pub enum PaneKey {
    /// Bytes for the program.
    Send(Vec<u8>),
    /// Scroll the history by this many lines (positive: back).
    Scroll(isize),
    /// Back to the live screen.
    Live,
    /// A key a read-only viewer cannot send.
    ReadOnly,
    /// Copy what the pane shows (the screen, or the part of the history in view).
    Copy,
    Ignored,
}

impl TerminalPane {
    pub fn new(keymap: &Keymap) -> Self {
        let keys_of = |action: Action| -> Vec<Key> {
            keymap
                .bindings()
                .into_iter()
                .filter(|binding| binding.action == action)
                .filter_map(|binding| Key::parse(&binding.keys).ok())
                .collect()
        };
        TerminalPane {
            shown: None,
            last: None,
            by_following: false,
            toggle: keys_of(Action::ToggleTerminal),
            close: keys_of(Action::CloseTerminal),
            told_ended: Default::default(),
        }
    }

    /// Whether `key` shows or hides the terminal (`toggle_terminal`).
    pub fn is_toggle(&self, key: &KeyEvent) -> bool {
        Key::from_event(key).is_some_and(|key| self.toggle.contains(&key))
    }

    /// Whether `key` ends the terminal shown, after asking (`close_terminal`).
    pub fn is_close(&self, key: &KeyEvent) -> bool {
        Key::from_event(key).is_some_and(|key| self.close.contains(&key))
    }

    /// Whether the end of `id` is news (told once).
    pub fn first_told_ended(&mut self, id: TerminalId) -> bool {
        self.told_ended.insert(id)
    }

    /// The terminal `close_terminal` ends: the one shown, else the last shown, else the
    /// only one running.
    pub fn to_close(&self, session: &Session) -> Option<TerminalId> {
        let list = &session.terminals.list;
        let running = |id: &TerminalId| list.get(id).is_some_and(|view| view.exited.is_none());
        self.shown.or(self.last).filter(running).or_else(|| {
            let mut open = list.keys().copied().filter(running);
            match (open.next(), open.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        })
    }

    /// The question before ending terminal `view`: keeping it is first, so an Enter meant
    /// for something else never ends a program.
    pub fn close_confirmation(view: &TerminalView) -> Picker {
        let name = &view.name;
        let items = vec![
            PickerItem {
                label: format!("Keep '{name}' running"),
                command: AppCommand::CloseTerminalAnswer {
                    id: view.id,
                    end: false,
                },
            },
            PickerItem {
                label: format!(
                    "End '{name}': its program and what it started are stopped, for everyone"
                ),
                command: AppCommand::CloseTerminalAnswer {
                    id: view.id,
                    end: true,
                },
            },
        ];
        Picker::menu(
            CLOSE_CONFIRMATION,
            &format!("End shared terminal '{name}'?"),
            items,
            "",
        )
    }

    /// The keys shown in hints, e.g. "alt-`".
    pub fn toggle_name(&self) -> String {
        self.toggle
            .last()
            .map_or_else(|| "toggle_terminal".to_owned(), ToString::to_string)
    }

    pub fn show(&mut self, id: TerminalId) {
        self.shown = Some(id);
        self.last = Some(id);
    }

    pub fn hide(&mut self) {
        self.shown = None;
    }

    /// The grid's area inside `area` (below the title row).
    pub fn grid_area(area: Rect) -> Rect {
        Rect {
            y: area.y + 1.min(area.height),
            height: area.height.saturating_sub(1),
            ..area
        }
    }

    /// What `key` means in the shown terminal; `may_type` from the grants.
    pub fn key(key: &KeyEvent, view: &TerminalView, may_type: bool) -> PaneKey {
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        let page = (view.rows.max(2) / 2) as isize;
        match key.code {
            KeyCode::PageUp if shift || !may_type => return PaneKey::Scroll(page),
            KeyCode::PageDown if shift || !may_type => return PaneKey::Scroll(-page),
            _ => {}
        }
        if !may_type {
            return match key.code {
                KeyCode::Up | KeyCode::Char('k') => PaneKey::Scroll(1),
                KeyCode::Down | KeyCode::Char('j') => PaneKey::Scroll(-1),
                KeyCode::Char('g') | KeyCode::Home => PaneKey::Scroll(isize::MAX / 2),
                KeyCode::Char('G') | KeyCode::End => PaneKey::Live,
                KeyCode::Char('y') => PaneKey::Copy,
                _ => PaneKey::ReadOnly,
            };
        }
        let Some(screen) = view.emulator.as_ref().map(|parser| parser.screen()) else {
            return PaneKey::Ignored;
        };
        // Looking at the history, `y` copies it; any other key goes back to the program.
        if screen.scrollback() > 0 && key.code == KeyCode::Char('y') {
            return PaneKey::Copy;
        }
        match encode(key, screen.application_cursor()) {
            Some(bytes) => PaneKey::Send(bytes),
            None => PaneKey::Ignored,
        }
    }

    /// The text a pane shows of `screen`: its rows (the history when scrolled back),
    /// without trailing spaces, soft-wrapped rows joined.
    pub fn visible_text(screen: &vt100::Screen) -> String {
        let (rows, cols) = screen.size();
        let mut text = String::new();
        for (row, line) in screen.rows(0, cols).enumerate() {
            text.push_str(line.trim_end());
            if !screen.row_wrapped(row as u16) && row + 1 < usize::from(rows) {
                text.push('\n');
            }
        }
        text.trim_end_matches('\n').to_owned() + "\n"
    }

    /// Bytes for pasted `text`, bracketed when the program asked for it.
    pub fn paste(text: &str, view: &TerminalView) -> Vec<u8> {
        let bracketed = view
            .emulator
            .as_ref()
            .is_some_and(|parser| parser.screen().bracketed_paste());
        let mut bytes = Vec::new();
        if bracketed {
            bytes.extend_from_slice(b"\x1b[200~");
        }
        bytes.extend_from_slice(text.replace('\n', "\r").as_bytes());
        if bracketed {
            bytes.extend_from_slice(b"\x1b[201~");
        }
        bytes
    }

    /// Draws terminal `id` of `session` over `area`.
    pub fn render(&self, frame: &mut Frame, area: Rect, session: &Session, theme: &Theme) {
        let Some(view) = self.shown.and_then(|id| session.terminals.list.get(&id)) else {
            return;
        };
        if area.is_empty() {
            return;
        }
        let may_type = session.may_type_in_terminals();
        let grid = Self::grid_area(area);
        let screen = view.emulator.as_ref().map(|parser| parser.screen());
        let clipped = grid.width < view.cols || grid.height < view.rows;
        let mut title = format!("⌨ {} {}×{}", view.name, view.cols, view.rows);
        if clipped {
            title.push_str(" clipped");
        }
        if let Some(name) = view
            .typing
            .and_then(|by| session.members.get(&by))
            .map(|member| member.name.as_str())
        {
            title.push_str(&format!(" ✎ {name}"));
        }
        match view.exited {
            Some(Some(code)) => title.push_str(&format!(" [exited {code}]")),
            Some(None) => title.push_str(" [ended]"),
            None => {}
        }
        if screen.is_some_and(|screen| screen.scrollback() > 0) {
            title.push_str(" [history: y copies, shift-pagedown or G leaves]");
        }
        title.push_str(if may_type {
            " · typing goes to the terminal"
        } else {
            " · read-only"
        });
        title.push_str(&format!(" · {} hides", self.toggle_name()));
        if let (Some(close), true, None) = (
            self.close.last(),
            session.me.role == crate::protocol::message::Role::Host,
            view.exited,
        ) {
            title.push_str(&format!(" · {close} ends it"));
        }
        // Drawn over the editor: clear what it drew (its text's italics, bold, colors),
        // or the styles below patch onto those.
        frame.render_widget(ratatui::widgets::Clear, area);
        let buffer = frame.buffer_mut();
        let title_style = theme.get("ui.statusline");
        buffer.set_stringn(
            area.x,
            area.y,
            " ".repeat(area.width.into()),
            area.width.into(),
            title_style,
        );
        buffer.set_stringn(area.x, area.y, &title, area.width.into(), title_style);
        let pad = theme.get("ui.virtual");
        for y in grid.y..grid.y + grid.height {
            buffer.set_stringn(
                grid.x,
                y,
                " ".repeat(grid.width.into()),
                grid.width.into(),
                pad,
            );
        }
        let Some(screen) = screen else {
            // A pane of one row is all title: no row is left to say it is loading.
            if grid.is_empty() {
                return;
            }
            buffer.set_stringn(
                grid.x,
                grid.y,
                "loading the screen…",
                grid.width.into(),
                pad,
            );
            return;
        };
        let (rows, cols) = screen.size();
        let (cursor_row, cursor_col) = screen.cursor_position();
        // A smaller pane shows the part with the cursor.
        let origin = |cursor: u16, size: u16, shown: u16| {
            (cursor + 1)
                .saturating_sub(shown)
                .min(size.saturating_sub(shown))
        };
        let row0 = origin(cursor_row, rows, grid.height);
        let col0 = origin(cursor_col, cols, grid.width);
        for row in 0..rows.saturating_sub(row0).min(grid.height) {
            for col in 0..cols.saturating_sub(col0).min(grid.width) {
                let Some(cell) = screen.cell(row0 + row, col0 + col) else {
                    continue;
                };
                if cell.is_wide_continuation() {
                    continue;
                }
                let contents = cell.contents();
                let symbol = if contents.is_empty() { " " } else { contents };
                let target = &mut buffer[(grid.x + col, grid.y + row)];
                target.set_symbol(symbol);
                target.set_style(cell_style(cell));
            }
        }
        let in_view = cursor_row >= row0
            && cursor_row - row0 < grid.height
            && cursor_col >= col0
            && cursor_col - col0 < grid.width;
        if in_view && !screen.hide_cursor() && screen.scrollback() == 0 {
            frame.set_cursor_position(Position::new(
                grid.x + cursor_col - col0,
                grid.y + cursor_row - row0,
            ));
        }
    }
}

fn color(color: vt100::Color) -> Color {
    match color {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(index) => Color::Indexed(index),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

fn cell_style(cell: &vt100::Cell) -> Style {
    let mut style = Style::default()
        .fg(color(cell.fgcolor()))
        .bg(color(cell.bgcolor()));
    for (on, modifier) in [
        (cell.bold(), Modifier::BOLD),
        (cell.dim(), Modifier::DIM),
        (cell.italic(), Modifier::ITALIC),
        (cell.underline(), Modifier::UNDERLINED),
        (cell.inverse(), Modifier::REVERSED),
    ] {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    style
}

/// The bytes a terminal sends for `key` (xterm's), with the arrow keys in application
/// mode when the program asked for it.
pub fn encode(key: &KeyEvent, application_cursor: bool) -> Option<Vec<u8>> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let arrow = |letter: u8| {
        if application_cursor {
            vec![0x1b, b'O', letter]
        } else {
            vec![0x1b, b'[', letter]
        }
    };
    let mut bytes = match key.code {
        KeyCode::Char(c) if ctrl => match c.to_ascii_lowercase() {
            c @ 'a'..='z' => vec![c as u8 - b'a' + 1],
            ' ' | '@' | '`' | '2' => vec![0],
            '[' | '3' => vec![0x1b],
            '\\' | '4' => vec![0x1c],
            ']' | '5' => vec![0x1d],
            '^' | '6' => vec![0x1e],
            '_' | '/' | '7' => vec![0x1f],
            _ => return None,
        },
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => arrow(b'A'),
        KeyCode::Down => arrow(b'B'),
        KeyCode::Right => arrow(b'C'),
        KeyCode::Left => arrow(b'D'),
        KeyCode::Home => arrow(b'H'),
        KeyCode::End => arrow(b'F'),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::F(n @ 1..=4) => vec![0x1b, b'O', b'P' + n - 1],
        KeyCode::F(n) => {
            let code = match n {
                5 => 15,
                6 => 17,
                7 => 18,
                8 => 19,
                9 => 20,
                10 => 21,
                11 => 23,
                12 => 24,
                _ => return None,
            };
            format!("\x1b[{code}~").into_bytes()
        }
        _ => return None,
    };
    if alt {
        bytes.insert(0, 0x1b);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn copying_takes_the_rows_in_view_with_wrapped_ones_joined() {
        let mut parser = vt100::Parser::new(5, 10, 100);
        parser.process(b"one  \r\nA LONG LINE WRAPS\r\nthree\r\nfour\r\nfive");
        assert_eq!(
            TerminalPane::visible_text(parser.screen()),
            "A LONG LINE WRAPS\nthree\nfour\nfive\n"
        );
        parser.screen_mut().set_scrollback(1);
        assert!(TerminalPane::visible_text(parser.screen()).starts_with("one\n"));
    }

    #[test]
    fn keys_become_the_bytes_a_terminal_sends() {
        let none = KeyModifiers::NONE;
        let cases: &[(KeyEvent, bool, &[u8])] = &[
            (key(KeyCode::Char('a'), none), false, b"a"),
            (key(KeyCode::Char('é'), none), false, "é".as_bytes()),
            (key(KeyCode::Enter, none), false, b"\r"),
            (key(KeyCode::Backspace, none), false, b"\x7f"),
            (
                key(KeyCode::Char('c'), KeyModifiers::CONTROL),
                false,
                b"\x03",
            ),
            (
                key(KeyCode::Char('d'), KeyModifiers::CONTROL),
                false,
                b"\x04",
            ),
            (key(KeyCode::Char('b'), KeyModifiers::ALT), false, b"\x1bb"),
            (key(KeyCode::Up, none), false, b"\x1b[A"),
            (key(KeyCode::Up, none), true, b"\x1bOA"),
            (key(KeyCode::Delete, none), false, b"\x1b[3~"),
            (key(KeyCode::F(1), none), false, b"\x1bOP"),
            (key(KeyCode::F(5), none), false, b"\x1b[15~"),
        ];
        for (event, application, bytes) in cases {
            assert_eq!(
                encode(event, *application).as_deref(),
                Some(*bytes),
                "{event:?}"
            );
        }
    }
}
