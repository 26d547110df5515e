//! Commands on whole lines that every editor has: toggle a line comment, move lines up or
//! down, duplicate them, and the tidying a save can do (trailing whitespace, the final
//! line break). Each is one edit and one undo step, through the session like typing.

use std::ops::Range;

use ropey::Rope;

use super::*;
use crate::text::Operation;
use crate::tui::highlight::Language;

/// What the editor needs to know of a file's language: how a line comment starts and
/// whether a line ending in `:` opens a block (Python's `if x:`, YAML's `key:`, C's
/// `case 1:`), so Enter indents after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineConventions {
    pub comment: Option<&'static str>,
    pub indent_after_colon: bool,
}

impl Default for LineConventions {
    fn default() -> Self {
        Self {
            comment: Some("//"),
            indent_after_colon: true,
        }
    }
}

impl LineConventions {
    /// The conventions of the file at `path`, by its language (or its extension where
    /// cotype has no grammar for it). Unknown files comment with `#`, as most
    /// configuration and script files do.
    pub fn for_path(path: &str) -> Self {
        let slashes = |colon| Self {
            comment: Some("//"),
            indent_after_colon: colon,
        };
        let hashes = |colon| Self {
            comment: Some("#"),
            indent_after_colon: colon,
        };
        match Language::from_path(path) {
            Some(Language::Rust) => return slashes(false),
            Some(Language::JavaScript | Language::TypeScript | Language::Tsx) => {
                return slashes(true);
            }
            Some(Language::Go | Language::C) => return slashes(true),
            Some(Language::Python) => return hashes(true),
            Some(Language::Toml | Language::Shell) => return hashes(false),
            Some(Language::Json | Language::Markdown) => {
                return Self {
                    comment: None,
                    indent_after_colon: false,
                };
            }
            None => {}
        }
        let extension = path
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        match extension.as_deref() {
            Some("yaml" | "yml") => hashes(true),
            Some(
                "java" | "kt" | "swift" | "cpp" | "cc" | "cxx" | "hpp" | "cs" | "scala" | "dart"
                | "zig" | "php",
            ) => slashes(true),
            Some("sql" | "lua" | "hs") => Self {
                comment: Some("--"),
                indent_after_colon: false,
            },
            Some("txt") => Self {
                comment: None,
                indent_after_colon: false,
            },
            _ => hashes(false),
        }
    }
}

/// The settings in config.toml that tidy a file as it is saved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveTidying {
    pub trim_trailing_whitespace: bool,
    pub insert_final_newline: bool,
}

impl Editor {
    /// Tells the editor which file it shows, for its comment marker and indentation.
    pub fn set_path(&mut self, path: &str) {
        self.conventions = LineConventions::for_path(path);
    }

    /// The document's syntax tree as it is now (or `None`), for Enter's indentation; the
    /// app gives it before each input, since the tree changes with every edit.
    pub fn set_indent_tree(&mut self, tree: Option<crate::tui::highlight::IndentTree>) {
        self.indent_tree = tree;
    }

    /// The lines the selection covers (a selection ending at a line's start leaves that
    /// line out, as a selection of whole lines does).
    fn selected_lines(&self, rope: &Rope) -> (usize, usize) {
        let range = self.selection.range();
        let len = rope.len_chars();
        let first = rope.char_to_line(range.start.min(len));
        let mut last = rope.char_to_line(range.end.min(len));
        if last > first && rope.line_to_char(last) == range.end {
            last -= 1;
        }
        (first, last)
    }

    /// ctrl-/ and vim's `gcc`: comments the lines out at their common indentation, or,
    /// when every non-blank one already is, takes the comment markers away.
    pub(super) fn toggle_comment(&mut self, rope: &Rope, outcome: &mut Outcome) {
        let Some(token) = self.conventions.comment else {
            outcome.message = Some("this file's language has no line comments".into());
            return;
        };
        let (first, last) = self.selected_lines(rope);
        let lines: Vec<(usize, String)> = (first..=last)
            .map(|line| (line, line_content(rope, line).to_string()))
            .filter(|(_, text)| !text.trim().is_empty())
            .collect();
        if lines.is_empty() {
            return;
        }
        let commented = lines
            .iter()
            .all(|(_, text)| text.trim_start().starts_with(token));
        let prefix = format!("{token} ");
        let edits: Vec<(Range<usize>, &str)> = if commented {
            lines
                .iter()
                .map(|(line, text)| {
                    let indent = text.chars().take_while(|c| c.is_whitespace()).count();
                    let after = &text.trim_start()[token.len()..];
                    let width = token.chars().count() + usize::from(after.starts_with(' '));
                    let at = rope.line_to_char(*line) + indent;
                    (at..at + width, "")
                })
                .collect()
        } else {
            let indent = lines
                .iter()
                .map(|(_, text)| text.chars().take_while(|c| c.is_whitespace()).count())
                .min()
                .unwrap_or(0);
            lines
                .iter()
                .map(|(line, _)| {
                    let at = rope.line_to_char(*line) + indent;
                    (at..at, prefix.as_str())
                })
                .collect()
        };
        outcome.operation = self.multi_edit(rope, edits);
        if self.mode == Mode::Visual {
            self.mode = Mode::Normal;
            self.selection = Selection::cursor(self.selection.range().start);
        }
    }

    /// alt-up and alt-down: the lines the selection covers change places with the line
    /// above or below them, and the selection goes with them.
    pub(super) fn move_lines(&mut self, rope: &Rope, down: bool) -> Option<Operation> {
        let (first, last) = self.selected_lines(rope);
        let eol = line_break(rope);
        let (edits, shift): (Vec<(Range<usize>, String)>, isize) = if down {
            if last >= commands::last_line(rope) {
                return None;
            }
            let below = line_content(rope, last + 1).to_string();
            let shift = (below.chars().count() + eol.chars().count()) as isize;
            let at = rope.line_to_char(first);
            let removed = line_end(rope, last)..line_end(rope, last + 1);
            (
                vec![(at..at, format!("{below}{eol}")), (removed, String::new())],
                shift,
            )
        } else {
            if first == 0 {
                return None;
            }
            let above = line_content(rope, first - 1).to_string();
            let shift = -((above.chars().count() + eol.chars().count()) as isize);
            let removed = rope.line_to_char(first - 1)..rope.line_to_char(first);
            let at = line_end(rope, last);
            (
                vec![(removed, String::new()), (at..at, format!("{eol}{above}"))],
                shift,
            )
        };
        let moved = |at: usize| at.saturating_add_signed(shift);
        let selection = Selection {
            anchor: moved(self.selection.anchor),
            head: moved(self.selection.head),
        };
        let edits = edits
            .iter()
            .map(|(range, text)| (range.clone(), text.as_str()));
        let operation = self.multi_edit(rope, edits.collect())?;
        self.selection = selection.clamped(operation.target_len());
        Some(operation)
    }

    /// Duplicates the lines the selection covers below themselves; the selection moves to
    /// the copy, so pressing it again makes a third.
    pub(super) fn duplicate_lines(&mut self, rope: &Rope) -> Option<Operation> {
        let (first, last) = self.selected_lines(rope);
        let eol = line_break(rope);
        let block = rope
            .slice(rope.line_to_char(first)..line_end(rope, last))
            .to_string();
        let at = line_end(rope, last);
        let shift = block.chars().count() + eol.chars().count();
        let selection = Selection {
            anchor: self.selection.anchor + shift,
            head: self.selection.head + shift,
        };
        let text = format!("{eol}{block}");
        let operation = self.multi_edit(rope, vec![(at..at, text.as_str())])?;
        self.selection = selection.clamped(operation.target_len());
        Some(operation)
    }

    /// What saving with `tidying` changes first: blanks at the ends of lines removed and a
    /// line break added after the last line, as one edit (none when nothing changes).
    pub fn tidy_for_save(&mut self, rope: &Rope, tidying: SaveTidying) -> Option<Operation> {
        let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
        if tidying.trim_trailing_whitespace {
            for line in 0..rope.len_lines() {
                let content = line_content(rope, line);
                let len = content.len_chars();
                let kept = len
                    - content
                        .chars_at(len)
                        .reversed()
                        .take_while(|c| *c == ' ' || *c == '\t')
                        .count();
                if kept < len {
                    let start = rope.line_to_char(line);
                    edits.push((start + kept..start + len, ""));
                }
            }
        }
        let eol = line_break(rope);
        let len = rope.len_chars();
        let ends_with_break = len > 0 && matches!(rope.char(len - 1), '\n' | '\r');
        if tidying.insert_final_newline && len > 0 && !ends_with_break {
            edits.push((len..len, eol));
        }
        if edits.is_empty() {
            return None;
        }
        let selection = self.selection;
        let operation = self.multi_edit(rope, edits)?;
        // The cursor stays where it was, or at the end of its trimmed line.
        self.selection = selection
            .map(&operation, crate::text::Assoc::Before)
            .clamped(operation.target_len());
        self.map_extra_cursors(&operation, operation.target_len());
        Some(operation)
    }
}
