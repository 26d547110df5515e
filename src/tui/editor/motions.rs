//! vim's motions beyond words and lines, as pure functions of the text: `f`/`t` on the
//! line, `%`, blank-separated words (`W`, `B`, `E`) and paragraphs (`{`, `}`).

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
    let (from, c) = (at..end)
        .map(|i| (i, rope.char(i)))
        .find(|(_, c)| BRACKETS.iter().any(|(open, close)| c == open || c == close))?;
    let (open, close, forward) = BRACKETS.iter().find_map(|&(open, close)| {
        (c == open)
            .then_some((open, close, true))
            .or((c == close).then_some((open, close, false)))
    })?;
    let mut depth = 0usize;
    if forward {
        for i in from + 1..len.min(from + MATCH_REACH) {
            match rope.char(i) {
                x if x == open => depth += 1,
                x if x == close && depth == 0 => return Some(i),
                x if x == close => depth -= 1,
                _ => {}
            }
        }
    } else {
        for i in (from.saturating_sub(MATCH_REACH)..from).rev() {
            match rope.char(i) {
                x if x == close => depth += 1,
                x if x == open && depth == 0 => return Some(i),
                x if x == open => depth -= 1,
                _ => {}
            }
        }
    }
    None
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
