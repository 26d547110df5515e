//! The text of an earlier revision, for edits computed on it (a language server's
//! rename or format, which takes a while): the host checks that the text the edit was
//! made for is really that revision's before transforming the edit from there.

use ropey::Rope;

use super::{Accepted, DocumentError, Documents};
use crate::text::{EditId, Operation, RemoteEdit, Submission};

impl Documents {
    /// The text `path` had at `revision`, if it is open and that revision is still kept
    /// (see `KEPT_REVISIONS`).
    pub fn text_at(&self, path: &str, revision: u64) -> Option<Rope> {
        let document = self.open.get(path)?;
        let now = document.doc.revision();
        if revision == now {
            return Some(document.doc.rope().clone());
        }
        if revision > now || revision + super::KEPT_REVISIONS < now {
            return None;
        }
        let (kept, snapshot) = document
            .recent
            .iter()
            .rev()
            .find(|(kept, _)| *kept <= revision)?;
        let edits = self.catch_up(path, *kept).ok()?;
        let mut text = snapshot.clone();
        for edit in edits.iter().take_while(|edit| edit.revision <= revision) {
            edit.op.apply(&mut text).ok()?;
        }
        Some(text)
    }

    /// [`Self::submit_as_host`] for an edit made to the text of an earlier `revision`:
    /// transformed against every edit since, as a member's submission is.
    pub fn submit_as_host_at(
        &mut self,
        path: &str,
        revision: u64,
        op: Operation,
    ) -> Result<Option<RemoteEdit>, DocumentError> {
        self.host_seq += 1;
        let submission = Submission {
            id: EditId {
                instance: self.host_instance,
                seq: self.host_seq,
            },
            base_revision: revision,
            op,
        };
        match self.submit(path, submission)? {
            Accepted::Applied(edit) => Ok(Some(edit)),
            Accepted::Duplicate { .. } => Ok(None),
        }
    }
}
