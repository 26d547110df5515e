//! A file read away from the session loop (by a replace's planners), so that opening it
//! on the loop costs one `stat` instead of resolving, reading and hashing it there.

use std::path::PathBuf;
use std::time::SystemTime;

use ropey::Rope;

use super::{Documents, HostDocument, digest};
use crate::host::workspace::Workspace;

/// What a file looked like on disk: its length and when it was last changed.
type Stamp = (u64, Option<SystemTime>);

fn stamp(disk_path: &std::path::Path) -> Option<Stamp> {
    let meta = std::fs::metadata(disk_path).ok()?;
    Some((meta.len(), meta.modified().ok()))
}

/// Where a shared file is on disk and its stamp, taken before it is read: if it changes
/// after, its stamp differs when [`Documents::open_read`] checks it, and the read is not
/// used. `None` if the path is not a shared file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeforeRead {
    disk_path: PathBuf,
    stamp: Stamp,
}

impl BeforeRead {
    /// One `stat` (the read that follows checks that the path is shared, and where it
    /// leads).
    pub fn take(workspace: &Workspace, path: &str) -> Option<BeforeRead> {
        let disk_path = workspace.root().join(path);
        let stamp = stamp(&disk_path)?;
        Some(BeforeRead { disk_path, stamp })
    }
}

/// A shared file's text as read from disk, ready to become its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAhead {
    rope: Rope,
    digest: [u8; 32],
    before: BeforeRead,
}

impl ReadAhead {
    /// `text` is what was read after `before` was taken.
    pub fn new(text: &str, before: BeforeRead) -> ReadAhead {
        ReadAhead {
            rope: Rope::from_str(text),
            digest: digest(text),
            before,
        }
    }
}

impl Documents {
    /// Opens `path` from `read` if nobody has it open and the file on disk is still what
    /// was read (else as [`Documents::open`] would, from the disk).
    pub fn open_read(&mut self, path: &str, read: ReadAhead) -> Result<(), super::DocumentError> {
        if self.open.contains_key(path) {
            return Ok(());
        }
        if stamp(&read.before.disk_path) != Some(read.before.stamp) {
            return self.open(path).map(drop);
        }
        let revision = self.first_revision(path);
        let disk_len = read.rope.len_bytes();
        self.open.insert(
            path.to_owned(),
            HostDocument::loaded(read.rope, read.digest, disk_len, revision),
        );
        Ok(())
    }
}
