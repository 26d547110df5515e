//! The documents the host serves: listing and reading files, opening a document (its
//! text streamed in pieces), closing, catching up, saving, and the edits members submit,
//! sequenced and broadcast in batches.

use super::*;

/// How many file entries go into one `Files` response (keeps frames small).
const FILES_PER_RESPONSE: usize = 2000;

/// Chars per `DocumentText` piece: well under the frame limit even for 4-byte chars.
const DOCUMENT_PIECE_CHARS: usize = 128 * 1024;

/// Bytes of the first piece, sent before the host reads the rest of the file: far more
/// than a screen, little enough to read in no time.
const DOCUMENT_HEAD_BYTES: usize = 64 * 1024;

/// Pieces of a document sent ahead of the one the member last took: 1 MiB of ASCII text,
/// enough to keep a link of 100 ms round trip busy at 10 MiB/s, little for any queue.
const DOCUMENT_PIECES_AHEAD: usize = 8;

/// A document's text on its way to a member who opened it, paced by the member.
pub(super) struct DocumentSend {
    /// The `OpenDocument` request it answers.
    id: u64,
    revision: u64,
    rope: ropey::Rope,
    read_only: bool,
    /// Where the next piece starts, in chars.
    next_char: usize,
    /// Pieces sent that the member has not said it took.
    unacknowledged: usize,
}

/// A broadcast of sequenced edits goes out once it holds about this many bytes of edits,
/// well under the frame limit.
const APPLIED_BYTES: usize = 256 * 1024;

impl HostSession {
    /// Answers `ListFiles`: every shared file, in responses of `FILES_PER_RESPONSE`.
    pub(super) async fn list_files(&self, reply: &Reply) -> anyhow::Result<()> {
        let files = self.workspace.list();
        let mut batches = files.chunks(FILES_PER_RESPONSE).peekable();
        if batches.peek().is_none() {
            reply.send(true, Response::Files(Vec::new())).await?;
        }
        while let Some(batch) = batches.next() {
            let done = batches.peek().is_none();
            reply.send(done, Response::Files(batch.to_vec())).await?;
        }
        Ok(())
    }

    /// Adds a sequenced edit to the next broadcast (sent at once if that is full).
    pub(super) async fn sequenced(&mut self, applied: AppliedEdit) -> anyhow::Result<()> {
        let size = crate::protocol::message::applied_size(&applied.path, &applied.edit.op);
        // A batch ends before an edit that would take it past one edit's limit, so every
        // broadcast fits a frame.
        if self.applied_bytes + size > crate::protocol::MAX_EDIT_BYTES {
            self.broadcast_applied().await?;
        }
        self.applied_bytes += size;
        self.applied.push(applied);
        if self.applied_bytes >= APPLIED_BYTES {
            self.broadcast_applied().await?;
        }
        Ok(())
    }

    /// Tells everyone which of `paths` became unsaved or saved (their text now differs
    /// from the disk's, or equals it again). Only while someone has the document open:
    /// members heed it for open documents alone, and whoever opens one later is told
    /// then; a workspace replace through 1,000 files nobody has open would otherwise
    /// send (and everyone verify) 1,000 signed frames for nothing.
    pub(super) async fn announce_unsaved(
        &mut self,
        paths: impl IntoIterator<Item = &str>,
    ) -> anyhow::Result<()> {
        for (path, revision, unsaved) in self.documents.unsaved_changes(paths) {
            let someone_has_it = self.participants.values().any(|p| p.open.contains(&path));
            if !someone_has_it {
                continue;
            }
            let event = Event::Unsaved {
                path,
                revision,
                unsaved,
            };
            self.sender()
                .send(Route::Everyone, &Message::Event(event))
                .await?;
        }
        Ok(())
    }

    /// Sends the sequenced edits not yet broadcast, to everyone, in one frame.
    pub(super) async fn broadcast_applied(&mut self) -> anyhow::Result<()> {
        if self.applied.is_empty() {
            return Ok(());
        }
        let edits = std::mem::take(&mut self.applied);
        self.applied_bytes = 0;
        self.language_servers_follow(&edits);
        let paths: std::collections::BTreeSet<String> =
            edits.iter().map(|edit| edit.path.clone()).collect();
        // Whether the text is unsaved goes out before the edits that changed it: a
        // participant shows its own unconfirmed edits as unsaved, and hearing "saved"
        // after the confirmation would leave a moment where `:q` lets them leave.
        self.announce_unsaved(paths.iter().map(String::as_str))
            .await?;
        self.sender()
            .send(
                Route::Everyone,
                &Message::Edit(EditMessage::Applied { edits }),
            )
            .await?;
        Ok(())
    }

    /// Reads one chunk of a shared file: of the shared text everyone sees if the file is
    /// open as a document, else (or when `saved` asks for it) of the disk. The error is a
    /// sentence for the participant.
    pub(super) fn read_chunk(
        &self,
        path: &str,
        offset: u64,
        len: u32,
        saved: bool,
    ) -> Result<(u64, Vec<u8>), String> {
        // Judged as for any read: a document stays open after its file became hidden.
        let disk = self
            .workspace
            .read_range(path, offset, len as usize)
            .map_err(|e| e.to_string());
        if saved {
            return disk;
        }
        match self.documents.read_range(path, offset, len as usize) {
            Some(shared) if self.workspace.is_visible(path) => Ok(shared),
            _ => disk,
        }
    }

    pub(super) async fn on_document_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let reply = self.reply(from, id);
        let body = match body {
            Request::CloseDocument { path } => Request::CloseDocument {
                path: self.current_path(path),
            },
            Request::CatchUp { path, revision } => Request::CatchUp {
                path: self.current_path(path),
                revision,
            },
            Request::Save { path } => Request::Save {
                path: self.current_path(path),
            },
            other => other,
        };
        let asked_path = match &body {
            Request::OpenDocument { path }
            | Request::CatchUp { path, .. }
            | Request::Save { path } => Some(path),
            _ => None,
        };
        if let Some(path) = asked_path
            && let Some(message) = not_in_normal_form(path)
        {
            return reply.error(message).await;
        }
        match body {
            Request::OpenDocument { path } => self.open_document(&reply, path).await,
            Request::CloseDocument { path } => self.close_document(&reply, path).await,
            Request::CatchUp { path, revision } => match self.documents.catch_up(&path, revision) {
                Ok(edits) => catch_up(&reply, &path, edits).await,
                Err(e) => reply.error(e.to_string()).await,
            },
            Request::Save { path } => self.save(&reply, path).await,
            other => {
                tracing::warn!("not a document request: {other:?}");
                Ok(())
            }
        }
    }

    /// Sends a document's text: its length and first screen's worth at once, then, once
    /// the whole file is read, the rest in pieces as the member takes them.
    async fn open_document(&mut self, reply: &Reply, path: String) -> anyhow::Result<()> {
        let from = reply.to;
        if let Some(p) = self.participants.get(&from)
            && p.open.len() >= crate::host::rate::OPEN_DOCUMENTS
            && !p.open.contains(&path)
        {
            let message = format!(
                "you have {} files open, the most the host keeps for one person; close some first",
                p.open.len()
            );
            return reply.error(message).await;
        }
        let read_only = self.role_of(from) == Some(Role::ReadOnly);
        let piece = |revision: u64, text: String| Response::DocumentText {
            revision,
            text,
            read_only,
        };
        // The first screen's worth goes out before any work on the whole file
        // (reading, building, hashing it, the language servers), so the person
        // opening it sees it at once whatever its size.
        let (head_revision, head, bytes) = match self.documents.head(&path, DOCUMENT_HEAD_BYTES) {
            Ok(head) => head,
            Err(e) => return reply.error(e.to_string()).await,
        };
        reply
            .send(false, Response::DocumentLength { bytes })
            .await?;
        // A file that fits in its first piece goes out whole in one answer once opened
        // below (cheap at that size): no moment where the person sees the text but
        // their keys are refused because the last piece has not come yet.
        let fits = head.len() as u64 == bytes;
        if !fits {
            reply
                .send(false, piece(head_revision, head.clone()))
                .await?;
        }
        let first = !self.documents.is_open(&path);
        let (revision, rope) = match self.documents.open(&path) {
            Ok(opened) => opened,
            Err(e) => return reply.error(e.to_string()).await,
        };
        if !self.documents.starts_with(&path, head_revision, &head) {
            let message = format!(
                "{path} changed on the host's disk while it was being opened; open it again"
            );
            return reply.error(message).await;
        }
        let rest = rope.byte_to_char(head.len());
        let whole = rest == rope.len_chars();
        // Whole for the person before the language servers hear of it: starting one
        // takes long enough to lose what they type into a copy still loading.
        match (fits, whole) {
            (true, true) => reply.send(true, piece(revision, head)).await?,
            // It grew since its first piece was read: that piece, then the rest below.
            (true, false) => reply.send(false, piece(head_revision, head)).await?,
            (false, true) => reply.send(true, piece(revision, String::new())).await?,
            (false, false) => {}
        }
        // The language servers follow the document from this revision on (before this
        // handler returns, so before any edit is sequenced): edits others make while the
        // rest of the text is on its way reach them in order.
        if first {
            self.language_servers_open(&path, revision, &rope).await;
        }
        if whole {
            return self.document_sent(from, path, revision).await;
        }
        // The rest goes out as the member takes it (`Request::DocumentTextTaken`): a few
        // pieces ahead, so no queue on the way (ours, the relay's, the member's) ever
        // holds much of a large file, and the loop serves everyone else meanwhile.
        if let Some(p) = self.participants.get_mut(&from) {
            p.open.insert(path.clone());
        }
        let send = DocumentSend {
            id: reply.id,
            revision,
            rope,
            read_only,
            next_char: rest,
            // The first screen's worth is out already.
            unacknowledged: 1,
        };
        self.document_sends.insert((from, path.clone()), send);
        self.send_document_pieces(from, path).await
    }

    /// The member took a piece of the document opened by its request `open`: the next
    /// one goes out.
    pub(super) async fn document_text_taken(
        &mut self,
        from: ParticipantId,
        open: u64,
    ) -> anyhow::Result<()> {
        let Some(path) = self
            .document_sends
            .iter_mut()
            .find(|((to, _), send)| *to == from && send.id == open)
            .map(|((_, path), send)| {
                send.unacknowledged = send.unacknowledged.saturating_sub(1);
                path.clone()
            })
        else {
            return Ok(());
        };
        self.send_document_pieces(from, path).await
    }

    /// Sends pieces of `path` to `to` until `DOCUMENT_PIECES_AHEAD` are untaken, or the
    /// last one is out.
    async fn send_document_pieces(
        &mut self,
        to: ParticipantId,
        path: String,
    ) -> anyhow::Result<()> {
        let key = (to, path);
        loop {
            let Some(send) = self.document_sends.get_mut(&key) else {
                return Ok(());
            };
            if send.unacknowledged >= DOCUMENT_PIECES_AHEAD {
                return Ok(());
            }
            let total = send.rope.len_chars();
            let end = (send.next_char + DOCUMENT_PIECE_CHARS).min(total);
            let text = send.rope.slice(send.next_char..end).to_string();
            send.next_char = end;
            send.unacknowledged += 1;
            let done = end == total;
            let (id, body) = (
                send.id,
                Response::DocumentText {
                    revision: send.revision,
                    text,
                    read_only: send.read_only,
                },
            );
            self.reply(to, id).send(done, body).await?;
            if done {
                let (_, path) = &key;
                let send = self
                    .document_sends
                    .remove(&key)
                    .expect("the send just used");
                return self.document_sent(to, path.clone(), send.revision).await;
            }
        }
    }

    /// The member has the whole document: it is open for them.
    async fn document_sent(
        &mut self,
        to: ParticipantId,
        path: String,
        revision: u64,
    ) -> anyhow::Result<()> {
        // Someone's unsaved edits are in what they just got: say so, as to everyone.
        if self.documents.is_unsaved(&path) {
            let event = Event::Unsaved {
                path: path.clone(),
                revision,
                unsaved: true,
            };
            self.sender()
                .send(Route::Participant(to), &Message::Event(event))
                .await?;
        }
        if let Some(p) = self.participants.get_mut(&to) {
            p.open.insert(path);
            self.publish_people();
        }
        Ok(())
    }

    /// Documents stay in memory for the session (see `Documents::open`), until the last
    /// one to close a document with nothing unsaved frees it (it is read from disk again
    /// when next opened, at the same revision).
    async fn close_document(&mut self, reply: &Reply, path: String) -> anyhow::Result<()> {
        self.document_sends.remove(&(reply.to, path.clone()));
        if let Some(p) = self.participants.get_mut(&reply.to)
            && p.open.remove(&path)
        {
            self.publish_people();
        }
        let still_open = self.participants.values().any(|p| p.open.contains(&path));
        if !still_open && self.documents.close_if_saved(&path) {
            if let Err(e) = self.intel.document_closed(&path) {
                tracing::debug!("language server not told of the close: {e}");
            }
            tracing::debug!("closed a document nobody has open");
        }
        let nothing = Response::Nothing {
            reason: String::new(),
        };
        reply.send(true, nothing).await
    }

    /// Writes a document to disk for a member who may edit, and tells everyone.
    async fn save(&mut self, reply: &Reply, path: String) -> anyhow::Result<()> {
        let from = reply.to;
        if !self.role_of(from).is_some_and(Role::may_edit) {
            return reply
                .error("you are read-only in this session: the host did not let you save")
                .await;
        }
        // The host's format-on-save: the file's server formats it first (the save
        // follows when its edits are made). Only files with a server for their
        // language; the others are saved at once.
        if self.format_on_save
            && self.documents.is_open(&path)
            && self.intel.lsp().has_server_for(&path)
        {
            self.format_before_saving(from, reply.id, path);
            return Ok(());
        }
        self.save_now(reply, path).await
    }

    /// Writes `path` to disk and tells everyone.
    pub(super) async fn save_now(&mut self, reply: &Reply, path: String) -> anyhow::Result<()> {
        let from = reply.to;
        if !self.role_of(from).is_some_and(Role::may_edit) {
            return reply
                .error("you are read-only in this session: the host did not let you save")
                .await;
        }
        let revision = match self.documents.save(&path) {
            Ok(revision) => revision,
            Err(e) => return reply.error(e.to_string()).await,
        };
        if let Err(e) = self.intel.lsp().did_save(&path) {
            tracing::debug!("language server not told of the save: {e}");
        }
        tracing::info!(participant = from, "saved a document");
        reply.send(true, Response::Saved { revision }).await?;
        let saved = Event::Saved {
            path: path.clone(),
            revision,
            by: from,
        };
        self.sender()
            .send(Route::Everyone, &Message::Event(saved))
            .await?;
        self.announce_unsaved([path.as_str()]).await
    }

    pub(super) async fn on_edit(
        &mut self,
        from: ParticipantId,
        edit: EditMessage,
    ) -> anyhow::Result<()> {
        let sender = self.sender();
        let EditMessage::Submit { path, submission } = edit else {
            tracing::debug!(
                participant = from,
                "ignored an edit message meant for participants"
            );
            return Ok(());
        };
        let path = self.current_path(path);
        let Some(role) = self.role_of(from) else {
            return Ok(());
        };
        let refused = self.edit_refusal(from, role, &path, &submission);
        let id = submission.id;
        let accepted = match refused {
            Some(reason) => Err(reason),
            None => self
                .documents
                .submit(&path, submission)
                .map_err(|e| e.to_string()),
        };
        let answer = match accepted {
            Ok(Accepted::Applied(edit)) => {
                return self
                    .sequenced(AppliedEdit {
                        path,
                        edit,
                        by: from,
                    })
                    .await;
            }
            Ok(Accepted::Duplicate { id, revision }) => {
                EditMessage::Acknowledged { path, id, revision }
            }
            Err(reason) => EditMessage::Refused { path, id, reason },
        };
        // Answers to one participant follow the edits sequenced before them.
        self.broadcast_applied().await?;
        sender
            .send(Route::Participant(from), &Message::Edit(answer))
            .await?;
        Ok(())
    }

    /// Why the host will not take `submission` from `from`, if it will not: a read-only
    /// member, an edit too large to pass on, a member over its edit budget, a path in
    /// another form than the document's, or a file that chooses the host's tools.
    pub(super) fn edit_refusal(
        &mut self,
        from: ParticipantId,
        role: Role,
        path: &str,
        submission: &crate::text::Submission,
    ) -> Option<String> {
        if !role.may_edit() {
            return Some(
                "you are read-only in this session: the host did not accept your edit".into(),
            );
        }
        let size = crate::protocol::message::applied_size(path, &submission.op);
        if size > crate::protocol::MAX_EDIT_BYTES {
            return Some(format!(
                "this edit is {} KiB, more than the {} KiB one edit may be: make it in parts",
                size / 1024,
                crate::protocol::MAX_EDIT_BYTES / 1024
            ));
        }
        let within_rate = self
            .participants
            .get_mut(&from)
            .is_some_and(|p| p.edit_rate.take(size, std::time::Instant::now()));
        if !within_rate {
            return Some(format!(
                "edits are arriving faster than the host takes them from one person ({} MiB/s); \
                 slow down and make it again",
                crate::host::rate::EDIT_BYTES_PER_SECOND / 1024.0 / 1024.0
            ));
        }
        if let Some(reason) = not_in_normal_form(path) {
            return Some(reason);
        }
        if !self.trust_project
            && Some(from) != self.owner
            && crate::host::lsp::configures_tools(path)
        {
            return Some(format!(
                "{path} chooses which programs the host's tools run: only the host can edit it \
                 (unless the host trusts the project, with --trust-project)"
            ));
        }
        None
    }
}

impl HostSession {
    /// Where a document asked for by `path` is now, after the renames members made (the
    /// path itself when it is open or was never renamed).
    pub(super) fn current_path(&self, mut path: String) -> String {
        for _ in 0..16 {
            if self.documents.is_open(&path) {
                break;
            }
            match self.renamed.get(&path) {
                Some(new) => path = new.clone(),
                None => break,
            }
        }
        path
    }
}

/// Documents are known by one form of their path (`protocol::message::normal_path`); a
/// request in another form is refused, so one file never becomes two documents whose
/// saves overwrite each other's edits.
pub(super) fn not_in_normal_form(path: &str) -> Option<String> {
    let normal = crate::protocol::message::normal_path(path);
    (normal != path)
        .then(|| format!("`{path}` is not how the host names that file: ask for `{normal}`"))
}

/// Sends the edits a member missed in answers of about `APPLIED_BYTES` each, as a
/// broadcast is cut: the missed edits of a busy document (large pastes among them) can
/// add up to far more than the relay takes in one frame, and a refused answer would
/// leave the member waiting for it forever.
async fn catch_up(
    reply: &Reply,
    path: &str,
    edits: Vec<crate::text::RemoteEdit>,
) -> anyhow::Result<()> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    for edit in edits {
        let size = crate::protocol::message::applied_size(path, &edit.op);
        if !batch.is_empty() && bytes + size > APPLIED_BYTES {
            let part = Response::Edits(std::mem::take(&mut batch));
            reply.send(false, part).await?;
            bytes = 0;
        }
        bytes += size;
        batch.push(edit);
    }
    reply.send(true, Response::Edits(batch)).await
}
