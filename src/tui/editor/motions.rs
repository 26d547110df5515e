//! Motions: where each key moves the cursor, and how the selection follows it.
//!
//! The targets are pure functions of the text (words, `f`/`t` on the line, `%`,
//! blank-separated words `W`/`B`/`E`, paragraphs `{`/`}`, finding text); the methods on
//! [`Editor`] add what depends on the view (the column vertical motions aim for, the page
//! size, whether the selection extends).

use super::*;

/// `f`, `t`, `F`, `T`: the `n`-th `target` on the cursor's line after (or before) `at`;
/// `till` stops one short of it. `repeating` (`;` after `t`) looks past a `target` right
/// next to the cursor, as vim does, so `;` moves on. `None` when the line has no such
/// character.
pub(super) fn find_on_line(
    rope: &Rope,
    at: usize,
    target: char,
    forward: bool,
    till: bool,
    n: usize,
    repeating: bool,
) -> Option<usize> {
    let line = rope.char_to_line(at.min(rope.len_chars()));
    let (start, end) = (rope.line_to_char(line), line_end(rope, line));
    let skip = usize::from(till && repeating);
    let mut remaining = n.max(1);
    if forward {
        for i in at + 1 + skip..end {
            if rope.char(i) == target {
                remaining -= 1;
                if remaining == 0 {
                    return Some(if till { i - 1 } else { i });
                }
            }
        }
    } else {
        let last = at.checked_sub(1 + skip)?;
        for i in (start..(last + 1).min(end)).rev() {
            if rope.char(i) == target {
                remaining -= 1;
                if remaining == 0 {
                    return Some(if till { i + 1 } else { i });
                }
            }
        }
    }
    None
}

const BRACKETS: [(char, char); 3] = [('(', ')'), ('[', ']'), ('{', '}')];

/// How far `%` looks for the matching bracket: a bound on the work in a huge file.
const MATCH_REACH: usize = 400_000;

/// `%`: from the first bracket at or after the cursor on its line, the bracket that
/// matches it (nested pairs skipped, across lines).
pub(super) fn match_bracket(rope: &Rope, at: usize) -> Option<usize> {
    let len = rope.len_chars();
    let line = rope.char_to_line(at.min(len));
    let end = line_end(rope, line);
    let from = (at..end).find(|&i| is_bracket(rope.char(i)))?;
    matching_bracket(rope, from, MATCH_REACH)
}

fn is_bracket(c: char) -> bool {
    BRACKETS
        .iter()
        .any(|&(open, close)| c == open || c == close)
}

/// The bracket matching the one at `from`, looking at most `reach` characters away.
pub(super) fn matching_bracket(rope: &Rope, from: usize, reach: usize) -> Option<usize> {
    let c = rope.get_char(from)?;
    let &(open, close) = BRACKETS
        .iter()
        .find(|&&(open, close)| c == open || c == close)?;
    let mut depth = 0usize;
    if c == open {
        for (i, x) in rope.chars_at(from + 1).take(reach).enumerate() {
            match x {
                x if x == open => depth += 1,
                x if x == close && depth == 0 => return Some(from + 1 + i),
                x if x == close => depth -= 1,
                _ => {}
            }
        }
    } else {
        for (i, x) in rope.chars_at(from).reversed().take(reach).enumerate() {
            match x {
                x if x == close => depth += 1,
                x if x == open && depth == 0 => return Some(from - 1 - i),
                x if x == open => depth -= 1,
                _ => {}
            }
        }
    }
    None
}

/// The bracket under the cursor, or else just before it (one typed a moment ago), and
/// the one matching it, for the screen to mark both.
pub(super) fn bracket_pair_at(rope: &Rope, head: usize, reach: usize) -> Option<(usize, usize)> {
    [Some(head), head.checked_sub(1)]
        .into_iter()
        .flatten()
        .filter(|&at| rope.get_char(at).is_some_and(is_bracket))
        .find_map(|at| Some((at, matching_bracket(rope, at, reach)?)))
}

fn blank(rope: &Rope, i: usize) -> bool {
    rope.char(i).is_whitespace()
}

/// `W`: the start of the next run of non-blank characters.
pub(super) fn long_word_right(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    let mut i = at.min(len);
    while i < len && !blank(rope, i) {
        i += 1;
    }
    while i < len && blank(rope, i) {
        // An empty line is a stop, as for `w`.
        if rope.char(i) == '\n' && i + 1 < len && rope.char(i + 1) == '\n' && i > at {
            return i + 1;
        }
        i += 1;
    }
    i
}

/// `E`: the last character of the next run of non-blank characters.
pub(super) fn long_word_end(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    let mut i = (at + 1).min(len);
    while i < len && blank(rope, i) {
        i += 1;
    }
    if i >= len {
        return len;
    }
    while i + 1 < len && !blank(rope, i + 1) {
        i += 1;
    }
    i
}

/// `B`: the start of the previous run of non-blank characters.
pub(super) fn long_word_left(rope: &Rope, at: usize) -> usize {
    let mut i = at.min(rope.len_chars());
    while i > 0 && blank(rope, i - 1) {
        i -= 1;
    }
    while i > 0 && !blank(rope, i - 1) {
        i -= 1;
    }
    i
}

fn empty_line(rope: &Rope, line: usize) -> bool {
    line_content(rope, line).len_chars() == 0
}

/// `}`: the next empty line after this paragraph, or the end of the last line.
pub(super) fn paragraph_forward(rope: &Rope, at: usize) -> usize {
    let last = commands::last_line(rope);
    let mut line = rope.char_to_line(at.min(rope.len_chars()));
    while line < last && empty_line(rope, line) {
        line += 1;
    }
    while line < last && !empty_line(rope, line) {
        line += 1;
    }
    if empty_line(rope, line) {
        rope.line_to_char(line)
    } else {
        line_end(rope, line)
    }
}

/// `{`: the empty line before this paragraph, or the start of the file.
pub(super) fn paragraph_backward(rope: &Rope, at: usize) -> usize {
    let mut line = rope.char_to_line(at.min(rope.len_chars()));
    while line > 0 && empty_line(rope, line) {
        line -= 1;
    }
    while line > 0 && !empty_line(rope, line) {
        line -= 1;
    }
    rope.line_to_char(line)
}

/// The word under (or after) the cursor on its line, for `*` and `#`.
pub(super) fn word_at(rope: &Rope, at: usize) -> Option<(usize, String)> {
    let line = rope.char_to_line(at.min(rope.len_chars()));
    let (start, end) = (rope.line_to_char(line), line_end(rope, line));
    let is_word = |i: usize| char_class(rope.char(i)) == 1;
    let mut first = (at..end).find(|&i| is_word(i))?;
    while first > start && is_word(first - 1) {
        first -= 1;
    }
    let mut last = first;
    while last < end && is_word(last) {
        last += 1;
    }
    Some((first, rope.slice(first..last).to_string()))
}

pub(super) fn char_class(c: char) -> u8 {
    if c.is_whitespace() {
        0
    } else if c.is_alphanumeric() || c == '_' {
        1
    } else {
        2
    }
}

/// Start of the next word (vim `w`, ctrl-right): skip the current run, then whitespace.
pub(super) fn word_right(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    let mut i = at;
    if i >= len {
        return len;
    }
    let class = char_class(rope.char(i));
    while i < len && class != 0 && char_class(rope.char(i)) == class {
        i += 1;
    }
    while i < len && char_class(rope.char(i)) == 0 {
        // Stop at an empty line, as editors do.
        if rope.char(i) == '\n' && i + 1 < len && rope.char(i + 1) == '\n' && i > at {
            return i + 1;
        }
        i += 1;
    }
    i
}

/// End of the word (vim `e`): the last char of the next run.
pub(super) fn word_end(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    let mut i = (at + 1).min(len);
    while i < len && char_class(rope.char(i)) == 0 {
        i += 1;
    }
    if i >= len {
        return len;
    }
    let class = char_class(rope.char(i));
    while i + 1 < len && char_class(rope.char(i + 1)) == class {
        i += 1;
    }
    i
}

/// Start of the previous word (vim `b`, ctrl-left).
pub(super) fn word_left(rope: &Rope, at: usize) -> usize {
    let mut i = at.min(rope.len_chars());
    while i > 0 && char_class(rope.char(i - 1)) == 0 {
        i -= 1;
    }
    if i == 0 {
        return 0;
    }
    let class = char_class(rope.char(i - 1));
    while i > 0 && char_class(rope.char(i - 1)) == class {
        i -= 1;
    }
    i
}

impl Editor {
    /// Where motion `action` moves the cursor; `None` when `action` is not a motion.
    pub(super) fn motion_target(&self, action: Action, rope: &Rope) -> Option<usize> {
        use Action as A;
        let len = rope.len_chars();
        let head = self.selection.head.min(len);
        let page = (self.viewport.1 as isize - 1).max(1);
        Some(match action {
            A::MoveLeft | A::ExtendLeft => prev_grapheme(rope, head),
            A::MoveRight | A::ExtendRight => next_grapheme(rope, head),
            A::MoveUp | A::ExtendUp => self.vertical(rope, -1),
            A::MoveDown | A::ExtendDown => self.vertical(rope, 1),
            A::PageUp | A::ExtendPageUp => self.vertical(rope, -page),
            A::PageDown | A::ExtendPageDown => self.vertical(rope, page),
            A::MoveWordLeft | A::ExtendWordLeft => word_left(rope, head),
            A::MoveWordRight | A::ExtendWordRight => word_right(rope, head),
            A::MoveWordEnd => word_end(rope, head),
            A::MoveLineStart | A::ExtendLineStart => rope.line_to_char(rope.char_to_line(head)),
            A::MoveFirstNonBlank => first_non_blank(rope, rope.char_to_line(head)),
            A::MoveLineEnd | A::ExtendLineEnd => line_end(rope, rope.char_to_line(head)),
            A::MoveFileStart | A::ExtendFileStart => 0,
            // vim's `G` goes to the last line's first non-blank.
            A::MoveFileEnd if self.mode == Mode::Normal => {
                first_non_blank(rope, commands::last_line(rope))
            }
            A::MoveFileEnd | A::ExtendFileEnd => len,
            A::MoveLongWordRight => long_word_right(rope, head),
            A::MoveLongWordLeft => long_word_left(rope, head),
            A::MoveLongWordEnd => long_word_end(rope, head),
            A::MoveParagraphForward => paragraph_forward(rope, head),
            A::MoveParagraphBackward => paragraph_backward(rope, head),
            A::MatchBracket => match_bracket(rope, head).unwrap_or(head),
            A::RepeatCharFind | A::RepeatCharFindReverse => self
                .repeat_char_find(rope, head, action == A::RepeatCharFindReverse, 1)
                .unwrap_or(head),
            // vim's visual selection holds the character under the cursor: the word's
            // end is looked for from that character, and its last character is taken.
            A::ExtendWordEnd => {
                let on = if self.selection.head > self.selection.anchor {
                    prev_grapheme(rope, head)
                } else {
                    head
                };
                next_grapheme(rope, word_end(rope, on))
            }
            A::HalfPageDown => self.vertical(rope, self.half_page() as isize),
            A::HalfPageUp => self.vertical(rope, -(self.half_page() as isize)),
            _ => return None,
        })
    }

    /// Moves the cursor to `target` as motion `action` does: extending the selection
    /// (an `extend_` action, or any motion in visual mode) or collapsing it, keeping the
    /// column vertical motions aim for, scrolling with the page keys.
    pub(super) fn apply_motion(&mut self, action: Action, target: usize, rope: &Rope) {
        use Action as A;
        let head = self.selection.head.min(rope.len_chars());
        let vertical = matches!(
            action,
            A::MoveUp
                | A::MoveDown
                | A::ExtendUp
                | A::ExtendDown
                | A::PageUp
                | A::PageDown
                | A::ExtendPageUp
                | A::ExtendPageDown
                | A::HalfPageDown
                | A::HalfPageUp
        );
        if vertical {
            self.desired_col
                .get_or_insert_with(|| display_col(rope, head, self.tab_width));
        } else {
            self.desired_col = None;
        }
        let extend = action.extends_selection() || self.mode == Mode::Visual;
        // Moving left/right off a selection lands on its edge, as in desktop editors.
        let target = match action {
            A::MoveLeft if !extend && !self.selection.is_empty() => self.selection.range().start,
            A::MoveRight if !extend && !self.selection.is_empty() => self.selection.range().end,
            _ => target,
        };
        self.selection = if extend {
            Selection {
                anchor: self.selection.anchor,
                head: target,
            }
        } else {
            Selection::cursor(target)
        };
        let rows = match action {
            A::PageUp | A::ExtendPageUp => -(self.viewport.1.saturating_sub(1).max(1) as isize),
            A::PageDown | A::ExtendPageDown => self.viewport.1.saturating_sub(1).max(1) as isize,
            A::HalfPageUp => -(self.half_page() as isize),
            A::HalfPageDown => self.half_page() as isize,
            _ => return,
        };
        self.scroll_by(rope, rows);
    }

    /// Lines `half_page` moves over (vim's ctrl-d and ctrl-u).
    pub(super) fn half_page(&self) -> usize {
        (self.viewport.1 / 2).max(1)
    }

    /// `;` and `,`: the last `f`/`t`/`F`/`T` again, `n` times, the same or the other way.
    pub(super) fn repeat_char_find(
        &self,
        rope: &Rope,
        head: usize,
        reverse: bool,
        n: usize,
    ) -> Option<usize> {
        let (action, target) = self.last_char_find?;
        let forward = matches!(action, Action::FindChar | Action::TillChar) != reverse;
        let till = matches!(action, Action::TillChar | Action::TillCharBackward);
        find_on_line(rope, head, target, forward, till, n, true)
    }

    pub(super) fn vertical(&self, rope: &Rope, delta: isize) -> usize {
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let target_line = (line as isize + delta).clamp(0, rope.len_lines() as isize - 1) as usize;
        if target_line == line {
            // At the first or last line, up/down go to the start or end, as editors do.
            return if delta < 0 {
                0
            } else if delta > 0 {
                rope.len_chars()
            } else {
                head
            };
        }
        let col = self
            .desired_col
            .unwrap_or_else(|| display_col(rope, head, self.tab_width));
        char_at_display_col(rope, target_line, col, self.tab_width)
    }

    /// Moves the selection to the next (or previous) match of `query`; smart case.
    pub(super) fn find(&mut self, rope: &Rope, query: &str, forward: bool) -> Option<String> {
        if query.is_empty() {
            return None;
        }
        let ignore_case = !query.chars().any(char::is_uppercase);
        let fold = |s: &str| {
            if ignore_case {
                s.to_lowercase()
            } else {
                s.to_owned()
            }
        };
        let haystack = rope.to_string();
        let folded = fold(&haystack);
        let needle = fold(query);
        // Case folding can change byte lengths; only search the folded text when it did not.
        let text = if folded.len() == haystack.len() {
            &folded
        } else {
            &haystack
        };
        let range = self.selection.range();
        // In vim's normal mode the cursor is on a character: `/` and `n` look after it.
        let from = match (forward, self.mode) {
            (true, Mode::Normal) if range.is_empty() => next_grapheme(rope, range.end),
            (true, _) => range.end,
            (false, _) => range.start,
        };
        let from_byte = rope.char_to_byte(from.min(rope.len_chars()));
        let found = if forward {
            text[from_byte..]
                .find(&needle)
                .map(|at| at + from_byte)
                .or_else(|| text.find(&needle))
        } else {
            text[..from_byte]
                .rfind(&needle)
                .or_else(|| text.rfind(&needle))
        };
        match found {
            Some(byte) => {
                let start = rope.byte_to_char(byte);
                let end = rope.byte_to_char(byte + needle.len());
                // vim lands on the match's first character; others select the match.
                self.selection = if self.mode == Mode::Normal {
                    Selection::cursor(start)
                } else {
                    Selection {
                        anchor: start,
                        head: end,
                    }
                };
                self.desired_col = None;
                None
            }
            None => Some(format!("no match for {query:?}")),
        }
    }
}
