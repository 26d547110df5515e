//! The host's copy of a document: the one that decides the order of edits.
//!
//! Every accepted edit gets the next revision number. An edit based on an older revision
//! is transformed past everything sequenced since, so each participant only ever has to
//! rebase its own pending edits. A bounded history of sequenced edits serves both that
//! transformation and the catch-up of participants that reconnect; a participant further
//! behind than the history must reload the whole document.
//!
//! Submissions are idempotent by [`EditId`]: a participant that lost its connection
//! resends its outstanding edit, and if the host already applied it the resend changes
//! nothing and is answered with the revision it got.

use std::collections::{HashMap, VecDeque};

use ropey::Rope;

use super::client::{EditId, RemoteEdit, Submission};
use super::operation::{Operation, OtError};

/// What [`AuthoritativeDocument::submit`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Applied as a new revision; broadcast this edit to every participant (its author
    /// included: the author takes it as the acknowledgement).
    Applied(RemoteEdit),
    /// Already applied earlier; nothing changed. `revision` is the revision it got (for a
    /// resend older than the history: the revision of that sender's latest applied edit).
    /// Answer the sender with an acknowledgement carrying it.
    Duplicate { revision: u64 },
}

/// Why [`AuthoritativeDocument::edits_since`] cannot answer with edits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatchUpError {
    #[error(
        "revision {requested} is older than the kept history (from revision {oldest}); \
         send the whole document instead"
    )]
    TooOld { requested: u64, oldest: u64 },
    #[error(
        "revision {requested} is newer than the document's ({current}); the participant's copy \
         is not this document's history, send the whole document instead"
    )]
    Ahead { requested: u64, current: u64 },
}

#[derive(Clone, Copy, Debug)]
struct LatestApplied {
    seq: u64,
    revision: u64,
}

/// The authoritative copy of one document at the host.
#[derive(Clone, Debug)]
pub struct AuthoritativeDocument {
    rope: Rope,
    revision: u64,
    /// The last sequenced edits, oldest first; the last one produced `revision`.
    history: VecDeque<RemoteEdit>,
    history_limit: usize,
    /// What the history's edits take (`Operation::encoded_size`), and the most it may:
    /// a count alone lets a few huge edits hold gigabytes.
    history_bytes: usize,
    history_byte_limit: usize,
    /// The most characters the document may hold; an edit past it is refused.
    max_chars: usize,
    latest: HashMap<[u8; 16], LatestApplied>,
}

impl AuthoritativeDocument {
    /// Edits kept for rebasing and catch-up unless [`Self::with_history_limit`] says otherwise.
    pub const DEFAULT_HISTORY_LIMIT: usize = 10_000;
    /// Bytes of edits kept in the history: enough for 10,000 ordinary edits many times
    /// over, while 100 pastes of 1 MiB cannot pile up.
    pub const DEFAULT_HISTORY_BYTES: usize = 16 * 1024 * 1024;
    /// Characters one document may hold (128 Mi: a 100 MB log file opens and edits).
    pub const DEFAULT_MAX_CHARS: usize = 128 * 1024 * 1024;

    /// A document with this text, currently at `revision`.
    pub fn new(text: &str, revision: u64) -> Self {
        Self::from_rope(Rope::from_str(text), revision)
    }

    pub fn from_rope(rope: Rope, revision: u64) -> Self {
        AuthoritativeDocument {
            rope,
            revision,
            history: VecDeque::new(),
            history_limit: Self::DEFAULT_HISTORY_LIMIT,
            history_bytes: 0,
            history_byte_limit: Self::DEFAULT_HISTORY_BYTES,
            max_chars: Self::DEFAULT_MAX_CHARS,
            latest: HashMap::new(),
        }
    }

    /// Keep at most `limit` edits (at least one).
    pub fn with_history_limit(mut self, limit: usize) -> Self {
        self.history_limit = limit.max(1);
        self.trim_history();
        self
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The oldest revision an edit may be based on, or a catch-up may start from.
    pub fn oldest_revision(&self) -> u64 {
        self.revision - self.history.len() as u64
    }

    /// Keep at most `bytes` of edits in the history (the latest edit always stays), and
    /// refuse edits that would make the document longer than `max_chars`.
    pub fn with_limits(mut self, bytes: usize, max_chars: usize) -> Self {
        self.history_byte_limit = bytes;
        self.max_chars = max_chars;
        self.trim_history();
        self
    }

    fn trim_history(&mut self) {
        while self.history.len() > self.history_limit
            || (self.history_bytes > self.history_byte_limit && self.history.len() > 1)
        {
            if let Some(dropped) = self.history.pop_front() {
                self.history_bytes -= dropped.op.encoded_size();
            }
        }
    }

    /// Sequence a participant's edit. Refuses (changing nothing) an edit based on a
    /// revision outside the history, or one that does not fit the document it claims.
    pub fn submit(&mut self, submission: Submission) -> Result<SubmitOutcome, OtError> {
        let Submission {
            id,
            base_revision,
            op,
        } = submission;
        if let Some(latest) = self.latest.get(&id.instance).copied()
            && id.seq <= latest.seq
        {
            let revision = self
                .history
                .iter()
                .find(|e| e.author == id.public())
                .map_or(latest.revision, |e| e.revision);
            return Ok(SubmitOutcome::Duplicate { revision });
        }
        let oldest = self.oldest_revision();
        if base_revision > self.revision {
            return Err(OtError::BaseAhead {
                base: base_revision,
                current: self.revision,
            });
        }
        if base_revision < oldest {
            return Err(OtError::BaseTooOld {
                base: base_revision,
                oldest,
            });
        }
        let mut op = op;
        let skip = (base_revision - oldest) as usize;
        for earlier in self.history.iter().skip(skip) {
            // The edit sequenced earlier goes first in transform, so it wins ties; clients
            // do the same when they rebase (see `Operation::transform`).
            op = Operation::transform(&earlier.op, &op)?.1;
        }
        if op.target_len() > self.max_chars && op.target_len() > op.base_len() {
            return Err(OtError::DocumentTooLarge {
                chars: op.target_len(),
                limit: self.max_chars,
            });
        }
        op.apply(&mut self.rope)?;
        Ok(SubmitOutcome::Applied(self.record(id, op)))
    }

    fn record(&mut self, author: EditId, op: Operation) -> RemoteEdit {
        self.revision += 1;
        let edit = RemoteEdit {
            revision: self.revision,
            author: author.public(),
            op,
        };
        self.history_bytes += edit.op.encoded_size();
        self.history.push_back(edit.clone());
        self.trim_history();
        self.latest.insert(
            author.instance,
            LatestApplied {
                seq: author.seq,
                revision: self.revision,
            },
        );
        edit
    }

    /// The edits after `revision`, oldest first, for a participant catching up.
    pub fn edits_since(&self, revision: u64) -> Result<Vec<RemoteEdit>, CatchUpError> {
        if revision > self.revision {
            return Err(CatchUpError::Ahead {
                requested: revision,
                current: self.revision,
            });
        }
        let oldest = self.oldest_revision();
        if revision < oldest {
            return Err(CatchUpError::TooOld {
                requested: revision,
                oldest,
            });
        }
        Ok(self
            .history
            .iter()
            .skip((revision - oldest) as usize)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(instance: u8, seq: u64, base_revision: u64, op: Operation) -> Submission {
        Submission {
            id: EditId {
                instance: [instance; 16],
                seq,
            },
            base_revision,
            op,
        }
    }

    #[test]
    fn stale_edits_are_transformed_past_later_ones() {
        let mut doc = AuthoritativeDocument::new("fn main() {}", 7);
        let rename = Operation::replace(12, 3..7, "start").unwrap();
        let body = Operation::insert(12, 11, "run();").unwrap();
        doc.submit(sub(1, 0, 7, rename)).unwrap();
        let SubmitOutcome::Applied(edit) = doc.submit(sub(2, 0, 7, body)).unwrap() else {
            panic!("a new edit must be applied");
        };
        assert_eq!(doc.rope().to_string(), "fn start() {run();}");
        assert_eq!(edit.revision, 9);
        assert_eq!(edit.op, Operation::insert(13, 12, "run();").unwrap());
    }

    /// A member sees everyone's edits in broadcasts. Submitting under the author named
    /// there, with a huge sequence number, must not make the host take the victim's next
    /// edits for resends and drop them.
    #[test]
    fn an_author_named_in_a_broadcast_cannot_be_impersonated() {
        let mut doc = AuthoritativeDocument::new("", 0);
        let SubmitOutcome::Applied(broadcast) = doc
            .submit(sub(1, 0, 0, Operation::insert(0, 0, "a").unwrap()))
            .unwrap()
        else {
            panic!("the victim's first edit is applied");
        };
        assert_ne!(
            broadcast.author.instance, [1; 16],
            "the instance stays secret"
        );
        let forged = Submission {
            id: EditId {
                instance: broadcast.author.instance,
                seq: u64::MAX,
            },
            base_revision: 1,
            op: Operation::insert(1, 1, "!").unwrap(),
        };
        doc.submit(forged).unwrap();
        let next = doc
            .submit(sub(1, 1, 2, Operation::insert(2, 2, "b").unwrap()))
            .unwrap();
        assert!(
            matches!(next, SubmitOutcome::Applied(_)),
            "the victim's next edit was dropped: {next:?}"
        );
        assert_eq!(doc.rope().to_string(), "a!b");
    }

    /// 100 pastes of 900 KiB, each deleted again, must not keep 100 x 1.8 MB of history.
    #[test]
    fn the_history_is_bounded_in_bytes_and_the_document_in_length() {
        let mut doc = AuthoritativeDocument::new("", 0).with_limits(4 * 1024 * 1024, 2_000_000);
        let paste = "x".repeat(900 * 1024);
        for round in 0..100u64 {
            let base = doc.revision();
            doc.submit(sub(
                1,
                2 * round,
                base,
                Operation::insert(0, 0, &paste).unwrap(),
            ))
            .unwrap();
            let len = paste.chars().count();
            doc.submit(sub(
                1,
                2 * round + 1,
                base + 1,
                Operation::delete(len, 0..len).unwrap(),
            ))
            .unwrap();
        }
        assert!(
            doc.history_bytes <= 4 * 1024 * 1024,
            "{}",
            doc.history_bytes
        );
        let kept: usize = doc.history.iter().map(|e| e.op.encoded_size()).sum();
        assert_eq!(kept, doc.history_bytes);

        let base = doc.revision();
        doc.submit(sub(2, 0, base, Operation::insert(0, 0, &paste).unwrap()))
            .unwrap();
        doc.submit(sub(
            2,
            1,
            base + 1,
            Operation::insert(paste.len(), 0, &paste).unwrap(),
        ))
        .unwrap();
        let third = doc.submit(sub(
            2,
            2,
            base + 2,
            Operation::insert(2 * paste.len(), 0, &paste).unwrap(),
        ));
        assert!(
            matches!(third, Err(OtError::DocumentTooLarge { .. })),
            "{third:?}"
        );
        assert_eq!(
            doc.rope().len_chars(),
            2 * paste.len(),
            "the refused edit changed nothing"
        );
        // Shortening a document past the limit is always allowed.
        let len = doc.rope().len_chars();
        doc.submit(sub(2, 3, base + 2, Operation::delete(len, 0..10).unwrap()))
            .unwrap();
    }

    #[test]
    fn a_resent_edit_changes_nothing() {
        let mut doc = AuthoritativeDocument::new("ab", 0);
        let s = sub(1, 4, 0, Operation::insert(2, 1, "é").unwrap());
        assert!(matches!(
            doc.submit(s.clone()).unwrap(),
            SubmitOutcome::Applied(_)
        ));
        doc.submit(sub(2, 0, 1, Operation::insert(3, 0, "z").unwrap()))
            .unwrap();
        assert_eq!(
            doc.submit(s).unwrap(),
            SubmitOutcome::Duplicate { revision: 1 }
        );
        assert_eq!(doc.rope().to_string(), "zaéb");
        assert_eq!(doc.revision(), 2);
    }

    #[test]
    fn bad_submissions_are_refused_without_change() {
        let mut doc = AuthoritativeDocument::new("abc", 3).with_history_limit(2);
        for seq in 0..3 {
            let len = doc.rope().len_chars();
            let base = doc.revision();
            doc.submit(sub(1, seq, base, Operation::insert(len, 0, "x").unwrap()))
                .unwrap();
        }
        assert_eq!(doc.oldest_revision(), 4);
        let before = doc.rope().clone();
        assert_eq!(
            doc.submit(sub(2, 0, 3, Operation::insert(3, 0, "y").unwrap())),
            Err(OtError::BaseTooOld { base: 3, oldest: 4 })
        );
        assert_eq!(
            doc.submit(sub(2, 0, 9, Operation::insert(6, 0, "y").unwrap())),
            Err(OtError::BaseAhead {
                base: 9,
                current: 6
            })
        );
        // Based on revision 5 (5 chars) but claiming a 4-char document.
        assert!(
            doc.submit(sub(2, 0, 5, Operation::insert(4, 0, "y").unwrap()))
                .is_err()
        );
        assert_eq!(doc.rope(), &before);
        assert_eq!(doc.revision(), 6);
        // The refused sender may still submit; refusals are not remembered as applied.
        assert!(
            doc.submit(sub(2, 0, 6, Operation::insert(6, 0, "y").unwrap()))
                .is_ok()
        );
    }

    #[test]
    fn catch_up_serves_the_history_or_says_to_resend_the_document() {
        let mut doc = AuthoritativeDocument::new("", 10).with_history_limit(3);
        for seq in 0..5 {
            let len = doc.rope().len_chars();
            let base = doc.revision();
            doc.submit(sub(1, seq, base, Operation::insert(len, len, "a").unwrap()))
                .unwrap();
        }
        let revisions: Vec<u64> = doc
            .edits_since(13)
            .unwrap()
            .iter()
            .map(|e| e.revision)
            .collect();
        assert_eq!(revisions, [14, 15]);
        assert_eq!(doc.edits_since(15).unwrap(), []);
        assert_eq!(doc.edits_since(12).unwrap().len(), 3);
        assert_eq!(
            doc.edits_since(11),
            Err(CatchUpError::TooOld {
                requested: 11,
                oldest: 12
            })
        );
        assert!(matches!(
            doc.edits_since(16),
            Err(CatchUpError::Ahead { .. })
        ));
    }
}
