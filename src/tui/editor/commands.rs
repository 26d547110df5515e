//! Normal-mode commands with counts and operators, as the keymap's grammar hands them
//! over (`3j`, `4G`, `3x`, `d2w`, `ciw`, `yy`).
//!
//! A count repeats a motion. An operator turns its motion into a span of text, as vim
//! does: `w`, `b`, `h`, `l`, `0`, `^` are exclusive, `e` and `$` take the last character,
//! `j`, `k`, `G`, `gg` and the operator twice take whole lines. The span is deleted,
//! changed or copied as one edit and one undo step (a change and the text typed after it
//! are one step, as in vim), and what it covered goes to the register paste reads and to
//! the system clipboard, as cut and copy do. `.` repeats the last such change
//! ([`LastChange`]).

use std::ops::Range;

use super::*;
use crate::tui::keymap::{Command, Operator};

/// The text an operator acts on.
struct Span {
    range: Range<usize>,
    /// Whole lines (`dd`, `dj`): copied with a line break, pasted as lines.
    lines: Option<(usize, usize)>,
}

impl Editor {
    pub(super) fn command(&mut self, command: Command, rope: &Rope, outcome: &mut Outcome) {
        match command.operator {
            None => self.repeat(command, rope, outcome),
            Some(operator) => self.operate(operator, command, rope, outcome),
        }
    }

    /// A counted motion (or `x`/`X`).
    fn repeat(&mut self, command: Command, rope: &Rope, outcome: &mut Outcome) {
        use Action as A;
        let n = command.times();
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        let place = |editor: &mut Self, at: usize, outcome: &mut Outcome| {
            editor.selection = Selection::cursor(at);
            editor.desired_col = None;
            outcome.navigated = true;
        };
        match command.action {
            A::FindChar | A::FindCharBackward | A::TillChar | A::TillCharBackward => {
                let Some(target) = command.argument else {
                    return;
                };
                self.last_char_find = Some((command.action, target));
                let forward = matches!(command.action, A::FindChar | A::TillChar);
                let till = matches!(command.action, A::TillChar | A::TillCharBackward);
                if let Some(at) =
                    super::motions::find_on_line(rope, head, target, forward, till, n, false)
                {
                    place(self, at, outcome);
                }
            }
            A::RepeatCharFind | A::RepeatCharFindReverse => {
                let reverse = command.action == A::RepeatCharFindReverse;
                if let Some(at) = self.repeat_char_find(rope, head, reverse, n) {
                    place(self, at, outcome);
                }
            }
            A::ReplaceChar => {
                if let Some(with) = command.argument {
                    outcome.operation = self.replace_chars(rope, with, n);
                }
            }
            // `3J` joins three lines (`J` two).
            A::JoinLines => outcome.operation = self.join_lines(rope, n),
            A::ToggleCase => outcome.operation = self.toggle_case(rope, n),
            A::InsertTab | A::Dedent if self.mode == Mode::Normal => {
                outcome.operation = self.shift_lines(rope, n, command.action == A::InsertTab)
            }
            // `50%`: the line that far into the file.
            A::MatchBracket if command.count.is_some() => {
                let lines = last_line(rope) + 1;
                let target = (n.min(100) * lines).div_ceil(100).max(1) - 1;
                place(self, first_non_blank(rope, target), outcome);
            }
            // `4G` and `4gg` go to line 4, as `G` and `gg` without a count go to the ends.
            A::MoveFileStart | A::MoveFileEnd if command.count.is_some() => {
                let target = (n - 1).min(last_line(rope));
                place(self, first_non_blank(rope, target), outcome);
            }
            // `3$`: the end of the line two below.
            A::MoveLineEnd => {
                let target = (line + n - 1).min(last_line(rope).max(line));
                place(self, line_end(rope, target), outcome);
            }
            // `3x` and `3X` stay on the line, as in vim; one step is the plain key.
            A::DeleteForward | A::DeleteBackward if n > 1 && self.selection.is_empty() => {
                let range = if command.action == A::DeleteForward {
                    head..step(n, head, |at| {
                        next_grapheme(rope, at).min(line_end(rope, line))
                    })
                } else {
                    step(n, head, |at| prev_grapheme(rope, at).max(line_start))..head
                };
                if range.is_empty() {
                    self.action(command.action, rope, outcome);
                } else {
                    self.keep_deleted(rope, range.clone());
                    outcome.operation = self.edit(rope, range.clone(), "", range.start);
                }
            }
            // `3p`: the register three times, as one edit.
            A::Paste | A::PasteBefore if n > 1 => {
                let register = self.register.get();
                self.register.set(Register {
                    text: register.text.repeat(n),
                    linewise: register.linewise,
                });
                self.action(command.action, rope, outcome);
                self.register.set(register);
            }
            // `3u`: three of your changes undone, as one edit (each computed on the text
            // the one before left).
            A::Undo | A::Redo if n > 1 => {
                let mut text = rope.clone();
                let mut combined: Option<crate::text::Operation> = None;
                for _ in 0..n {
                    let mut step = Outcome::default();
                    self.action(command.action, &text, &mut step);
                    let Some(revert) = step.operation else {
                        outcome.message = step.message;
                        break;
                    };
                    if revert.apply(&mut text).is_err() {
                        break;
                    }
                    combined = match combined {
                        None => Some(revert),
                        Some(earlier) => earlier.compose(&revert).ok(),
                    };
                }
                if combined.is_some() {
                    outcome.message = None;
                }
                outcome.operation = combined;
            }
            action => {
                for _ in 0..n {
                    let before = self.selection;
                    self.action(action, rope, outcome);
                    // An edit must reach the document before the next one is computed; a
                    // motion that stopped (at the end of the file) stays stopped.
                    if outcome.operation.is_some() || outcome.ignored || self.selection == before {
                        break;
                    }
                }
            }
        }
    }

    fn operate(
        &mut self,
        operator: Operator,
        command: Command,
        rope: &Rope,
        outcome: &mut Outcome,
    ) {
        self.desired_col = None;
        if let Some(target) = command.argument
            && matches!(
                command.action,
                Action::FindChar
                    | Action::FindCharBackward
                    | Action::TillChar
                    | Action::TillCharBackward
            )
        {
            self.last_char_find = Some((command.action, target));
        }
        let Some(Span { range, lines }) = self.span(operator, command, rope) else {
            if operator == Operator::Change {
                self.mode = Mode::Insert;
            }
            return;
        };
        let (text, cursor) = match lines {
            Some((first, last)) => {
                let text = format!(
                    "{}\n",
                    rope.slice(rope.line_to_char(first)..line_end(rope, last))
                );
                // After whole lines go, the cursor lands on the first non-blank of the line
                // that takes their place.
                let cursor = if last < last_line(rope) {
                    range.start + first_non_blank(rope, last + 1) - rope.line_to_char(last + 1)
                } else if first > 0 {
                    first_non_blank(rope, first - 1)
                } else {
                    0
                };
                (text, cursor)
            }
            None => (rope.slice(range.clone()).to_string(), range.start),
        };
        self.register.set(Register {
            text: text.clone(),
            linewise: lines.is_some(),
        });
        outcome.copied = Some(text);
        let before = self.selection;
        match operator {
            Operator::Yank => {
                if lines.is_none() {
                    self.selection = Selection::cursor(range.start);
                }
            }
            Operator::Delete => {
                let Ok(operation) = Operation::replace(rope.len_chars(), range, "") else {
                    return;
                };
                self.record(rope, &operation, before, false);
                self.selection = Selection::cursor(cursor.min(operation.target_len()));
                outcome.operation = Some(operation);
            }
            Operator::Change => {
                // Whole lines keep their indentation and one empty line to type on.
                let range = match lines {
                    Some((first, last)) => first_non_blank(rope, first)..line_end(rope, last),
                    None => range,
                };
                self.mode = Mode::Insert;
                self.selection = Selection::cursor(range.start);
                if range.is_empty() {
                    return;
                }
                let Ok(operation) = Operation::replace(rope.len_chars(), range, "") else {
                    return;
                };
                // Recorded as typing, so what is typed next joins this undo step.
                self.record(rope, &operation, before, true);
                outcome.operation = Some(operation);
            }
        }
    }

    /// What `command`'s motion covers from the cursor; `None` when nothing.
    fn span(&self, operator: Operator, command: Command, rope: &Rope) -> Option<Span> {
        use Action as A;
        let n = command.times();
        let len = rope.len_chars();
        let head = self.selection.head.min(len);
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        let chars =
            |range: Range<usize>| (!range.is_empty()).then_some(Span { range, lines: None });
        let lines = |a: usize, b: usize| {
            let (first, last) = (a.min(b), a.max(b));
            Some(Span {
                range: lines_range(rope, first, last),
                lines: Some((first, last)),
            })
        };
        let on_blank = head >= len || char_class(rope.char(head)) == 0;
        match command.action {
            action if action == operator.action() => {
                lines(line, (line + n - 1).min(last_line(rope).max(line)))
            }
            A::MoveLeft => chars(step(n, head, |at| prev_grapheme(rope, at).max(line_start))..head),
            A::MoveRight => chars(
                head..step(n, head, |at| {
                    next_grapheme(rope, at).min(line_end(rope, line))
                }),
            ),
            // `cw` on a word changes to its end and leaves the space after it (vim's `ce`).
            A::MoveWordRight if operator == Operator::Change && !on_blank => {
                let mut end = head;
                for i in 0..n {
                    let run_ends_here = end + 1 >= len
                        || char_class(rope.char(end + 1)) != char_class(rope.char(end));
                    if i > 0 || !run_ends_here {
                        end = word_end(rope, end);
                    }
                }
                chars(head..next_grapheme(rope, end))
            }
            A::MoveWordRight => {
                let mut from = head;
                let mut to = head;
                for _ in 0..n {
                    from = to;
                    to = word_right(rope, to);
                }
                // The last word of a line ends the span there: `dw` never joins lines.
                let from_line = rope.char_to_line(from);
                if to > from && rope.char_to_line(to) > from_line {
                    to = line_end(rope, from_line).max(from);
                }
                chars(head..to)
            }
            A::MoveWordEnd => {
                let end = step(n, head, |at| word_end(rope, at));
                chars(head..next_grapheme(rope, end))
            }
            A::MoveWordLeft => chars(step(n, head, |at| word_left(rope, at))..head),
            A::MoveLineStart => chars(line_start..head),
            A::MoveFirstNonBlank => {
                let first = first_non_blank(rope, line);
                chars(first.min(head)..first.max(head))
            }
            A::MoveLineEnd => {
                let last = (line + n - 1).min(last_line(rope).max(line));
                chars(head..line_end(rope, last))
            }
            A::MoveDown => {
                let last = (line + n).min(last_line(rope));
                (last > line).then(|| lines(line, last))?
            }
            A::MoveUp => {
                let first = line.checked_sub(n)?;
                lines(first, line.min(last_line(rope)))
            }
            A::MoveFileStart => lines(line, command.count.map_or(0, |n| n - 1)),
            A::MoveFileEnd => {
                let target = command.count.map_or(usize::MAX, |n| n - 1);
                lines(line, target.min(last_line(rope)))
            }
            // `f`, `t`, `%` and `E` take the character they land on; `F`, `T`, `B`, `{`
            // and `}` stop before the cursor's.
            A::FindChar | A::FindCharBackward | A::TillChar | A::TillCharBackward => {
                let forward = matches!(command.action, A::FindChar | A::TillChar);
                let till = matches!(command.action, A::TillChar | A::TillCharBackward);
                let at = super::motions::find_on_line(
                    rope,
                    head,
                    command.argument?,
                    forward,
                    till,
                    n,
                    false,
                )?;
                if forward {
                    chars(head..next_grapheme(rope, at))
                } else {
                    chars(at..head)
                }
            }
            A::RepeatCharFind | A::RepeatCharFindReverse => {
                let reverse = command.action == A::RepeatCharFindReverse;
                let at = self.repeat_char_find(rope, head, reverse, n)?;
                if at >= head {
                    chars(head..next_grapheme(rope, at))
                } else {
                    chars(at..head)
                }
            }
            A::MatchBracket => {
                let at = super::motions::match_bracket(rope, head)?;
                chars(at.min(head)..next_grapheme(rope, at.max(head)))
            }
            A::MoveLongWordEnd => {
                let end = step(n, head, |at| super::motions::long_word_end(rope, at));
                chars(head..next_grapheme(rope, end))
            }
            // `cW` on a word is `cE`, as `cw` is `ce`.
            A::MoveLongWordRight if operator == Operator::Change && !on_blank => {
                let mut end = head;
                for i in 0..n {
                    let run_ends_here = end + 1 >= len || rope.char(end + 1).is_whitespace();
                    if i > 0 || !run_ends_here {
                        end = super::motions::long_word_end(rope, end);
                    }
                }
                chars(head..next_grapheme(rope, end))
            }
            A::MoveLongWordRight => {
                let to = step(n, head, |at| super::motions::long_word_right(rope, at));
                let to = if rope.char_to_line(to) > line {
                    line_end(rope, line).max(head).min(to)
                } else {
                    to
                };
                chars(head..to)
            }
            A::MoveLongWordLeft => {
                chars(step(n, head, |at| super::motions::long_word_left(rope, at))..head)
            }
            A::MoveParagraphForward => {
                chars(head..step(n, head, |at| super::motions::paragraph_forward(rope, at)))
            }
            A::MoveParagraphBackward => {
                chars(step(n, head, |at| super::motions::paragraph_backward(rope, at))..head)
            }
            A::InnerWord | A::AroundWord => {
                word_object(rope, head, n, command.action == A::AroundWord).and_then(chars)
            }
            A::InnerParens | A::AroundParens => {
                pair_object(rope, head, n, ('(', ')'), command.action == A::AroundParens)
                    .and_then(chars)
            }
            A::InnerBrackets | A::AroundBrackets => pair_object(
                rope,
                head,
                n,
                ('[', ']'),
                command.action == A::AroundBrackets,
            )
            .and_then(chars),
            A::InnerBraces | A::AroundBraces => {
                pair_object(rope, head, n, ('{', '}'), command.action == A::AroundBraces)
                    .and_then(chars)
            }
            A::InnerDoubleQuotes | A::AroundDoubleQuotes => {
                quote_object(rope, head, '"', command.action == A::AroundDoubleQuotes)
                    .and_then(chars)
            }
            A::InnerSingleQuotes | A::AroundSingleQuotes => {
                quote_object(rope, head, '\'', command.action == A::AroundSingleQuotes)
                    .and_then(chars)
            }
            _ => None,
        }
    }
}

/// Applies `next` `n` times from `at`, stopping early once it no longer moves.
fn step(n: usize, at: usize, next: impl Fn(usize) -> usize) -> usize {
    let mut at = at;
    for _ in 0..n {
        let moved = next(at);
        if moved == at {
            break;
        }
        at = moved;
    }
    at
}

/// The last line with text: a final line break does not start one more line.
pub(super) fn last_line(rope: &Rope) -> usize {
    let len = rope.len_chars();
    let lines = rope.len_lines();
    if lines > 1 && len > 0 && rope.char(len - 1) == '\n' {
        lines - 2
    } else {
        lines - 1
    }
}

/// Lines `first..=last` with their line breaks; at the end of the file, with the break
/// before them instead, so no empty line is left behind.
fn lines_range(rope: &Rope, first: usize, last: usize) -> Range<usize> {
    let start = rope.line_to_char(first);
    if last + 1 < rope.len_lines() {
        return start..rope.line_to_char(last + 1);
    }
    let start = if first > 0 { start - 1 } else { start };
    start..rope.len_chars()
}

/// `iw` (the run of word characters, punctuation or blanks under the cursor) and `aw`
/// (the word with the blanks after it, or before it at the end of a line); a count takes
/// that many, all within the line.
fn word_object(rope: &Rope, at: usize, n: usize, around: bool) -> Option<Range<usize>> {
    let line = rope.char_to_line(at);
    let (line_start, end_of_line) = (rope.line_to_char(line), line_end(rope, line));
    if at >= end_of_line {
        return None;
    }
    let class = |i: usize| char_class(rope.char(i));
    let run_end = |from: usize| {
        let mut i = from;
        while i < end_of_line && class(i) == class(from) {
            i += 1;
        }
        i
    };
    let mut start = at;
    while start > line_start && class(start - 1) == class(at) {
        start -= 1;
    }
    let mut end = at;
    for _ in 0..n {
        if end >= end_of_line {
            break;
        }
        let on_blank = class(end) == 0;
        end = run_end(end);
        if around && end < end_of_line {
            // A word takes the blanks after it; blanks take the word after them.
            if on_blank || class(end) == 0 {
                end = run_end(end);
            }
        }
    }
    if around && class(at) != 0 && (end == end_of_line || class(end - 1) != 0) {
        // No blanks after the word: take those before it.
        while start > line_start && class(start - 1) == 0 {
            start -= 1;
        }
    }
    Some(start..end)
}

/// How far from the cursor a pair of brackets is looked for, each way: far enough for any
/// function, and a bound on the work in a huge file.
const PAIR_REACH: usize = 200_000;

/// `i(` / `a(` and their kin: what the innermost pair of `open` and `close` around the
/// cursor holds, or the pair with it; a count reaches that many pairs out. Nested pairs in
/// between are skipped, across lines. The cursor on either bracket is inside that pair.
/// As in vim, an inner object leaves the brackets' own lines alone: a line break right
/// after `open`, and the indentation before a `close` on its own line, stay.
fn pair_object(
    rope: &Rope,
    at: usize,
    n: usize,
    (open, close): (char, char),
    around: bool,
) -> Option<Range<usize>> {
    let len = rope.len_chars();
    if at >= len {
        return None;
    }
    // Leftwards for the n-th `open` not closed before the cursor.
    let mut depth = 0usize;
    let mut remaining = n.max(1);
    let mut opened = None;
    let first = if rope.char(at) == close {
        at.checked_sub(1)?
    } else {
        at
    };
    for i in (first.saturating_sub(PAIR_REACH)..=first).rev() {
        match rope.char(i) {
            c if c == close => depth += 1,
            c if c == open && depth > 0 => depth -= 1,
            c if c == open => {
                remaining -= 1;
                if remaining == 0 {
                    opened = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let opened = opened?;
    // Rightwards for its `close`.
    let mut depth = 0usize;
    let closed = (opened + 1..len.min(opened + 1 + 2 * PAIR_REACH)).find(|&i| {
        match rope.char(i) {
            c if c == open => depth += 1,
            c if c == close && depth > 0 => depth -= 1,
            c if c == close => return true,
            _ => {}
        }
        false
    })?;
    if around {
        return Some(opened..closed + 1);
    }
    let mut start = opened + 1;
    let mut end = closed;
    if start < end && rope.char(start) == '\n' {
        start += 1;
    }
    let close_line = rope.char_to_line(closed);
    let close_line_start = rope.line_to_char(close_line);
    if close_line_start > start
        && rope
            .slice(close_line_start..closed)
            .chars()
            .all(|c| c == ' ' || c == '\t')
    {
        end = close_line_start;
    }
    Some(start..end.max(start))
}

/// `i"` / `a"` (and `'`): the quoted text on the cursor's line that the cursor is in or on,
/// else the next one after it. Quotes pair up from the start of the line, a quote after a
/// backslash not counting. `a"` takes the quotes and the blanks after them (or, with none,
/// those before).
fn quote_object(rope: &Rope, at: usize, quote: char, around: bool) -> Option<Range<usize>> {
    let line = rope.char_to_line(at);
    let (line_start, end_of_line) = (rope.line_to_char(line), line_end(rope, line));
    let mut quotes = Vec::new();
    let mut escaped = false;
    for (offset, c) in rope.slice(line_start..end_of_line).chars().enumerate() {
        if c == quote && !escaped {
            quotes.push(line_start + offset);
        }
        escaped = c == '\\' && !escaped;
    }
    let (open, close) = quotes
        .chunks_exact(2)
        .map(|pair| (pair[0], pair[1]))
        .find(|&(_, close)| at <= close)?;
    if !around {
        return Some(open + 1..close);
    }
    let blank = |i: usize| matches!(rope.char(i), ' ' | '\t');
    let mut end = close + 1;
    while end < end_of_line && blank(end) {
        end += 1;
    }
    let mut start = open;
    if end == close + 1 {
        while start > line_start && blank(start - 1) {
            start -= 1;
        }
    }
    Some(start..end)
}

/// The last change `.` can repeat: a `d`, `c` or `x` command, and for `c` what was typed
/// after it. Any other edit forgets it (`.` then says so rather than repeat something
/// older), so what `.` does is always the last change.
#[derive(Debug, Clone)]
pub(super) struct LastChange {
    command: Command,
    typed: String,
    /// Still in the insert mode the change started.
    typing: bool,
}

/// What of an input matters for `.`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Tracked {
    Command(Command),
    Typed(char),
    Newline,
    LeaveInsert,
    Undo,
    Other,
}

impl Tracked {
    pub(super) fn of(input: &EditorInput) -> Self {
        match input {
            // `3u` is undo, which `.` never repeats.
            EditorInput::Command(Command {
                action: Action::Undo | Action::Redo,
                ..
            }) => Self::Undo,
            EditorInput::Command(command) if command.is_edit() => Self::Command(*command),
            // `x` and `X` without a count are plain actions; in normal mode they count.
            EditorInput::Action(action @ (Action::DeleteForward | Action::DeleteBackward)) => {
                Self::Command(Command {
                    count: None,
                    operator: None,
                    action: *action,
                    argument: None,
                })
            }
            EditorInput::Insert(c) => Self::Typed(*c),
            EditorInput::Action(Action::InsertNewline) => Self::Newline,
            EditorInput::Action(Action::NormalMode) => Self::LeaveInsert,
            EditorInput::Action(Action::Undo | Action::Redo) => Self::Undo,
            _ => Self::Other,
        }
    }
}

impl Editor {
    /// Keeps [`LastChange`] up to date after an input was handled.
    pub(super) fn track_change(&mut self, input: Tracked, mode_before: Mode, outcome: &Outcome) {
        let typing = self
            .last_change
            .as_ref()
            .is_some_and(|change| change.typing);
        let changed = outcome.operation.is_some()
            || (mode_before != Mode::Insert && self.mode == Mode::Insert);
        match input {
            Tracked::Command(command) if mode_before == Mode::Normal && changed => {
                self.last_change = Some(LastChange {
                    command,
                    typed: String::new(),
                    typing: self.mode == Mode::Insert,
                });
            }
            Tracked::Typed(c) if typing => {
                if let Some(change) = &mut self.last_change {
                    change.typed.push(c);
                }
            }
            Tracked::Newline if typing => {
                if let Some(change) = &mut self.last_change {
                    change.typed.push('\n');
                }
            }
            Tracked::LeaveInsert if typing => {
                if let Some(change) = &mut self.last_change {
                    change.typing = false;
                }
            }
            Tracked::Undo => {}
            _ if changed || typing => self.last_change = None,
            _ => {}
        }
    }

    /// A jump while typing after `c` (a click) would make `.` type in two places at once.
    pub(super) fn forget_open_change(&mut self) {
        if self
            .last_change
            .as_ref()
            .is_some_and(|change| change.typing)
        {
            self.last_change = None;
        }
    }

    /// `.`: the last change again at the cursor, as one edit and one undo step.
    pub(super) fn repeat_change(&mut self, rope: &Rope) -> Outcome {
        let Some(change) = self.last_change.clone().filter(|change| !change.typing) else {
            return Outcome {
                message: Some(
                    "nothing to repeat: `.` repeats the last d, c or x command, if it was the last change"
                        .into(),
                ),
                ..Outcome::default()
            };
        };
        let mut inputs = vec![EditorInput::Command(change.command)];
        if change.command.operator == Some(Operator::Change) {
            inputs.extend(change.typed.chars().map(EditorInput::Insert));
            inputs.push(EditorInput::Action(Action::NormalMode));
        }
        // Each step sees the text as the steps before left it; together they are one edit
        // (and, as typing after a change, one undo step).
        let mut text = rope.clone();
        let mut total: Option<Operation> = None;
        let mut copied = None;
        for input in inputs {
            let step = self.handle_input(input, &text);
            copied = copied.or(step.copied);
            let Some(operation) = step.operation else {
                continue;
            };
            if operation.apply(&mut text).is_err() {
                break;
            }
            total = match total {
                None => Some(operation),
                Some(so_far) => so_far.compose(&operation).ok(),
            };
        }
        self.last_change = Some(change);
        Outcome {
            operation: total,
            copied,
            ..Outcome::default()
        }
    }
}
