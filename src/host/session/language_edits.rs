//! A language server's edits (rename, format, code action) made as the host's shared
//! edits. The server is asked on a task of its own, like hover, so typing goes on
//! meanwhile; its answer comes back to the session loop with, for each file, the text it
//! was computed for. Each file's edit is made at the revision that text was and
//! transformed against everything typed since (never applied at stale positions); if
//! that text is no longer known the whole change is refused, as it is when it would
//! touch a file the host does not share (the bridge refuses those).

use super::*;
use crate::host::language_edits::{EditAsk, Edits};
use crate::host::lsp::FileEdits;
use crate::protocol::language::{ChangedPlace, EditSummary};
use crate::text::Operation;

/// A server's answer on its way back to the session loop.
pub(super) struct LanguageEditDone {
    from: ParticipantId,
    id: u64,
    save: bool,
    /// Asked by the host's format-on-save before saving: the save's answer follows, and
    /// a format that fails leaves the file saved as it is.
    before_save: bool,
    ask: EditAsk,
    edits: Result<Edits, String>,
    /// What the steps before this one changed (a code action's edits, made before its
    /// command runs), told together with this step's.
    earlier: EditSummary,
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
            Request::FormatRange(format) => {
                let at = |position| TextPosition {
                    path: format.path.clone(),
                    revision: format.revision,
                    position,
                };
                match (
                    moved(self, at(format.range.start)),
                    moved(self, at(format.range.end)),
                ) {
                    (Ok(start), Ok(end)) => (
                        EditAsk::FormatRange {
                            path: format.path,
                            range: crate::host::lsp::Range {
                                start: start.position,
                                end: end.position,
                            },
                        },
                        format.save,
                    ),
                    (Err(e), _) | (_, Err(e)) => {
                        return reply.error(format!("{e}; ask again")).await;
                    }
                }
            }
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
                before_save: false,
                ask,
                edits,
                earlier: EditSummary::default(),
            });
        });
        Ok(())
    }

    /// The server answered: its edits are made (all files or none) and the member told
    /// where.
    pub(super) async fn on_language_edit_done(
        &mut self,
        mut done: LanguageEditDone,
    ) -> anyhow::Result<()> {
        self.broadcast_applied().await?;
        let reply = self.reply(done.from, done.id);
        if done.before_save {
            return self.format_then_save(&reply, done).await;
        }
        let no_edits = Edits {
            files: Vec::new(),
            then: None,
        };
        let Edits { files, then } = match std::mem::replace(&mut done.edits, Ok(no_edits)) {
            Ok(edits) => edits,
            Err(message) => return reply.error(message).await,
        };
        let summary = match self.make_language_edits(done.from, &files).await? {
            Ok(summary) => summary,
            Err(message) => return reply.error(message).await,
        };
        let summary = merged(std::mem::take(&mut done.earlier), summary);
        if let Some(next) = then {
            // The action's command runs now that its edits are made (the server has
            // them), and the member hears of both at once.
            self.run_next_step(done, next, summary);
            return Ok(());
        }
        self.tell_language_edits(&reply, &done, summary).await
    }

    /// Asks the server for a language edit's next step (a code action's command) on a
    /// task of its own, like the first.
    fn run_next_step(&self, done: LanguageEditDone, next: EditAsk, earlier: EditSummary) {
        let intel = self.intel.clone();
        let back = self.language_edits_back.clone();
        let guard = self
            .participants
            .get(&done.from)
            .and_then(|p| p.in_flight.start(false).ok());
        tokio::spawn(async move {
            let edits = intel.edits(next).await;
            drop(guard);
            let _ = back.send(LanguageEditDone {
                edits,
                earlier,
                ..done
            });
        });
    }

    /// Makes a server's edits as the host's shared edits for `from` (all files or none),
    /// or says why none were made.
    async fn make_language_edits(
        &mut self,
        from: ParticipantId,
        files: &[FileEdits],
    ) -> anyhow::Result<Result<EditSummary, String>> {
        let may_configure_tools = self.trust_project || Some(from) == self.owner;
        let mut planned = Vec::new();
        for file in files {
            if !may_configure_tools && crate::host::lsp::configures_tools(&file.path) {
                return Ok(Err(format!(
                    "this change would touch {}, which chooses the programs the host's tools run; only the host can change it. Nothing was changed",
                    file.path
                )));
            }
            match self.plan_file_edit(file).await {
                Ok(plan) => planned.push(plan),
                Err(reason) => {
                    return Ok(Err(format!("{}: {reason}; nothing was changed", file.path)));
                }
            }
        }
        let mut summary = EditSummary::default();
        // Edits of files nobody has open go to the language servers alone (members heed
        // edits only to documents they have open, and whoever opens one later gets its
        // text as it is then), all in one notification: a rename through 100 files would
        // otherwise have everyone open, verify and drop 100 edits.
        let mut unseen = Vec::new();
        for (file, (base, op)) in files.iter().zip(planned) {
            summary.places.extend(changed_places(file));
            match self.documents.submit_as_host_at(&file.path, base, op) {
                Ok(Some(edit)) => {
                    summary.files += 1;
                    // Made for the member who asked: their editor makes it one undo
                    // step of theirs.
                    let applied = AppliedEdit {
                        path: file.path.clone(),
                        edit,
                        by: from,
                    };
                    let someone_has_it = self
                        .participants
                        .values()
                        .any(|p| p.open.contains(&file.path));
                    if someone_has_it {
                        self.sequenced(applied).await?;
                    } else {
                        unseen.push(applied);
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(path = %file.path, "a language edit failed: {error}"),
            }
        }
        self.language_servers_follow(&unseen);
        self.broadcast_applied().await?;
        Ok(Ok(summary))
    }

    /// After the edits: saves if asked, tells everyone what was done and the member
    /// where.
    async fn tell_language_edits(
        &mut self,
        reply: &Reply,
        done: &LanguageEditDone,
        mut summary: EditSummary,
    ) -> anyhow::Result<()> {
        if done.save {
            let mut paths: Vec<String> = summary.places.iter().map(|p| p.path.clone()).collect();
            paths.sort();
            paths.dedup();
            for path in paths {
                if let Ok(revision) = self.documents.save(&path) {
                    summary.saved += 1;
                    self.announce_saved(&path, revision, done.from).await?;
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

    /// Format-on-save: asks the file's server to format it, on a task of its own; the
    /// save follows once the edits are made (`format_then_save`).
    pub(super) fn format_before_saving(&self, from: ParticipantId, id: u64, path: String) {
        let intel = self.intel.clone();
        let back = self.language_edits_back.clone();
        tokio::spawn(async move {
            let ask = EditAsk::Format { path };
            let edits = intel.edits(ask.clone()).await;
            let _ = back.send(LanguageEditDone {
                from,
                id,
                save: true,
                before_save: true,
                ask,
                edits,
                earlier: EditSummary::default(),
            });
        });
    }

    /// The format asked before a save came back: its edits are made (one undo step of
    /// whoever saved), then the file is saved, formatted or, if the server could not
    /// format it, as it was.
    async fn format_then_save(
        &mut self,
        reply: &Reply,
        done: LanguageEditDone,
    ) -> anyhow::Result<()> {
        let path = done.ask.path().to_owned();
        let not_formatted = match done.edits {
            Ok(edits) => self
                .make_language_edits(done.from, &edits.files)
                .await?
                .err(),
            Err(message) => Some(message),
        };
        if let Some(message) = not_formatted {
            tracing::info!(
                participant = done.from,
                "saved without formatting: {message}"
            );
        }
        self.save_now(reply, path).await
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

/// Two steps' changes as one (a code action's edits, then its command's).
fn merged(mut earlier: EditSummary, later: EditSummary) -> EditSummary {
    earlier.places.extend(later.places);
    earlier.files += later.files;
    earlier.saved += later.saved;
    earlier
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
