//! A language server's edits (rename, format, code action) made as the host's shared
//! edits. The server is asked on a task of its own, like hover, so typing goes on
//! meanwhile; its answer comes back to the session loop with, for each file, the text it
//! was computed for. Each file's edit is made at the revision that text was and
//! transformed against everything typed since (never applied at stale positions); if
//! that text is no longer known the whole change is refused, as it is when it would
//! touch a file the host does not share (the bridge refuses those).

use super::*;
use crate::host::language_edits::EditAsk;
use crate::host::lsp::FileEdits;
use crate::protocol::language::{ChangedPlace, EditSummary};
use crate::text::Operation;

/// A server's answer on its way back to the session loop.
pub(super) struct LanguageEditDone {
    from: ParticipantId,
    id: u64,
    save: bool,
    ask: EditAsk,
    edits: Result<Vec<FileEdits>, String>,
}

/// The channel language edits come back on.
pub(super) type LanguageEditSender = tokio::sync::mpsc::UnboundedSender<LanguageEditDone>;

impl HostSession {
    /// A member asks for a rename, a format or a code action: refused for read-only
    /// members, otherwise asked of the server on its own task.
    pub(super) async fn on_language_edit(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let reply = self.reply(from, id);
        if !self.role_of(from).is_some_and(Role::may_edit) {
            return reply
                .error("you are read-only in this session: the host did not let you change files")
                .await;
        }
        let moved = |session: &Self, at: TextPosition| -> Result<TextPosition, DocumentError> {
            let position = session
                .documents
                .position_now(&at.path, at.revision, at.position)?;
            Ok(TextPosition { position, ..at })
        };
        let (ask, save) = match body {
            Request::Rename(rename) => match moved(self, rename.at) {
                Ok(at) => (
                    EditAsk::Rename {
                        at,
                        new_name: rename.new_name,
                    },
                    rename.save,
                ),
                Err(e) => return reply.error(format!("{e}; ask again")).await,
            },
            Request::ApplyCodeAction(action) => match moved(self, action.at) {
                Ok(at) => (
                    EditAsk::CodeAction {
                        at,
                        title: action.title,
                    },
                    action.save,
                ),
                Err(e) => return reply.error(format!("{e}; ask again")).await,
            },
            Request::Format { path, save } => (EditAsk::Format { path }, save),
            other => {
                tracing::debug!("not a language edit: {other:?}");
                return Ok(());
            }
        };
        // Counted with the member's other requests in flight, so nobody floods the server.
        let guard = match self
            .participants
            .get(&from)
            .map(|p| p.in_flight.start(false))
        {
            Some(Ok(guard)) => Some(guard),
            Some(Err(message)) => return reply.error(message).await,
            None => None,
        };
        let intel = self.intel.clone();
        let back = self.language_edits_back.clone();
        tokio::spawn(async move {
            let edits = intel.edits(ask.clone()).await;
            drop(guard);
            let _ = back.send(LanguageEditDone {
                from,
                id,
                save,
                ask,
                edits,
            });
        });
        Ok(())
    }

    /// The server answered: its edits are made (all files or none) and the member told
    /// where.
    pub(super) async fn on_language_edit_done(
        &mut self,
        done: LanguageEditDone,
    ) -> anyhow::Result<()> {
        self.broadcast_applied().await?;
        let reply = self.reply(done.from, done.id);
        let files = match done.edits {
            Ok(files) => files,
            Err(message) => return reply.error(message).await,
        };
        let may_configure_tools = self.trust_project || Some(done.from) == self.owner;
        let mut planned = Vec::new();
        for file in &files {
            if !may_configure_tools && crate::host::lsp::configures_tools(&file.path) {
                return reply
                    .error(format!(
                        "this change would touch {}, which chooses the programs the host's tools run; only the host can change it. Nothing was changed",
                        file.path
                    ))
                    .await;
            }
            match self.plan_file_edit(file).await {
                Ok(plan) => planned.push(plan),
                Err(reason) => {
                    return reply
                        .error(format!("{}: {reason}; nothing was changed", file.path))
                        .await;
                }
            }
        }
        let mut summary = EditSummary::default();
        for (file, (base, op)) in files.iter().zip(planned) {
            summary.places.extend(changed_places(file));
            match self.documents.submit_as_host_at(&file.path, base, op) {
                Ok(Some(edit)) => {
                    summary.files += 1;
                    self.sequenced(AppliedEdit {
                        path: file.path.clone(),
                        edit,
                        by: HOST_ID,
                    })
                    .await?;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(path = %file.path, "a language edit failed: {error}"),
            }
        }
        self.broadcast_applied().await?;
        if done.save {
            for file in &files {
                if let Ok(revision) = self.documents.save(&file.path) {
                    summary.saved += 1;
                    self.announce_saved(&file.path, revision, done.from).await?;
                }
            }
        }
        if summary.files > 0 {
            let message = format!(
                "{} {} ({} file{}{})",
                self.name_of(done.from),
                done.ask.done(),
                summary.files,
                if summary.files == 1 { "" } else { "s" },
                if done.save { ", saved" } else { "" },
            );
            tracing::info!(participant = done.from, "{message}");
            self.sender()
                .send(Route::Everyone, &Message::Event(Event::Notice { message }))
                .await?;
        }
        summary.places.sort();
        reply.send(true, Response::LanguageEdited(summary)).await
    }

    /// The revision `file`'s edits were computed for and the edit as an operation on its
    /// text. The document is opened if nobody has it open (and the servers follow it
    /// from then on).
    async fn plan_file_edit(&mut self, file: &FileEdits) -> Result<(u64, Operation), String> {
        let path = &file.path;
        if !self.documents.is_open(path) {
            let (revision, rope) = self.documents.open(path).map_err(|e| e.to_string())?;
            self.language_servers_open(path, revision, &rope).await;
        }
        let Some((now, current)) = self.documents.text(path).map(|(r, t)| (r, t.clone())) else {
            return Err("it is not open on the host".to_owned());
        };
        // The bridge's version of a document members have open is its revision + 1.
        let asked_at = file
            .version
            .and_then(|version| u64::try_from(version).ok()?.checked_sub(1))
            .filter(|revision| *revision <= now);
        let base = match asked_at {
            Some(revision)
                if self.documents.text_at(path, revision).as_ref() == Some(&file.text) =>
            {
                revision
            }
            _ if current == file.text => now,
            _ => return Err("it changed while the language server was working; ask again".into()),
        };
        let op = Operation::from_edits(file.text.len_chars(), file.edits.iter().cloned())
            .map_err(|e| e.to_string())?;
        if crate::protocol::message::applied_size(path, &op) > crate::protocol::MAX_EDIT_BYTES {
            return Err("the change is too large to share as one edit".into());
        }
        Ok((base, op))
    }
}

/// Where each of `file`'s changes begins in the text after them, 1-based.
fn changed_places(file: &FileEdits) -> Vec<ChangedPlace> {
    let mut after = file.text.clone();
    let mut shift: isize = 0;
    let mut starts = Vec::new();
    for (range, with) in &file.edits {
        let start = range.start as isize + shift;
        starts.push(start.max(0) as usize);
        shift += with.chars().count() as isize - range.len() as isize;
    }
    if let Ok(op) = Operation::from_edits(file.text.len_chars(), file.edits.iter().cloned()) {
        let _ = op.apply(&mut after);
    }
    starts
        .into_iter()
        .map(|start| {
            let at = crate::text::position::char_to_line_col(&after, start.min(after.len_chars()));
            ChangedPlace {
                path: file.path.clone(),
                line: at.line as u64 + 1,
                column: at.col as u64 + 1,
            }
        })
        .collect()
}
