//! Operations: the one description of an edit that every part of cotype agrees on.
//!
//! An [`Operation`] walks a whole document from start to end, retaining, inserting and
//! deleting Unicode scalar values (the char indices ropey counts), in the style of ot.js.
//! Because it covers the whole document it knows the length it expects, so an edit
//! that arrives for a different version of the text is refused instead of corrupting it.
//! Operations are kept normalized (no empty components, neighbours of one kind merged,
//! an insert always before a delete at the same spot) so two equal edits compare equal
//! and serialize to the same bytes.

use std::ops::Range;

use ropey::Rope;
use serde::{Deserialize, Serialize};

mod algebra;

/// Everything that can go wrong in the editing engine. The messages name what happened
/// and what the user (or the calling code) should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtError {
    #[error(
        "the edit expects a document of {expected} characters but this copy has {actual}; \
         the copies have diverged, reload the document from the host"
    )]
    LengthMismatch { expected: usize, actual: usize },
    #[error("range {start}..{end} is not inside the document ({len} characters)")]
    BadRange {
        start: usize,
        end: usize,
        len: usize,
    },
    #[error(
        "the edits at {first:?} and {second:?} overlap; a multi-cursor edit needs disjoint ranges"
    )]
    Overlap {
        first: Range<usize>,
        second: Range<usize>,
    },
    #[error("the edit describes more text than this machine can address")]
    TooLong,
    #[error(
        "the document would hold {chars} characters, more than the {limit} the host keeps in \
         one document"
    )]
    DocumentTooLarge { chars: usize, limit: usize },
    #[error(
        "cannot combine edits: the first leaves {first_target} characters, the second expects {second_base}"
    )]
    ComposeMismatch {
        first_target: usize,
        second_base: usize,
    },
    #[error(
        "cannot transform concurrent edits: they expect documents of {a} and {b} characters, \
         but concurrent edits start from the same text"
    )]
    TransformMismatch { a: usize, b: usize },
    #[error("the host acknowledged an edit, but none was waiting for an acknowledgement")]
    UnexpectedAck,
    #[error(
        "edits were missed: this copy is at revision {synced} but received revision {received}; \
         ask the host for the edits since revision {synced}"
    )]
    MissedEdits { synced: u64, received: u64 },
    #[error(
        "the edit is based on revision {base}, but the host is only at revision {current}; \
         the client must reload the document"
    )]
    BaseAhead { base: u64, current: u64 },
    #[error(
        "the edit is based on revision {base}, older than the host's history (which starts at \
         revision {oldest}); the client must reload the whole document"
    )]
    BaseTooOld { base: u64, oldest: u64 },
}

/// One step of an operation's walk over the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Component {
    /// Keep the next `n` characters.
    Retain(usize),
    /// Insert this text here.
    Insert(String),
    /// Remove the next `n` characters.
    Delete(usize),
}

/// Which way a position moves when text is inserted exactly at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assoc {
    /// The position stays in front of text inserted at it (a remote caret, a selection start).
    Before,
    /// The position moves past text inserted at it (the typist's own caret, a selection end).
    After,
}

/// A whole-document edit over char indices. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Component>", into = "Vec<Component>")]
pub struct Operation {
    components: Vec<Component>,
    base_len: usize,
    target_len: usize,
}

/// One contiguous change, as [`Operation::changes`] yields it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<'a> {
    /// The replaced chars, counted in the document with every earlier change of the same
    /// iteration already applied (so applying the changes in order reproduces the operation,
    /// which is what LSP `didChange` and tree-sitter `InputEdit` sequences expect).
    pub range: Range<usize>,
    /// The text that takes their place (empty for a pure deletion).
    pub text: &'a str,
}

/// Builds an operation component by component, normalizing as it goes.
#[derive(Clone, Debug, Default)]
pub struct OperationBuilder {
    op: Operation,
}

impl OperationBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn retain(mut self, n: usize) -> Self {
        self.op.push_retain(n);
        self
    }
    pub fn insert(mut self, text: &str) -> Self {
        self.op.push_insert(text);
        self
    }
    pub fn delete(mut self, n: usize) -> Self {
        self.op.push_delete(n);
        self
    }
    pub fn build(self) -> Operation {
        self.op
    }
}

pub(crate) fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Byte index of the `n`th char of `s` (or `s.len()` past the end).
fn byte_at_char(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

impl TryFrom<Vec<Component>> for Operation {
    type Error = OtError;

    /// The path every operation from the network takes: lengths are recomputed (never
    /// trusted) and overflow is refused, then the components are normalized.
    fn try_from(components: Vec<Component>) -> Result<Self, OtError> {
        let mut base = 0usize;
        let mut target = 0usize;
        for c in &components {
            match c {
                Component::Retain(n) => {
                    base = base.checked_add(*n).ok_or(OtError::TooLong)?;
                    target = target.checked_add(*n).ok_or(OtError::TooLong)?;
                }
                Component::Insert(s) => {
                    target = target.checked_add(char_len(s)).ok_or(OtError::TooLong)?;
                }
                Component::Delete(n) => base = base.checked_add(*n).ok_or(OtError::TooLong)?,
            }
        }
        let mut op = Operation::default();
        for c in components {
            match c {
                Component::Retain(n) => op.push_retain(n),
                Component::Insert(s) => op.push_insert(&s),
                Component::Delete(n) => op.push_delete(n),
            }
        }
        Ok(op)
    }
}

impl From<Operation> for Vec<Component> {
    fn from(op: Operation) -> Self {
        op.components
    }
}

impl Operation {
    /// The operation that changes nothing in a document of `doc_len` chars.
    pub fn identity(doc_len: usize) -> Self {
        OperationBuilder::new().retain(doc_len).build()
    }

    /// Insert `text` at char index `at`.
    pub fn insert(doc_len: usize, at: usize, text: &str) -> Result<Self, OtError> {
        Self::replace(doc_len, at..at, text)
    }

    /// Delete the chars in `range`.
    pub fn delete(doc_len: usize, range: Range<usize>) -> Result<Self, OtError> {
        Self::replace(doc_len, range, "")
    }

    /// Replace the chars in `range` by `text`.
    pub fn replace(doc_len: usize, range: Range<usize>, text: &str) -> Result<Self, OtError> {
        Self::from_edits(doc_len, [(range, text)])
    }

    /// One operation for many cursors: each `(range, text)` replaces `range` (char indices
    /// in the current document) by `text`. Order does not matter, but ranges may not overlap;
    /// insertions at the same point keep the order given.
    pub fn from_edits<I, S>(doc_len: usize, edits: I) -> Result<Self, OtError>
    where
        I: IntoIterator<Item = (Range<usize>, S)>,
        S: AsRef<str>,
    {
        let mut edits: Vec<(Range<usize>, S)> = edits.into_iter().collect();
        edits.sort_by_key(|(r, _)| (r.start, r.end));
        let mut op = Operation::default();
        let mut cursor = 0;
        let mut previous: Option<Range<usize>> = None;
        for (range, text) in edits {
            if range.start > range.end || range.end > doc_len {
                return Err(OtError::BadRange {
                    start: range.start,
                    end: range.end,
                    len: doc_len,
                });
            }
            if let Some(prev) = previous.filter(|p| p.end > range.start) {
                return Err(OtError::Overlap {
                    first: prev,
                    second: range,
                });
            }
            op.push_retain(range.start - cursor);
            op.push_insert(text.as_ref());
            op.push_delete(range.end - range.start);
            cursor = range.end;
            previous = Some(range);
        }
        op.push_retain(doc_len - cursor);
        Ok(op)
    }

    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Length in chars of the document this operation applies to.
    pub fn base_len(&self) -> usize {
        self.base_len
    }

    /// Length in chars of the document it produces.
    pub fn target_len(&self) -> usize {
        self.target_len
    }

    /// About how many bytes it takes encoded: its inserted text and a few bytes per
    /// component (for sizing a batch of edits, not exact).
    pub fn encoded_size(&self) -> usize {
        self.components
            .iter()
            .map(|component| match component {
                Component::Insert(text) => text.len() + 5,
                Component::Retain(_) | Component::Delete(_) => 6,
            })
            .sum()
    }

    /// True when applying it changes nothing.
    pub fn is_noop(&self) -> bool {
        self.components
            .iter()
            .all(|c| matches!(c, Component::Retain(_)))
    }

    fn push_retain(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.base_len += n;
        self.target_len += n;
        if let Some(Component::Retain(last)) = self.components.last_mut() {
            *last += n;
        } else {
            self.components.push(Component::Retain(n));
        }
    }

    fn push_insert(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.target_len += char_len(text);
        let len = self.components.len();
        match self.components.as_mut_slice() {
            [.., Component::Insert(last)] => last.push_str(text),
            // An insert and a delete at the same spot commute; keeping the insert first
            // gives every edit exactly one normal form.
            [.., Component::Insert(before), Component::Delete(_)] => before.push_str(text),
            [.., Component::Delete(_)] => self
                .components
                .insert(len - 1, Component::Insert(text.to_owned())),
            _ => self.components.push(Component::Insert(text.to_owned())),
        }
    }

    fn push_delete(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.base_len += n;
        if let Some(Component::Delete(last)) = self.components.last_mut() {
            *last += n;
        } else {
            self.components.push(Component::Delete(n));
        }
    }

    fn check_base(&self, actual: usize) -> Result<(), OtError> {
        if actual == self.base_len {
            Ok(())
        } else {
            Err(OtError::LengthMismatch {
                expected: self.base_len,
                actual,
            })
        }
    }

    /// Apply to a rope. Refuses (and leaves the rope untouched) when the rope is not the
    /// length this operation was made for.
    pub fn apply(&self, rope: &mut Rope) -> Result<(), OtError> {
        self.check_base(rope.len_chars())?;
        let mut pos = 0;
        for c in &self.components {
            match c {
                Component::Retain(n) => pos += n,
                Component::Insert(s) => {
                    rope.insert(pos, s);
                    pos += char_len(s);
                }
                Component::Delete(n) => rope.remove(pos..pos + n),
            }
        }
        Ok(())
    }

    /// Apply to a string, returning the new text.
    pub fn apply_to_string(&self, text: &str) -> Result<String, OtError> {
        self.check_base(char_len(text))?;
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        for c in &self.components {
            match c {
                Component::Retain(n) => {
                    let b = byte_at_char(rest, *n);
                    out.push_str(&rest[..b]);
                    rest = &rest[b..];
                }
                Component::Insert(s) => out.push_str(s),
                Component::Delete(n) => rest = &rest[byte_at_char(rest, *n)..],
            }
        }
        Ok(out)
    }

    /// The changes this operation makes, front to back; see [`Change`] for the coordinates.
    pub fn changes(&self) -> impl Iterator<Item = Change<'_>> + '_ {
        let mut pos = 0;
        let mut i = 0;
        std::iter::from_fn(move || {
            loop {
                match self.components.get(i)? {
                    Component::Retain(n) => {
                        pos += n;
                        i += 1;
                    }
                    Component::Insert(s) => {
                        i += 1;
                        let deleted = match self.components.get(i) {
                            Some(Component::Delete(n)) => {
                                i += 1;
                                *n
                            }
                            _ => 0,
                        };
                        let change = Change {
                            range: pos..pos + deleted,
                            text: s,
                        };
                        pos += char_len(s);
                        return Some(change);
                    }
                    Component::Delete(n) => {
                        i += 1;
                        return Some(Change {
                            range: pos..pos + n,
                            text: "",
                        });
                    }
                }
            }
        })
    }

    /// Where char position `pos` (a gap between chars, `0..=base_len`) ends up after this
    /// operation. Positions inside deleted text collapse to the deletion point; `assoc`
    /// decides text inserted exactly at `pos`; positions past the end clamp to the end.
    pub fn transform_position(&self, pos: usize, assoc: Assoc) -> usize {
        let mut old = 0;
        let mut new = 0;
        for c in &self.components {
            match c {
                Component::Retain(n) => {
                    if pos < old + n {
                        return new + (pos - old);
                    }
                    old += n;
                    new += n;
                }
                Component::Insert(s) => {
                    if pos == old && assoc == Assoc::Before {
                        return new;
                    }
                    new += char_len(s);
                }
                Component::Delete(n) => {
                    if pos <= old + n {
                        return new;
                    }
                    old += n;
                }
            }
        }
        new
    }
}

#[cfg(test)]
mod tests;
