//! vim's `:s/pattern/replacement/flags` over a range of lines, as one edit and one undo
//! step that goes through the session like any other edit.
//!
//! With the `c` flag each match is shown selected and waits for an answer (`y` replace,
//! `n` skip, `a` this and all the rest, `l` this one and stop, `q` or escape stop). Every
//! `y` is its own edit, so the others see it at once, but all of them together are still
//! one undo step. The place to search from and the end of the range are char positions
//! carried through every edit, ours and other people's, so a collaborator typing above
//! the match while you decide does not make the next answer replace the wrong text.

use std::ops::Range;

use regex::{Captures, Regex};

use super::*;
use crate::text::Assoc;

/// Which lines `:s` works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRange {
    /// No range: the cursor's line.
    Current,
    /// `%`: every line.
    All,
    /// `N,M` (from 1, as typed; `.` is the cursor's line and `$` the last).
    Lines(LineSpec, LineSpec),
}

/// One end of a line range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSpec {
    Number(usize),
    Current,
    Last,
}

/// A parsed `:s` command.
#[derive(Debug, Clone)]
pub struct SubstituteRequest {
    pub range: LineRange,
    pub pattern: Regex,
    /// As typed: `&` and `\0` are the match, `\1`..`\9` its groups, `\r` or `\n` a line
    /// break, `\t` a tab, `\&` and `\\` themselves.
    pub replacement: String,
    /// `g`: every match on a line, not only the first.
    pub global: bool,
    /// `c`: ask at each match.
    pub confirm: bool,
    /// How `replacement` names the match and its groups.
    pub syntax: ReplacementSyntax,
}

/// How a replacement refers to what it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacementSyntax {
    /// vim's: `&`, `\0`..`\9`, `\r`/`\n`, `\t`.
    Vim,
    /// Desktop editors' regex replace (VS Code, ripgrep): `$0`, `$1`, `${name}`, `$$`,
    /// and `\n`, `\t`, `\\`.
    Dollar,
    /// The text as typed (a find without regex).
    Literal,
}

impl SubstituteRequest {
    /// The replacement for one match.
    fn expand(&self, captures: &Captures<'_>, eol: &str) -> String {
        match self.syntax {
            ReplacementSyntax::Vim => expand(&self.replacement, captures, eol),
            ReplacementSyntax::Dollar => expand_dollar(&self.replacement, captures, eol),
            ReplacementSyntax::Literal => self.replacement.clone(),
        }
    }
}

impl PartialEq for SubstituteRequest {
    fn eq(&self, other: &Self) -> bool {
        self.range == other.range
            && self.pattern.as_str() == other.pattern.as_str()
            && self.replacement == other.replacement
            && self.global == other.global
            && self.confirm == other.confirm
            && self.syntax == other.syntax
    }
}

impl Eq for SubstituteRequest {}

/// The answer to `replace with …?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubstituteAnswer {
    Yes,
    No,
    All,
    Last,
    Quit,
}

impl SubstituteAnswer {
    /// The answer a key gives, as vim reads them (escape is `q`).
    pub fn from_key(c: char) -> Option<Self> {
        Some(match c {
            'y' => Self::Yes,
            'n' => Self::No,
            'a' => Self::All,
            'l' => Self::Last,
            'q' => Self::Quit,
            _ => return None,
        })
    }
}

/// A `:s///c` in progress. The current match is the editor's selection.
#[derive(Debug, Clone)]
pub(super) struct Confirming {
    request: SubstituteRequest,
    /// Where the range ends (the end of its last line), carried through edits.
    end: usize,
    replaced: usize,
    /// Lines a replacement was made on (their numbers when replaced; for the count).
    lines: std::collections::BTreeSet<usize>,
    /// Whether an edit of this command has started its undo step.
    recorded: bool,
}

impl Confirming {
    /// Someone else's edit: the range end moves with the text.
    pub(super) fn map(&mut self, operation: &Operation) {
        self.end = operation.transform_position(self.end, Assoc::After);
    }
}

/// The next match of `pattern` at or after `from` and before `end`, line by line (so `^`
/// and `$` are a line's start and end); the text is read one line at a time.
fn next_match(rope: &Rope, pattern: &Regex, from: usize, end: usize) -> Option<Range<usize>> {
    let len = rope.len_chars();
    let from = from.min(len);
    let mut line = rope.char_to_line(from);
    let last = rope.char_to_line(end.min(len));
    while line <= last {
        let start = rope.line_to_char(line);
        let text = line_content(rope, line).to_string();
        let offset = from.saturating_sub(start);
        let offset_byte = text
            .char_indices()
            .nth(offset)
            .map_or(text.len(), |(byte, _)| byte);
        if offset_byte <= text.len()
            && let Some(found) = pattern.find_at(&text, offset_byte)
        {
            let at = start + text[..found.start()].chars().count();
            let to = at + found.as_str().chars().count();
            if at <= end {
                return Some(at..to);
            }
            return None;
        }
        line += 1;
    }
    None
}

/// The replacement for one match, with vim's `&`, `\1`, `\r` and escapes.
fn expand(replacement: &str, captures: &Captures<'_>, eol: &str) -> String {
    let mut out = String::new();
    let mut chars = replacement.chars();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str(captures.get(0).map_or("", |m| m.as_str())),
            '\\' => match chars.next() {
                Some(digit @ '0'..='9') => {
                    let group = digit as usize - '0' as usize;
                    out.push_str(captures.get(group).map_or("", |m| m.as_str()));
                }
                Some('r' | 'n') => out.push_str(eol),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// The replacement for one match as VS Code reads it: `$1`..`$99` and `${name}` are
/// groups (a group the pattern lacks stays as typed), `$&` and `$0` the match, `$$` a
/// dollar; `\n` a line break, `\t` a tab, `\\` a backslash. (The regex crate's own
/// expansion would read `$1_x` as a group named `1_x`, which surprises everyone.)
fn expand_dollar(replacement: &str, captures: &Captures<'_>, eol: &str) -> String {
    let mut out = String::new();
    let mut rest = replacement;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' => {
                let escaped = rest.chars().next();
                match escaped {
                    Some('n' | 'r') => out.push_str(eol),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
                rest = &rest[escaped.map_or(0, char::len_utf8)..];
            }
            '$' => {
                let digits = rest
                    .char_indices()
                    .take_while(|(i, c)| *i < 2 && c.is_ascii_digit())
                    .count();
                if rest.starts_with('$') {
                    out.push('$');
                    rest = &rest[1..];
                } else if rest.starts_with('&') {
                    out.push_str(captures.get(0).map_or("", |m| m.as_str()));
                    rest = &rest[1..];
                } else if digits > 0 {
                    let group: usize = rest[..digits].parse().unwrap_or(usize::MAX);
                    match captures.get(group) {
                        Some(found) => out.push_str(found.as_str()),
                        None if group < captures.len() => {}
                        None => {
                            out.push('$');
                            out.push_str(&rest[..digits]);
                        }
                    }
                    rest = &rest[digits..];
                } else if let Some(braced) = rest.strip_prefix('{')
                    && let Some(close) = braced.find('}')
                {
                    let name = &braced[..close];
                    let group = match name.parse::<usize>() {
                        Ok(number) => captures.get(number),
                        Err(_) => captures.name(name),
                    };
                    out.push_str(group.map_or("", |m| m.as_str()));
                    rest = &braced[close + 1..];
                } else {
                    out.push('$');
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// What `range` covers: char positions of its first line's start and its last line's end.
fn resolve(range: LineRange, rope: &Rope, cursor_line: usize) -> Result<(usize, usize), String> {
    let last = commands::last_line(rope);
    let line_of = |spec: LineSpec| match spec {
        LineSpec::Number(n) => n.saturating_sub(1),
        LineSpec::Current => cursor_line,
        LineSpec::Last => last,
    };
    let (first, to) = match range {
        LineRange::Current => (cursor_line, cursor_line),
        LineRange::All => (0, last),
        LineRange::Lines(a, b) => (line_of(a), line_of(b)),
    };
    let (first, to) = (first.min(to), first.max(to));
    if to > last {
        return Err("E16: Invalid range".into());
    }
    Ok((rope.line_to_char(first), line_end(rope, to)))
}

fn summary(replaced: usize, lines: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} on {}",
        plural(replaced, "substitution"),
        plural(lines, "line")
    )
}

impl Editor {
    /// Runs `:s`. Without `c`, every replacement at once (one edit, one undo step); with
    /// `c`, selects the first match and waits for [`Editor::substitute_answer`].
    pub fn substitute(&mut self, request: SubstituteRequest, rope: &Rope) -> Outcome {
        let mut outcome = Outcome::default();
        self.end_typing_group();
        let cursor_line = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let (start, end) = match resolve(request.range, rope, cursor_line) {
            Ok(span) => span,
            Err(message) => {
                outcome.message = Some(message);
                return outcome;
            }
        };
        let not_found = || format!("E486: Pattern not found: {}", request.pattern.as_str());
        if request.confirm {
            match next_match(rope, &request.pattern, start, end) {
                Some(found) => {
                    self.select_match(rope, found);
                    self.substitute = Some(Confirming {
                        request,
                        end,
                        replaced: 0,
                        lines: Default::default(),
                        recorded: false,
                    });
                    outcome.navigated = true;
                }
                None => outcome.message = Some(not_found()),
            }
            return outcome;
        }
        let (edits, lines) = replacements(rope, &request, start, end);
        let Some((last_at, _)) = edits.last() else {
            outcome.message = Some(not_found());
            return outcome;
        };
        let last_line = rope.char_to_line(last_at.start);
        let count = edits.len();
        let landing = rope.line_to_char(last_line);
        let edits: Vec<(Range<usize>, &str)> = edits
            .iter()
            .map(|(range, text)| (range.clone(), text.as_str()))
            .collect();
        let Some(operation) = self.multi_edit(rope, edits) else {
            return outcome;
        };
        outcome.message = Some(summary(count, lines));
        outcome.navigated = true;
        if request.syntax != ReplacementSyntax::Vim {
            // Find and replace's "all" leaves the cursor and the view where they were
            // (mapped through the edit), as desktop editors do.
            outcome.operation = Some(operation);
            return outcome;
        }
        // vim leaves the cursor on the last line it changed.
        let landing = operation.transform_position(landing, Assoc::Before);
        self.selection = Selection::cursor(landing);
        let mut after = rope.clone();
        if operation.apply(&mut after).is_ok() {
            let line = after.char_to_line(landing.min(after.len_chars()));
            self.selection = Selection::cursor(first_non_blank(&after, line));
        }
        outcome.operation = Some(operation);
        outcome
    }

    /// Whether a `:s///c` waits for an answer.
    pub fn is_confirming_substitute(&self) -> bool {
        self.substitute.is_some()
    }

    /// The replacement text a `:s///c` asks about, for its prompt.
    pub fn substitute_replacement(&self) -> Option<&str> {
        self.substitute
            .as_ref()
            .map(|confirming| confirming.request.replacement.as_str())
    }

    /// The answer to the match a `:s///c` shows. Afterwards
    /// [`Editor::is_confirming_substitute`] says whether it asks again.
    pub fn substitute_answer(&mut self, answer: SubstituteAnswer, rope: &Rope) -> Outcome {
        let mut outcome = Outcome {
            navigated: true,
            ..Outcome::default()
        };
        let Some(mut state) = self.substitute.take() else {
            return outcome;
        };
        let pattern = state.request.pattern.clone();
        let current = self.selection.range();
        // The text under the selection may have changed (someone typed in it): answer
        // for what matches there now, or look again from there.
        let found = next_match(rope, &pattern, current.start, state.end);
        let exact = found.clone().filter(|found| found.start == current.start);
        let Some(found) = exact else {
            match found {
                Some(next) => {
                    self.select_match(rope, next);
                    self.substitute = Some(state);
                }
                None => self.finish_substitute(&state, rope, &mut outcome),
            }
            return outcome;
        };
        let replace_to = match answer {
            SubstituteAnswer::Quit => {
                self.finish_substitute(&state, rope, &mut outcome);
                return outcome;
            }
            SubstituteAnswer::No => None,
            SubstituteAnswer::Yes | SubstituteAnswer::Last => Some(found.end),
            // This match and every one after it in the range.
            SubstituteAnswer::All => Some(state.end),
        };
        let mut after = rope.clone();
        let mut next_from = if found.is_empty() {
            next_grapheme(rope, found.end)
        } else {
            found.end
        };
        if let Some(to) = replace_to {
            let edits = if to == found.end {
                replacement_at(rope, &state.request, found.start)
                    .into_iter()
                    .collect()
            } else {
                replacements(rope, &state.request, found.start, to).0
            };
            let edits: Vec<(Range<usize>, &str)> = edits
                .iter()
                .map(|(range, text)| (range.clone(), text.as_str()))
                .collect();
            for (range, _) in &edits {
                state.lines.insert(rope.char_to_line(range.start));
            }
            state.replaced += edits.len();
            if let Ok(operation) = Operation::from_edits(rope.len_chars(), edits) {
                // One undo step for the whole command, whatever happens in between.
                if !state.recorded {
                    self.end_undo_group();
                }
                self.record_undo(&operation, rope);
                state.recorded = true;
                self.scroll_anchor =
                    operation.transform_position(self.scroll_anchor, Assoc::Before);
                next_from = operation.transform_position(found.end, Assoc::After);
                state.end = operation.transform_position(state.end, Assoc::After);
                let _ = operation.apply(&mut after);
                self.selection = Selection::cursor(
                    operation
                        .transform_position(found.start, Assoc::Before)
                        .min(after.len_chars()),
                );
                outcome.operation = Some(operation);
            }
        }
        if !state.request.global {
            // One match per line: go on from the next line.
            let line = after.char_to_line(next_from.min(after.len_chars()));
            next_from = if line + 1 < after.len_lines() {
                after.line_to_char(line + 1)
            } else {
                after.len_chars() + 1
            };
        }
        let more = matches!(answer, SubstituteAnswer::Yes | SubstituteAnswer::No)
            && next_from <= after.len_chars();
        match more
            .then(|| next_match(&after, &pattern, next_from, state.end))
            .flatten()
        {
            Some(next) => {
                self.select_match(&after, next);
                self.substitute = Some(state);
            }
            None => self.finish_substitute(&state, &after, &mut outcome),
        }
        outcome
    }

    fn select_match(&mut self, rope: &Rope, found: Range<usize>) {
        self.selection = Selection {
            anchor: found.start,
            head: found.end.max(found.start),
        };
        self.desired_col = None;
        self.ensure_cursor_visible(rope);
    }

    fn finish_substitute(&mut self, state: &Confirming, rope: &Rope, outcome: &mut Outcome) {
        let head = self.selection.range().start.min(rope.len_chars());
        self.selection = Selection::cursor(head);
        self.end_undo_group();
        outcome.message = Some(if state.replaced == 0 {
            "no substitutions".into()
        } else {
            summary(state.replaced, state.lines.len())
        });
    }
}

/// The replacements `request` makes between `start` and `end` (char positions): the first
/// match of each line, or with `g` every one; with the number of lines they touch.
fn replacements(
    rope: &Rope,
    request: &SubstituteRequest,
    start: usize,
    end: usize,
) -> (Vec<(Range<usize>, String)>, usize) {
    let eol = line_break(rope);
    let mut edits = Vec::new();
    let mut lines = 0;
    let first = rope.char_to_line(start.min(rope.len_chars()));
    let last = rope.char_to_line(end.min(rope.len_chars()));
    for line in first..=last {
        let line_start = rope.line_to_char(line);
        let text = line_content(rope, line).to_string();
        let mut position = text
            .char_indices()
            .nth(start.saturating_sub(line_start))
            .map_or(text.len(), |(byte, _)| byte);
        let (mut chars_before, mut counted_to) = (0, 0);
        let mut on_line = 0;
        while let Some(captures) = request.pattern.captures_at(&text, position) {
            let whole = captures.get(0).expect("group 0 is the match");
            chars_before += text[counted_to..whole.start()].chars().count();
            counted_to = whole.start();
            let at = line_start + chars_before;
            if at > end {
                break;
            }
            let to = at + whole.as_str().chars().count();
            edits.push((at..to, request.expand(&captures, eol)));
            on_line += 1;
            if !request.global {
                break;
            }
            // An empty match moves on by one character, as vim does.
            position = if whole.is_empty() {
                match text[whole.end()..].chars().next() {
                    Some(c) => whole.end() + c.len_utf8(),
                    None => break,
                }
            } else {
                whole.end()
            };
        }
        if on_line > 0 {
            lines += 1;
        }
    }
    (edits, lines)
}

/// The replacement for the match of `pattern` that starts at `at`, if one does.
pub(super) fn replacement_at(
    rope: &Rope,
    request: &SubstituteRequest,
    at: usize,
) -> Option<(Range<usize>, String)> {
    let line = rope.char_to_line(at.min(rope.len_chars()));
    let line_start = rope.line_to_char(line);
    let text = line_content(rope, line).to_string();
    let byte = text
        .char_indices()
        .nth(at - line_start)
        .map_or(text.len(), |(byte, _)| byte);
    let captures = request.pattern.captures_at(&text, byte)?;
    let whole = captures.get(0)?;
    (whole.start() == byte).then(|| {
        let to = at + whole.as_str().chars().count();
        (at..to, request.expand(&captures, line_break(rope)))
    })
}
