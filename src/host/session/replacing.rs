//! Replace across the workspace, applied: the plan `host::replace` makes becomes the
//! host's own edits to each file, sequenced like anyone's typing, so a member typing in
//! one of the files at that moment has their edit transformed against the replace.

use super::*;
use crate::host::replace::{FileChanges, ReplacePlan};
use crate::protocol::search::{ReplaceHit, ReplaceRequest, ReplaceSummary};

/// Most inserted bytes in one replace edit: a file with many changes is changed by a
/// few edits, each well inside the size one edit may take on the wire.
const REPLACE_EDIT_BYTES: usize = crate::protocol::MAX_EDIT_BYTES / 4;

impl HostSession {
    pub(super) async fn replace(
        &mut self,
        from: ParticipantId,
        id: u64,
        request: ReplaceRequest,
    ) -> anyhow::Result<()> {
        let reply = self.reply(from, id);
        if !request.dry_run && !self.role_of(from).is_some_and(Role::may_edit) {
            return reply
                .error("you are read-only in this session: the host did not let you replace")
                .await;
        }
        let open: std::collections::HashMap<String, ropey::Rope> = self
            .documents
            .open_paths()
            .into_iter()
            .filter_map(|path| {
                let rope = self.documents.text(&path)?.1.clone();
                Some((path, rope))
            })
            .collect();
        let may_configure_tools = self.trust_project || Some(from) == self.owner;
        let refusal = |path: &str| {
            (!may_configure_tools && crate::host::lsp::configures_tools(path)).then(|| {
                format!("{path}: it chooses which programs the host's tools run; only the host can change it")
            })
        };
        let plan = match crate::host::replace::plan(&self.workspace, &request, &open, refusal) {
            Ok(plan) => plan,
            Err(error) => return reply.error(error.to_string()).await,
        };
        let ReplacePlan { files, mut skipped } = plan;
        let mut done: Vec<FileChanges> = Vec::new();
        let mut saved = 0u64;
        if request.dry_run {
            done = files;
        } else {
            for file in files {
                match self.apply_changes(&file) {
                    Ok(edits) => {
                        for edit in edits {
                            self.sequenced(edit).await?;
                        }
                        done.push(file);
                    }
                    Err(reason) => skipped.push(format!("{}: {reason}", file.path)),
                }
            }
            // The edits go out before any save or answer that follows them.
            self.broadcast_applied().await?;
            if request.save {
                for file in &done {
                    match self.documents.save(&file.path) {
                        Ok(revision) => {
                            saved += 1;
                            self.announce_saved(&file.path, revision, from).await?;
                        }
                        Err(error) => skipped.push(error.to_string()),
                    }
                    // Opened only for the replace and now on disk: nothing to keep it for.
                    let someone_has_it = self
                        .participants
                        .values()
                        .any(|p| p.open.contains(&file.path));
                    if !someone_has_it {
                        self.documents.close_if_saved(&file.path);
                    }
                }
            }
        }
        let changes = done.iter().map(|file| file.hits.len() as u64).sum();
        let summary = ReplaceSummary {
            changes,
            files: done.len() as u64,
            applied: !request.dry_run,
            saved,
            skipped,
        };
        let hits: Vec<ReplaceHit> = done.into_iter().flat_map(|file| file.hits).collect();
        for batch in hits.chunks(crate::host::search::MAX_BATCH_LEN) {
            reply
                .send(false, Response::Replaced(batch.to_vec()))
                .await?;
        }
        if !request.dry_run && changes > 0 {
            let name = self.name_of(from);
            let message = format!(
                "{name} replaced {changes} match{} in {} file{}{}",
                if changes == 1 { "" } else { "es" },
                summary.files,
                if summary.files == 1 { "" } else { "s" },
                if request.save {
                    ", saved"
                } else {
                    ", not saved yet"
                },
            );
            tracing::info!(participant = from, "{message}");
            self.sender()
                .send(Route::Everyone, &Message::Event(Event::Notice { message }))
                .await?;
        }
        reply.send(true, Response::ReplaceDone(summary)).await
    }

    /// Applies one file's changes as the host's edits (opening the document if nobody
    /// has), in parts from the end of the file so each part's positions still hold.
    fn apply_changes(&mut self, file: &FileChanges) -> Result<Vec<AppliedEdit>, String> {
        let path = &file.path;
        if !self.documents.is_open(path) {
            self.documents.open(path).map_err(|e| e.to_string())?;
        }
        let current = self
            .documents
            .text(path)
            .map(|(_, rope)| rope.len_chars())
            .unwrap_or_default();
        if current != file.base_chars {
            return Err("it changed on the host's disk while being replaced in".into());
        }
        let mut parts: Vec<&[(std::ops::Range<usize>, String)]> = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (index, (_, with)) in file.edits.iter().enumerate() {
            let size = with.len() + 16;
            if index > start && bytes + size > REPLACE_EDIT_BYTES {
                parts.push(&file.edits[start..index]);
                (start, bytes) = (index, 0);
            }
            bytes += size;
        }
        parts.push(&file.edits[start..]);
        let mut applied = Vec::new();
        for part in parts.into_iter().rev() {
            let length = self
                .documents
                .text(path)
                .map(|(_, rope)| rope.len_chars())
                .unwrap_or_default();
            let op = crate::text::Operation::from_edits(length, part.iter().cloned())
                .map_err(|e| e.to_string())?;
            if let Some(edit) = self
                .documents
                .submit_as_host(path, op)
                .map_err(|e| e.to_string())?
            {
                applied.push(AppliedEdit {
                    path: path.clone(),
                    edit,
                    by: HOST_ID,
                });
            }
        }
        Ok(applied)
    }

    /// Tells everyone `path` was saved at `revision` at `by`'s request.
    pub(super) async fn announce_saved(
        &mut self,
        path: &str,
        revision: u64,
        by: ParticipantId,
    ) -> anyhow::Result<()> {
        if let Err(e) = self.intel.lsp().did_save(path) {
            tracing::debug!("language server not told of the save: {e}");
        }
        let saved = Event::Saved {
            path: path.to_owned(),
            revision,
            by,
        };
        self.sender()
            .send(Route::Everyone, &Message::Event(saved))
            .await?;
        self.announce_unsaved([path]).await
    }

    /// A member's name for the others' notices.
    pub(super) fn name_of(&self, participant: ParticipantId) -> String {
        self.participants
            .get(&participant)
            .map_or_else(|| self.name.clone(), |p| p.member.name.clone())
    }
}
