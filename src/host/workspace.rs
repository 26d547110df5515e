//! Placeholder until the workspace branch lands: lists files, resolves paths safely.
use std::path::{Path, PathBuf};

use crate::protocol::message::FileEntry;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{0}: not shared by the host")]
    NotShared(String),
}

pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    pub fn open(root: &Path, _extra_hide: &[String]) -> Result<Workspace, WorkspaceError> {
        Ok(Workspace {
            root: root.canonicalize()?,
        })
    }

    pub fn list(&self) -> Vec<FileEntry> {
        let mut files: Vec<FileEntry> = ignore::WalkBuilder::new(&self.root)
            .require_git(false)
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .filter_map(|e| {
                let rel = e.path().strip_prefix(&self.root).ok()?;
                Some(FileEntry {
                    path: rel.to_string_lossy().replace('\\', "/"),
                    size: e.metadata().ok()?.len(),
                })
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    pub fn resolve(&self, relative: &str) -> Result<PathBuf, AccessError> {
        if self.list().iter().any(|f| f.path == relative) {
            Ok(self.root.join(relative))
        } else {
            Err(AccessError::NotShared(relative.to_string()))
        }
    }
}

pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}
