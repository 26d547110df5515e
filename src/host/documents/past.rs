//! The text of an earlier revision, for edits computed on it (a language server's
//! rename or format, which takes a while): the host checks that the text the edit was
//! made for is really that revision's before transforming the edit from there.

use ropey::Rope;

use super::Documents;

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
}
