//! Edits: what each editing key turns into, as an [`Operation`] for the session to apply
//! (the view never changes the text itself), with the selection placed where the edit
//! leaves it and the edit recorded for undo.

use std::ops::Range;

use ropey::Rope;

use super::*;
use crate::text::{Assoc, Operation};

impl Editor {
    /// vim's visual `d`, `c` and `y`: the selection deleted, changed or copied.
    pub(super) fn visual_operator(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        let range = self.selection.range();
        let text = rope.slice(range.clone()).to_string();
        self.register.set(Register {
            text: text.clone(),
            linewise: false,
        });
        outcome.copied = Some(text);
        let before = self.selection;
        self.selection = Selection::cursor(range.start);
        self.mode = if action == Action::OperatorChange {
            Mode::Insert
        } else {
            Mode::Normal
        };
        if action != Action::OperatorYank
            && let Ok(operation) = Operation::replace(rope.len_chars(), range, "")
        {
            // A change and what is typed after it are one undo step.
            self.record(rope, &operation, before, action == Action::OperatorChange);
            outcome.operation = Some(operation);
        }
    }

    /// Backspace, delete and their word forms: the selection, or what they reach.
    pub(super) fn delete(&mut self, action: Action, rope: &Rope) -> Option<Operation> {
        use Action as A;
        let head = self.selection.head.min(rope.len_chars());
        let range = if !self.selection.is_empty() {
            self.selection.range()
        } else {
            match action {
                A::DeleteBackward => self.backspace_range(rope, head),
                A::DeleteForward => head..next_grapheme(rope, head),
                A::DeleteWordBackward => word_left(rope, head)..head,
                _ => head..word_right(rope, head),
            }
        };
        if range.is_empty() {
            return None;
        }
        if matches!(action, A::DeleteForward | A::DeleteBackward) && self.selection.is_empty() {
            self.keep_deleted(rope, range.clone());
        }
        self.edit(rope, range.clone(), "", range.start)
    }

    /// The cursor's line deleted, and copied as a line.
    pub(super) fn delete_line(&mut self, rope: &Rope, outcome: &mut Outcome) {
        let line = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let range = line_range(rope, line);
        let text = line_text(rope, line);
        self.register.set(Register {
            text: text.clone(),
            linewise: true,
        });
        outcome.copied = Some(text);
        outcome.operation = self.edit(rope, range.clone(), "", range.start);
    }

    /// Copy and cut: the selection, or without one the cursor's line (as a line).
    pub(super) fn copy_or_cut(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        let line = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let (range, text, linewise) = if self.selection.is_empty() {
            (line_range(rope, line), line_text(rope, line), true)
        } else {
            let range = self.selection.range();
            let text = rope.slice(range.clone()).to_string();
            (range, text, false)
        };
        self.register.set(Register {
            text: text.clone(),
            linewise,
        });
        outcome.copied = Some(text);
        if action == Action::Cut {
            outcome.operation = self.edit(rope, range.clone(), "", range.start);
        }
        if self.mode == Mode::Visual {
            self.mode = Mode::Normal;
            if action == Action::Copy {
                self.selection = Selection::cursor(self.selection.range().start);
            }
        }
    }

    /// Paste and vim's `p`/`P`: the register's text, whole lines as lines.
    pub(super) fn paste(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        // Vim's `p` puts after the cursor (lines below), `P` and the modeless keymap's
        // paste before it (lines above).
        let after = action == Action::Paste && self.mode == Mode::Normal;
        let Register { text, linewise } = self.register.get();
        let text = with_line_breaks(&text, line_break(rope));
        outcome.operation = if text.is_empty() {
            outcome.message = Some(
                "nothing copied in this session yet; paste from the system clipboard with your terminal's paste key".into(),
            );
            None
        } else if linewise && self.selection.is_empty() {
            self.paste_lines(rope, text, after)
        } else if self.mode == Mode::Normal && self.selection.is_empty() {
            // Vim's `p` and `P`: after or before the character under the cursor,
            // ending on the last character put in.
            let head = self.selection.head.min(rope.len_chars());
            let end_of_line = line_end(rope, rope.char_to_line(head));
            let at = if after && head < end_of_line {
                next_grapheme(rope, head)
            } else {
                head
            };
            let cursor = at + text.chars().count().saturating_sub(1);
            self.edit(rope, at..at, &text, cursor)
        } else {
            self.replace_selection(rope, &text, false)
        };
    }

    /// Whole lines pasted above the cursor's line, or below it (`after`).
    fn paste_lines(&mut self, rope: &Rope, text: String, after: bool) -> Option<Operation> {
        let len = rope.len_chars();
        let head = self.selection.head.min(len);
        let eol = line_break(rope);
        let line = rope.char_to_line(head);
        let at = if after {
            line_range(rope, line).end
        } else {
            rope.line_to_char(line)
        };
        let text = if at == len && len > 0 && rope.char(len - 1) != '\n' {
            // Pasting lines after a last line that has no line break.
            format!("{eol}{}", text.strip_suffix(eol).unwrap_or(&text))
        } else {
            text
        };
        // Vim puts the cursor on the pasted line; desktop editors leave it on the line it
        // was on, which moved down.
        let cursor = if self.mode == Mode::Normal {
            at + if text.starts_with(eol) { eol.len() } else { 0 }
        } else {
            head + text.chars().count()
        };
        self.edit(rope, at..at, &text, cursor)
    }

    /// Undo and redo: your own last edit reverted (or put back), never someone else's.
    pub(super) fn undo_or_redo(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        let undo = action == Action::Undo;
        self.typing_group_open = false;
        match self.undo_step(rope, undo) {
            Some(revert) => {
                // Undo lands where the undone change began (as vim does), redo after what
                // it put back.
                let after_len = revert.target_len();
                let landing = revert.changes().last().map(|change| {
                    if undo {
                        change.range.start
                    } else {
                        change.range.start + change.text.chars().count()
                    }
                });
                if let Some(at) = landing {
                    self.selection = Selection::cursor(at.min(after_len));
                }
                outcome.operation = Some(revert);
            }
            None => {
                outcome.message = Some(if undo {
                    "nothing of yours to undo".into()
                } else {
                    "nothing to redo".into()
                })
            }
        }
    }

    /// vim's `o` and `O`: a new line below or above, indented as this one, to type on.
    pub(super) fn open_line(&mut self, action: Action, rope: &Rope) -> Option<Operation> {
        let line = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let indent = leading_whitespace(rope.line(line));
        let eol = line_break(rope);
        let (at, text, cursor) = if action == Action::OpenLineBelow {
            let at = line_end(rope, line);
            // As Enter at the line's end would, where the syntax tree can tell.
            let levels = (self.indent_tree.as_ref()).and_then(|t| t.new_line_levels(rope, at));
            let indent = match levels {
                Some(levels) => self.indent_by(rope, &indent, levels),
                None => indent,
            };
            let cursor = at + eol.len() + indent.chars().count();
            (at, format!("{eol}{indent}"), cursor)
        } else {
            let at = rope.line_to_char(line);
            (at, format!("{indent}{eol}"), at + indent.chars().count())
        };
        self.mode = Mode::Insert;
        let before = self.selection;
        let operation = Operation::replace(rope.len_chars(), at..at, &text).ok()?;
        // Recorded as typing: the new line and what is typed on it are one undo step.
        self.record(rope, &operation, before, true);
        self.selection = Selection::cursor(cursor.min(operation.target_len()));
        Some(operation)
    }

    /// In vim's normal mode, `x` and `X` keep what they delete for `p` (so `xp` swaps two
    /// characters), in the editor's register only: a character deleted is not worth the
    /// system clipboard.
    pub(super) fn keep_deleted(&mut self, rope: &Rope, range: Range<usize>) {
        if self.mode == Mode::Normal {
            self.register.set(Register {
                text: rope.slice(range).to_string(),
                linewise: false,
            });
        }
    }

    /// Enter: a line break and the indentation [`Editor::newline_text`] gives; between a
    /// pair of brackets (`{|}`) the closing one goes to its own line, back at the outer
    /// indentation, and the cursor sits indented between them.
    pub(super) fn insert_newline(&mut self, rope: &Rope, typing: bool) -> Option<Operation> {
        let range = self.selection.range();
        let head = range.start.min(rope.len_chars());
        let before = (head > 0).then(|| rope.char(head - 1));
        let after = (head < rope.len_chars()).then(|| rope.char(head));
        let between_pair = range.is_empty()
            && matches!(
                (before, after),
                (Some('{'), Some('}')) | (Some('('), Some(')')) | (Some('['), Some(']'))
            );
        // Between a pair the bracket rule is exact: one level in, the closer back out.
        let text = self.newline_text(rope, !between_pair);
        if between_pair {
            let unit = self.indent_unit(rope);
            let outer = text.strip_suffix(unit.as_str()).unwrap_or(&text).to_owned();
            let cursor = head + text.chars().count();
            return self.edit(rope, range, &format!("{text}{outer}"), cursor);
        }
        self.replace_selection(rope, &text, typing)
    }

    /// The text a line break inserts: the current indentation, deeper or shallower as
    /// the syntax tree's indents query says (`highlight::IndentTree`), or where it cannot
    /// tell, one level more after an opening bracket, or a colon where the language opens
    /// a block with one (Python).
    pub(super) fn newline_text(&self, rope: &Rope, use_tree: bool) -> String {
        let head = self.selection.range().start.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        let before: String = rope.slice(line_start..head).to_string();
        let indent: String = before
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let eol = line_break(rope);
        let levels = self
            .indent_tree
            .as_ref()
            .filter(|_| use_tree)
            .and_then(|tree| tree.new_line_levels(rope, head));
        if let Some(levels) = levels {
            return format!("{eol}{}", self.indent_by(rope, &indent, levels));
        }
        let mut text = format!("{eol}{indent}");
        let opens = match before.trim_end().chars().last() {
            Some('{' | '(' | '[') => true,
            Some(':') => self.conventions.indent_after_colon,
            _ => false,
        };
        if opens {
            text.push_str(&self.indent_unit(rope));
        }
        text
    }

    /// `indent` made `levels` levels deeper, or shallower (by a level as this file writes
    /// it, else by a tab or `tab_width` spaces).
    fn indent_by(&self, rope: &Rope, indent: &str, levels: isize) -> String {
        let unit = self.indent_unit(rope);
        let mut indent = indent.to_owned();
        if levels >= 0 {
            indent.push_str(&unit.repeat(levels.unsigned_abs()));
            return indent;
        }
        for _ in 0..levels.unsigned_abs() {
            let spaces = indent.len() - indent.trim_end_matches(' ').len();
            let cut = if indent.ends_with(unit.as_str()) {
                unit.len()
            } else if indent.ends_with('\t') {
                1
            } else {
                spaces.min(self.tab_width)
            };
            indent.truncate(indent.len() - cut);
        }
        indent
    }

    /// One level of indentation as this file writes it: a tab if most indented lines
    /// start with one, otherwise `tab_width` spaces.
    pub(super) fn indent_unit(&self, rope: &Rope) -> String {
        let (mut tabs, mut spaces) = (0, 0);
        for line in rope.lines().take(1000) {
            match line.chars().next() {
                Some('\t') => tabs += 1,
                Some(' ') => spaces += 1,
                _ => {}
            }
        }
        if tabs > spaces {
            "\t".into()
        } else {
            " ".repeat(self.tab_width)
        }
    }

    pub(super) fn indent(&mut self, rope: &Rope) -> Option<Operation> {
        let unit = self.indent_unit(rope);
        let range = self.selection.range();
        let first = rope.char_to_line(range.start);
        let last = rope.char_to_line(range.end);
        if self.selection.is_empty() || first == last && !self.is_line_selection(rope) {
            return self.replace_selection(rope, &unit, false);
        }
        let edits: Vec<(Range<usize>, &str)> = (first..=last)
            .filter(|line| *line != last || rope.line_to_char(*line) < range.end)
            .map(|line| {
                let at = rope.line_to_char(line);
                (at..at, unit.as_str())
            })
            .collect();
        self.multi_edit(rope, edits)
    }

    /// `>>`, `<<` (and `3>>`): `n` lines from the cursor's, one level in or out, as one
    /// edit; the cursor goes to the first line's first non-blank.
    pub(super) fn shift_lines(&mut self, rope: &Rope, n: usize, indent: bool) -> Option<Operation> {
        let first = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let last = (first + n.max(1) - 1).min(commands::last_line(rope).max(first));
        let landing = first_non_blank(rope, first);
        let operation = if indent {
            let unit = self.indent_unit(rope);
            let edits: Vec<(Range<usize>, &str)> = (first..=last)
                .filter(|line| line_content(rope, *line).len_chars() > 0)
                .map(|line| {
                    let at = rope.line_to_char(line);
                    (at..at, unit.as_str())
                })
                .collect();
            if edits.is_empty() {
                return None;
            }
            self.multi_edit(rope, edits)?
        } else {
            self.selection = Selection {
                anchor: rope.line_to_char(first),
                head: rope.line_to_char(last),
            };
            let operation = self.dedent(rope);
            self.selection = Selection::cursor(landing);
            operation?
        };
        self.selection = Selection::cursor(operation.transform_position(landing, Assoc::After));
        Some(operation)
    }

    /// `J` (`3J`): `lines` lines from the cursor's made one, each line break and the
    /// indentation after it replaced by one space (none before an empty line or a `)`, or
    /// after a blank). The cursor lands where the last two were joined.
    pub(super) fn join_lines(&mut self, rope: &Rope, lines: usize) -> Option<Operation> {
        let line = rope.char_to_line(self.selection.head.min(rope.len_chars()));
        let last = (line + lines.max(2) - 1).min(commands::last_line(rope));
        if last <= line {
            return None;
        }
        let edits: Vec<(Range<usize>, &str)> = (line..last)
            .map(|joined| {
                let end = line_end(rope, joined);
                let next = first_non_blank(rope, joined + 1);
                let next_empty = next == line_end(rope, joined + 1);
                let ends_blank =
                    end > rope.line_to_char(joined) && matches!(rope.char(end - 1), ' ' | '\t');
                let separator = if next_empty || ends_blank || rope.char(next) == ')' {
                    ""
                } else {
                    " "
                };
                (end..next, separator)
            })
            .collect();
        let join_at = edits.last()?.0.start;
        let operation = self.multi_edit(rope, edits)?;
        self.selection = Selection::cursor(operation.transform_position(join_at, Assoc::Before));
        Some(operation)
    }

    /// `~` (`3~`): the case of `n` characters from the cursor switched, within the line.
    pub(super) fn toggle_case(&mut self, rope: &Rope, n: usize) -> Option<Operation> {
        let head = self.selection.head.min(rope.len_chars());
        let end = (head + n.max(1)).min(line_end(rope, rope.char_to_line(head)));
        if end <= head {
            return None;
        }
        let toggled: String = rope
            .slice(head..end)
            .chars()
            .flat_map(|c| {
                let flipped: Vec<char> = if c.is_lowercase() {
                    c.to_uppercase().collect()
                } else if c.is_uppercase() {
                    c.to_lowercase().collect()
                } else {
                    vec![c]
                };
                flipped
            })
            .collect();
        let cursor = head + toggled.chars().count();
        self.edit(rope, head..end, &toggled, cursor)
    }

    /// `rx` (`3rx`): `n` characters from the cursor replaced by `with`; nothing when the
    /// line has fewer, as in vim. The cursor stays on the last one replaced.
    pub(super) fn replace_chars(&mut self, rope: &Rope, with: char, n: usize) -> Option<Operation> {
        let head = self.selection.head.min(rope.len_chars());
        let end_of_line = line_end(rope, rope.char_to_line(head));
        let mut end = head;
        for _ in 0..n.max(1) {
            if end >= end_of_line {
                return None;
            }
            end = next_grapheme(rope, end);
        }
        let text = with.to_string().repeat(n.max(1));
        let cursor = head + n.max(1) - 1;
        self.edit(rope, head..end, &text, cursor)
    }

    pub(super) fn is_line_selection(&self, rope: &Rope) -> bool {
        let range = self.selection.range();
        range.start == rope.line_to_char(rope.char_to_line(range.start)) && range.len() > 1
    }

    pub(super) fn dedent(&mut self, rope: &Rope) -> Option<Operation> {
        let range = self.selection.range();
        let first = rope.char_to_line(range.start);
        let last = rope.char_to_line(range.end);
        let width = self.tab_width;
        let edits: Vec<(Range<usize>, &str)> = (first..=last)
            .filter_map(|line| {
                let start = rope.line_to_char(line);
                let mut remove = 0;
                for c in rope.line(line).chars().take(width) {
                    match c {
                        '\t' => {
                            remove += 1;
                            break;
                        }
                        ' ' => remove += 1,
                        _ => break,
                    }
                }
                (remove > 0).then_some((start..start + remove, ""))
            })
            .collect();
        if edits.is_empty() {
            return None;
        }
        self.multi_edit(rope, edits)
    }

    /// Several edits at once (indenting lines); the selection is mapped through them.
    pub(super) fn multi_edit(
        &mut self,
        rope: &Rope,
        edits: Vec<(Range<usize>, &str)>,
    ) -> Option<Operation> {
        let operation = Operation::from_edits(rope.len_chars(), edits).ok()?;
        let before = self.selection;
        let anchor_assoc = if self.selection.anchor <= self.selection.head {
            Assoc::Before
        } else {
            Assoc::After
        };
        let selection = Selection {
            anchor: operation.transform_position(before.anchor, anchor_assoc),
            head: operation.transform_position(before.head, Assoc::After),
        };
        self.record(rope, &operation, before, false);
        self.selection = selection;
        Some(operation)
    }

    /// Backspace: in leading indentation made of spaces, remove back to the previous stop.
    pub(super) fn backspace_range(&self, rope: &Rope, head: usize) -> Range<usize> {
        let line = rope.char_to_line(head);
        let line_start = rope.line_to_char(line);
        let before: String = rope.slice(line_start..head).to_string();
        if !before.is_empty() && before.chars().all(|c| c == ' ') {
            let width = before.chars().count();
            let stop = (width - 1) / self.tab_width * self.tab_width;
            return line_start + stop..head;
        }
        prev_grapheme(rope, head)..head
    }

    pub(super) fn replace_selection(
        &mut self,
        rope: &Rope,
        text: &str,
        typing: bool,
    ) -> Option<Operation> {
        let range = self.selection.range();
        if range.is_empty() && text.is_empty() {
            return None;
        }
        let cursor = range.start + text.chars().count();
        let before = self.selection;
        let operation = Operation::replace(rope.len_chars(), range, text).ok()?;
        self.record(rope, &operation, before, typing);
        self.selection = Selection::cursor(cursor);
        if self.mode == Mode::Visual {
            self.mode = Mode::Normal;
        }
        Some(operation)
    }

    /// Replace `range` by `text` and put the cursor at `cursor` (in the new document).
    pub(super) fn edit(
        &mut self,
        rope: &Rope,
        range: Range<usize>,
        text: &str,
        cursor: usize,
    ) -> Option<Operation> {
        let before = self.selection;
        let operation = Operation::replace(rope.len_chars(), range, text).ok()?;
        self.record(rope, &operation, before, false);
        self.selection = Selection::cursor(cursor.min(operation.target_len()));
        if self.mode == Mode::Visual {
            self.mode = Mode::Normal;
        }
        Some(operation)
    }

    /// Remembers how to revert a local edit; consecutive typing is one undo step.
    pub(super) fn record(
        &mut self,
        rope: &Rope,
        operation: &Operation,
        _before: Selection,
        typing: bool,
    ) {
        self.scroll_anchor = operation.transform_position(self.scroll_anchor, Assoc::Before);
        if !(typing && self.typing_group_open) {
            self.end_undo_group();
        }
        self.record_undo(operation, rope);
        self.typing_group_open = typing;
        if !typing {
            self.end_undo_group();
        }
    }

    pub(super) fn end_typing_group(&mut self) {
        self.typing_group_open = false;
        self.end_undo_group();
    }
}
