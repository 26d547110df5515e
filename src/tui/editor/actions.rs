//! What an input does: [`Editor::handle`] sends each input to its kind, and each action
//! to the group that does it (motions, edits, modes, the selection and the view, search).

use ropey::Rope;

use super::*;
use crate::tui::keymap::{Action, Command, Mode, Operator};

impl Editor {
    /// Handles one input against the current document. Its edit, if any, goes into the
    /// undo history once the caller says the session applied it ([`Editor::edit_applied`]).
    pub fn handle(&mut self, input: EditorInput, rope: &Rope) -> Outcome {
        self.forget_refused_edit();
        let outcome = self.handle_input(input, rope);
        self.settle_undo(&outcome);
        outcome
    }

    /// [`Editor::handle`] for one input, which `.` also calls for each of its steps.
    pub(super) fn handle_input(&mut self, input: EditorInput, rope: &Rope) -> Outcome {
        if input == EditorInput::Action(Action::RepeatChange) {
            return self.repeat_change(rope);
        }
        // Several cursors: what this version does at all of them, or back to one.
        if let Some(outcome) = self.input_at_every_cursor(&input, rope) {
            return outcome;
        }
        match input {
            EditorInput::Action(Action::AddCursorAbove) => {
                return self.add_cursor_vertically(rope, false);
            }
            EditorInput::Action(Action::AddCursorBelow) => {
                return self.add_cursor_vertically(rope, true);
            }
            EditorInput::Action(Action::AddNextOccurrence) => {
                return self.add_next_occurrence(rope);
            }
            // vim: `i` keeps the cursors, to type at all of them.
            EditorInput::Action(Action::InsertMode) => {}
            _ => self.clear_extra_cursors(),
        }
        // A substitution makes its own undo step, and keeps it open between answers.
        let input = match input {
            EditorInput::Substitute(request) => {
                let outcome = self.substitute(request, rope);
                return self.after_substitute(rope, outcome);
            }
            EditorInput::SubstituteAnswer(answer) => {
                let outcome = self.substitute_answer(answer, rope);
                return self.after_substitute(rope, outcome);
            }
            EditorInput::ReplaceMatch(request) => {
                let outcome = self.replace_selected_match(rope, &request);
                return self.after_substitute(rope, outcome);
            }
            other => other,
        };
        let tracked = commands::Tracked::of(&input);

        let mode_before = self.mode;
        let mut outcome = Outcome::default();
        let typing = matches!(input, EditorInput::Insert(_));
        // A change's deletion (or `o`'s new line) and the text typed after it are one undo
        // step.
        let starts_typing = matches!(
            input,
            EditorInput::Command(Command {
                operator: Some(Operator::Change),
                ..
            }) | EditorInput::Action(
                Action::OperatorChange | Action::OpenLineBelow | Action::OpenLineAbove
            )
        );
        match input {
            EditorInput::Insert('\n') => outcome.operation = self.insert_newline(rope, typing),
            EditorInput::Insert(c) => {
                outcome.operation = self.replace_selection(rope, &c.to_string(), typing);
            }
            EditorInput::TidyForSave(tidying) => {
                outcome.operation = self.tidy_for_save(rope, tidying);
            }
            EditorInput::Paste(text) => {
                // Terminals send pasted line breaks as \r; they become the document's.
                let text = with_line_breaks(&text, line_break(rope));
                outcome.operation = self.replace_selection(rope, &text, false);
            }
            EditorInput::Find { query, forward } => {
                outcome.navigated = true;
                outcome.message = self.find(rope, &query, forward);
                self.last_search = Some(query).filter(|q| !q.is_empty());
            }
            EditorInput::Action(action) => self.action(action, rope, &mut outcome),
            EditorInput::Command(command) => self.command(command, rope, &mut outcome),
            EditorInput::Substitute(_)
            | EditorInput::SubstituteAnswer(_)
            | EditorInput::ReplaceMatch(_) => {}
        }
        if !typing && !starts_typing {
            self.end_typing_group();
        }
        self.keep_normal_cursor_on_text(rope, &outcome);
        if outcome.operation.is_none() {
            self.ensure_cursor_visible(rope);
        }
        self.track_change(tracked, mode_before, &outcome);
        outcome
    }

    fn after_substitute(&mut self, rope: &Rope, outcome: Outcome) -> Outcome {
        if outcome.operation.is_some() {
            // `.` repeats d, c and x; after another change it has nothing to repeat.
            self.last_change = None;
        }
        self.keep_normal_cursor_on_text(rope, &outcome);
        outcome
    }

    /// In vim's normal mode the cursor is on a character, never after the last one of a
    /// line (so `$x` deletes that character and `u` lands on text): wherever a command
    /// left it, it steps back onto the line's last character. `rope` is the text before
    /// `outcome`'s edit.
    fn keep_normal_cursor_on_text(&mut self, rope: &Rope, outcome: &Outcome) {
        if self.mode != Mode::Normal || !self.selection.is_empty() {
            return;
        }
        let edited;
        let text = match &outcome.operation {
            Some(operation) => {
                let mut after = rope.clone();
                if operation.apply(&mut after).is_err() {
                    return;
                }
                edited = after;
                &edited
            }
            None => rope,
        };
        let head = self.selection.head.min(text.len_chars());
        let line = text.char_to_line(head);
        let end = line_end(text, line);
        if head >= end && end > text.line_to_char(line) {
            self.selection = Selection::cursor(prev_grapheme(text, end));
        }
    }

    pub(super) fn action(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        use Action as A;
        if let Some(target) = self.motion_target(action, rope) {
            self.apply_motion(action, target, rope);
            outcome.navigated = true;
            return;
        }
        match action {
            A::SelectAll | A::SelectLine | A::VisualMode | A::CenterCursor | A::Cancel => {
                self.select_or_scroll(action, rope, outcome)
            }
            A::NormalMode
            | A::InsertMode
            | A::AppendMode
            | A::InsertAtLineStart
            | A::AppendAtLineEnd => self.switch_mode(action, rope),
            A::SearchWordForward | A::SearchWordBackward | A::FindNext | A::FindPrevious => {
                self.search_again(action, rope, outcome)
            }
            A::InsertNewline => outcome.operation = self.insert_newline(rope, false),
            A::ToggleComment => self.toggle_comment(rope, outcome),
            A::MoveLineUp | A::MoveLineDown => {
                outcome.operation = self.move_lines(rope, action == A::MoveLineDown)
            }
            A::DuplicateLine => outcome.operation = self.duplicate_lines(rope),
            A::ToggleSoftWrap => {
                self.soft_wrap = !self.soft_wrap;
                outcome.message = Some(
                    if self.soft_wrap {
                        "long lines wrap"
                    } else {
                        "long lines run off the edge (no wrap)"
                    }
                    .into(),
                );
                self.ensure_cursor_visible(rope);
            }
            // vim's `>>` and `<<`: the line, whatever the cursor's column.
            A::InsertTab | A::Dedent if self.mode == Mode::Normal => {
                outcome.operation = self.shift_lines(rope, 1, action == A::InsertTab)
            }
            A::InsertTab => outcome.operation = self.indent(rope),
            A::Dedent => outcome.operation = self.dedent(rope),
            A::JoinLines => outcome.operation = self.join_lines(rope, 2),
            A::ToggleCase => outcome.operation = self.toggle_case(rope, 1),
            A::OpenLineBelow | A::OpenLineAbove => outcome.operation = self.open_line(action, rope),
            // Visual `d`, `c`, `y` act on the selection.
            A::OperatorDelete | A::OperatorChange | A::OperatorYank
                if self.mode == Mode::Visual && !self.selection.is_empty() =>
            {
                self.visual_operator(action, rope, outcome)
            }
            A::DeleteBackward | A::DeleteForward | A::DeleteWordBackward | A::DeleteWordForward => {
                outcome.operation = self.delete(action, rope)
            }
            A::DeleteLine => self.delete_line(rope, outcome),
            A::Copy | A::Cut => self.copy_or_cut(action, rope, outcome),
            A::Paste | A::PasteBefore => self.paste(action, rope, outcome),
            A::Undo | A::Redo => self.undo_or_redo(action, rope, outcome),
            _ => outcome.ignored = true,
        }
    }

    /// Selecting, scrolling and cancelling, which leave the text alone.
    fn select_or_scroll(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        let len = rope.len_chars();
        let head = self.selection.head.min(len);
        match action {
            Action::SelectAll => {
                self.selection = Selection {
                    anchor: 0,
                    head: len,
                };
                outcome.navigated = true;
            }
            Action::SelectLine => {
                let line = rope.char_to_line(head);
                let end = if line + 1 >= rope.len_lines() {
                    len
                } else {
                    rope.line_to_char(line + 1)
                };
                self.selection = Selection {
                    anchor: rope.line_to_char(line),
                    head: end,
                };
                if self.mode == Mode::Normal {
                    self.mode = Mode::Visual;
                }
                outcome.navigated = true;
            }
            Action::VisualMode => {
                self.mode = Mode::Visual;
                // Vim's visual mode includes the character under the cursor.
                self.selection = Selection {
                    anchor: head,
                    head: next_grapheme(rope, head),
                };
            }
            Action::CenterCursor => {
                let line = rope.char_to_line(head);
                self.scroll_line = line.saturating_sub(self.viewport.1 / 2);
                self.scroll_anchor = rope.line_to_char(self.scroll_line);
                outcome.navigated = true;
            }
            // Cancel clears a selection; without one, the caller may close something.
            _ if self.selection.is_empty() => outcome.ignored = true,
            _ => self.selection = Selection::cursor(head),
        }
    }

    /// Entering insert mode (at the cursor, after it, at the line's start or end) or
    /// leaving insert or visual mode.
    fn switch_mode(&mut self, action: Action, rope: &Rope) {
        let head = self.selection.head.min(rope.len_chars());
        let line = rope.char_to_line(head);
        match action {
            Action::NormalMode => {
                if self.mode == Mode::Visual {
                    self.selection = Selection::cursor(head);
                } else if self.mode == Mode::Insert {
                    // As in vim, leaving insert mode steps back onto the last character.
                    if head > rope.line_to_char(line) {
                        self.selection = Selection::cursor(prev_grapheme(rope, head));
                    }
                }
                self.mode = Mode::Normal;
                return;
            }
            Action::AppendMode => {
                let line_end = line_end(rope, line);
                self.selection =
                    Selection::cursor(next_grapheme(rope, head).min(line_end.max(head)));
            }
            Action::InsertAtLineStart => {
                self.selection = Selection::cursor(first_non_blank(rope, line));
            }
            Action::AppendAtLineEnd => self.selection = Selection::cursor(line_end(rope, line)),
            _ => {}
        }
        self.mode = Mode::Insert;
    }

    /// `*`, `#`, `n` and `N`: the word under the cursor, or the last search, again.
    fn search_again(&mut self, action: Action, rope: &Rope, outcome: &mut Outcome) {
        let head = self.selection.head.min(rope.len_chars());
        let query = match action {
            Action::SearchWordForward | Action::SearchWordBackward => {
                let Some((start, word)) = motions::word_at(rope, head) else {
                    outcome.message = Some("no word under the cursor to search for".into());
                    return;
                };
                self.selection = Selection::cursor(start);
                self.last_search = Some(word.clone());
                word
            }
            _ => {
                let Some(query) = self.last_search.clone() else {
                    outcome.message = Some("no search yet; find with the find key first".into());
                    return;
                };
                query
            }
        };
        let forward = matches!(action, Action::SearchWordForward | Action::FindNext);
        outcome.navigated = true;
        outcome.message = self.find(rope, &query, forward);
    }
}
