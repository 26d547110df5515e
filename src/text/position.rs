//! Position conversions at the borders.
//!
//! Inside cotype a position is a char index (a Unicode scalar value, as ropey counts).
//! Language servers count UTF-16 code units per line (UTF-8 or UTF-32 if negotiated),
//! tree-sitter counts bytes, people count lines and columns. Every conversion lives here
//! so that no other module does this arithmetic by hand.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r` — exactly the LSP definition. (cotype builds
//! ropey without its `unicode_lines` feature so that form feed, NEL and U+2028 do not
//! start new lines, as they do not for language servers or tree-sitter.)
//! Tree-sitter rows are these lines too; only a file with lone-`\r` line endings differs,
//! since tree-sitter ends rows at `\n` alone.
//!
//! Every function here **clamps** instead of failing, and never panics: a char index past
//! the end means the end; a line past the last line means the end of the document; a
//! column past the end of its line means the end of that line (before its line break,
//! as the LSP specification asks); an offset inside a character (a byte inside UTF-8, a
//! low surrogate) means the start of that character. Language servers and peers do send
//! such positions, and the nearest valid place is what a user expects.

use ropey::Rope;

/// A line and a column counted in chars, both from zero.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

/// Chars in `line` excluding its line break (`\n`, `\r\n` or `\r`).
pub fn line_content_chars(rope: &Rope, line: usize) -> usize {
    let slice = rope.line(line);
    let len = slice.len_chars();
    match (
        len.checked_sub(2).map(|i| slice.char(i)),
        len.checked_sub(1).map(|i| slice.char(i)),
    ) {
        (Some('\r'), Some('\n')) => len - 2,
        (_, Some('\n' | '\r')) => len - 1,
        _ => len,
    }
}

/// The line `line`, or `None` when it is past the last line.
fn valid_line(rope: &Rope, line: usize) -> Option<usize> {
    (line < rope.len_lines()).then_some(line)
}

fn clamp_char(rope: &Rope, char_idx: usize) -> usize {
    char_idx.min(rope.len_chars())
}

pub fn char_to_line_col(rope: &Rope, char_idx: usize) -> LineCol {
    let c = clamp_char(rope, char_idx);
    let line = rope.char_to_line(c);
    LineCol {
        line,
        col: c - rope.line_to_char(line),
    }
}

pub fn line_col_to_char(rope: &Rope, pos: LineCol) -> usize {
    let Some(line) = valid_line(rope, pos.line) else {
        return rope.len_chars();
    };
    rope.line_to_char(line) + pos.col.min(line_content_chars(rope, line))
}

/// The unit an LSP position's `character` counts, as negotiated with the server
/// (`general.positionEncodings`, LSP 3.17). Without negotiation it is UTF-16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LspEncoding {
    Utf8,
    #[default]
    Utf16,
    /// Unicode scalar values: the same unit as cotype's char indices.
    Utf32,
}

impl LspEncoding {
    /// The encoding a server chose, or `None` for one this crate does not know.
    pub fn from_kind(kind: &lsp_types::PositionEncodingKind) -> Option<Self> {
        match kind.as_str() {
            "utf-8" => Some(Self::Utf8),
            "utf-16" => Some(Self::Utf16),
            "utf-32" => Some(Self::Utf32),
            _ => None,
        }
    }

    /// The offset of char index `c` in this encoding's units, from the document start.
    fn units(self, rope: &Rope, c: usize) -> usize {
        match self {
            Self::Utf8 => rope.char_to_byte(c),
            Self::Utf16 => rope.char_to_utf16_cu(c),
            Self::Utf32 => c,
        }
    }

    /// The char containing unit offset `u` (from the document start).
    fn to_char(self, rope: &Rope, u: usize) -> usize {
        match self {
            Self::Utf8 => rope.byte_to_char(u),
            Self::Utf16 => rope.utf16_cu_to_char(u),
            Self::Utf32 => u,
        }
    }
}

/// A char index as an LSP position (line, UTF-16 code units into the line).
pub fn char_to_lsp(rope: &Rope, char_idx: usize) -> lsp_types::Position {
    char_to_lsp_in(rope, char_idx, LspEncoding::Utf16)
}

/// An LSP position (UTF-16 columns) as a char index.
pub fn lsp_to_char(rope: &Rope, pos: lsp_types::Position) -> usize {
    lsp_to_char_in(rope, pos, LspEncoding::Utf16)
}

/// A char index as an LSP position in the negotiated encoding.
pub fn char_to_lsp_in(rope: &Rope, char_idx: usize, encoding: LspEncoding) -> lsp_types::Position {
    let c = clamp_char(rope, char_idx);
    let line = rope.char_to_line(c);
    let units = encoding.units(rope, c) - encoding.units(rope, rope.line_to_char(line));
    lsp_types::Position {
        line: saturate_u32(line),
        character: saturate_u32(units),
    }
}

/// An LSP position in the negotiated encoding as a char index.
pub fn lsp_to_char_in(rope: &Rope, pos: lsp_types::Position, encoding: LspEncoding) -> usize {
    let Some(line) = valid_line(rope, pos.line as usize) else {
        return rope.len_chars();
    };
    let start = rope.line_to_char(line);
    let end = start + line_content_chars(rope, line);
    let target = encoding
        .units(rope, start)
        .saturating_add(pos.character as usize)
        .min(encoding.units(rope, end));
    encoding.to_char(rope, target)
}

pub fn char_to_byte(rope: &Rope, char_idx: usize) -> usize {
    rope.char_to_byte(clamp_char(rope, char_idx))
}

pub fn byte_to_char(rope: &Rope, byte: usize) -> usize {
    rope.byte_to_char(byte.min(rope.len_bytes()))
}

/// A char index as a tree-sitter point (row, byte column).
pub fn char_to_point(rope: &Rope, char_idx: usize) -> tree_sitter::Point {
    let c = clamp_char(rope, char_idx);
    let row = rope.char_to_line(c);
    tree_sitter::Point {
        row,
        column: rope.char_to_byte(c) - rope.line_to_byte(row),
    }
}

/// A tree-sitter point as a char index.
pub fn point_to_char(rope: &Rope, point: tree_sitter::Point) -> usize {
    let Some(row) = valid_line(rope, point.row) else {
        return rope.len_chars();
    };
    let start = rope.line_to_byte(row);
    let end = rope.char_to_byte(rope.line_to_char(row) + line_content_chars(rope, row));
    rope.byte_to_char(start.saturating_add(point.column).min(end))
}

fn saturate_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::Position;
    use tree_sitter::Point;

    fn lc(line: usize, col: usize) -> LineCol {
        LineCol { line, col }
    }

    // Line 0: "a😀b" (😀 is one char, two UTF-16 units, four bytes), CRLF.
    // Line 1: "漢e\u{301}" (CJK: 3 bytes; e + combining acute: two chars), LF.
    // Line 2: "x\u{c}y" (form feed is not a line break), lone CR.
    // Line 3: "" (end).
    const TEXT: &str = "a😀b\r\n漢e\u{301}\nx\u{c}y\r";

    #[test]
    fn line_breaks_are_the_lsp_ones() {
        let rope = Rope::from_str(TEXT);
        assert_eq!(rope.len_lines(), 4);
        assert_eq!(Rope::from_str("a\u{2028}b\u{85}c").len_lines(), 1);
    }

    #[test]
    fn line_col_round_trips_and_clamps() {
        let rope = Rope::from_str(TEXT);
        assert_eq!(char_to_line_col(&rope, 2), lc(0, 2)); // after 😀
        assert_eq!(char_to_line_col(&rope, 5), lc(1, 0)); // after CRLF
        assert_eq!(char_to_line_col(&rope, 8), lc(1, 3)); // after the combining mark
        assert_eq!(char_to_line_col(&rope, 13), lc(3, 0));
        assert_eq!(char_to_line_col(&rope, 999), lc(3, 0));
        for c in 0..=rope.len_chars() {
            // Between \r and \n is not a place a line/column can name.
            if c == 4 {
                continue;
            }
            assert_eq!(line_col_to_char(&rope, char_to_line_col(&rope, c)), c);
        }
        assert_eq!(line_col_to_char(&rope, lc(0, 99)), 3); // before the CRLF
        assert_eq!(line_col_to_char(&rope, lc(2, 99)), 12); // before the lone CR
        assert_eq!(line_col_to_char(&rope, lc(9, 0)), 13);
    }

    #[test]
    fn lsp_positions_count_utf16_units() {
        let rope = Rope::from_str(TEXT);
        let p = |line, character| Position { line, character };
        assert_eq!(char_to_lsp(&rope, 1), p(0, 1));
        assert_eq!(char_to_lsp(&rope, 2), p(0, 3)); // 😀 is a surrogate pair
        assert_eq!(char_to_lsp(&rope, 3), p(0, 4));
        assert_eq!(char_to_lsp(&rope, 8), p(1, 3)); // 漢 and e and U+0301: one unit each
        assert_eq!(lsp_to_char(&rope, p(0, 3)), 2);
        assert_eq!(lsp_to_char(&rope, p(0, 2)), 1); // inside the pair: the emoji's start
        assert_eq!(lsp_to_char(&rope, p(0, 50)), 3); // past the line: its end
        assert_eq!(lsp_to_char(&rope, p(1, 2)), 7);
        assert_eq!(lsp_to_char(&rope, p(7, 0)), 13);
        assert_eq!(lsp_to_char(&rope, p(u32::MAX, u32::MAX)), rope.len_chars());
        assert_eq!(lsp_to_char(&rope, p(0, u32::MAX)), 3);
        for c in (0..=rope.len_chars()).filter(|&c| c != 4) {
            assert_eq!(lsp_to_char(&rope, char_to_lsp(&rope, c)), c);
        }
    }

    #[test]
    fn bytes_and_points_for_tree_sitter() {
        let rope = Rope::from_str(TEXT);
        assert_eq!(char_to_byte(&rope, 2), 5);
        assert_eq!(byte_to_char(&rope, 5), 2);
        assert_eq!(byte_to_char(&rope, 3), 1); // inside 😀: its start
        assert_eq!(byte_to_char(&rope, 9999), rope.len_chars());
        assert_eq!(char_to_byte(&rope, 9999), rope.len_bytes());
        assert_eq!(char_to_point(&rope, 2), Point { row: 0, column: 5 });
        assert_eq!(char_to_point(&rope, 7), Point { row: 1, column: 4 }); // after 漢e
        assert_eq!(point_to_char(&rope, Point { row: 1, column: 4 }), 7);
        assert_eq!(point_to_char(&rope, Point { row: 1, column: 1 }), 5); // inside 漢
        assert_eq!(point_to_char(&rope, Point { row: 1, column: 99 }), 8);
        assert_eq!(point_to_char(&rope, Point { row: 99, column: 0 }), 13);
        for c in (0..=rope.len_chars()).filter(|&c| c != 4) {
            assert_eq!(point_to_char(&rope, char_to_point(&rope, c)), c);
            assert_eq!(byte_to_char(&rope, char_to_byte(&rope, c)), c);
        }
    }

    #[test]
    fn empty_document() {
        let rope = Rope::new();
        assert_eq!(char_to_line_col(&rope, 3), lc(0, 0));
        assert_eq!(line_col_to_char(&rope, lc(2, 2)), 0);
        assert_eq!(lsp_to_char(&rope, Position::new(0, 4)), 0);
        assert_eq!(point_to_char(&rope, Point { row: 0, column: 4 }), 0);
    }

    #[test]
    fn negotiated_lsp_encodings() {
        let rope = Rope::from_str(TEXT);
        let p = |line, character| Position { line, character };
        // After "a😀" on line 0: 5 bytes, 3 UTF-16 units, 2 chars.
        assert_eq!(char_to_lsp_in(&rope, 2, LspEncoding::Utf8), p(0, 5));
        assert_eq!(char_to_lsp_in(&rope, 2, LspEncoding::Utf32), p(0, 2));
        assert_eq!(lsp_to_char_in(&rope, p(0, 5), LspEncoding::Utf8), 2);
        assert_eq!(lsp_to_char_in(&rope, p(0, 3), LspEncoding::Utf8), 1); // inside 😀
        assert_eq!(lsp_to_char_in(&rope, p(1, 9), LspEncoding::Utf32), 8);
        assert_eq!(
            LspEncoding::from_kind(&lsp_types::PositionEncodingKind::UTF8),
            Some(LspEncoding::Utf8)
        );
        for encoding in [LspEncoding::Utf8, LspEncoding::Utf16, LspEncoding::Utf32] {
            for c in (0..=rope.len_chars()).filter(|&c| c != 4) {
                let pos = char_to_lsp_in(&rope, c, encoding);
                assert_eq!(lsp_to_char_in(&rope, pos, encoding), c, "{encoding:?}");
            }
        }
    }
}
