//! A fuzzy picker layer: the file picker over the host's file list, and the same list UI
//! for choosing whom to follow.
//!
//! Matching uses nucleo (the matcher helix uses) with path-aware scoring. It runs on the
//! UI thread over the whole list on each keystroke: a host's file list of 100,000 paths
//! matches in a few milliseconds, and only the rows on screen get match positions.

use nucleo::pattern::{CaseMatching, Normalization, Pattern};
use nucleo::{Config, Matcher, Utf32Str};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::widgets::{Block, BorderType, Clear, Widget};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::tui::compositor::{
    AppCommand, Component, Context, Event, EventResult, LineInput, RenderContext, UiCommand,
    centered, close_layer,
};
use crate::tui::locations::list_key;
use crate::tui::text_wrap::wrap;

/// One choice: what is shown and matched, and what choosing it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerItem {
    pub label: String,
    pub command: AppCommand,
}

#[derive(Debug, Clone)]
struct Match {
    item: usize,
    score: u32,
}

pub struct Picker {
    id: &'static str,
    title: String,
    items: Vec<PickerItem>,
    input: LineInput,
    matches: Vec<Match>,
    selected: usize,
    matcher: Matcher,
    empty_text: String,
    /// A menu: choices keep the order given (typing still filters) and the popup is
    /// only as tall as the choices.
    menu: bool,
    /// Among equal scores, the order given (recent first) rather than the shortest.
    ties_in_given_order: bool,
    /// The choices come from the host for what is typed (the workspace's symbols): each
    /// change of the query asks again with this command, and the answer replaces the
    /// items ([`Picker::set_items`]).
    asks: Option<fn(String) -> AppCommand>,
}

impl Picker {
    pub const FILES: &'static str = "file-picker";
    pub const PEOPLE: &'static str = "follow-picker";
    pub const WORKSPACE_SYMBOLS: &'static str = "workspace-symbols";

    pub fn new(id: &'static str, title: &str, items: Vec<PickerItem>, empty_text: &str) -> Self {
        let mut picker = Self {
            id,
            title: title.into(),
            items,
            input: LineInput::default(),
            matches: Vec::new(),
            selected: 0,
            matcher: Matcher::new(Config::DEFAULT.match_paths()),
            empty_text: empty_text.into(),
            menu: false,
            ties_in_given_order: false,
            asks: None,
        };
        picker.refilter();
        picker
    }

    /// A short list of actions in a deliberate order (the first is the default).
    pub fn menu(id: &'static str, title: &str, items: Vec<PickerItem>, empty_text: &str) -> Self {
        let mut picker = Self::new(id, title, items, empty_text);
        picker.menu = true;
        picker.refilter();
        picker
    }

    /// A long list ranked by score, the order given breaking ties (the command palette:
    /// recently used first).
    pub fn ranked(id: &'static str, title: &str, items: Vec<PickerItem>, empty_text: &str) -> Self {
        let mut picker = Self::new(id, title, items, empty_text);
        picker.ties_in_given_order = true;
        picker.refilter();
        picker
    }

    /// A picker whose choices the host gives for the query typed: `asks` makes the
    /// question for a query; until the first answer, `empty_text` says what to type.
    pub fn asking(
        id: &'static str,
        title: &str,
        asks: fn(String) -> AppCommand,
        empty_text: &str,
    ) -> Self {
        let mut picker = Self::ranked(id, title, Vec::new(), empty_text);
        picker.asks = Some(asks);
        picker
    }

    /// The file picker over the host's file list; choosing opens the file.
    pub fn files(paths: &[String]) -> Self {
        let items = paths
            .iter()
            .map(|path| PickerItem {
                label: path.clone(),
                command: AppCommand::Open(path.clone()),
            })
            .collect();
        Self::new(
            Self::FILES,
            "Open file",
            items,
            "no files shared yet (the host's file list has not arrived)",
        )
    }

    /// The host's file list changed while the picker is open (it arrived after the
    /// picker opened, or a member created or deleted a file): match the new list with the
    /// query as typed, keeping the chosen file chosen if it is still there.
    pub fn set_files(&mut self, paths: &[String]) {
        self.set_items(Self::files(paths).items);
    }

    /// New choices for the query as typed (the host's answer, a changed list), the chosen
    /// one kept chosen if it is still there.
    pub fn set_items(&mut self, items: Vec<PickerItem>) {
        let chosen = self.selected().map(|item| item.label.clone());
        self.items = items;
        self.refilter();
        if let Some(chosen) = chosen
            && let Some(at) = self
                .matches
                .iter()
                .position(|m| self.items[m.item].label == chosen)
        {
            self.selected = at;
        }
    }

    pub fn query(&self) -> &str {
        &self.input.text
    }

    pub fn set_query(&mut self, query: &str) {
        self.input = LineInput::default();
        self.input.insert(query);
        self.refilter();
    }

    /// The labels in match order, best first.
    pub fn matched_labels(&self) -> Vec<&str> {
        self.matches
            .iter()
            .map(|m| self.items[m.item].label.as_str())
            .collect()
    }

    pub fn selected(&self) -> Option<&PickerItem> {
        self.matches.get(self.selected).map(|m| &self.items[m.item])
    }

    fn refilter(&mut self) {
        let pattern = Pattern::parse(&self.input.text, CaseMatching::Smart, Normalization::Smart);
        let mut buf = Vec::new();
        let mut matches: Vec<Match> = self
            .items
            .iter()
            .enumerate()
            .filter_map(|(item, candidate)| {
                let haystack = Utf32Str::new(&candidate.label, &mut buf);
                pattern
                    .score(haystack, &mut self.matcher)
                    .map(|score| Match { item, score })
            })
            .collect();
        if self.menu {
            matches.sort_by_key(|m| m.item);
        } else if self.ties_in_given_order {
            matches.sort_by(|a, b| b.score.cmp(&a.score).then(a.item.cmp(&b.item)));
        } else {
            // Best score first; among equals, shorter labels (then alphabetical) first.
            matches.sort_by(|a, b| {
                let (la, lb) = (&self.items[a.item].label, &self.items[b.item].label);
                b.score
                    .cmp(&a.score)
                    .then(la.len().cmp(&lb.len()))
                    .then(la.cmp(lb))
            });
        }
        self.matches = matches;
        self.selected = 0;
    }

    fn query_changed(&mut self, cx: &mut Context<'_>) {
        self.refilter();
        if let Some(asks) = self.asks {
            cx.commands
                .push(UiCommand::App(asks(self.input.text.clone())));
        }
    }

    fn move_selection(&mut self, delta: isize) {
        if self.matches.is_empty() {
            return;
        }
        let len = self.matches.len() as isize;
        self.selected = (self.selected as isize + delta).rem_euclid(len) as usize;
    }

    fn popup_area(&self, area: Rect) -> Rect {
        let width = (area.width * 3 / 4).max(40).min(area.width);
        let height = if self.menu {
            // Borders, the query line and the choices' rows.
            let rows: usize = (0..self.items.len())
                .map(|item| self.label_rows(item, Self::label_width(width)).len())
                .sum();
            (rows.max(1) as u16).saturating_add(3)
        } else {
            (area.height * 2 / 3).max(8)
        };
        centered(area, width, height)
    }

    /// Columns left for a label in a popup `width` wide: borders and the selection marker.
    fn label_width(width: u16) -> usize {
        usize::from(width.saturating_sub(4)).max(1)
    }

    /// The rows `item`'s label takes: a menu's choice is wrapped, so a long one (a warning
    /// of what it does) is read whole at any size; a list's is one row, cut at the edge.
    fn label_rows(&self, item: usize, width: usize) -> Vec<String> {
        let label = &self.items[item].label;
        if self.menu && label.width() > width {
            wrap(label, width)
        } else {
            vec![label.clone()]
        }
    }

    /// Match positions (char indices) in `label` for highlighting.
    fn match_indices(&self, label: &str) -> Vec<u32> {
        let pattern = Pattern::parse(&self.input.text, CaseMatching::Smart, Normalization::Smart);
        let mut buf = Vec::new();
        let mut indices = Vec::new();
        let mut matcher = Matcher::new(Config::DEFAULT.match_paths());
        pattern.indices(Utf32Str::new(label, &mut buf), &mut matcher, &mut indices);
        indices.sort_unstable();
        indices.dedup();
        indices
    }
}

impl Component for Picker {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = close_layer(self.id);
        match event {
            Event::Key(key) => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Esc => return EventResult::Consumed(Some(close)),
                    KeyCode::Char('c') if ctrl => return EventResult::Consumed(Some(close)),
                    KeyCode::Enter => {
                        if let Some(item) = self.selected() {
                            cx.commands.push(UiCommand::App(item.command.clone()));
                        }
                        return EventResult::Consumed(Some(close));
                    }
                    KeyCode::BackTab => self.move_selection(-1),
                    KeyCode::Tab => self.move_selection(1),
                    _ => match list_key(key) {
                        Some(delta) => self.move_selection(delta),
                        None => {
                            if self.input.handle_key(key) {
                                self.query_changed(cx);
                            }
                        }
                    },
                }
                EventResult::Consumed(None)
            }
            Event::Paste(text) => {
                self.input.insert(text);
                self.query_changed(cx);
                EventResult::Consumed(None)
            }
            // A popup is modal: nothing below it reacts to the mouse while it is open.
            Event::Mouse(_) => EventResult::Consumed(None),
            Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let popup = self.popup_area(area);
        let style = theme.get("ui.popup");
        Clear.render(popup, buf);
        let title = format!(
            " {} {}/{} ",
            self.title,
            self.matches.len(),
            self.items.len()
        );
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .title(title)
            .style(style);
        let inner = block.inner(popup);
        block.render(popup, buf);
        if inner.height < 2 || inner.width < 4 {
            return;
        }
        let prompt = format!("> {}", self.input.text);
        buf.set_stringn(inner.x, inner.y, &prompt, inner.width as usize, style);
        let rows = inner.height as usize - 1;
        if self.matches.is_empty() {
            let text = if self.items.is_empty() {
                self.empty_text.as_str()
            } else {
                "no match"
            };
            buf.set_stringn(
                inner.x + 1,
                inner.y + 1,
                text,
                inner.width as usize - 1,
                style.patch(theme.get("comment")),
            );
            return;
        }
        let label_width = Self::label_width(inner.width + 2);
        let choice_rows: Vec<Vec<String>> = self
            .matches
            .iter()
            .map(|found| self.label_rows(found.item, label_width))
            .collect();
        // The first choice shown: the selected one's last row stays on screen.
        let mut first = 0;
        while first < self.selected
            && choice_rows[first..=self.selected]
                .iter()
                .map(Vec::len)
                .sum::<usize>()
                > rows
        {
            first += 1;
        }
        let highlight = theme.get("ui.text.focus").add_modifier(Modifier::BOLD);
        let mut y = inner.y + 1;
        for (index, found) in self.matches.iter().enumerate().skip(first) {
            if y >= inner.bottom() {
                break;
            }
            let selected = index == self.selected;
            let row_style = if selected {
                style.patch(theme.get("ui.menu.selected"))
            } else {
                style
            };
            let marker = if selected { "▶ " } else { "  " };
            if choice_rows[index].len() > 1 {
                for (row, text) in choice_rows[index].iter().enumerate() {
                    if y >= inner.bottom() {
                        break;
                    }
                    buf.set_style(Rect::new(inner.x, y, inner.width, 1), row_style);
                    buf.set_stringn(
                        inner.x,
                        y,
                        if row == 0 { marker } else { "  " },
                        2,
                        row_style,
                    );
                    buf.set_stringn(inner.x + 2, y, text, label_width, row_style);
                    y += 1;
                }
                continue;
            }
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), row_style);
            let label = &self.items[found.item].label;
            let indices = self.match_indices(label);
            buf.set_stringn(inner.x, y, marker, 2, row_style);
            let mut x = inner.x + 2;
            let mut char_index = 0u32;
            for g in label.graphemes(true) {
                let width = g.width() as u16;
                if x + width > inner.right() {
                    break;
                }
                let mut cell_style = row_style;
                if indices.binary_search(&char_index).is_ok() {
                    cell_style = cell_style.patch(highlight);
                }
                buf.set_stringn(x, y, g, width as usize, cell_style);
                x += width;
                char_index += g.chars().count() as u32;
            }
            y += 1;
        }
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        let popup = self.popup_area(area);
        let x = popup.x + 1 + 2 + self.input.cursor_col() as u16;
        (x < popup.right().saturating_sub(1)).then(|| Position::new(x, popup.y + 1))
    }

    fn id(&self) -> &'static str {
        self.id
    }

    // Found again while open: the file list arriving, the host's symbols for the query.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Vec<String> {
        [
            "src/main.rs",
            "src/tui/editor.rs",
            "README.md",
            "src/tui/mod.rs",
            "docs/CONFIG.md",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn fuzzy_query_ranks_the_closest_paths_first() {
        let mut picker = Picker::files(&paths());
        assert_eq!(picker.matched_labels().len(), 5);
        picker.set_query("edrs");
        assert_eq!(picker.matched_labels(), vec!["src/tui/editor.rs"]);
        picker.set_query("mod");
        assert_eq!(picker.matched_labels()[0], "src/tui/mod.rs");
        picker.set_query("zzz");
        assert!(picker.matched_labels().is_empty());
        assert_eq!(picker.selected(), None);
    }

    #[test]
    fn a_list_arriving_while_open_is_matched_with_the_query_typed() {
        let mut picker = Picker::files(&[]);
        picker.set_query("conf");
        assert_eq!(picker.selected(), None);
        picker.set_files(&paths());
        assert_eq!(picker.query(), "conf");
        assert_eq!(picker.matched_labels(), vec!["docs/CONFIG.md"]);

        // The chosen file stays chosen when another appears above it.
        picker.set_query("rs");
        picker.move_selection(1);
        let chosen = picker.selected().unwrap().label.clone();
        let mut more = paths();
        more.push("a.rs".into());
        picker.set_files(&more);
        assert_eq!(picker.selected().unwrap().label, chosen);
    }

    #[test]
    fn enter_opens_the_selected_file_and_closes_the_picker() {
        let keymap = crate::tui::keymap::Keymap::load_from("default", None).unwrap();
        let mut compositor = crate::tui::compositor::Compositor::new();
        compositor.push(Box::new(Picker::files(&paths())));
        let mut commands = Vec::new();
        let mut cx = Context {
            commands: &mut commands,
            keymap: &keymap,
        };
        let key = |code| {
            Event::Key(ratatui::crossterm::event::KeyEvent::new(
                code,
                KeyModifiers::NONE,
            ))
        };
        for c in "conf".chars() {
            compositor.handle_event(&key(KeyCode::Char(c)), &mut cx);
        }
        compositor.handle_event(&key(KeyCode::Enter), &mut cx);
        assert!(compositor.is_empty());
        assert_eq!(
            commands,
            vec![UiCommand::App(AppCommand::Open("docs/CONFIG.md".into()))]
        );
    }

    /// A menu's long choice (a warning of what it does) is read whole at a small size,
    /// wrapped under its marker, and the selected choice stays in view.
    #[test]
    fn a_menu_wraps_a_long_choice_instead_of_cutting_it() {
        let keymap = crate::tui::keymap::Keymap::load_from("default", None).unwrap();
        let theme = crate::tui::theme::Theme::load_from(
            "default-dark",
            None,
            crate::tui::theme::ColorMode::TrueColor,
        )
        .unwrap();
        let warning = "Let them type in shared terminals (they run commands as you on this \
                       machine; hidden-file rules do not apply in a shell)";
        let item = |label: &str| PickerItem {
            label: label.into(),
            command: AppCommand::Follow(2),
        };
        let mut menu = Picker::menu("menu", "Bob", vec![item("Follow them"), item(warning)], "");
        menu.move_selection(1);
        let mut buf = Buffer::empty(Rect::new(0, 0, 44, 12));
        menu.render(
            buf.area,
            &mut buf,
            &RenderContext {
                theme: &theme,
                keymap: &keymap,
            },
        );
        let rows: Vec<String> = (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect();
        let shown: Vec<&str> = rows
            .iter()
            .map(|row| row.trim_matches(|c: char| c == '│' || c.is_whitespace()))
            .collect();
        let start = shown
            .iter()
            .position(|row| row.starts_with("▶ Let them type"))
            .unwrap_or_else(|| panic!("the warning's first row: {rows:#?}"));
        let words: Vec<&str> = shown[start..]
            .iter()
            .take_while(|row| !row.starts_with('╰'))
            .flat_map(|row| row.trim_start_matches('▶').split_whitespace())
            .collect();
        assert_eq!(words.join(" "), warning, "{rows:#?}");
    }
}
