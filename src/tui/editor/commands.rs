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
        if let Some(target) = self.counted_jump(command, rope) {
            if let Some(at) = target {
                self.selection = Selection::cursor(at);
                self.desired_col = None;
                outcome.navigated = true;
            }
            return;
        }
        let n = command.times();
        match command.action {
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
            // `3x` and `3X` stay on the line, as in vim; one step is the plain key.
            A::DeleteForward | A::DeleteBackward if n > 1 && self.selection.is_empty() => {
                self.delete_counted(command, rope, outcome)
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
            A::Undo | A::Redo if n > 1 => self.undo_counted(command, rope, outcome),
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

    /// Where a counted jump lands: `None` when `command` is not one, `Some(None)` when it
    /// finds nowhere to go (`3fx` on a line with fewer `x`).
    fn counted_jump(&mut self, command: Command, rope: &Rope) -> Option<Option<usize>> {
        use Action as A;
        let n = command.times();
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        Some(match command.action {
            A::FindChar | A::FindCharBackward | A::TillChar | A::TillCharBackward => {
                let Some(target) = command.argument else {
                    return Some(None);
                };
                self.last_char_find = Some((command.action, target));
                let forward = matches!(command.action, A::FindChar | A::TillChar);
                let till = matches!(command.action, A::TillChar | A::TillCharBackward);
                super::motions::find_on_line(rope, head, target, forward, till, n, false)
            }
            A::RepeatCharFind | A::RepeatCharFindReverse => {
                let reverse = command.action == A::RepeatCharFindReverse;
                self.repeat_char_find(rope, head, reverse, n)
            }
            // `50%`: the line that far into the file.
            A::MatchBracket if command.count.is_some() => {
                let lines = last_line(rope) + 1;
                let target = (n.min(100) * lines).div_ceil(100).max(1) - 1;
                Some(first_non_blank(rope, target))
            }
            // `4G` and `4gg` go to line 4, as `G` and `gg` without a count go to the ends.
            A::MoveFileStart | A::MoveFileEnd if command.count.is_some() => {
                let target = (n - 1).min(last_line(rope));
                Some(first_non_blank(rope, target))
            }
            // `3$`: the end of the line two below.
            A::MoveLineEnd => {
                let target = (line + n - 1).min(last_line(rope).max(line));
                Some(line_end(rope, target))
            }
            _ => return None,
        })
    }

    /// `3x` and `3X`: that many characters, within the line.
    fn delete_counted(&mut self, command: Command, rope: &Rope, outcome: &mut Outcome) {
        let n = command.times();
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        let range = if command.action == Action::DeleteForward {
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

    /// `3u`: three of your changes undone, as one edit (each computed on the text the one
    /// before left).
    fn undo_counted(&mut self, command: Command, rope: &Rope, outcome: &mut Outcome) {
        let mut text = rope.clone();
        let mut combined: Option<crate::text::Operation> = None;
        for _ in 0..command.times() {
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
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let lines = |a: usize, b: usize| {
            let (first, last) = (a.min(b), a.max(b));
            Some(Span {
                range: lines_range(rope, first, last),
                lines: Some((first, last)),
            })
        };
        match command.action {
            action if action == operator.action() => {
                lines(line, (line + n - 1).min(last_line(rope).max(line)))
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
            action => {
                let range = if action.is_text_object() {
                    objects::text_object(rope, head, n, action)?
                } else {
                    self.char_span(operator, command, rope)?
                };
                (!range.is_empty()).then_some(Span { range, lines: None })
            }
        }
    }

    /// What a motion that is not linewise covers from the cursor.
    fn char_span(&self, operator: Operator, command: Command, rope: &Rope) -> Option<Range<usize>> {
        use super::motions::{
            long_word_end, long_word_left, paragraph_backward, paragraph_forward,
        };
        use Action as A;
        let n = command.times();
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        Some(match command.action {
            A::MoveLeft => step(n, head, |at| prev_grapheme(rope, at).max(line_start))..head,
            A::MoveRight => {
                head..step(n, head, |at| {
                    next_grapheme(rope, at).min(line_end(rope, line))
                })
            }
            A::MoveWordRight | A::MoveLongWordRight => {
                return self.word_span(operator, command, rope);
            }
            A::MoveWordEnd => head..next_grapheme(rope, step(n, head, |at| word_end(rope, at))),
            A::MoveLongWordEnd => {
                head..next_grapheme(rope, step(n, head, |at| long_word_end(rope, at)))
            }
            A::MoveWordLeft => step(n, head, |at| word_left(rope, at))..head,
            A::MoveLongWordLeft => step(n, head, |at| long_word_left(rope, at))..head,
            A::MoveParagraphForward => head..step(n, head, |at| paragraph_forward(rope, at)),
            A::MoveParagraphBackward => step(n, head, |at| paragraph_backward(rope, at))..head,
            A::MoveLineStart => line_start..head,
            A::MoveFirstNonBlank => {
                let first = first_non_blank(rope, line);
                first.min(head)..first.max(head)
            }
            A::MoveLineEnd => {
                let last = (line + n - 1).min(last_line(rope).max(line));
                head..line_end(rope, last)
            }
            // `f`, `t`, `%` and `E` take the character they land on; `F`, `T`, `B`, `{`
            // and `}` stop before the cursor's.
            A::FindChar | A::FindCharBackward | A::TillChar | A::TillCharBackward => {
                let forward = matches!(command.action, A::FindChar | A::TillChar);
                let till = matches!(command.action, A::TillChar | A::TillCharBackward);
                let target = command.argument?;
                let at = super::motions::find_on_line(rope, head, target, forward, till, n, false)?;
                if forward {
                    head..next_grapheme(rope, at)
                } else {
                    at..head
                }
            }
            A::RepeatCharFind | A::RepeatCharFindReverse => {
                let reverse = command.action == A::RepeatCharFindReverse;
                let at = self.repeat_char_find(rope, head, reverse, n)?;
                if at >= head {
                    head..next_grapheme(rope, at)
                } else {
                    at..head
                }
            }
            A::MatchBracket => {
                let at = super::motions::match_bracket(rope, head)?;
                at.min(head)..next_grapheme(rope, at.max(head))
            }
            _ => return None,
        })
    }

    /// `w` and `W` after an operator: never past the line's end (`dw` does not join
    /// lines), and after `c` on a word, to its end (`cw` is vim's `ce`, `cW` its `cE`).
    fn word_span(&self, operator: Operator, command: Command, rope: &Rope) -> Option<Range<usize>> {
        use super::motions::{long_word_end, long_word_right};
        let n = command.times();
        let len = rope.len_chars();
        let head = self.selection.head.min(len);
        let line = rope.char_to_line(head);
        let long = command.action == Action::MoveLongWordRight;
        let on_blank = head >= len || char_class(rope.char(head)) == 0;
        if operator == Operator::Change && !on_blank {
            let mut end = head;
            for i in 0..n {
                let run_ends_here = end + 1 >= len
                    || if long {
                        rope.char(end + 1).is_whitespace()
                    } else {
                        char_class(rope.char(end + 1)) != char_class(rope.char(end))
                    };
                if i > 0 || !run_ends_here {
                    end = if long {
                        long_word_end(rope, end)
                    } else {
                        word_end(rope, end)
                    };
                }
            }
            return Some(head..next_grapheme(rope, end));
        }
        if long {
            let to = step(n, head, |at| long_word_right(rope, at));
            let to = if rope.char_to_line(to) > line {
                line_end(rope, line).max(head).min(to)
            } else {
                to
            };
            return Some(head..to);
        }
        let mut from = head;
        let mut to = head;
        for _ in 0..n {
            from = to;
            to = word_right(rope, to);
        }
        // The last word of a line ends the span there.
        let from_line = rope.char_to_line(from);
        if to > from && rope.char_to_line(to) > from_line {
            to = line_end(rope, from_line).max(from);
        }
        Some(head..to)
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
pub fn last_line(rope: &Rope) -> usize {
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
