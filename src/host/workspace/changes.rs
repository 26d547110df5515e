//! Members' file operations on the shared folder: create, rename or move, delete. The
//! same rules as reading hold: only paths inside the folder, never a path the host hides
//! (hide rules, ignore files), and a folder is moved or deleted only when the host shares
//! everything in it (moving would carry a hidden `.env` to where it may no longer be
//! hidden; deleting would destroy what nobody could see).
//!
//! Whether a new path is hidden by an ignore file is judged by the same walk that decides
//! every other path: the change is made, the folder walked again, and undone if the new
//! path is not shared.

use std::path::{Path, PathBuf};

use super::{AccessError, Workspace, normalize};

/// Why a file operation was refused or failed, as a sentence for the member who asked.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("`{path}` already exists")]
    Exists { path: String },
    #[error(
        "`{path}` is a path the host hides (its hide rules or ignore files); nothing was changed"
    )]
    Hidden { path: String },
    #[error("`{path}` holds files the host does not share; only the host can move or delete it")]
    HoldsUnshared { path: String },
    #[error("`{to}` is inside `{from}`; a folder cannot be moved into itself")]
    IntoItself { from: String, to: String },
    #[error("the host could not change `{path}`: {reason}; nothing was changed")]
    Io { path: String, reason: String },
}

/// What a path names in the shared folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Folder,
}

impl Workspace {
    /// A shared file or folder by its path, in the index's form.
    pub fn shared_kind(&self, relative: &str) -> Result<(String, Kind), AccessError> {
        let path = normalize(relative)?;
        let index = self.read_index();
        if index.files.contains_key(&path) {
            Ok((path, Kind::File))
        } else if index.folders.contains(&path) {
            Ok((path, Kind::Folder))
        } else {
            Err(AccessError::NotShared { path })
        }
    }

    /// Whether a file at `relative`, which is not on disk (git's deleted files), would be
    /// shared if it were: its folder is shared and neither the hide rules nor the ignore
    /// files as frozen hide it. Listing its name then tells nothing the host hides.
    pub fn could_share(&self, relative: &str) -> bool {
        let Ok(path) = normalize(relative) else {
            return false;
        };
        let folder = path.rsplit_once('/').map(|(folder, _)| folder);
        let folder_shared = folder.is_none_or(|folder| self.read_index().folders.contains(folder));
        let relative = std::path::Path::new(&path);
        folder_shared
            && !self.rules.hides(relative)
            && !self.frozen().hides(&self.root, relative, false)
    }

    /// The shared files under folder `path` (all of them, at any depth).
    pub fn files_under(&self, path: &str) -> Vec<String> {
        let prefix = format!("{path}/");
        self.read_index()
            .files
            .range(prefix.clone()..)
            .take_while(|(file, _)| file.starts_with(&prefix))
            .map(|(file, _)| file.clone())
            .collect()
    }

    /// Creates a file holding `content`, or a folder, with the folders above it.
    pub fn create(&self, relative: &str, folder: bool, content: &str) -> Result<(), ChangeError> {
        let (path, target) = self.new_place(relative)?;
        let created_from = self.first_missing_folder(&path);
        let io = |e: std::io::Error| ChangeError::Io {
            path: path.clone(),
            reason: e.kind().to_string(),
        };
        if folder {
            std::fs::create_dir_all(&target).map_err(io)?;
        } else {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .and_then(|mut file| std::io::Write::write_all(&mut file, content.as_bytes()))
                .map_err(io)?;
        }
        self.refresh();
        let shared = match self.shared_kind(&path) {
            Ok((_, Kind::Folder)) => folder,
            Ok((_, Kind::File)) => !folder,
            Err(_) => false,
        };
        if !shared {
            // Undo: remove what was created, from the first folder made for it.
            let made = created_from.unwrap_or(target);
            let _ = if made.is_dir() {
                std::fs::remove_dir_all(&made)
            } else {
                std::fs::remove_file(&made)
            };
            self.refresh();
            return Err(ChangeError::Hidden { path });
        }
        Ok(())
    }

    /// Renames or moves a shared file or folder to `to`, which must not exist. Returns
    /// both paths in the index's form and what was moved.
    pub fn rename(&self, from: &str, to: &str) -> Result<(String, String, Kind), ChangeError> {
        let (from, kind) = self.shared_kind(from)?;
        if kind == Kind::Folder {
            self.check_all_shared(&from)?;
        }
        let (to, target) = self.new_place(to)?;
        if kind == Kind::Folder && to.starts_with(&format!("{from}/")) {
            return Err(ChangeError::IntoItself { from, to });
        }
        let source = self.root.join(&from);
        let created_from = self.first_missing_folder(&to);
        let io = |e: std::io::Error| ChangeError::Io {
            path: from.clone(),
            reason: e.kind().to_string(),
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::rename(&source, &target).map_err(io)?;
        self.refresh();
        let shared = self.shared_kind(&to).is_ok_and(|(_, now)| now == kind);
        if !shared {
            let _ = std::fs::rename(&target, &source);
            if let Some(made) = created_from {
                let _ = std::fs::remove_dir_all(made);
            }
            self.refresh();
            return Err(ChangeError::Hidden { path: to });
        }
        Ok((from, to, kind))
    }

    /// Deletes a shared file, or a folder with everything in it. Returns the path in the
    /// index's form and what it was.
    pub fn delete(&self, relative: &str) -> Result<(String, Kind), ChangeError> {
        let (path, kind) = self.shared_kind(relative)?;
        let target = self.root.join(&path);
        let io = |e: std::io::Error| ChangeError::Io {
            path: path.clone(),
            reason: e.kind().to_string(),
        };
        let is_link = std::fs::symlink_metadata(&target)
            .map_err(io)?
            .file_type()
            .is_symlink();
        match kind {
            Kind::Folder if !is_link => {
                self.check_all_shared(&path)?;
                std::fs::remove_dir_all(&target).map_err(io)?;
            }
            // A file, or a link (to a file or a folder): the link goes, not its target.
            _ => std::fs::remove_file(&target).map_err(io)?,
        }
        self.refresh();
        Ok((path, kind))
    }

    /// Where a new file or folder `relative` would go: inside the folder, not hidden by a
    /// rule, not existing, and below folders that are shared (or not there yet).
    fn new_place(&self, relative: &str) -> Result<(String, PathBuf), ChangeError> {
        let path = normalize(relative)?;
        let mut above = String::new();
        for part in path.split('/') {
            if !above.is_empty() {
                above.push('/');
            }
            above.push_str(part);
            if self.rules.hides(Path::new(&above)) {
                return Err(ChangeError::Hidden { path });
            }
        }
        let target = self.root.join(&path);
        if std::fs::symlink_metadata(&target).is_ok() {
            return Err(ChangeError::Exists { path });
        }
        // Every folder above that exists must be one the host shares (which also means it
        // is inside the folder, not a link leading out of it).
        let index = self.read_index();
        let parts: Vec<&str> = path.split('/').collect();
        let mut above = String::new();
        for part in &parts[..parts.len() - 1] {
            if !above.is_empty() {
                above.push('/');
            }
            above.push_str(part);
            let exists = std::fs::symlink_metadata(self.root.join(&above)).is_ok();
            if exists && !index.folders.contains(&above) {
                return Err(if index.files.contains_key(&above) {
                    ChangeError::Exists { path: above }
                } else {
                    ChangeError::Access(AccessError::NotShared { path: path.clone() })
                });
            }
        }
        Ok((path, target))
    }

    /// The topmost folder above `path` that does not exist yet (what creating it makes).
    fn first_missing_folder(&self, path: &str) -> Option<PathBuf> {
        let mut above = PathBuf::from(&self.root);
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            above.push(part);
            if std::fs::symlink_metadata(&above).is_err() {
                return Some(above);
            }
        }
        None
    }

    /// Refuses a folder holding anything the host does not share: every entry on disk
    /// under it must be a shared file or folder (links are not followed).
    fn check_all_shared(&self, folder: &str) -> Result<(), ChangeError> {
        let index = self.read_index();
        let mut pending = vec![folder.to_owned()];
        while let Some(current) = pending.pop() {
            let entries =
                std::fs::read_dir(self.root.join(&current)).map_err(|e| ChangeError::Io {
                    path: current.clone(),
                    reason: e.kind().to_string(),
                })?;
            for entry in entries.flatten() {
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    return Err(ChangeError::HoldsUnshared {
                        path: folder.to_owned(),
                    });
                };
                let path = format!("{current}/{name}");
                let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
                if is_dir && index.folders.contains(&path) {
                    pending.push(path);
                } else if !index.files.contains_key(&path) && !index.folders.contains(&path) {
                    return Err(ChangeError::HoldsUnshared {
                        path: folder.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}
