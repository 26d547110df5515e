//! The host's answers to the session's own requests (opening a document as its text
//! streams in, catching up after a reconnect, saving) and to the owner's, passed on.

use super::*;

impl Session {
    pub(super) fn on_response(&mut self, id: RequestId, done: bool, body: Response) {
        let Some(pending) = self.pending.get_mut(&id) else {
            return;
        };
        match (pending, body) {
            (Pending::Owner, body) => {
                if done {
                    self.pending.remove(&id);
                }
                self.events
                    .push_back(SessionEvent::Response { id, done, body });
            }
            (Pending::Open { path, .. }, Response::DocumentLength { bytes }) => {
                let loading = self
                    .loading
                    .entry(path.clone())
                    .or_insert_with(LoadingDocument::new);
                loading.total_bytes = Some(bytes);
            }
            (
                Pending::Open {
                    path,
                    revision,
                    read_only,
                },
                Response::DocumentText {
                    revision: at,
                    text: piece,
                    read_only: ro,
                },
            ) => {
                *revision = at;
                *read_only = ro;
                let path = path.clone();
                self.on_document_text(id, path, &piece, done);
            }
            (Pending::CatchUp { path }, Response::Edits(edits)) if done => {
                let path = path.clone();
                self.pending.remove(&id);
                self.on_caught_up(path, edits);
            }
            // A long catch-up comes in parts, in order: each applies as it comes, and
            // the edits that arrived meanwhile wait for the last.
            (Pending::CatchUp { path }, Response::Edits(edits)) => {
                let path = path.clone();
                for edit in edits {
                    self.on_remote(&path, edit, None);
                }
            }
            (Pending::Save { path }, Response::Saved { revision }) => {
                let path = path.clone();
                self.pending.remove(&id);
                if let Some(document) = self.documents.get_mut(&path) {
                    document.saved_revision = Some(revision);
                }
                self.events.push_back(SessionEvent::Saved {
                    path,
                    revision,
                    by: None,
                });
            }
            (_, Response::Error { message }) => self.on_request_failed(id, message),
            (_, other) => {
                tracing::warn!("unexpected response {other:?}");
                self.pending.remove(&id);
            }
        }
    }

    /// A piece of a document being opened; with the last one (`done`) the document opens.
    fn on_document_text(&mut self, id: RequestId, path: String, piece: &str, done: bool) {
        let loading = self
            .loading
            .entry(path.clone())
            .or_insert_with(LoadingDocument::new);
        let (first, before) = (loading.received_bytes == 0, loading.percent());
        loading.rope.append(Rope::from_str(piece));
        loading.received_bytes += piece.len() as u64;
        if !done {
            // Taken: the host sends the next piece (it keeps only a few on the way).
            let taken = self.next_request;
            self.next_request += 1;
            self.outbox.push_back((
                Route::Host,
                Message::Request {
                    id: taken,
                    body: Request::DocumentTextTaken { open: id },
                },
            ));
            if first || loading.percent() != before {
                self.events
                    .push_back(SessionEvent::DocumentLoading { path });
            }
            return;
        }
        let Some(Pending::Open {
            revision,
            read_only,
            ..
        }) = self.pending.remove(&id)
        else {
            return;
        };
        let Some(loaded) = self.loading.remove(&path) else {
            return;
        };
        // Each copy of a document numbers its edits afresh, under an instance of its own:
        // the host remembers the edits of an earlier copy (closed, or dropped after a
        // refusal) and would take the new copy's for resends of those, and drop them.
        // Reconnects keep the copy, so its resends are still recognised.
        let mut instance = [0u8; 16];
        rand::fill(&mut instance);
        let document = ClientDocument {
            rope: loaded.rope,
            ot: Client::new(instance, revision),
            read_only,
            saved_revision: None,
            unsaved: false,
            log: EditLog::default(),
        };
        self.documents.insert(path.clone(), document);
        self.events
            .push_back(SessionEvent::DocumentOpened { path: path.clone() });
        // Sent while the text was arriving; the ones it already holds are
        // recognised by their revision.
        for edit in loaded.waiting {
            self.on_remote(&path, edit, None);
        }
        self.release_presence(&path);
    }

    /// The edits missed while disconnected, then those that arrived meanwhile; then our
    /// own unconfirmed edit again, if any.
    fn on_caught_up(&mut self, path: String, edits: Vec<crate::text::RemoteEdit>) {
        let waiting = self.catching_up.remove(&path).unwrap_or_default();
        let arrived = edits.into_iter().map(Arrived::Edit).chain(waiting);
        for arrived in arrived {
            if !self.documents.contains_key(&path) {
                return;
            }
            // Something here may have asked for another catch-up: the rest waits for it.
            if let Some(waiting) = self.catching_up.get_mut(&path) {
                waiting.push(arrived);
                continue;
            }
            match arrived {
                Arrived::Edit(edit) => self.on_remote(&path, edit, None),
                Arrived::Acknowledged { id, revision } => self.on_acknowledged(&path, id, revision),
            }
        }
        if self.catching_up.contains_key(&path) {
            return;
        }
        if let Some(submission) = self
            .documents
            .get(&path)
            .and_then(|d| d.ot.resend_after_reconnect())
        {
            self.outbox.push_back((
                Route::Host,
                Message::Edit(EditMessage::Submit { path, submission }),
            ));
        }
    }

    /// The host refused one of the session's own requests.
    fn on_request_failed(&mut self, id: RequestId, message: String) {
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        let what = match pending {
            Pending::Open { path, .. } => {
                if self.loading.remove(&path).is_some() {
                    self.events
                        .push_back(SessionEvent::DocumentLoading { path: path.clone() });
                }
                format!("opening {path}")
            }
            Pending::CatchUp { path } => {
                self.catching_up.remove(&path);
                self.resync(&path, message);
                return;
            }
            Pending::Save { path } => format!("saving {path}"),
            Pending::Owner => unreachable!("handled in on_response"),
        };
        self.events
            .push_back(SessionEvent::Failed { what, message });
    }
}
