//! vim's text objects, what an operator acts on when typed after it: `iw`/`aw` (words),
//! `i(`/`a(` and the other bracket pairs, `i"`/`a"` (quotes).

use std::ops::Range;

use ropey::Rope;

use super::*;
use crate::tui::keymap::Action;

/// The range text object `action` covers around `at` (`n` of them out, for words and
/// pairs); `None` when there is none there.
pub(super) fn text_object(
    rope: &Rope,
    at: usize,
    n: usize,
    action: Action,
) -> Option<Range<usize>> {
    use Action as A;
    match action {
        A::InnerWord | A::AroundWord => word_object(rope, at, n, action == A::AroundWord),
        A::InnerParens | A::AroundParens => {
            pair_object(rope, at, n, ('(', ')'), action == A::AroundParens)
        }
        A::InnerBrackets | A::AroundBrackets => {
            pair_object(rope, at, n, ('[', ']'), action == A::AroundBrackets)
        }
        A::InnerBraces | A::AroundBraces => {
            pair_object(rope, at, n, ('{', '}'), action == A::AroundBraces)
        }
        A::InnerDoubleQuotes | A::AroundDoubleQuotes => {
            quote_object(rope, at, '"', action == A::AroundDoubleQuotes)
        }
        A::InnerSingleQuotes | A::AroundSingleQuotes => {
            quote_object(rope, at, '\'', action == A::AroundSingleQuotes)
        }
        _ => None,
    }
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
