//! More than one cursor: add one on the line above or below (ctrl-alt-up/down) or at the
//! next occurrence of the selection (ctrl-d), then type, paste or delete at all of them as
//! ONE operation through the session (one frame on the wire, one undo step per typing
//! run, as with one cursor).
//!
//! The selection is the primary cursor; the others are `extra_cursors`. What this first
//! version does at several cursors: typing, enter, paste, backspace and delete. Any other
//! key (a motion, escape) goes back to the primary cursor alone, so nothing acts on
//! cursors the user cannot account for. Others see every cursor: presence carries all
//! the selections, the primary first, and their screens draw the extra ones in our color
//! with our name on the primary only.

use std::ops::Range;

use super::*;
use crate::text::Assoc;

/// What a key does at every cursor.
enum AtEach {
    Insert(String),
    DeleteBackward,
    DeleteForward,
}

impl Editor {
    /// The cursors besides the primary one (the selection), in the order they were added.
    pub fn extra_cursors(&self) -> &[Selection] {
        &self.extra_cursors
    }

    /// Every cursor, the primary one first.
    fn all_cursors(&self) -> Vec<Selection> {
        std::iter::once(self.selection)
            .chain(self.extra_cursors.iter().copied())
            .collect()
    }

    /// Adds a cursor on the line above the topmost cursor (or below the lowest), at the
    /// same display column where the line is long enough, else at its end.
    pub(super) fn add_cursor_vertically(&mut self, rope: &Rope, down: bool) -> Outcome {
        let mut outcome = Outcome {
            navigated: true,
            ..Outcome::default()
        };
        let cursors = self.all_cursors();
        let edge = if down {
            cursors.iter().max_by_key(|cursor| cursor.head)
        } else {
            cursors.iter().min_by_key(|cursor| cursor.head)
        };
        let Some(edge) = edge.copied() else {
            return outcome;
        };
        let head = edge.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        let target = match down {
            true if line < commands::last_line(rope) => line + 1,
            false if line > 0 => line - 1,
            _ => {
                outcome.message = Some("no line there to add a cursor on".into());
                return outcome;
            }
        };
        let col = self
            .desired_col
            .unwrap_or_else(|| display_col(rope, head, self.tab_width));
        let at = char_at_display_col(rope, target, col, self.tab_width);
        self.push_cursor(Selection::cursor(at));
        self.desired_col = Some(col);
        outcome
    }

    /// ctrl-d: with nothing selected, selects the word at the cursor; with a selection,
    /// adds a cursor selecting the next place its text occurs (going round the end of the
    /// file), which becomes the primary one.
    pub(super) fn add_next_occurrence(&mut self, rope: &Rope) -> Outcome {
        let mut outcome = Outcome {
            navigated: true,
            ..Outcome::default()
        };
        if self.selection.is_empty() {
            let head = self.selection.head.min(rope.len_chars());
            if let Some((start, word)) = motions::word_at(rope, head) {
                self.selection = Selection {
                    anchor: start,
                    head: start + word.chars().count(),
                };
            } else {
                outcome.message = Some("no word under the cursor".into());
            }
            return outcome;
        }
        let range = self.selection.range();
        let needle = rope.slice(range.clone()).to_string();
        let text = rope.to_string();
        let taken: Vec<Range<usize>> = self.all_cursors().iter().map(Selection::range).collect();
        let from_byte = rope.char_to_byte(range.end);
        let found = text[from_byte..]
            .match_indices(&needle)
            .map(|(byte, _)| byte + from_byte)
            .chain(
                text[..from_byte]
                    .match_indices(&needle)
                    .map(|(byte, _)| byte),
            )
            .map(|byte| {
                let start = rope.byte_to_char(byte);
                start..start + range.len()
            })
            .find(|found| !taken.contains(found));
        match found {
            Some(found) => {
                let primary = self.selection;
                self.extra_cursors.push(primary);
                self.selection = Selection {
                    anchor: found.start,
                    head: found.end,
                };
                self.ensure_cursor_visible(rope);
            }
            None => outcome.message = Some("no other occurrence".into()),
        }
        outcome
    }

    fn push_cursor(&mut self, cursor: Selection) {
        if cursor != self.selection && !self.extra_cursors.contains(&cursor) {
            self.extra_cursors.push(cursor);
        }
    }

    /// Back to the primary cursor alone.
    pub fn clear_extra_cursors(&mut self) {
        self.extra_cursors.clear();
    }

    /// The edit `input` makes at every cursor, when there are several and it is one this
    /// version does at all of them; `None` otherwise.
    pub(super) fn input_at_every_cursor(
        &mut self,
        input: &EditorInput,
        rope: &Rope,
    ) -> Option<Outcome> {
        if self.extra_cursors.is_empty() {
            return None;
        }
        let at_each = match input {
            EditorInput::Insert('\n') | EditorInput::Action(Action::InsertNewline) => {
                AtEach::Insert(line_break(rope).to_owned())
            }
            EditorInput::Insert(c) => AtEach::Insert(c.to_string()),
            EditorInput::Paste(text) => AtEach::Insert(with_line_breaks(text, line_break(rope))),
            EditorInput::Action(Action::DeleteBackward) => AtEach::DeleteBackward,
            EditorInput::Action(Action::DeleteForward) => AtEach::DeleteForward,
            _ => return None,
        };
        let len = rope.len_chars();
        let mut ranges: Vec<Range<usize>> = self
            .all_cursors()
            .iter()
            .map(|cursor| {
                let range = cursor.range();
                let range = range.start.min(len)..range.end.min(len);
                match (&at_each, range.is_empty()) {
                    (AtEach::DeleteBackward, true) => prev_grapheme(rope, range.start)..range.end,
                    (AtEach::DeleteForward, true) => range.start..next_grapheme(rope, range.end),
                    _ => range,
                }
            })
            .collect();
        // Cursors whose edits touch become one (two backspaces at neighbours).
        ranges.sort_by_key(|range| (range.start, range.end));
        let mut merged: Vec<Range<usize>> = Vec::new();
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start < last.end || range == *last => {
                    last.end = last.end.max(range.end)
                }
                _ => merged.push(range),
            }
        }
        let text = match &at_each {
            AtEach::Insert(text) => text.as_str(),
            AtEach::DeleteBackward | AtEach::DeleteForward => "",
        };
        let edits: Vec<(Range<usize>, &str)> = merged
            .iter()
            .filter(|range| !range.is_empty() || !text.is_empty())
            .map(|range| (range.clone(), text))
            .collect();
        let mut outcome = Outcome::default();
        if edits.is_empty() {
            return Some(outcome);
        }
        let operation = Operation::from_edits(len, edits).ok()?;
        let before = self.selection;
        let typing = matches!(input, EditorInput::Insert(c) if *c != '\n');
        self.record(rope, &operation, before, typing);
        // Each cursor lands after what it typed (or where it deleted).
        let land = |range: &Range<usize>| {
            Selection::cursor(operation.transform_position(range.end, Assoc::After))
        };
        let primary_range = self.selection.range();
        let primary = merged
            .iter()
            .find(|range| range.start <= primary_range.start && primary_range.start <= range.end)
            .map_or(Selection::cursor(primary_range.start), land);
        self.selection = primary;
        self.extra_cursors.clear();
        for range in &merged {
            self.push_cursor(land(range));
        }
        self.desired_col = None;
        outcome.operation = Some(operation);
        Some(outcome)
    }

    /// Someone else's edit: every extra cursor moves with the text (as the primary does).
    pub(super) fn map_extra_cursors(&mut self, operation: &Operation, len: usize) {
        for cursor in &mut self.extra_cursors {
            *cursor = cursor.map(operation, Assoc::Before).clamped(len);
        }
        let primary = self.selection;
        let mut seen = Vec::new();
        self.extra_cursors.retain(|cursor| {
            *cursor != primary && !seen.contains(cursor) && {
                seen.push(*cursor);
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(editor: &mut Editor, rope: &mut Rope, input: EditorInput) -> Outcome {
        let outcome = editor.handle(input, rope);
        if let Some(operation) = &outcome.operation {
            operation.apply(rope).unwrap();
            editor.edit_applied(operation);
        }
        outcome
    }

    #[test]
    fn typing_and_deleting_at_cursors_added_below_is_one_operation_each() {
        let mut rope = Rope::from_str("ab\ncd\nef\n");
        let mut editor = Editor::new(Mode::Insert);
        editor.set_viewport(40, 10);
        editor.set_selection(&rope, Selection::cursor(1));
        apply(
            &mut editor,
            &mut rope,
            EditorInput::Action(Action::AddCursorBelow),
        );
        apply(
            &mut editor,
            &mut rope,
            EditorInput::Action(Action::AddCursorBelow),
        );
        assert_eq!(editor.extra_cursors().len(), 2);
        let outcome = apply(&mut editor, &mut rope, EditorInput::Insert('X'));
        assert!(outcome.operation.is_some());
        assert_eq!(rope.to_string(), "aXb\ncXd\neXf\n");
        apply(&mut editor, &mut rope, EditorInput::Insert('Y'));
        assert_eq!(rope.to_string(), "aXYb\ncXYd\neXYf\n");
        apply(
            &mut editor,
            &mut rope,
            EditorInput::Action(Action::DeleteBackward),
        );
        assert_eq!(rope.to_string(), "aXb\ncXd\neXf\n");
        apply(&mut editor, &mut rope, EditorInput::Paste("12".into()));
        assert_eq!(rope.to_string(), "aX12b\ncX12d\neX12f\n");
        // Undo takes back the paste at every cursor at once.
        apply(&mut editor, &mut rope, EditorInput::Action(Action::Undo));
        assert_eq!(rope.to_string(), "aXb\ncXd\neXf\n");
        // A motion goes back to one cursor.
        apply(&mut editor, &mut rope, EditorInput::Action(Action::Cancel));
        assert!(editor.extra_cursors().is_empty());
        apply(&mut editor, &mut rope, EditorInput::Insert('!'));
        assert_eq!(rope.to_string().matches('!').count(), 1);
    }

    #[test]
    fn next_occurrence_selects_the_word_then_adds_each_place_it_occurs() {
        let mut rope = Rope::from_str("let foo = foo + bar(foo);\n");
        let mut editor = Editor::new(Mode::Insert);
        editor.set_viewport(40, 10);
        editor.set_selection(&rope, Selection::cursor(5));
        apply(
            &mut editor,
            &mut rope,
            EditorInput::Action(Action::AddNextOccurrence),
        );
        assert_eq!(editor.selection.range(), 4..7);
        apply(
            &mut editor,
            &mut rope,
            EditorInput::Action(Action::AddNextOccurrence),
        );
        apply(
            &mut editor,
            &mut rope,
            EditorInput::Action(Action::AddNextOccurrence),
        );
        assert_eq!(editor.extra_cursors().len(), 2);
        let outcome = apply(&mut editor, &mut rope, EditorInput::Paste("qux".into()));
        assert!(outcome.operation.is_some());
        assert_eq!(rope.to_string(), "let qux = qux + bar(qux);\n");
        // All taken: a fourth press says so.
        apply(&mut editor, &mut rope, EditorInput::Action(Action::Cancel));
    }

    #[test]
    fn others_edits_move_the_extra_cursors() {
        let mut rope = Rope::from_str("ab\ncd\n");
        let mut editor = Editor::new(Mode::Insert);
        editor.set_viewport(40, 10);
        editor.set_selection(&rope, Selection::cursor(1));
        apply(
            &mut editor,
            &mut rope,
            EditorInput::Action(Action::AddCursorBelow),
        );
        let operation = Operation::insert(rope.len_chars(), 0, "zz\n").unwrap();
        operation.apply(&mut rope).unwrap();
        editor.apply_remote(&operation, &rope);
        apply(&mut editor, &mut rope, EditorInput::Insert('X'));
        assert_eq!(rope.to_string(), "zz\naXb\ncXd\n");
    }
}
