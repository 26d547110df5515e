//! What the host says about the code at the cursor, shown at the cursor: the hover popup,
//! the peek window (a definition's lines, read without opening its file) and the
//! completion menu, plus the notices every such question can end with.
//!
//! These are not compositor layers: each is tied to the cursor and the text under it (a
//! move or an edit closes a hover, typing filters the completions), so the app offers
//! them a key before anything else and tells them where the cursor went after every
//! event. Answers arrive later than the question; one asked where the cursor no longer
//! is, is dropped rather than shown somewhere it does not belong.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ropey::Rope;

use crate::protocol::message::{Completion, PeekView, Response, TextLocation};
use crate::text::LineCol;
use crate::text::position::{char_to_line_col, line_col_to_char};
use crate::tui::highlight::Language;
use crate::tui::keymap::Mode;
use crate::tui::markdown;
use crate::tui::status::{Level, Messages};
use crate::tui::theme::Theme;

mod render;
mod signature;

/// Typing pauses this long before completions are asked for, so a fast typist sends one
/// question per pause rather than one per key.
pub const COMPLETION_DELAY: Duration = Duration::from_millis(120);
/// The widest a hover gets, so prose stays readable.
const HOVER_WIDTH: u16 = 80;
const HOVER_HEIGHT: u16 = 16;
const PEEK_HEIGHT: u16 = 12;
const COMPLETION_ROWS: usize = 8;
const COMPLETION_WIDTH: usize = 60;

pub const SYNTACTIC_NOTICE: &str =
    "answered from syntax alone: the host has no language server for this file";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AskKind {
    Hover,
    Peek,
    Definition,
    Completion,
    /// Every use of the symbol; the answer goes to the references list, not a popup.
    References,
    /// Whether the symbol can be renamed and its name: the answer opens the rename prompt.
    PrepareRename,
    /// The server's code actions here: the answer opens their menu.
    CodeActions,
    /// A change made through the host's server (`IntelAsk::change` says which); the
    /// answer says what changed.
    Change,
    /// The file's outline: the answer opens a picker of its symbols.
    Symbols,
    /// The signature of the call being typed (`signature.rs`).
    SignatureHelp,
    /// The inlay hints of the lines from `at` on (`tui::inlay`).
    InlayHints,
    /// The file's semantic tokens (`tui::semantic`).
    SemanticTokens,
    /// Whether the cursor's line has quick fixes: the answer moves the lightbulb.
    LineActions,
}

/// What an `AskKind::Change` asks the host's language server to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeAsk {
    Rename(String),
    /// The code action with this title.
    ApplyAction(String),
    Format,
    /// Format the lines from one place to another (the selection).
    FormatSelection {
        from: LineCol,
        to: LineCol,
    },
}

/// A question about the code at a place, before the session adds the revision it is
/// asked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelAsk {
    pub kind: AskKind,
    pub path: String,
    /// The cursor when asked.
    pub at: LineCol,
    /// Asked with a key (so "nothing here" is worth saying), not by typing.
    pub explicit: bool,
    /// For `AskKind::Change`: what to change.
    pub change: Option<ChangeAsk>,
}

/// Where the cursor is now, for judging answers and placing popups.
#[derive(Clone, Copy)]
pub struct Here<'a> {
    pub path: &'a str,
    pub rope: &'a Rope,
    /// The cursor as a char index.
    pub cursor: usize,
    pub mode: Mode,
}

/// What a key did to the popups.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyOutcome {
    /// The key was for a popup; nothing else sees it.
    Consumed,
    /// Not a popup key: the editor handles it (hover and peek have closed).
    Pass,
    /// Open `path` with the cursor at the place (the peeked definition).
    GoTo(String, LineCol),
    /// Replace the word before the cursor ([`word_start`]..cursor) with this text: an
    /// accepted completion.
    Accept(String),
}

/// What an answer asks the app to do beyond showing a popup.
#[derive(Debug, PartialEq, Eq)]
pub enum Answered {
    Done,
    GoTo(String, LineCol),
    /// Several definitions: let the user choose.
    Choose(Vec<TextLocation>),
}

#[derive(Default)]
pub struct Popups {
    hover: Option<HoverPopup>,
    peek: Option<PeekPopup>,
    completion: Option<CompletionMenu>,
    /// Completions to ask for when typing pauses.
    due: Option<(Instant, IntelAsk)>,
    /// The last error shown for a question ("still indexing"), taken back when a later
    /// answer shows that it no longer holds.
    last_error: Option<String>,
    /// The call being typed, while signature help is up (or asked for).
    signature: Option<signature::SignatureHelp>,
    /// Signature help to ask for when typing pauses.
    signature_due: Option<(Instant, IntelAsk)>,
    /// Characters besides `(` and `,` after which the host's servers offer signatures.
    signature_triggers: Vec<char>,
}

struct HoverPopup {
    markdown: String,
    scroll: usize,
}

struct PeekPopup {
    views: Vec<PeekView>,
    current: usize,
    /// Lines scrolled from where the window starts (a third of it above the definition).
    scroll: isize,
}

struct CompletionMenu {
    path: String,
    line: usize,
    /// Where the word being completed starts (a char index); typing that starts another
    /// word (a space, a parenthesis) closes the menu.
    anchor: usize,
    items: Vec<Completion>,
    /// Indices into `items` that match what is typed, best first.
    shown: Vec<usize>,
    selected: usize,
}

impl Popups {
    pub fn is_open(&self) -> bool {
        self.hover.is_some()
            || self.peek.is_some()
            || self.completion.is_some()
            || self.signature().is_some()
    }

    pub fn close(&mut self) {
        self.hover = None;
        self.peek = None;
        self.completion = None;
        self.due = None;
        self.close_signature();
    }

    /// The completion labels shown, best first (for tests and the help of screen readers).
    pub fn completion_labels(&self) -> Vec<&str> {
        self.completion.as_ref().map_or_else(Vec::new, |menu| {
            menu.shown
                .iter()
                .map(|&item| menu.items[item].label.as_str())
                .collect()
        })
    }

    /// Offers a key to the open popup.
    pub fn handle_key(&mut self, key: &KeyEvent) -> KeyOutcome {
        let plain = (key.modifiers - KeyModifiers::SHIFT).is_empty();
        // Esc closes signature help and still leaves insert mode (vim).
        if key.code == KeyCode::Esc && self.completion.is_none() && self.close_signature() {
            return KeyOutcome::Pass;
        }
        if let Some(menu) = &mut self.completion {
            let len = menu.shown.len().max(1);
            match key.code {
                KeyCode::Up if plain => menu.selected = (menu.selected + len - 1) % len,
                KeyCode::Down if plain => menu.selected = (menu.selected + 1) % len,
                KeyCode::BackTab => menu.selected = (menu.selected + len - 1) % len,
                KeyCode::Esc => self.completion = None,
                KeyCode::Tab | KeyCode::Enter if plain => {
                    let chosen = menu
                        .shown
                        .get(menu.selected)
                        .map(|&item| menu.items[item].insert_text.clone());
                    self.completion = None;
                    if let Some(text) = chosen {
                        return KeyOutcome::Accept(text);
                    }
                }
                _ => return KeyOutcome::Pass,
            }
            return KeyOutcome::Consumed;
        }
        if let Some(hover) = &mut self.hover {
            match key.code {
                KeyCode::Esc => self.hover = None,
                KeyCode::Up if plain => hover.scroll = hover.scroll.saturating_sub(1),
                KeyCode::Down if plain => hover.scroll += 1,
                KeyCode::PageUp => hover.scroll = hover.scroll.saturating_sub(8),
                KeyCode::PageDown => hover.scroll += 8,
                _ => {
                    self.hover = None;
                    return KeyOutcome::Pass;
                }
            }
            return KeyOutcome::Consumed;
        }
        if let Some(peek) = &mut self.peek {
            match key.code {
                KeyCode::Esc => self.peek = None,
                KeyCode::Enter if plain => {
                    let location = peek.views[peek.current].location.clone();
                    self.peek = None;
                    if location.external {
                        return KeyOutcome::Consumed;
                    }
                    return KeyOutcome::GoTo(location.path, location.range.start);
                }
                KeyCode::Tab if plain => {
                    peek.current = (peek.current + 1) % peek.views.len();
                    peek.scroll = 0;
                }
                KeyCode::BackTab => {
                    peek.current = (peek.current + peek.views.len() - 1) % peek.views.len();
                    peek.scroll = 0;
                }
                KeyCode::Up if plain => peek.scroll -= 1,
                KeyCode::Down if plain => peek.scroll += 1,
                _ => {
                    self.peek = None;
                    return KeyOutcome::Pass;
                }
            }
            return KeyOutcome::Consumed;
        }
        KeyOutcome::Pass
    }

    /// After every event the editor handled: filters or closes the completions, and
    /// schedules new ones when an identifier character (or a `.`) was typed.
    pub fn after_input(&mut self, here: Option<Here<'_>>, typed: Option<char>, now: Instant) {
        let Some(here) = here else {
            self.close();
            return;
        };
        let cursor_at = char_to_line_col(here.rope, here.cursor);
        self.signature_after_input(here, typed, now);
        if let Some(menu) = &mut self.completion {
            if menu.path != here.path
                || menu.line != cursor_at.line
                || menu.anchor != word_start(here.rope, here.cursor)
                || here.mode != Mode::Insert
            {
                self.completion = None;
            } else {
                let prefix = prefix(here.rope, here.cursor);
                menu.filter(&prefix);
                if menu.shown.is_empty() {
                    self.completion = None;
                }
            }
        }
        if self
            .due
            .as_ref()
            .is_some_and(|(_, ask)| ask.path != here.path || ask.at.line != cursor_at.line)
        {
            self.due = None;
        }
        match typed {
            Some(c) if here.mode == Mode::Insert && (is_word_char(c) || c == '.') => {
                if self.completion.is_none() {
                    let ask = IntelAsk {
                        change: None,
                        kind: AskKind::Completion,
                        path: here.path.to_owned(),
                        at: cursor_at,
                        explicit: false,
                    };
                    self.due = Some((now + COMPLETION_DELAY, ask));
                }
            }
            Some(_) => self.due = None,
            None => {
                if self
                    .due
                    .as_ref()
                    .is_some_and(|(_, ask)| ask.at != cursor_at)
                {
                    self.due = None;
                }
            }
        }
    }

    /// When the pending completion question is due, if there is one.
    pub fn deadline(&self) -> Option<Instant> {
        [&self.due, &self.signature_due]
            .into_iter()
            .flatten()
            .map(|(at, _)| *at)
            .min()
    }

    /// The completion question whose time has come.
    pub fn due_ask(&mut self, now: Instant) -> Option<IntelAsk> {
        if self.due.as_ref().is_some_and(|(at, _)| *at <= now) {
            return self.due.take().map(|(_, ask)| ask);
        }
        if self
            .signature_due
            .as_ref()
            .is_some_and(|(at, _)| *at <= now)
        {
            return self.signature_due.take().map(|(_, ask)| ask);
        }
        None
    }

    /// Shows the host's answer to `ask`, if the cursor is still where it was asked.
    pub fn answer(
        &mut self,
        ask: &IntelAsk,
        response: Response,
        here: Option<Here<'_>>,
        messages: &mut Messages,
    ) -> Answered {
        let fresh = here.is_some_and(|here| here.path == ask.path && still_there(ask, here));
        tracing::debug!(?ask, fresh, ?response, "the host answered");
        if !matches!(response, Response::Error { .. })
            && let Some(outdated) = self.last_error.take()
        {
            messages.retract(&outdated);
        }
        if ask.kind == AskKind::SignatureHelp {
            self.signature_answer(ask, response, fresh);
            return Answered::Done;
        }
        match response {
            // Completions asked by typing were not the user's question: the reason they
            // have no answer (no language server for the file) is not worth a message.
            Response::Error { message } if !ask.explicit => {
                tracing::debug!(?ask, message, "an automatic question failed; not shown");
            }
            Response::Error { message } => {
                messages.push(Level::Warning, message.clone());
                self.last_error = Some(message);
            }
            Response::Nothing { reason } if ask.explicit => messages.push(Level::Info, reason),
            _ if !fresh => {}
            Response::Hover {
                markdown,
                syntactic,
            } => {
                syntactic_notice(syntactic, messages);
                self.peek = None;
                self.hover = Some(HoverPopup {
                    markdown,
                    scroll: 0,
                });
            }
            Response::Peek { views, syntactic } if !views.is_empty() => {
                syntactic_notice(syntactic, messages);
                self.hover = None;
                self.peek = Some(PeekPopup {
                    views,
                    current: 0,
                    scroll: 0,
                });
            }
            Response::Locations {
                locations,
                syntactic,
            } => {
                syntactic_notice(syntactic, messages);
                return go_to_definition(locations, messages);
            }
            Response::Completions(items) => {
                if let Some(here) = here {
                    self.show_completions(ask, items, here, messages);
                }
            }
            _ => {}
        }
        Answered::Done
    }

    /// Opens the completion menu with `items`, filtered by the word typed so far.
    fn show_completions(
        &mut self,
        ask: &IntelAsk,
        items: Vec<Completion>,
        here: Here<'_>,
        messages: &mut Messages,
    ) {
        if items.is_empty() {
            if ask.explicit {
                messages.push(Level::Info, "no completions here");
            }
            return;
        }
        let mut menu = CompletionMenu {
            path: ask.path.clone(),
            line: ask.at.line,
            anchor: word_start(here.rope, here.cursor),
            items,
            shown: Vec::new(),
            selected: 0,
        };
        menu.filter(&prefix(here.rope, here.cursor));
        self.completion = (!menu.shown.is_empty()).then_some(menu);
    }
}

impl CompletionMenu {
    /// Keeps the items `typed` matches (its chars in order, any case): those that start
    /// with it first, each group in the server's order.
    fn filter(&mut self, typed: &str) {
        let typed: Vec<char> = typed.chars().flat_map(char::to_lowercase).collect();
        let mut starts = Vec::new();
        let mut contains = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            let label: Vec<char> = item.label.chars().flat_map(char::to_lowercase).collect();
            if label.starts_with(&typed) {
                starts.push(index);
            } else if is_subsequence(&typed, &label) {
                contains.push(index);
            }
        }
        starts.extend(contains);
        let selected = self.shown.get(self.selected).copied();
        self.shown = starts;
        self.selected = selected
            .and_then(|item| self.shown.iter().position(|&shown| shown == item))
            .unwrap_or(0);
    }
}

/// Where a definition question leads: the one definition inside the shared folder, a
/// choice among several, or (when all are outside it) a message naming the first.
fn go_to_definition(locations: Vec<TextLocation>, messages: &mut Messages) -> Answered {
    let (outside, inside): (Vec<_>, Vec<_>) =
        locations.into_iter().partition(|place| place.external);
    match inside.as_slice() {
        [] => {
            if let Some(place) = outside.first() {
                messages.push(
                    Level::Info,
                    format!(
                        "defined in {} (line {}), outside the shared folder",
                        place.path,
                        place.range.start.line + 1
                    ),
                );
            }
            Answered::Done
        }
        [one] => Answered::GoTo(one.path.clone(), one.range.start),
        _ => Answered::Choose(inside),
    }
}

fn syntactic_notice(syntactic: bool, messages: &mut Messages) {
    if syntactic {
        messages.push(Level::Info, SYNTACTIC_NOTICE);
    }
}

/// Whether the cursor is still where `ask` was asked: at the same place, or for
/// completions, still typing the same word on the same line.
fn still_there(ask: &IntelAsk, here: Here<'_>) -> bool {
    let now = char_to_line_col(here.rope, here.cursor);
    if ask.kind != AskKind::Completion {
        return now == ask.at;
    }
    let asked = line_col_to_char(here.rope, ask.at);
    now.line == ask.at.line
        && here.cursor >= asked
        && word_start(here.rope, here.cursor) == word_start(here.rope, asked)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The start of the identifier that ends at `cursor` (the cursor itself if none does).
pub fn word_start(rope: &Rope, cursor: usize) -> usize {
    let cursor = cursor.min(rope.len_chars());
    let mut start = cursor;
    while start > 0 && is_word_char(rope.char(start - 1)) {
        start -= 1;
    }
    start
}

fn prefix(rope: &Rope, cursor: usize) -> String {
    let cursor = cursor.min(rope.len_chars());
    rope.slice(word_start(rope, cursor)..cursor).to_string()
}

fn is_subsequence(needle: &[char], haystack: &[char]) -> bool {
    let mut rest = haystack.iter();
    needle.iter().all(|c| rest.any(|h| h == c))
}

#[cfg(test)]
mod tests;
