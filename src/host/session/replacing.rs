//! Replace across the workspace, applied: the plan `host::replace` makes becomes the
//! host's own edits to each file, sequenced like anyone's typing, so a member typing in
//! one of the files at that moment has their edit transformed against the replace.
//!
//! A large replace must not hold up everyone's typing: the plan is made on a blocking
//! thread (whose planners also read the files nobody has open, so the loop only checks
//! each is unchanged on disk), and the files are changed a slice at a time
//! ([`REPLACE_SLICE`]), with the
//! loop serving what arrived in between ([`HostSession::replace_slice`]). A file someone
//! edited after it was planned is planned again against its text as it is then.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::*;
use crate::host::documents::PendingSave;
use crate::host::replace::{FileChanges, ReplaceError, ReplacePlan};
use crate::protocol::search::{ReplaceHit, ReplaceRequest, ReplaceSummary};

/// Most inserted bytes in one replace edit: a file with many changes is changed by a
/// few edits, each well inside the size one edit may take on the wire.
const REPLACE_EDIT_BYTES: usize = crate::protocol::MAX_EDIT_BYTES / 4;

/// How long the loop spends changing files before it serves others again.
const REPLACE_SLICE: Duration = Duration::from_millis(3);
/// Most files changed in one slice: what follows a slice (the edits' broadcast, each
/// file's `Unsaved`, the changes listed to the asker) grows with them.
const REPLACE_SLICE_FILES: usize = 20;

/// About how many bytes of changes one answer to the asker carries. Few answers: each
/// frame costs a host signature and the asker's check of it (~50 µs together), and
/// answers sent slice by slice were most of a 10,000-change replace's frames; each one
/// still far inside a frame's size.
const REPLACE_HITS_BYTES: usize = crate::protocol::DEFAULT_MAX_FRAME / 4;

/// A replace under way: being planned, then applied file by file.
pub(super) struct ReplaceJob {
    from: ParticipantId,
    id: u64,
    request: ReplaceRequest,
    /// The plan, until it arrives from its thread.
    planning: Option<tokio::sync::oneshot::Receiver<Result<ReplacePlan, ReplaceError>>>,
    /// The revision of each document open when planning read it.
    planned_revisions: HashMap<String, u64>,
    to_apply: VecDeque<FileChanges>,
    /// The files changed (or, in a dry run, listed) so far, and how many changes.
    done: Vec<String>,
    changes: u64,
    skipped: Vec<String>,
    /// With `--save`, once every file is changed: the saves, until their thread wrote them.
    saving: Option<tokio::sync::oneshot::Receiver<Vec<Written>>>,
    /// The changes made and not yet listed to the asker, about how many bytes they take,
    /// and those gathered into answers ready to go.
    unsent: Vec<ReplaceHit>,
    unsent_bytes: usize,
    ready: Vec<Vec<ReplaceHit>>,
}

/// A save of the replace and how its write went.
type Written = (PendingSave, Result<(), String>);

impl ReplaceJob {
    /// Lists `hits` to the asker, in answers of about [`REPLACE_HITS_BYTES`].
    fn list(&mut self, hits: Vec<ReplaceHit>) {
        for hit in hits {
            self.unsent_bytes += hit.path.len() + hit.before.len() + hit.after.len() + 32;
            self.unsent.push(hit);
            if self.unsent_bytes >= REPLACE_HITS_BYTES {
                self.ready.push(std::mem::take(&mut self.unsent));
                self.unsent_bytes = 0;
            }
        }
    }

    /// The answers ready to go, and once every file is done, the rest too.
    fn answers_due(&mut self, finished: bool) -> Vec<Vec<ReplaceHit>> {
        if finished && !self.unsent.is_empty() {
            self.ready.push(std::mem::take(&mut self.unsent));
            self.unsent_bytes = 0;
        }
        std::mem::take(&mut self.ready)
    }

    /// Whether the plan is made and files wait to be changed (or the answer to be sent).
    pub(super) fn is_applying(&self) -> bool {
        self.planning.is_none() && self.saving.is_none()
    }
}

/// What the replace under way waited for off the loop.
pub(super) enum Progress {
    /// The plan, made by its threads.
    Planned(Result<Result<ReplacePlan, ReplaceError>, tokio::sync::oneshot::error::RecvError>),
    /// The changed files, written (`--save`).
    Saved(Result<Vec<Written>, tokio::sync::oneshot::error::RecvError>),
}

/// The replace under way's next step made off the loop (pending when there is none).
pub(super) async fn progress(job: &mut Option<ReplaceJob>) -> Progress {
    match job.as_mut() {
        Some(ReplaceJob {
            planning: Some(planning),
            ..
        }) => Progress::Planned(planning.await),
        Some(ReplaceJob {
            saving: Some(saving),
            ..
        }) => Progress::Saved(saving.await),
        _ => std::future::pending().await,
    }
}

impl HostSession {
    /// Starts a replace: planned on a blocking thread (reading and matching every file
    /// would hold up the loop), then applied by [`HostSession::replace_slice`].
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
        if self.replacing.is_some() {
            return reply
                .error("another replace is under way; try again once it is done")
                .await;
        }
        let mut planned_revisions = HashMap::new();
        let open: HashMap<String, ropey::Rope> = self
            .documents
            .open_paths()
            .into_iter()
            .filter_map(|path| {
                let (revision, rope) = self.documents.text(&path)?;
                planned_revisions.insert(path.clone(), revision);
                Some((path, rope.clone()))
            })
            .collect();
        let may_configure_tools = self.trust_project || Some(from) == self.owner;
        let workspace = self.workspace.clone();
        let asked = request.clone();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let refusal = |path: &str| {
                (!may_configure_tools && crate::host::lsp::configures_tools(path)).then(|| {
                    format!("{path}: it chooses which programs the host's tools run; only the host can change it")
                })
            };
            let plan = crate::host::replace::plan(&workspace, &asked, &open, refusal);
            let _ = sender.send(plan);
        });
        self.replacing = Some(ReplaceJob {
            from,
            id,
            request,
            planning: Some(receiver),
            planned_revisions,
            to_apply: VecDeque::new(),
            done: Vec::new(),
            changes: 0,
            skipped: Vec::new(),
            saving: None,
            unsent: Vec::new(),
            unsent_bytes: 0,
            ready: Vec::new(),
        });
        Ok(())
    }

    /// The replace under way's plan was made, or its files were written.
    pub(super) async fn replace_progress(&mut self, progress: Progress) -> anyhow::Result<()> {
        match progress {
            Progress::Planned(plan) => self.replace_planned(plan).await,
            Progress::Saved(written) => self.replace_saved(written).await,
        }
    }

    /// The plan arrived: a refusal is the answer; otherwise the files wait to be changed
    /// (a dry run's answer is the plan itself).
    async fn replace_planned(
        &mut self,
        plan: Result<Result<ReplacePlan, ReplaceError>, tokio::sync::oneshot::error::RecvError>,
    ) -> anyhow::Result<()> {
        let Some(mut job) = self.replacing.take() else {
            return Ok(());
        };
        let plan = match plan {
            Ok(Ok(plan)) => plan,
            Ok(Err(error)) => return self.reply(job.from, job.id).error(error.to_string()).await,
            Err(_) => {
                let reply = self.reply(job.from, job.id);
                return reply
                    .error("the replace stopped on the host; nothing was changed")
                    .await;
            }
        };
        job.planning = None;
        job.skipped = plan.skipped;
        job.to_apply = plan.files.into();
        self.replacing = Some(job);
        Ok(())
    }

    /// Changes files of the replace under way for one slice (of time, and of files: the
    /// broadcast after it grows with them), sends those edits, lists the changes made to
    /// the asker (in answers of about [`REPLACE_HITS_BYTES`]), and once every file is
    /// done, saves (if asked) and answers.
    ///
    /// Others' typing goes first: what they sent is handled before the slice, a message
    /// arriving during it ends it after the file being changed, and what arrived is
    /// handled before the slice's edits go out, so their confirmation leaves in the same
    /// broadcast instead of waiting behind it.
    pub(super) async fn replace_slice(&mut self) -> anyhow::Result<()> {
        self.handle_waiting().await?;
        self.broadcast_applied().await?;
        let Some(mut job) = self.replacing.take() else {
            return Ok(());
        };
        let started = Instant::now();
        for index in 0..REPLACE_SLICE_FILES {
            let someone_waits = index > 0 && self.channel.has_waiting();
            if started.elapsed() >= REPLACE_SLICE || someone_waits {
                break;
            }
            let Some(file) = job.to_apply.pop_front() else {
                break;
            };
            if let Some(file) = self.replace_in(&mut job, file).await? {
                job.changes += file.hits.len() as u64;
                job.done.push(file.path);
                job.list(file.hits);
            }
        }
        let reply = self.reply(job.from, job.id);
        let finished = job.to_apply.is_empty();
        let answers = job.answers_due(finished);
        // Back in place while others are served: a second replace is refused meanwhile.
        self.replacing = Some(job);
        self.handle_waiting().await?;
        // The edits go out before any save or answer that follows them.
        self.broadcast_applied().await?;
        for batch in answers {
            reply.send(false, Response::Replaced(batch)).await?;
        }
        match self.replacing.take() {
            Some(job) if finished => self.replace_finished(job).await?,
            job => self.replacing = job,
        }
        // Nothing above waits, so without this the loop would run slice after slice
        // without the runtime ever polling the sockets in between: a member's keystroke
        // would wait in the kernel until the whole replace is applied.
        tokio::task::yield_now().await;
        Ok(())
    }

    /// One file of the replace: its changes made (a dry run: only listed), or why not.
    async fn replace_in(
        &mut self,
        job: &mut ReplaceJob,
        file: FileChanges,
    ) -> anyhow::Result<Option<FileChanges>> {
        if job.request.dry_run {
            return Ok(Some(file));
        }
        let mut file = match self.current_changes(job, file) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(None),
            Err(reason) => {
                job.skipped.push(reason);
                return Ok(None);
            }
        };
        match self.apply_changes(&mut file) {
            Ok(edits) => {
                // Members heed edits only to documents they have open (whoever opens one
                // later gets its text as it is then), so the edits to files nobody has
                // open go to the language servers alone: a replace through 1,000 files
                // would otherwise send everyone 10,000 edits to open, verify and drop,
                // and a member's keystroke's confirmation would queue behind them.
                let someone_has_it = self
                    .participants
                    .values()
                    .any(|p| p.open.contains(&file.path));
                if someone_has_it {
                    for edit in edits {
                        self.sequenced(edit).await?;
                    }
                } else {
                    self.language_servers_follow(&edits);
                }
                Ok(Some(file))
            }
            Err(reason) => {
                job.skipped.push(format!("{}: {reason}", file.path));
                Ok(None)
            }
        }
    }

    /// `file`'s changes against its text now: as planned, unless someone edited the
    /// document since (then planned again; `None` if nothing is left to change).
    fn current_changes(
        &self,
        job: &ReplaceJob,
        file: FileChanges,
    ) -> Result<Option<FileChanges>, String> {
        let Some((revision, rope)) = self.documents.text(&file.path) else {
            return Ok(Some(file));
        };
        if job.planned_revisions.get(&file.path) == Some(&revision) {
            return Ok(Some(file));
        }
        crate::host::replace::plan_text(&file.path, &rope.to_string(), &job.request)
            .map_err(|error| format!("{}: {error}", file.path))
    }

    /// Every file is changed: with `--save` they are written on a blocking thread (each
    /// waits for the disk's fsync, ~3 ms: a thousand files on the loop held everyone's
    /// typing for seconds), and the answer waits for [`HostSession::replace_saved`];
    /// otherwise the answer is sent now.
    async fn replace_finished(&mut self, mut job: ReplaceJob) -> anyhow::Result<()> {
        if !job.request.save || job.request.dry_run {
            return self.replace_answer(job, 0).await;
        }
        let mut pending = Vec::with_capacity(job.done.len());
        for path in &job.done {
            match self.documents.begin_save(path) {
                Ok(save) => pending.push(save),
                Err(error) => job.skipped.push(error.to_string()),
            }
        }
        let (sender, receiver) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let written = pending
                .into_iter()
                .map(|save| {
                    let result = save.write();
                    (save, result)
                })
                .collect();
            let _ = sender.send(written);
        });
        job.saving = Some(receiver);
        // In place meanwhile: a second replace is refused until this one is answered.
        self.replacing = Some(job);
        Ok(())
    }

    /// The replace's files were written: each recorded as saved (a document edited while
    /// it was written stays unsaved, the disk holding the replace's revision), everyone
    /// told, and the asker answered.
    async fn replace_saved(
        &mut self,
        written: Result<Vec<Written>, tokio::sync::oneshot::error::RecvError>,
    ) -> anyhow::Result<()> {
        let Some(mut job) = self.replacing.take() else {
            return Ok(());
        };
        job.saving = None;
        let mut saved = 0u64;
        let Ok(written) = written else {
            job.skipped
                .push("the host stopped saving the replaced files; save them again".into());
            return self.replace_answer(job, saved).await;
        };
        for (save, result) in written {
            let path = save.path.clone();
            match self.documents.end_save(save, result) {
                Ok(revision) => {
                    saved += 1;
                    self.announce_saved(&path, revision, job.from).await?;
                }
                Err(error) => job.skipped.push(error.to_string()),
            }
            // Opened only for the replace and now on disk: nothing to keep it for.
            let someone_has_it = self.participants.values().any(|p| p.open.contains(&path));
            if !someone_has_it {
                self.documents.close_if_saved(&path);
            }
        }
        self.replace_answer(job, saved).await
    }

    /// Sums the replace up for the asker (the changes themselves went to them slice by
    /// slice) and tells everyone what changed.
    async fn replace_answer(&mut self, job: ReplaceJob, saved: u64) -> anyhow::Result<()> {
        let ReplaceJob {
            from,
            id,
            request,
            done,
            changes,
            skipped,
            ..
        } = job;
        let reply = self.reply(from, id);
        let summary = ReplaceSummary {
            changes,
            files: done.len() as u64,
            applied: !request.dry_run,
            saved,
            skipped,
        };
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
    fn apply_changes(&mut self, file: &mut FileChanges) -> Result<Vec<AppliedEdit>, String> {
        let path = &file.path;
        if !self.documents.is_open(path) {
            // Read by the planners already: here only checked to be what the disk holds.
            let opened = match file.read.take() {
                Some(read) => self.documents.open_read(path, read),
                None => self.documents.open(path).map(drop),
            };
            opened.map_err(|e| e.to_string())?;
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
