//! Positions in the text: lines and their breaks, grapheme clusters, and the display
//! columns they take on screen (tabs to tab stops, CJK and emoji two wide).

use std::ops::Range;

use ropey::{Rope, RopeSlice};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// The line break this document uses, as its first line ends (`\r\n`, `\n` or a lone
/// `\r`; `\n` for a single line). Line breaks the editor inserts follow it, so a CRLF file
/// stays CRLF.
pub fn line_break(rope: &Rope) -> &'static str {
    if rope.len_lines() < 2 {
        return "\n";
    }
    let first = rope.line(0);
    let len = first.len_chars();
    match (first.char(len - 1), len > 1 && first.char(len - 2) == '\r') {
        ('\n', true) => "\r\n",
        ('\r', _) => "\r",
        _ => "\n",
    }
}

/// `text` with each of its line breaks (`\r\n`, `\r` or `\n`) written as `eol`.
pub fn with_line_breaks(text: &str, eol: &str) -> String {
    if !text.contains(['\r', '\n']) {
        return text.to_owned();
    }
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', eol)
}

/// The chars of `line` without its line break.
pub(super) fn line_content(rope: &Rope, line: usize) -> RopeSlice<'_> {
    let slice = rope.line(line);
    let mut len = slice.len_chars();
    if len > 0 && slice.char(len - 1) == '\n' {
        len -= 1;
    }
    if len > 0 && slice.char(len - 1) == '\r' {
        len -= 1;
    }
    slice.slice(..len)
}

pub(super) fn line_end(rope: &Rope, line: usize) -> usize {
    rope.line_to_char(line) + line_content(rope, line).len_chars()
}

/// The whole line with its line break (or, for the last line, with the break before it).
pub(super) fn line_range(rope: &Rope, line: usize) -> Range<usize> {
    let start = rope.line_to_char(line);
    let end = if line + 1 < rope.len_lines() {
        rope.line_to_char(line + 1)
    } else {
        rope.len_chars()
    };
    if end == rope.len_chars() && line > 0 && line + 1 >= rope.len_lines() {
        // The last line: take the line break before it so no empty line is left behind.
        return start - 1..end;
    }
    start..end
}

/// A whole line as copied text: its content and one line break.
pub(super) fn line_text(rope: &Rope, line: usize) -> String {
    format!("{}\n", line_content(rope, line))
}

pub(super) fn first_non_blank(rope: &Rope, line: usize) -> usize {
    let start = rope.line_to_char(line);
    start
        + line_content(rope, line)
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .count()
}

pub(super) fn leading_whitespace(line: RopeSlice<'_>) -> String {
    line.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Char offsets of the grapheme boundaries in `line_text`.
pub(super) fn grapheme_starts(line_text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut chars = 0;
    line_text.graphemes(true).map(move |g| {
        let at = chars;
        chars += g.chars().count();
        (at, g)
    })
}

pub(super) fn next_grapheme(rope: &Rope, at: usize) -> usize {
    let len = rope.len_chars();
    if at >= len {
        return len;
    }
    let line = rope.char_to_line(at);
    let start = rope.line_to_char(line);
    let text = rope.line(line).to_string();
    for (offset, g) in grapheme_starts(&text) {
        let end = start + offset + g.chars().count();
        if end > at {
            return end;
        }
    }
    (at + 1).min(len)
}

pub(super) fn prev_grapheme(rope: &Rope, at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    let at = at.min(rope.len_chars());
    // The grapheme before `at` may end a line, so look at the line of `at - 1`.
    let line = rope.char_to_line(at - 1);
    let start = rope.line_to_char(line);
    let text = rope.line(line).to_string();
    let mut previous = start;
    for (offset, _) in grapheme_starts(&text) {
        if start + offset >= at {
            break;
        }
        previous = start + offset;
    }
    previous
}

/// Display width of one grapheme at display column `col`.
pub(super) fn grapheme_width(g: &str, col: usize, tab_width: usize) -> usize {
    if g == "\t" {
        return tab_width - col % tab_width;
    }
    if g.chars().all(char::is_control) {
        // Control characters are drawn as one replacement cell.
        return 1;
    }
    g.width()
}

/// The display column of char index `at` within its line.
pub fn display_col(rope: &Rope, at: usize, tab_width: usize) -> usize {
    let at = at.min(rope.len_chars());
    let line = rope.char_to_line(at);
    let start = rope.line_to_char(line);
    let text = line_content(rope, line).to_string();
    let mut col = 0;
    for (offset, g) in grapheme_starts(&text) {
        if start + offset >= at {
            break;
        }
        col += grapheme_width(g, col, tab_width);
    }
    col
}

/// The char index in `line` at display column `target` (or the line end if shorter).
pub fn char_at_display_col(rope: &Rope, line: usize, target: usize, tab_width: usize) -> usize {
    let start = rope.line_to_char(line);
    let text = line_content(rope, line).to_string();
    let mut col = 0;
    for (offset, g) in grapheme_starts(&text) {
        let width = grapheme_width(g, col, tab_width);
        if col + width > target {
            return start + offset;
        }
        col += width;
    }
    start + text.chars().count()
}

/// Columns taken by the gutter: a sign column (diagnostics marks), line numbers, a space.
pub fn gutter_width(rope: &Rope) -> usize {
    rope.len_lines().to_string().len().max(3) + 2
}
