//! Watching the shared folder: changes other programs make on disk reach open documents
//! as edits, and everyone hears of files created, deleted or hidden.

use std::collections::BTreeSet;

use super::*;

/// How long a burst of file-system events (a build, a checkout, a formatter writing many
/// files, an editor's save as temp file, write and rename) is left to settle before it is
/// handled: each path is then handled once, with the disk as the burst left it.
const SETTLE: Duration = Duration::from_millis(50);

/// Watches the shared folder, and `git_dir` when it lies outside it (a subfolder of a
/// repository is shared: HEAD, the index and the refs say when the repository moved);
/// the paths changed come out of the receiver a settled burst at a time. The watcher
/// stops when the returned value is dropped. Without a watcher (unsupported system)
/// sharing still works, only disk changes are not noticed (the receiver never yields).
pub(super) fn watch_folder(
    root: &std::path::Path,
    git_dir: Option<&std::path::Path>,
) -> (
    Option<notify::RecommendedWatcher>,
    tokio::sync::mpsc::Receiver<BTreeSet<PathBuf>>,
) {
    let (changes, raw) = tokio::sync::mpsc::channel::<PathBuf>(4096);
    let (bursts_tx, bursts) = tokio::sync::mpsc::channel(16);
    let watcher = start_watcher(root, git_dir, changes);
    if watcher.is_some() {
        tokio::spawn(gather_bursts(raw, bursts_tx));
    }
    (watcher, bursts)
}

/// Waits out each burst of changes here, not on the session loop: a sleep there would
/// hold every member's edits for as long as any program writes in the shared folder.
async fn gather_bursts(
    mut raw: tokio::sync::mpsc::Receiver<PathBuf>,
    bursts: tokio::sync::mpsc::Sender<BTreeSet<PathBuf>>,
) {
    while let Some(first) = raw.recv().await {
        tokio::time::sleep(SETTLE).await;
        let mut changed = BTreeSet::from([first]);
        while let Ok(path) = raw.try_recv() {
            changed.insert(path);
        }
        if bursts.send(changed).await.is_err() {
            return;
        }
    }
}

fn start_watcher(
    root: &std::path::Path,
    git_dir: Option<&std::path::Path>,
    changes: tokio::sync::mpsc::Sender<PathBuf>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            for path in event.paths {
                // A full queue drops events; the next change of the file is seen again.
                let _ = changes.try_send(path);
            }
        }
    })
    .map_err(|e| tracing::warn!("cannot watch the shared folder: {e}"))
    .ok()?;
    watcher
        .watch(root, notify::RecursiveMode::Recursive)
        .map_err(|e| tracing::warn!("cannot watch the shared folder: {e}"))
        .ok()?;
    if let Some(git_dir) = git_dir.filter(|dir| !dir.starts_with(root)) {
        let watched = watcher
            .watch(git_dir, notify::RecursiveMode::NonRecursive)
            .and_then(|()| watcher.watch(&git_dir.join("refs"), notify::RecursiveMode::Recursive));
        if let Err(e) = watched {
            tracing::warn!("cannot watch the git repository: {e}");
        }
    }
    Some(watcher)
}

impl HostSession {
    /// A settled burst of changes on disk arrived (`watch_folder`): each path handled once.
    pub(super) async fn on_watched(&mut self, changed: BTreeSet<PathBuf>) -> anyhow::Result<()> {
        self.tell_if_repository_moved(&changed).await?;
        self.on_disk_changes(changed).await
    }

    /// Files changed on disk by another program: open documents get an edit, everyone
    /// hears about creations, deletions and renames of files they may see.
    async fn on_disk_changes(&mut self, changed: BTreeSet<PathBuf>) -> anyhow::Result<()> {
        let root = self.workspace.root().to_path_buf();
        let relative: Vec<String> = changed
            .iter()
            .filter_map(|p| p.strip_prefix(&root).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .filter(|p| {
                !p.is_empty()
                    && !p
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .starts_with(".cotype-save-")
            })
            .collect();
        let visible_before: Vec<bool> = relative
            .iter()
            .map(|p| self.workspace.is_visible(p))
            .collect();
        let changed_ignore_files = self.workspace.refresh();
        if !changed_ignore_files.is_empty() {
            self.tell(HostEvent::IgnoreFilesChanged {
                paths: changed_ignore_files,
            });
        }
        let sender = self.sender();
        let mut list_changed = false;
        for (path, was_visible) in relative.iter().zip(visible_before) {
            let visible = self.workspace.is_visible(path);
            if !visible && !was_visible && !self.documents.is_open(path) {
                continue;
            }
            if visible != was_visible {
                list_changed = true;
            }
            if !visible && was_visible {
                sender
                    .send(
                        Route::Everyone,
                        &Message::Event(Event::FileDeleted { path: path.clone() }),
                    )
                    .await?;
                continue;
            }
            if self.documents.is_open(path) {
                self.open_document_changed_on_disk(path).await?;
            }
        }
        if list_changed {
            sender
                .send(Route::Everyone, &Message::Event(Event::FilesChanged))
                .await?;
        }
        Ok(())
    }

    /// An open document's file changed on disk: the change becomes an edit everyone gets,
    /// unless the document has unsaved edits (then the shared text is kept and everyone
    /// is told).
    async fn open_document_changed_on_disk(&mut self, path: &str) -> anyhow::Result<()> {
        let sender = self.sender();
        let changed = match self.documents.disk_changed(path) {
            Ok(Some(DiskChange::Conflict)) => {
                self.announce_unsaved([path]).await?;
                let message = format!(
                    "{path} changed on the host's disk while it has unsaved edits; your text is kept, and saving will write it over the disk's version"
                );
                sender
                    .send(Route::Everyone, &Message::Event(Event::Notice { message }))
                    .await?;
                true
            }
            Ok(Some(DiskChange::Applied(edit))) => {
                self.sequenced(AppliedEdit {
                    path: path.to_owned(),
                    edit,
                    by: HOST_ID,
                })
                .await?;
                self.broadcast_applied().await?;
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!("a file changed on disk could not be merged: {e}");
                false
            }
        };
        if changed {
            sender
                .send(
                    Route::Everyone,
                    &Message::Event(Event::FileChanged {
                        path: path.to_owned(),
                    }),
                )
                .await?;
        }
        Ok(())
    }
}
