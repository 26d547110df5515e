//! Undo that only takes back your own edits.
//!
//! In a shared document, "undo" must not remove text someone else typed since. So the
//! history keeps the inverse of each of the local user's own edits, and every remote edit
//! that arrives is transformed into those inverses: an inverse then deletes only the text
//! it inserted (even if others typed in the middle of it) and restores only what it
//! deleted, at wherever that place has moved to.
//!
//! Stack discipline: the top entry applies to the current text; each entry below applies
//! to the text as it would be after undoing every entry above it. A remote edit is
//! therefore carried from the top down, rebased past each entry in turn.

use ropey::Rope;

use super::operation::{Operation, OtError};

/// The local user's undo and redo history for one document.
#[derive(Clone, Debug)]
pub struct UndoHistory {
    undo: Vec<Operation>,
    redo: Vec<Operation>,
    /// Whether the next local edit joins the top undo step (consecutive typing).
    group_open: bool,
    limit: usize,
}

impl Default for UndoHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl UndoHistory {
    /// Undo steps kept unless [`Self::with_limit`] says otherwise.
    pub const DEFAULT_LIMIT: usize = 1_000;

    pub fn new() -> Self {
        Self::with_limit(Self::DEFAULT_LIMIT)
    }

    /// Keep at most `limit` undo steps (at least one); the oldest are forgotten.
    pub fn with_limit(limit: usize) -> Self {
        UndoHistory {
            undo: Vec::new(),
            redo: Vec::new(),
            group_open: false,
            limit: limit.max(1),
        }
    }

    pub fn can_undo(&self) -> bool {
        self.undo.iter().any(|op| !op.is_noop())
    }

    pub fn can_redo(&self) -> bool {
        self.redo.iter().any(|op| !op.is_noop())
    }

    /// The local user made `op` on the text `before` (call it for typed edits, not for
    /// what [`Self::undo`] or [`Self::redo`] returned). It joins the current undo step
    /// until [`Self::end_group`]. Clears the redo history.
    pub fn record_local(&mut self, op: &Operation, before: &Rope) -> Result<(), OtError> {
        if op.is_noop() {
            return Ok(());
        }
        let inverse = op.invert(before)?;
        self.redo.clear();
        match self.undo.last_mut() {
            Some(top) if self.group_open => *top = inverse.compose(top)?,
            _ => {
                self.undo.push(inverse);
                if self.undo.len() > self.limit {
                    self.undo.remove(0);
                }
            }
        }
        self.group_open = true;
        Ok(())
    }

    /// Ends the current undo step: the next local edit starts a new one. Call it when the
    /// cursor jumps, on a pause in typing, on a non-typing command.
    pub fn end_group(&mut self) {
        self.group_open = false;
    }

    /// Someone else's edit was applied to the local text (the op as applied locally,
    /// i.e. what `Client::on_remote` returned).
    pub fn on_remote(&mut self, op: &Operation) -> Result<(), OtError> {
        // Compute both stacks before changing either, so an error leaves them intact.
        let undo = rebase_stack(&self.undo, op)?;
        let redo = rebase_stack(&self.redo, op)?;
        self.undo = undo;
        self.redo = redo;
        Ok(())
    }

    /// The edit that undoes the latest step, for the current text `doc`. The caller
    /// applies it and submits it like any local edit (without `record_local`).
    /// Steps whose effect others have already removed are skipped.
    pub fn undo(&mut self, doc: &Rope) -> Result<Option<Operation>, OtError> {
        self.group_open = false;
        step(&mut self.undo, &mut self.redo, doc)
    }

    /// The edit that redoes the latest undone step; see [`Self::undo`].
    pub fn redo(&mut self, doc: &Rope) -> Result<Option<Operation>, OtError> {
        self.group_open = false;
        step(&mut self.redo, &mut self.undo, doc)
    }
}

fn step(
    from: &mut Vec<Operation>,
    to: &mut Vec<Operation>,
    doc: &Rope,
) -> Result<Option<Operation>, OtError> {
    while let Some(top) = from.last() {
        if top.is_noop() {
            // Undoing it would change nothing, and what lies below applies to the text
            // after it, which is the current text.
            from.pop();
            continue;
        }
        let back = top.invert(doc)?;
        let op = from.pop();
        to.push(back);
        return Ok(op);
    }
    Ok(None)
}

fn rebase_stack(stack: &[Operation], remote: &Operation) -> Result<Vec<Operation>, OtError> {
    let mut remote = remote.clone();
    let mut rebased = vec![Operation::default(); stack.len()];
    for (i, entry) in stack.iter().enumerate().rev() {
        let (r, e) = Operation::transform(&remote, entry)?;
        rebased[i] = e;
        remote = r;
    }
    Ok(rebased)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Doc {
        rope: Rope,
        history: UndoHistory,
    }

    impl Doc {
        fn new(text: &str) -> Self {
            Doc {
                rope: Rope::from_str(text),
                history: UndoHistory::new(),
            }
        }
        fn local(&mut self, op: Operation) {
            self.history.record_local(&op, &self.rope).unwrap();
            op.apply(&mut self.rope).unwrap();
        }
        fn type_at(&mut self, at: usize, text: &str) {
            let len = self.rope.len_chars();
            self.local(Operation::insert(len, at, text).unwrap());
        }
        fn remote(&mut self, op: Operation) {
            op.apply(&mut self.rope).unwrap();
            self.history.on_remote(&op).unwrap();
        }
        fn undo(&mut self) -> bool {
            match self.history.undo(&self.rope).unwrap() {
                Some(op) => {
                    op.apply(&mut self.rope).unwrap();
                    true
                }
                None => false,
            }
        }
        fn redo(&mut self) -> bool {
            match self.history.redo(&self.rope).unwrap() {
                Some(op) => {
                    op.apply(&mut self.rope).unwrap();
                    true
                }
                None => false,
            }
        }
        fn text(&self) -> String {
            self.rope.to_string()
        }
    }

    #[test]
    fn typing_is_one_step_until_the_group_ends() {
        let mut doc = Doc::new("");
        doc.type_at(0, "h");
        doc.type_at(1, "i");
        doc.history.end_group();
        doc.type_at(2, "!");
        assert!(doc.undo());
        assert_eq!(doc.text(), "hi");
        assert!(doc.undo());
        assert_eq!(doc.text(), "");
        assert!(!doc.undo());
        assert!(doc.redo());
        assert_eq!(doc.text(), "hi");
        assert!(doc.redo());
        assert_eq!(doc.text(), "hi!");
        assert!(!doc.redo());
    }

    #[test]
    fn undo_keeps_text_others_typed_inside_mine() {
        let mut doc = Doc::new("// ");
        doc.type_at(3, "hello");
        doc.remote(Operation::insert(8, 5, "XX").unwrap()); // "// heXXllo"
        doc.remote(Operation::insert(10, 0, "😀").unwrap());
        assert!(doc.undo());
        assert_eq!(doc.text(), "😀// XX");
        assert!(doc.redo());
        assert_eq!(doc.text(), "😀// heXXllo");
    }

    #[test]
    fn undo_restores_my_deletion_where_it_moved() {
        let mut doc = Doc::new("one two three");
        doc.local(Operation::delete(13, 4..8).unwrap()); // "one three"
        doc.remote(Operation::replace(9, 0..3, "1").unwrap()); // "1 three"
        assert!(doc.undo());
        assert_eq!(doc.text(), "1 two three");
    }

    #[test]
    fn a_step_others_already_undid_is_skipped() {
        let mut doc = Doc::new("ab");
        doc.type_at(2, "c");
        doc.history.end_group();
        doc.type_at(0, "x");
        // Someone deletes the "x" I typed.
        doc.remote(Operation::delete(4, 0..1).unwrap());
        assert!(doc.undo());
        assert_eq!(doc.text(), "ab");
        assert!(!doc.history.can_undo());
    }

    #[test]
    fn a_new_edit_clears_redo() {
        let mut doc = Doc::new("");
        doc.type_at(0, "a");
        assert!(doc.undo());
        doc.type_at(0, "b");
        assert!(!doc.history.can_redo());
        assert!(!doc.redo());
        assert_eq!(doc.text(), "b");
    }
}
