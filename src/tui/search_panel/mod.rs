//! The workspace search panel: a query with regex / case / whole-word toggles and a file
//! glob field, results streaming in as the host finds them, a preview of the selected
//! match with the lines around it, and Enter to open the file there.
//!
//! Every change to the query starts a new search; the loop cancels the one before, so a
//! fast typist never has stale searches running on the host. Results are kept sorted by
//! (path, line, column) as batches arrive in any order, and the selection stays on the
//! same match while new ones are inserted around it.

use grep_matcher::Matcher;
use grep_regex::RegexMatcher;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ropey::Rope;

use crate::protocol::search::{SearchHit, SearchQuery, SearchSummary, build_matcher};
use crate::text::LineCol;
use crate::text::position::line_content_chars;
use crate::tui::compositor::{
    AppCommand, Callback, Component, Context, Event, EventResult, LineInput, RenderContext,
    UiCommand, centered, close_layer,
};
use crate::tui::locations::{LocationRow, draw_list_row, draw_popup_frame, list_key, step};

/// Lines shown above the match in the preview.
const PREVIEW_ABOVE: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchState {
    /// Nothing asked yet (empty query).
    Idle,
    Searching,
    Done(SearchSummary),
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Query,
    Globs,
}

pub struct SearchPanel {
    query: LineInput,
    globs: LineInput,
    focus: Field,
    regex: bool,
    match_case: bool,
    whole_word: bool,
    hits: Vec<SearchHit>,
    selected: usize,
    /// The user moved the selection: it stays on its match as results arrive. Until then
    /// it stays on the first result, the best place to start reading.
    picked: bool,
    state: SearchState,
    /// The host's own matcher for this query: it finds each hit's extent to highlight.
    matcher: Option<RegexMatcher>,
    /// The text of one file for the preview, and which file was last asked for.
    preview: Option<(String, Rope)>,
    asked_preview: Option<String>,
}

impl Default for SearchPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl SearchPanel {
    pub const ID: &'static str = "search-panel";

    pub fn new() -> Self {
        Self {
            query: LineInput::default(),
            globs: LineInput::default(),
            focus: Field::Query,
            regex: true,
            match_case: false,
            whole_word: false,
            hits: Vec::new(),
            selected: 0,
            picked: false,
            state: SearchState::Idle,
            matcher: None,
            preview: None,
            asked_preview: None,
        }
    }

    /// What the host is asked for; `None` while the query is empty.
    pub fn request(&self) -> Option<SearchQuery> {
        if self.query.text.is_empty() {
            return None;
        }
        Some(SearchQuery {
            pattern: self.query.text.clone(),
            fixed_strings: !self.regex,
            ignore_case: !self.match_case,
            whole_word: self.whole_word,
            globs: self
                .globs
                .text
                .split([' ', ','])
                .filter(|glob| !glob.is_empty())
                .map(str::to_owned)
                .collect(),
            // The host's default cap (10,000).
            max_matches: 0,
        })
    }

    pub fn state(&self) -> &SearchState {
        &self.state
    }

    pub fn hits(&self) -> &[SearchHit] {
        &self.hits
    }

    pub fn selected_hit(&self) -> Option<&SearchHit> {
        self.hits.get(self.selected)
    }

    /// A batch arrived from the host.
    pub fn add_results(&mut self, batch: Vec<SearchHit>, cx: &mut Vec<UiCommand>) {
        let keep = self
            .selected_hit()
            .map(|hit| (hit.path.clone(), hit.line, hit.column));
        self.hits.extend(batch);
        self.hits.sort_by(|a, b| hit_key(a).cmp(&hit_key(b)));
        self.selected = keep
            .filter(|_| self.picked)
            .and_then(|(path, line, column)| {
                self.hits
                    .iter()
                    .position(|hit| hit_key(hit) == (path.as_str(), line, column))
            })
            .unwrap_or(0);
        self.want_preview(cx);
    }

    /// The search ended (the last response).
    pub fn finish(&mut self, summary: SearchSummary) {
        self.state = SearchState::Done(summary);
    }

    pub fn fail(&mut self, message: String) {
        self.state = SearchState::Failed(message);
    }

    /// The text of `path` for the preview (the open document, or what the host read).
    pub fn set_preview(&mut self, path: &str, text: Rope) {
        self.preview = Some((path.to_owned(), text));
    }

    /// The search must be asked again (the connection dropped): forgets what it found and
    /// returns the request, if there is a query.
    pub fn restart(&mut self) -> Option<SearchQuery> {
        self.hits.clear();
        self.selected = 0;
        self.picked = false;
        self.asked_preview = None;
        let request = self.request()?;
        self.state = SearchState::Searching;
        Some(request)
    }

    /// The query, toggles or globs changed: start over.
    fn changed(&mut self, commands: &mut Vec<UiCommand>) {
        self.hits.clear();
        self.selected = 0;
        self.picked = false;
        match self.request() {
            Some(request) => {
                self.matcher = build_matcher(&request).ok();
                self.state = SearchState::Searching;
                commands.push(UiCommand::App(AppCommand::WorkspaceSearch(request)));
            }
            None => {
                self.matcher = None;
                if self.state == SearchState::Searching {
                    commands.push(UiCommand::App(AppCommand::CancelSearch));
                }
                self.state = SearchState::Idle;
            }
        }
    }

    /// Asks for the selected hit's file, unless it is the one already shown or asked.
    fn want_preview(&mut self, commands: &mut Vec<UiCommand>) {
        let Some(path) = self.selected_hit().map(|hit| hit.path.clone()) else {
            return;
        };
        let shown = self.preview.as_ref().is_some_and(|(at, _)| *at == path);
        if !shown && self.asked_preview.as_deref() != Some(&path) {
            self.asked_preview = Some(path.clone());
            commands.push(UiCommand::App(AppCommand::SearchPreview(path)));
        }
    }

    /// A hit as a list row, its match highlighted.
    pub fn location(&self, hit: &SearchHit) -> LocationRow {
        let start_byte = floor_char_boundary(&hit.text, hit.column.saturating_sub(1) as usize);
        let start = hit.text[..start_byte].chars().count();
        let end_byte = self
            .matcher
            .as_ref()
            .and_then(|matcher| matcher.find_at(hit.text.as_bytes(), start_byte).ok()?)
            .filter(|found| found.start() == start_byte)
            .map_or(start_byte, |found| {
                floor_char_boundary(&hit.text, found.end())
            });
        let len = hit.text[start_byte..end_byte].chars().count().max(1);
        LocationRow {
            path: hit.path.clone(),
            position: LineCol {
                line: hit.line.saturating_sub(1) as usize,
                col: start,
            },
            text: hit.text.clone(),
            highlight: Some(start..start + len),
            mark: None,
        }
    }

    fn status(&self) -> (String, &'static str) {
        let files = {
            let mut paths: Vec<&str> = self.hits.iter().map(|hit| hit.path.as_str()).collect();
            paths.dedup();
            paths.len()
        };
        let found = format!(
            "{} match{} in {files} file{}",
            self.hits.len(),
            if self.hits.len() == 1 { "" } else { "es" },
            if files == 1 { "" } else { "s" },
        );
        match &self.state {
            SearchState::Idle => ("type to search all shared files".into(), "comment"),
            SearchState::Searching => (format!("{found}; searching…"), "comment"),
            SearchState::Done(summary) => match summary.notice() {
                Some(notice) => (notice, "warning"),
                None => (
                    format!("{found} ({} searched)", summary.files_searched),
                    "comment",
                ),
            },
            SearchState::Failed(message) => (message.replace('\n', " "), "error"),
        }
    }

    /// The toggles' row up to the glob field.
    fn toggles(&self) -> String {
        let toggle = |on: bool| if on { "[x]" } else { "[ ]" };
        format!(
            "{} regex alt-r  {} case alt-c  {} word alt-w  files (tab): ",
            toggle(self.regex),
            toggle(self.match_case),
            toggle(self.whole_word),
        )
    }

    fn popup_area(area: Rect) -> Rect {
        let width = (area.width * 9 / 10).max(60);
        let height = (area.height * 9 / 10).max(14);
        centered(area, width, height)
    }

    /// The preview's lines: from the file's text if we have it, else the hits' own lines.
    fn preview_lines(&self, hit: &SearchHit, rows: usize) -> Vec<(usize, String)> {
        let target = hit.line.saturating_sub(1) as usize;
        let first = target.saturating_sub(PREVIEW_ABOVE);
        if let Some((_, rope)) = self.preview.as_ref().filter(|(at, _)| *at == hit.path)
            && target < rope.len_lines()
        {
            return (first..(first + rows).min(rope.len_lines()))
                .map(|line| {
                    let text: String = rope
                        .line(line)
                        .chars()
                        .take(line_content_chars(rope, line))
                        .collect();
                    (line, text)
                })
                .collect();
        }
        // The file has not arrived (or is too large to read whole): its matching lines.
        let mut lines: Vec<(usize, String)> = self
            .hits
            .iter()
            .filter(|other| other.path == hit.path)
            .map(|other| (other.line.saturating_sub(1) as usize, other.text.clone()))
            .filter(|(line, _)| (first..first + rows).contains(line))
            .collect();
        lines.dedup_by_key(|(line, _)| *line);
        lines
    }
}

fn hit_key(hit: &SearchHit) -> (&str, u64, u64) {
    (hit.path.as_str(), hit.line, hit.column)
}

fn floor_char_boundary(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

impl Component for SearchPanel {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = |searching: bool, commands: &mut Vec<UiCommand>| -> Option<Callback> {
            if searching {
                commands.push(UiCommand::App(AppCommand::CancelSearch));
            }
            Some(close_layer(SearchPanel::ID))
        };
        let searching = self.state == SearchState::Searching;
        match event {
            Event::Key(key) => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                let alt = key.modifiers.contains(KeyModifiers::ALT);
                match key.code {
                    KeyCode::Esc => return EventResult::Consumed(close(searching, cx.commands)),
                    KeyCode::Char('c') if ctrl => {
                        return EventResult::Consumed(close(searching, cx.commands));
                    }
                    KeyCode::Enter => {
                        let Some(hit) = self.selected_hit() else {
                            return EventResult::Consumed(None);
                        };
                        cx.commands.push(self.location(hit).go_to());
                        return EventResult::Consumed(close(searching, cx.commands));
                    }
                    KeyCode::Tab | KeyCode::BackTab => {
                        self.focus = match self.focus {
                            Field::Query => Field::Globs,
                            Field::Globs => Field::Query,
                        };
                    }
                    KeyCode::Char('r') if alt => {
                        self.regex = !self.regex;
                        self.changed(cx.commands);
                    }
                    KeyCode::Char('c') if alt => {
                        self.match_case = !self.match_case;
                        self.changed(cx.commands);
                    }
                    KeyCode::Char('w') if alt => {
                        self.whole_word = !self.whole_word;
                        self.changed(cx.commands);
                    }
                    KeyCode::Home if ctrl => {
                        self.selected = 0;
                        self.picked = true;
                    }
                    KeyCode::End if ctrl => {
                        self.selected = self.hits.len().saturating_sub(1);
                        self.picked = true;
                    }
                    _ => {
                        if let Some(delta) = list_key(key) {
                            self.selected = step(self.selected, delta, self.hits.len());
                            self.picked = true;
                        } else {
                            let input = match self.focus {
                                Field::Query => &mut self.query,
                                Field::Globs => &mut self.globs,
                            };
                            let before = input.text.clone();
                            input.handle_key(key);
                            if input.text != before {
                                self.changed(cx.commands);
                            }
                        }
                    }
                }
                self.want_preview(cx.commands);
                EventResult::Consumed(None)
            }
            Event::Paste(text) => {
                match self.focus {
                    Field::Query => self.query.insert(text),
                    Field::Globs => self.globs.insert(text),
                }
                self.changed(cx.commands);
                EventResult::Consumed(None)
            }
            Event::Mouse(_) => EventResult::Consumed(None),
            Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let style = theme.get("ui.popup");
        let inner = draw_popup_frame(Self::popup_area(area), buf, " Search all files ", style);
        if inner.height < 6 || inner.width < 20 {
            return;
        }
        let width = inner.width as usize;
        let dim = style.patch(theme.get("comment"));
        let (x, mut y) = (inner.x, inner.y);

        buf.set_stringn(x, y, "search: ", width, dim);
        buf.set_stringn(x + 8, y, &self.query.text, width - 8, style);
        y += 1;
        let (after, _) = buf.set_stringn(x, y, self.toggles(), width, dim);
        buf.set_stringn(
            after,
            y,
            &self.globs.text,
            inner.right().saturating_sub(after) as usize,
            style,
        );
        y += 1;
        let (status, scope) = self.status();
        buf.set_stringn(x, y, &status, width, style.patch(theme.get(scope)));
        y += 1;

        let rest = inner.bottom() - y;
        let list_rows = (rest / 2).max(1) as usize;
        let first = self.selected.saturating_sub(list_rows.saturating_sub(1));
        for (index, hit) in self.hits.iter().enumerate().skip(first).take(list_rows) {
            let row = Rect::new(x, y + (index - first) as u16, inner.width, 1);
            let selected = index == self.selected;
            draw_list_row(buf, row, &self.location(hit), selected, style, theme);
        }
        y += list_rows as u16;
        let Some(hit) = self.selected_hit() else {
            return;
        };
        if y >= inner.bottom() {
            return;
        }
        let title = format!(" {}:{} ", hit.path, hit.line);
        let rule = format!("──{title}{}", "─".repeat(width));
        buf.set_stringn(x, y, &rule, width, dim);
        y += 1;
        let rows = (inner.bottom() - y) as usize;
        let target = hit.line.saturating_sub(1) as usize;
        let location = self.location(hit);
        for (row, (line, text)) in self.preview_lines(hit, rows).into_iter().enumerate() {
            let row_y = y + row as u16;
            if row_y >= inner.bottom() {
                break;
            }
            let row_style = if line == target {
                style.patch(theme.get("ui.selection"))
            } else {
                style
            };
            buf.set_style(Rect::new(x, row_y, inner.width, 1), row_style);
            let number = format!("{:>5} ", line + 1);
            buf.set_stringn(
                x,
                row_y,
                &number,
                6,
                row_style.patch(theme.get("ui.linenr")),
            );
            let shown = LocationRow {
                path: String::new(),
                position: location.position,
                text,
                highlight: (line == target)
                    .then(|| location.highlight.clone())
                    .flatten(),
                mark: None,
            };
            draw_text(buf, (x + 6, row_y, inner.right()), &shown, row_style, theme);
        }
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        let inner = Self::popup_area(area).inner(ratatui::layout::Margin::new(1, 1));
        let (x, y) = match self.focus {
            Field::Query => (inner.x + 8 + self.query.cursor_col() as u16, inner.y),
            Field::Globs => {
                let label = unicode_width::UnicodeWidthStr::width(self.toggles().as_str());
                (
                    inner.x + (label + self.globs.cursor_col()) as u16,
                    inner.y + 1,
                )
            }
        };
        (x < inner.right()).then_some(Position::new(x, y))
    }

    fn id(&self) -> &'static str {
        Self::ID
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// A preview line: the text as it is (indentation kept), the match highlighted.
fn draw_text(
    buf: &mut Buffer,
    (x, y, right): (u16, u16, u16),
    line: &LocationRow,
    row_style: Style,
    theme: &crate::tui::theme::Theme,
) {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    let highlight = line.highlight.clone().unwrap_or(0..0);
    let match_style = row_style.patch(theme.get("ui.text.match"));
    let (mut x, mut index) = (x, 0usize);
    for g in line.text.graphemes(true) {
        let (shown, width) = if g == "\t" {
            ("    ", 4)
        } else if g.chars().all(char::is_control) {
            (" ", 1)
        } else {
            (g, g.width() as u16)
        };
        if x + width > right {
            break;
        }
        let style = if highlight.contains(&index) {
            match_style
        } else {
            row_style
        };
        buf.set_stringn(x, y, shown, width as usize, style);
        x += width;
        index += g.chars().count();
    }
}

#[cfg(test)]
mod tests;
