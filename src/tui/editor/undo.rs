//! Undo records an edit only once the session accepted it.
//!
//! An input's changes to the undo history (a step recorded, a step ended) wait beside the
//! edit it hands out. When the session applied that edit, the caller says so
//! ([`Editor::edit_applied`], which `App::local_edit_applied` calls) and they go into the
//! history; an edit the session refused (a read-only participant, a document still
//! loading) is never confirmed, so the next input or someone else's edit finds it
//! unconfirmed and drops its steps: a refused edit leaves no undo step. Undo and redo
//! take their step out of the history at once, so they keep the history as it was, to
//! put back if their edit is refused.

use ropey::Rope;

use super::*;
use crate::text::{Operation, UndoHistory};

/// Undo-history changes waiting for the session to accept the edit they belong to.
#[derive(Debug, Clone, Default)]
pub(super) struct Unconfirmed {
    /// In the order they were made.
    steps: Vec<Step>,
    /// The history before an undo or redo took its step out of it.
    rollback: Option<Box<UndoHistory>>,
    /// The edit handed out, until the session accepts it.
    edit: Option<Operation>,
}

#[derive(Debug, Clone)]
enum Step {
    EndGroup,
    Record { operation: Operation, before: Rope },
}

impl Editor {
    /// The session applied `operation`, the edit the last input handed out: what it
    /// changes in the undo history takes effect.
    pub fn edit_applied(&mut self, operation: &Operation) {
        if self.unconfirmed.edit.as_ref() == Some(operation) {
            self.unconfirmed.edit = None;
            self.unconfirmed.rollback = None;
            self.apply_undo_steps(true);
        }
    }

    /// A local edit made on the text `before`, to record for undo once accepted.
    pub(super) fn record_undo(&mut self, operation: &Operation, before: &Rope) {
        self.unconfirmed.steps.push(Step::Record {
            operation: operation.clone(),
            before: before.clone(),
        });
    }

    /// Ends the current undo step (in order with the steps recorded).
    pub(super) fn end_undo_group(&mut self) {
        self.unconfirmed.steps.push(Step::EndGroup);
    }

    /// Undo or redo, which change the history at once: what it was is kept in case their
    /// edit is refused.
    pub(super) fn undo_step(&mut self, rope: &Rope, undo: bool) -> Option<Operation> {
        if self.unconfirmed.rollback.is_none() {
            self.unconfirmed.rollback = Some(Box::new(self.history.clone()));
        }
        self.apply_undo_steps(true);
        let step = if undo {
            self.history.undo(rope)
        } else {
            self.history.redo(rope)
        };
        step.ok().flatten()
    }

    /// Before an input or someone else's edit: an edit handed out and never accepted was
    /// refused, and leaves no undo step.
    pub(super) fn forget_refused_edit(&mut self) {
        if self.unconfirmed.edit.take().is_none() {
            return;
        }
        if let Some(history) = self.unconfirmed.rollback.take() {
            self.history = *history;
        }
        self.apply_undo_steps(false);
    }

    /// After an input: an edit waits for the session; without one, the input's changes
    /// to the history take effect now.
    pub(super) fn settle_undo(&mut self, outcome: &Outcome) {
        match &outcome.operation {
            Some(operation) => self.unconfirmed.edit = Some(operation.clone()),
            None => {
                self.unconfirmed.rollback = None;
                self.apply_undo_steps(true);
            }
        }
    }

    /// Applies the waiting steps; records only if their edit was `accepted`.
    fn apply_undo_steps(&mut self, accepted: bool) {
        for step in std::mem::take(&mut self.unconfirmed.steps) {
            match step {
                Step::EndGroup => self.history.end_group(),
                Step::Record { operation, before } if accepted => {
                    // Cannot fail for an edit made on this very text.
                    let _ = self.history.record_local(&operation, &before);
                }
                Step::Record { .. } => {}
            }
        }
    }
}
