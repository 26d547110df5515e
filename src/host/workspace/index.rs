//! The one walk of the shared folder that decides what is shared (see the module docs of
//! `workspace`), and the index of files and folders it leaves behind.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, mpsc};

use ignore::{WalkBuilder, WalkState};

use super::hide::HideRules;
use crate::host::frozen_ignores::{FrozenIgnores, is_ignore_file};

#[derive(Clone, Copy, Debug)]
pub(super) struct IndexedFile {
    pub(super) size: u64,
    /// A symbolic link to another shared file; served, but not searched (its target is).
    pub(super) is_link: bool,
}

/// What one walk of the shared folder found.
#[derive(Debug, Default)]
pub(super) struct Index {
    pub(super) files: BTreeMap<String, IndexedFile>,
    /// Visible folders (and links to visible folders), only to say "is a folder".
    pub(super) folders: HashSet<String>,
}

/// What the walk reports for each entry it admits.
enum Found {
    File {
        path: String,
        size: u64,
    },
    Folder {
        path: String,
    },
    /// A link whose target, canonical and inside the folder, is `target`.
    LinkInside {
        path: String,
        target: String,
        target_is_folder: bool,
    },
}

/// The ignore files among the shared files.
pub(super) fn ignore_files(index: &Index) -> impl Iterator<Item = String> + '_ {
    index
        .files
        .iter()
        .filter(|(path, file)| !file.is_link && is_ignore_file(path))
        .map(|(path, _)| path.clone())
}

/// The single walk that decides what is shared (see the module docs).
pub(super) fn walk(root: &Path, rules: &Arc<HideRules>, frozen: Arc<FrozenIgnores>) -> Index {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .parents(true)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .ignore(true);
    let filter_root = root.to_owned();
    let filter_rules = Arc::clone(rules);
    builder.filter_entry(move |entry| {
        let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
        entry.depth() == 0
            || entry
                .path()
                .strip_prefix(&filter_root)
                .is_ok_and(|relative| {
                    !filter_rules.hides(relative) && !frozen.hides(&filter_root, relative, is_dir)
                })
    });
    let (sender, receiver) = mpsc::channel();
    builder.build_parallel().run(|| {
        let sender = sender.clone();
        Box::new(move |result| {
            // Unreadable folders and vanished entries are skipped: what cannot be read is
            // not shared, and the rest of the folder still is.
            match result {
                Ok(entry) if entry.depth() > 0 => {
                    if let Some(found) = classify(root, &entry) {
                        // The receiver outlives the walk; a failed send cannot happen.
                        let _ = sender.send(found);
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "skipped while walking the shared folder"),
            }
            WalkState::Continue
        })
    });
    drop(sender);
    build_index(receiver.into_iter())
}

/// Turns one admitted walk entry into what the index needs to know about it.
fn classify(root: &Path, entry: &ignore::DirEntry) -> Option<Found> {
    let relative = entry.path().strip_prefix(root).ok()?;
    // Names that are not UTF-8 cannot travel in the protocol; they are not shared.
    let path = relative.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
    let file_type = entry.file_type()?;
    if file_type.is_dir() {
        return Some(Found::Folder { path });
    }
    if file_type.is_file() {
        let size = entry.metadata().ok()?.len();
        return Some(Found::File { path, size });
    }
    if !entry.path_is_symlink() {
        return None; // sockets, pipes, devices
    }
    // A broken link, or one leading out of the folder, is not shared; refusing it says
    // nothing more than for a missing file.
    let canonical = entry.path().canonicalize().ok()?;
    let inside = canonical.strip_prefix(root).ok()?;
    let target = inside.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
    let metadata = canonical.metadata().ok()?;
    if !metadata.is_file() && !metadata.is_dir() {
        return None;
    }
    Some(Found::LinkInside {
        path,
        target,
        target_is_folder: metadata.is_dir(),
    })
}

fn build_index(found: impl Iterator<Item = Found>) -> Index {
    let mut index = Index::default();
    let mut links = Vec::new();
    for item in found {
        match item {
            Found::File { path, size } => {
                index.files.insert(
                    path,
                    IndexedFile {
                        size,
                        is_link: false,
                    },
                );
            }
            Found::Folder { path } => {
                index.folders.insert(path);
            }
            Found::LinkInside {
                path,
                target,
                target_is_folder,
            } => {
                links.push((path, target, target_is_folder));
            }
        }
    }
    // A link is exactly as shared as what it leads to, judged once every file is known.
    for (path, target, target_is_folder) in links {
        if target_is_folder {
            if index.folders.contains(&target) {
                index.folders.insert(path);
            }
        } else if let Some(file) = index.files.get(&target).copied() {
            index.files.insert(
                path,
                IndexedFile {
                    size: file.size,
                    is_link: true,
                },
            );
        }
    }
    index
}
