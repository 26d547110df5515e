//! Saving: a document's text written to its file atomically (a temporary file in the same
//! folder, flushed to the disk, renamed over the original, its mode and owner kept).
//!
//! A save is three steps so that the slow middle one, the write (each file waits for the
//! disk's fsync, milliseconds), can run away from the session loop: [`Documents::begin_save`]
//! takes the text of the revision now, [`PendingSave::write`] writes it (any thread),
//! [`Documents::end_save`] records what the disk now holds. Someone may edit the document
//! meanwhile: the disk then holds an older revision, and the document stays unsaved.
//! [`Documents::save`] does all three at once.

use std::io::Write;
use std::path::PathBuf;

use super::{DocumentError, Documents, digest, not_open};

/// One document's text on its way to the disk (`begin_save` to `end_save`).
#[derive(Debug)]
pub struct PendingSave {
    pub path: String,
    target: PathBuf,
    text: String,
    digest: [u8; 32],
    revision: u64,
}

impl PendingSave {
    /// Writes the text atomically: on failure the file on disk is as it was, and the
    /// reason is a sentence for the person who saved.
    pub fn write(&self) -> Result<(), String> {
        write_atomically(&self.target, self.text.as_bytes()).map_err(|e| save_failure(&e))
    }
}

impl Documents {
    /// Writes the document to disk atomically and returns the revision saved.
    pub fn save(&mut self, path: &str) -> Result<u64, DocumentError> {
        let pending = self.begin_save(path)?;
        let written = pending.write();
        self.end_save(pending, written)
    }

    /// The first step of a save: where it goes (refused if the path is not shared or the
    /// file is read-only) and the text of the revision now. Until `end_save`, the file
    /// watcher takes a disk holding that text for this save's, not another program's.
    pub fn begin_save(&mut self, path: &str) -> Result<PendingSave, DocumentError> {
        let save_error = |reason: String| DocumentError::Save {
            path: path.to_string(),
            reason,
        };
        let workspace = self.workspace.clone();
        let document = self.open.get_mut(path).ok_or_else(|| not_open(path))?;
        let target = workspace
            .resolve(path)
            .or_else(|_| {
                // A file deleted on disk while open is recreated where it was.
                let root = workspace.root();
                let candidate = root.join(path);
                if candidate.starts_with(root)
                    && !path.split('/').any(|c| c == ".." || c.is_empty())
                {
                    Ok(candidate)
                } else {
                    Err(())
                }
            })
            .map_err(|_| save_error("the path is not shared".into()))?;
        if std::fs::metadata(&target).is_ok_and(|meta| meta.permissions().readonly()) {
            return Err(save_error(
                "the file is read-only on the host's disk; the host can make it writable".into(),
            ));
        }
        let text = document.doc.rope().to_string();
        let digest = digest(&text);
        document.saves_in_flight.push(digest);
        Ok(PendingSave {
            path: path.to_owned(),
            target,
            text,
            digest,
            revision: document.doc.revision(),
        })
    }

    /// The last step of a save: `written` is how its write went. On success the disk
    /// holds the revision `begin_save` took (returned): if the document was edited since,
    /// it is still unsaved. The document may have been closed meanwhile.
    pub fn end_save(
        &mut self,
        pending: PendingSave,
        written: Result<(), String>,
    ) -> Result<u64, DocumentError> {
        if let Some(document) = self.open.get_mut(&pending.path)
            && let Some(at) = document
                .saves_in_flight
                .iter()
                .position(|d| *d == pending.digest)
        {
            document.saves_in_flight.remove(at);
            if written.is_ok() {
                let PendingSave {
                    text,
                    digest,
                    revision,
                    ..
                } = &pending;
                document.on_disk(*digest, text.len(), Some(*revision));
            }
        }
        match written {
            Ok(()) => Ok(pending.revision),
            Err(reason) => Err(DocumentError::Save {
                path: pending.path,
                reason,
            }),
        }
    }
}

/// Why a save failed, for the person who saved: what to do about it, and that the file
/// on disk is as it was. The error's kind only: the operating system's message may name
/// the host's absolute paths (the temporary file's), which members are not told.
pub(super) fn save_failure(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let what = match error.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            "the host's disk is full (free some space on the host and save again)".to_string()
        }
        ErrorKind::FileTooLarge => "the file is larger than the host may write".to_string(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            "the host may not write to this file's folder".to_string()
        }
        kind => kind.to_string(),
    };
    format!("{what}; the file on the host's disk was not changed")
}

/// Writes `bytes` to `target` through a temporary file in the same folder, flushed to
/// the disk, and a rename over the original, so a crash or a full disk never leaves half
/// a file. The original's permissions and owner are kept (the owner as far as the host
/// may set it: a user cannot give a file to someone else); a new file gets the mode any
/// new file of the host's user gets (0666 less the umask), not the temporary file's
/// private 0600. Until the rename the original is untouched, and a failure removes the
/// temporary file.
pub(super) fn write_atomically(target: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = target
        .parent()
        .ok_or_else(|| std::io::Error::other("the file has no folder"))?;
    std::fs::create_dir_all(folder)?;
    let original = std::fs::metadata(target).ok();
    let mut temporary = tempfile::Builder::new()
        .prefix(".cotype-save-")
        .tempfile_in(folder)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    match &original {
        Some(original) => {
            temporary
                .as_file()
                .set_permissions(original.permissions())?;
            keep_owner(temporary.as_file(), original);
        }
        None => set_new_file_mode(temporary.path())?,
    }
    temporary.persist(target).map_err(|e| e.error)?;
    // The rename itself reaches the disk only with the folder.
    if let Ok(folder) = std::fs::File::open(folder) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Gives the replacement the original's owner and group where the host may (root may
/// always; a user may keep the group if a member of it). Where it may not, the file
/// becomes the host user's, as with any editor that saves by renaming.
#[cfg(unix)]
fn keep_owner(file: &std::fs::File, original: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let Ok(now) = file.metadata() else { return };
    if (now.uid(), now.gid()) == (original.uid(), original.gid()) {
        return;
    }
    if std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(original.gid()));
        tracing::debug!("saving gives the file to the host's user: its owner cannot be kept");
    }
}

#[cfg(not(unix))]
fn keep_owner(_file: &std::fs::File, _original: &std::fs::Metadata) {}

#[cfg(unix)]
fn set_new_file_mode(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666 & !umask()))
}

#[cfg(not(unix))]
fn set_new_file_mode(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// The process's umask, read from /proc (setting it to read it back would race with
/// other threads creating files); the usual 022 where /proc does not say.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Umask:"))
                .and_then(|mask| u32::from_str_radix(mask.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}
