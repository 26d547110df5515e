//! The workspace search panel: a query with regex / case / whole-word toggles and a file
//! glob field, results streaming in as the host finds them, a preview of the selected
//! match with the lines around it, and Enter to open the file there.
//!
//! With a replacement typed (tab to the `replace:` field; with the cursor there, an empty
//! one deletes the matches), each result shows its line as
//! it will read, grouped by file; alt-e leaves the selected match out (or back in), alt-f
//! its whole file, and alt-a (or alt-enter) asks the host to replace every match left in,
//! as shared edits (`Request::Replace`; the panel searches again afterwards).
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
use ropey::Rope;

use crate::protocol::search::{
    Exclusion, ReplaceRequest, SearchHit, SearchQuery, SearchSummary, build_matcher,
    line_replacements, replaced_line,
};
use crate::text::LineCol;
use crate::tui::compositor::{
    AppCommand, Callback, Component, Context, Event, EventResult, LineInput, RenderContext,
    UiCommand, close_layer,
};
use crate::tui::locations::{LocationRow, list_key, step};

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
    Replacement,
}

pub struct SearchPanel {
    query: LineInput,
    globs: LineInput,
    replacement: LineInput,
    /// Matches and files left out of the replace.
    excluded: std::collections::BTreeSet<Exclusion>,
    /// A replace was asked for and the host has not answered yet.
    replacing: bool,
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
            replacement: LineInput::default(),
            excluded: Default::default(),
            replacing: false,
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

    /// Whether the results preview a replace: a replacement is typed, or the replace
    /// field has the cursor (an empty replacement deletes the matches).
    pub fn replacing_mode(&self) -> bool {
        !self.replacement.text.is_empty() || self.focus == Field::Replacement
    }

    /// The replace to ask the host for: every match found, less those left out.
    pub fn replace_request(&self) -> Option<ReplaceRequest> {
        if !self.replacing_mode() {
            return None;
        }
        Some(ReplaceRequest {
            query: self.request()?,
            replacement: self.replacement.text.clone(),
            excluded: self.excluded.iter().cloned().collect(),
            dry_run: false,
            save: false,
        })
    }

    /// Whether `hit` is left out of the replace (itself, or its file).
    pub fn is_excluded(&self, hit: &SearchHit) -> bool {
        self.excluded
            .iter()
            .any(|excluded| excluded.covers(&hit.path, hit.line, hit.column))
    }

    /// The host answered the replace: `Ok` says what it did. The panel searches again
    /// (what is left to match) and is a search panel again: the replacement and the
    /// exclusions are cleared, so a second alt-a cannot replace what was left out (a
    /// left-out match's column may have moved with the replacements before it).
    pub fn replaced(&mut self, outcome: Result<String, String>, commands: &mut Vec<UiCommand>) {
        self.replacing = false;
        match outcome {
            Ok(said) => {
                self.excluded.clear();
                self.replacement = LineInput::default();
                self.focus = Field::Query;
                self.changed(commands);
                commands.push(UiCommand::Notice(said));
            }
            Err(message) => self.fail(message),
        }
    }

    /// Leaves the selected match (or with `file` its whole file) out of the replace, or
    /// takes it back in.
    fn toggle_excluded(&mut self, file: bool) {
        let Some(hit) = self.selected_hit() else {
            return;
        };
        let exclusion = if file {
            Exclusion::File {
                path: hit.path.clone(),
            }
        } else {
            Exclusion::Match {
                path: hit.path.clone(),
                line: hit.line,
                column: hit.column,
            }
        };
        if !self.excluded.remove(&exclusion) {
            self.excluded.insert(exclusion);
        }
    }

    /// `hit`'s line as the replace will leave it (every match in it that stays in).
    fn replaced_text(&self, hit: &SearchHit) -> Option<String> {
        let matcher = self.matcher.as_ref()?;
        let line = hit.text.as_bytes();
        let found = line_replacements(
            matcher,
            line,
            self.replacement.text.as_bytes(),
            !self.regex,
            |start| {
                !self
                    .excluded
                    .iter()
                    .any(|excluded| excluded.covers(&hit.path, hit.line, start as u64 + 1))
            },
        );
        Some(String::from_utf8_lossy(&replaced_line(line, &found)).into_owned())
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
        // A match left out was one of the old query's; a file left out stays out.
        self.excluded
            .retain(|excluded| matches!(excluded, Exclusion::File { .. }));
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

    /// A hit as a row of the replace preview: its line as it will read, `x` when left out.
    fn replace_row(&self, hit: &SearchHit) -> LocationRow {
        let mut row = self.location(hit);
        if self.is_excluded(hit) {
            row.mark = Some(('x', "comment"));
        } else if let Some(after) = self.replaced_text(hit) {
            row.text = after;
            row.highlight = None;
            row.mark = Some(('→', "info"));
        }
        row
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
                    KeyCode::Char('a') | KeyCode::Enter
                        if alt && self.replacing_mode() && !self.replacing =>
                    {
                        if let Some(request) = self.replace_request() {
                            self.replacing = true;
                            cx.commands
                                .push(UiCommand::App(AppCommand::WorkspaceReplace(request)));
                        }
                    }
                    KeyCode::Char('e') if alt && self.replacing_mode() => {
                        self.toggle_excluded(false)
                    }
                    KeyCode::Char('f') if alt && self.replacing_mode() => {
                        self.toggle_excluded(true)
                    }
                    KeyCode::Enter => {
                        let Some(hit) = self.selected_hit() else {
                            return EventResult::Consumed(None);
                        };
                        cx.commands.push(self.location(hit).go_to());
                        return EventResult::Consumed(close(searching, cx.commands));
                    }
                    KeyCode::Tab | KeyCode::BackTab => {
                        let forward = key.code == KeyCode::Tab;
                        self.focus = match (self.focus, forward) {
                            (Field::Query, true) | (Field::Replacement, false) => Field::Globs,
                            (Field::Globs, true) | (Field::Query, false) => Field::Replacement,
                            (Field::Replacement, true) | (Field::Globs, false) => Field::Query,
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
                                // The preview follows the replacement without a new search.
                                Field::Replacement => {
                                    self.replacement.handle_key(key);
                                    return EventResult::Consumed(None);
                                }
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
                    Field::Replacement => {
                        self.replacement.insert(text);
                        return EventResult::Consumed(None);
                    }
                }
                self.changed(cx.commands);
                EventResult::Consumed(None)
            }
            Event::Mouse(_) => EventResult::Consumed(None),
            Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        self.draw(area, buf, cx);
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
            Field::Replacement => (
                inner.x + 9 + self.replacement.cursor_col() as u16,
                inner.y + 2,
            ),
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

mod render;
#[cfg(test)]
mod tests;
