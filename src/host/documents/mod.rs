//! The host's authoritative documents: the one order of edits everyone converges to.
//!
//! A document is loaded from disk when the first member opens it. Every submission is
//! transformed against what happened since its base revision, applied, and given the next
//! revision (see `text::server`). Saving writes atomically next to the file (temp file +
//! rename, permissions kept). A change made on disk by another program becomes an
//! ordinary edit authored by the host, so every member sees it like any other edit.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ropey::Rope;

use crate::host::workspace::Workspace;
use crate::text::position::{char_to_line_col, line_col_to_char};
use crate::text::{
    Assoc, AuthoritativeDocument, CatchUpError, EditId, LineCol, Operation, RemoteEdit, Submission,
    SubmitOutcome,
};

use crate::protocol::message::CURRENT_TEXT;

/// How far back a position asked at an older revision is still answered, in revisions.
const KEPT_REVISIONS: u64 = 256;
/// One revision's text in this many is kept; one in between is rebuilt from the one kept
/// before it and the edits since. Keeping every revision's text would make every edit copy
/// the rope nodes it changes (they are shared with the copy kept of the revision before).
const SNAPSHOT_EVERY: u64 = 32;

/// Why a document request failed, as a sentence for the person who asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("{0}")]
    Access(String),
    #[error("{path} is not valid UTF-8; cotype edits UTF-8 text only (you can still `cat` it)")]
    NotUtf8 { path: String },
    #[error("{path} is not open; open it before editing")]
    NotOpen { path: String },
    #[error("{path}: {reason}; reopen the document")]
    OutOfSync { path: String, reason: String },
    #[error("cannot save {path}: {reason}")]
    Save { path: String, reason: String },
}

fn not_open(path: &str) -> DocumentError {
    DocumentError::NotOpen {
        path: path.to_string(),
    }
}

struct HostDocument {
    doc: AuthoritativeDocument,
    /// SHA-256 of the text as last read from or written to disk, to tell our own writes
    /// apart from other programs' changes without keeping a second copy of the file.
    disk_digest: [u8; 32],
    /// Bytes of the text on disk, so most texts that differ from it are told apart
    /// without hashing them.
    disk_len: usize,
    /// The revision whose text is on disk (loaded or saved).
    disk_revision: u64,
    /// Whether the text of a revision differs from the disk's, the last time it was asked.
    differs_at: Option<(u64, bool)>,
    /// What members were last told about it (`Documents::unsaved_changes`).
    announced_unsaved: bool,
    /// Digests of the texts being written by saves not yet finished (`saving.rs`): the
    /// file watcher may see such a write before the save is recorded, and must not take
    /// it for another program's change.
    saves_in_flight: Vec<[u8; 32]>,
    /// Texts of recent revisions (one in `SNAPSHOT_EVERY`), oldest first: a position is
    /// lines and columns of the text it was asked in, which the edit history alone cannot
    /// rebuild.
    recent: VecDeque<(u64, Rope)>,
}

impl HostDocument {
    /// A document just read from disk, at `revision`.
    fn loaded(rope: Rope, disk_digest: [u8; 32], disk_len: usize, revision: u64) -> Self {
        HostDocument {
            doc: AuthoritativeDocument::from_rope(rope, revision),
            disk_len,
            disk_digest,
            disk_revision: revision,
            differs_at: None,
            announced_unsaved: false,
            saves_in_flight: Vec::new(),
            recent: VecDeque::new(),
        }
    }

    /// The disk now holds a text with this digest and length; `revision` if it is the
    /// text of that revision.
    fn on_disk(&mut self, disk_digest: [u8; 32], disk_len: usize, revision: Option<u64>) {
        self.disk_digest = disk_digest;
        self.disk_len = disk_len;
        if let Some(revision) = revision {
            self.disk_revision = revision;
        }
        self.differs_at = None;
    }

    /// Whether the shared text differs from the disk's. Cheap for the usual cases (the
    /// saved revision, or another length); otherwise the text is hashed once per revision.
    fn differs_from_disk(&mut self) -> bool {
        let revision = self.doc.revision();
        if revision == self.disk_revision {
            return false;
        }
        if let Some((asked, differs)) = self.differs_at
            && asked == revision
        {
            return differs;
        }
        let rope = self.doc.rope();
        let differs = rope.len_bytes() != self.disk_len || rope_digest(rope) != self.disk_digest;
        self.differs_at = Some((revision, differs));
        differs
    }
}

fn rope_digest(rope: &Rope) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for chunk in rope.chunks() {
        hasher.update(chunk.as_bytes());
    }
    hasher.finalize().into()
}

/// What a change on disk did to an open document.
#[derive(Debug, PartialEq, Eq)]
pub enum DiskChange {
    /// The document had no unsaved edits: it now holds the disk's text, via this edit.
    Applied(RemoteEdit),
    /// The document has unsaved edits: they are kept, and the disk's version is left for
    /// the people editing to settle (saving writes theirs over it).
    Conflict,
}

/// What an accepted submission produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Broadcast this edit to every member (the author takes it as its acknowledgement).
    Applied(RemoteEdit),
    /// Already applied earlier (a resend after a reconnect): acknowledge only.
    Duplicate { id: EditId, revision: u64 },
}

pub struct Documents {
    workspace: Arc<Workspace>,
    open: HashMap<String, HostDocument>,
    /// The host's own identity as an author (disk changes, the host user's typing).
    host_instance: [u8; 16],
    host_seq: u64,
    /// The revision each closed document had: opened again, it goes on from there, so a
    /// member that still has it (a reconnect, an edit in flight) stays in step.
    closed_at: HashMap<String, u64>,
}

impl Documents {
    pub fn new(workspace: Arc<Workspace>) -> Self {
        let mut host_instance = [0u8; 16];
        rand::fill(&mut host_instance);
        Documents {
            workspace,
            open: HashMap::new(),
            host_instance,
            host_seq: 0,
            closed_at: HashMap::new(),
        }
    }

    /// Frees `path`'s document if it holds nothing the disk does not (no unsaved edits):
    /// nobody has it open any more. True if it was closed.
    pub fn close_if_saved(&mut self, path: &str) -> bool {
        let saved = self
            .open
            .get_mut(path)
            .is_some_and(|document| !document.differs_from_disk());
        if saved && let Some(document) = self.open.remove(path) {
            self.closed_at
                .insert(path.to_owned(), document.doc.revision());
        }
        saved
    }

    /// The revision `path`'s document starts from when it is opened.
    fn first_revision(&self, path: &str) -> u64 {
        self.closed_at.get(path).copied().unwrap_or(0)
    }

    /// Opens `path`, loading it from disk if nobody has it open yet. Returns the current
    /// revision and text. Documents stay in memory for the session: edits are broadcast to
    /// everyone, so the host needs no list of who looks at what.
    pub fn open(&mut self, path: &str) -> Result<(u64, Rope), DocumentError> {
        if !self.open.contains_key(path) {
            let (rope, disk_digest) = self.read_disk_rope(path)?;
            let disk_len = rope.len_bytes();
            let revision = self.first_revision(path);
            self.open.insert(
                path.to_string(),
                HostDocument::loaded(rope, disk_digest, disk_len, revision),
            );
        }
        let document = &self.open[path];
        Ok((document.doc.revision(), document.doc.rope().clone()))
    }

    /// The start of `path`'s text, to show while the rest is read and sent: of the open
    /// text, or else of the file on disk (up to `len` bytes, cut before a character the
    /// read split). Returns the revision it belongs to, the text and the whole length in
    /// bytes. Costs the same whatever the file's size; [`Documents::open`] must confirm it
    /// (the file may change in between), see [`Documents::starts_with`].
    pub fn head(&self, path: &str, len: usize) -> Result<(u64, String, u64), DocumentError> {
        if let Some(document) = self.open.get(path) {
            let rope = document.doc.rope();
            let end = rope.byte_to_char(len.min(rope.len_bytes()));
            let head = rope.slice(..end).to_string();
            return Ok((document.doc.revision(), head, rope.len_bytes() as u64));
        }
        let (total, bytes) = self
            .workspace
            .read_range(path, 0, len)
            .map_err(|e| DocumentError::Access(e.to_string()))?;
        let valid = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            // Only a character cut by the end of the read may be incomplete.
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => {
                return Err(DocumentError::NotUtf8 {
                    path: path.to_string(),
                });
            }
        };
        Ok((self.first_revision(path), valid.to_owned(), total))
    }

    /// Whether the open document `path` is at `revision` and its text begins with `head`.
    pub fn starts_with(&self, path: &str, revision: u64, head: &str) -> bool {
        self.open.get(path).is_some_and(|document| {
            let rope = document.doc.rope();
            document.doc.revision() == revision
                && rope.len_bytes() >= head.len()
                && rope.slice(..rope.byte_to_char(head.len())) == head
        })
    }

    fn read_disk(&self, path: &str) -> Result<String, DocumentError> {
        let bytes = self
            .workspace
            .read(path)
            .map_err(|e| DocumentError::Access(e.to_string()))?;
        String::from_utf8(bytes).map_err(|_| DocumentError::NotUtf8 {
            path: path.to_string(),
        })
    }

    /// The file as a rope and the digest of its bytes, read in pieces: a large file is
    /// never in memory as one string beside its rope.
    fn read_disk_rope(&self, path: &str) -> Result<(Rope, [u8; 32]), DocumentError> {
        use sha2::Digest;
        struct Hashing<R> {
            inner: R,
            hasher: sha2::Sha256,
        }
        impl<R: std::io::Read> std::io::Read for Hashing<R> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let read = self.inner.read(buf)?;
                self.hasher.update(&buf[..read]);
                Ok(read)
            }
        }
        let stream = self
            .workspace
            .open_for_streaming(path)
            .map_err(|e| DocumentError::Access(e.to_string()))?;
        let mut reader = Hashing {
            inner: stream,
            hasher: sha2::Sha256::new(),
        };
        let rope = Rope::from_reader(&mut reader).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                DocumentError::NotUtf8 {
                    path: path.to_string(),
                }
            } else {
                DocumentError::Access(e.to_string())
            }
        })?;
        Ok((rope, reader.hasher.finalize().into()))
    }

    pub fn is_open(&self, path: &str) -> bool {
        self.open.contains_key(path)
    }

    pub fn open_paths(&self) -> Vec<String> {
        self.open.keys().cloned().collect()
    }

    /// Open documents whose shared text differs from the disk's, sorted: what "unsaved"
    /// means everywhere (the host's list and quit warning, everyone's `[+]`). Undoing back
    /// to the saved text makes a document saved again.
    pub fn unsaved_paths(&mut self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .open
            .iter_mut()
            .filter_map(|(path, document)| document.differs_from_disk().then(|| path.clone()))
            .collect();
        paths.sort();
        paths
    }

    /// Whether `path`'s shared text differs from the disk's (false if it is not open).
    pub fn is_unsaved(&mut self, path: &str) -> bool {
        self.open
            .get_mut(path)
            .is_some_and(HostDocument::differs_from_disk)
    }

    /// For each of `paths` whose unsaved state changed since members were last told: the
    /// path, its revision and whether it is unsaved now.
    pub fn unsaved_changes<'a>(
        &mut self,
        paths: impl IntoIterator<Item = &'a str>,
    ) -> Vec<(String, u64, bool)> {
        let mut changes = Vec::new();
        for path in paths {
            if let Some(document) = self.open.get_mut(path) {
                let unsaved = document.differs_from_disk();
                if unsaved != document.announced_unsaved {
                    document.announced_unsaved = unsaved;
                    changes.push((path.to_string(), document.doc.revision(), unsaved));
                }
            }
        }
        changes
    }

    pub fn text(&self, path: &str) -> Option<(u64, &Rope)> {
        self.open
            .get(path)
            .map(|d| (d.doc.revision(), d.doc.rope()))
    }

    /// Up to `len` bytes (at most `FILE_CHUNK_LEN`) of an open document's shared text from
    /// `offset`, and the text's whole length; `None` if nobody has it open.
    pub fn read_range(&self, path: &str, offset: u64, len: usize) -> Option<(u64, Vec<u8>)> {
        let rope = self.open.get(path)?.doc.rope();
        let total = rope.len_bytes() as u64;
        let start = usize::try_from(offset.min(total)).unwrap_or(usize::MAX);
        let len = len.min(crate::protocol::FILE_CHUNK_LEN);
        Some((total, rope.bytes_at(start).take(len).collect()))
    }

    /// The shared text of every document with edits not saved to disk, for search.
    pub fn unsaved_texts(&self) -> crate::host::search::SharedTexts {
        self.open
            .iter()
            .filter(|(_, document)| document.doc.revision() != document.disk_revision)
            .map(|(path, document)| (path.clone(), document.doc.rope().clone()))
            .collect()
    }

    pub fn submit(
        &mut self,
        path: &str,
        submission: Submission,
    ) -> Result<Accepted, DocumentError> {
        let document = self.open.get_mut(path).ok_or_else(|| not_open(path))?;
        let id = submission.id;
        if document.recent.is_empty() {
            let first = (document.doc.revision(), document.doc.rope().clone());
            document.recent.push_back(first);
        }
        match document.doc.submit(submission) {
            Ok(SubmitOutcome::Applied(edit)) => {
                if edit.revision % SNAPSHOT_EVERY == 0 {
                    // One more than the span needs: the oldest revision still answered
                    // may lie just after the snapshot before it.
                    if document.recent.len() as u64 > KEPT_REVISIONS / SNAPSHOT_EVERY {
                        document.recent.pop_front();
                    }
                    let text = document.doc.rope().clone();
                    document.recent.push_back((edit.revision, text));
                }
                Ok(Accepted::Applied(edit))
            }
            Ok(SubmitOutcome::Duplicate { revision }) => Ok(Accepted::Duplicate { id, revision }),
            Err(e) => Err(DocumentError::OutOfSync {
                path: path.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Applies an edit made by the host itself (its user, or another program on disk).
    pub fn submit_as_host(
        &mut self,
        path: &str,
        op: Operation,
    ) -> Result<Option<RemoteEdit>, DocumentError> {
        let revision = self
            .open
            .get(path)
            .map(|d| d.doc.revision())
            .ok_or_else(|| not_open(path))?;
        self.submit_as_host_at(path, revision, op)
    }

    pub fn catch_up(&self, path: &str, revision: u64) -> Result<Vec<RemoteEdit>, DocumentError> {
        let document = self.open.get(path).ok_or_else(|| not_open(path))?;
        document.doc.edits_since(revision).map_err(|e| {
            let reason = match e {
                CatchUpError::TooOld { .. } => {
                    "too many edits happened while you were away".to_string()
                }
                CatchUpError::Ahead { .. } => {
                    "the host restarted and lost recent edits".to_string()
                }
            };
            DocumentError::OutOfSync {
                path: path.to_string(),
                reason,
            }
        })
    }

    /// Where `position`, in the text of `revision`, is in the current text: carried across
    /// every edit sequenced since, with the same transform that rebases submissions. Text
    /// inserted exactly at it stays after it. A file nobody has open has no revisions
    /// and keeps the position; a revision too old to have its text kept is refused.
    pub fn position_now(
        &self,
        path: &str,
        revision: u64,
        position: LineCol,
    ) -> Result<LineCol, DocumentError> {
        let Some(document) = self.open.get(path) else {
            return Ok(position);
        };
        if revision == document.doc.revision() || revision == CURRENT_TEXT {
            return Ok(position);
        }
        let too_old = || DocumentError::OutOfSync {
            path: path.to_string(),
            reason: format!(
                "the text you asked about (revision {revision}) is no longer kept on the host"
            ),
        };
        if revision > document.doc.revision() || revision + KEPT_REVISIONS < document.doc.revision()
        {
            return Err(too_old());
        }
        let (kept, snapshot) = document
            .recent
            .iter()
            .rev()
            .find(|(kept, _)| *kept <= revision)
            .ok_or_else(too_old)?;
        let edits = self.catch_up(path, *kept)?;
        let asked = edits.partition_point(|edit| edit.revision <= revision);
        let mut asked_in = snapshot.clone();
        for edit in &edits[..asked] {
            edit.op.apply(&mut asked_in).map_err(|_| too_old())?;
        }
        let at = edits[asked..]
            .iter()
            .fold(line_col_to_char(&asked_in, position), |at, edit| {
                edit.op.transform_position(at, Assoc::Before)
            });
        Ok(char_to_line_col(document.doc.rope(), at))
    }

    /// Documents follow a file or folder renamed from `from` to `to` (a document under a
    /// renamed folder too): returns the (old, new) paths of those open.
    pub fn rename(&mut self, from: &str, to: &str) -> Vec<(String, String)> {
        let moved = |path: &str| -> Option<String> {
            if path == from {
                Some(to.to_owned())
            } else {
                let rest = path.strip_prefix(from)?.strip_prefix('/')?;
                Some(format!("{to}/{rest}"))
            }
        };
        let mut renamed = Vec::new();
        let paths: Vec<String> = self.open.keys().cloned().collect();
        for path in paths {
            if let Some(new) = moved(&path)
                && let Some(document) = self.open.remove(&path)
            {
                self.open.insert(new.clone(), document);
                renamed.push((path, new));
            }
        }
        let closed: Vec<String> = self.closed_at.keys().cloned().collect();
        for path in closed {
            if let Some(new) = moved(&path)
                && let Some(revision) = self.closed_at.remove(&path)
            {
                self.closed_at.insert(new, revision);
            }
        }
        renamed
    }

    /// The open documents at or under `path` whose file was deleted: their text now
    /// differs from the disk's (nothing), so they count as unsaved and saving writes them
    /// again. Returns their paths.
    pub fn disk_gone(&mut self, path: &str) -> Vec<String> {
        let prefix = format!("{path}/");
        let mut gone = Vec::new();
        for (open, document) in &mut self.open {
            if open == path || open.starts_with(&prefix) {
                document.on_disk(digest(""), 0, None);
                document.disk_revision = u64::MAX;
                gone.push(open.clone());
            }
        }
        gone
    }

    /// Turns a change on disk into an edit, if the file is open and really changed.
    /// Never loses what participants typed: with unsaved edits, the disk change is
    /// reported as a conflict instead of replacing their text.
    pub fn disk_changed(&mut self, path: &str) -> Result<Option<DiskChange>, DocumentError> {
        let Some(document) = self.open.get(path) else {
            return Ok(None);
        };
        let new_text = self.read_disk(path)?;
        let new_digest = digest(&new_text);
        if new_digest == document.disk_digest || document.saves_in_flight.contains(&new_digest) {
            return Ok(None);
        }
        if self.is_unsaved(path) {
            if let Some(document) = self.open.get_mut(path) {
                document.on_disk(digest(&new_text), new_text.len(), None);
            }
            return Ok(Some(DiskChange::Conflict));
        }
        let Some(document) = self.open.get(path) else {
            return Ok(None);
        };
        let old_text = document.doc.rope().to_string();
        let op = difference(&old_text, &new_text).map_err(|e| DocumentError::OutOfSync {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        let edit = self.submit_as_host(path, op)?;
        if let Some(document) = self.open.get_mut(path) {
            let revision = document.doc.revision();
            document.on_disk(digest(&new_text), new_text.len(), Some(revision));
        }
        Ok(edit.map(DiskChange::Applied))
    }
}

fn digest(text: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

/// The smallest single replacement turning `old` into `new` (common prefix and suffix
/// kept), in chars.
pub fn difference(old: &str, new: &str) -> Result<Operation, crate::text::OtError> {
    let old_chars: Vec<char> = old.chars().collect();
    let new_chars: Vec<char> = new.chars().collect();
    let prefix = old_chars
        .iter()
        .zip(&new_chars)
        .take_while(|(a, b)| a == b)
        .count();
    let max_suffix = old_chars.len().min(new_chars.len()) - prefix;
    let suffix = old_chars
        .iter()
        .rev()
        .zip(new_chars.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let inserted: String = new_chars[prefix..new_chars.len() - suffix].iter().collect();
    Operation::replace(old_chars.len(), prefix..old_chars.len() - suffix, &inserted)
}

mod past;
mod read_ahead;
mod saving;
pub use read_ahead::{BeforeRead, ReadAhead};
pub use saving::PendingSave;
#[cfg(test)]
use saving::{save_failure, write_atomically};
#[cfg(test)]
mod tests;
