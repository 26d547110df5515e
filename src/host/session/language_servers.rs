//! Keeping the language servers in step with the documents, and handing members'
//! questions about code (and searches) to tasks of their own.

use super::*;

impl HostSession {
    /// Hands a document opened for the first time to the language servers, which follow
    /// the authoritative text from then on.
    pub(super) async fn language_servers_open(
        &mut self,
        path: &str,
        revision: u64,
        rope: &ropey::Rope,
    ) {
        if let Err(e) = self
            .intel
            .document_opened(
                path,
                rope.clone(),
                crate::host::intel::lsp_version(revision),
            )
            .await
        {
            tracing::debug!("no language server follows {path}: {e}");
        }
    }

    /// Tells the language servers about an edit the host applied.
    /// Tells the language servers of a broadcast's edits: one change notification per
    /// document, with its edits composed, so a busy session does not flood the servers
    /// with a notification per keystroke.
    pub(super) fn language_servers_follow(&self, edits: &[AppliedEdit]) {
        let mut per_document: Vec<(&str, u64, crate::text::Operation)> = Vec::new();
        for AppliedEdit { path, edit, .. } in edits {
            let composed = per_document
                .iter_mut()
                .rev()
                .find(|(document, _, _)| document == path)
                .and_then(|(_, revision, op)| {
                    let both = op.compose(&edit.op).ok()?;
                    (*op, *revision) = (both, edit.revision);
                    Some(())
                });
            if composed.is_none() {
                per_document.push((path, edit.revision, edit.op.clone()));
            }
        }
        let changes = per_document
            .iter()
            .map(|(path, revision, op)| (*path, crate::host::intel::lsp_version(*revision), op));
        for e in self.intel.lsp().did_change_all(changes) {
            tracing::debug!("language server not told of an edit: {e}");
        }
    }

    pub(super) async fn on_intel_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let intel = self.intel.clone();
        let sender = self.sender();
        let body = match self.at_current_revision(body) {
            Ok(body) => body,
            Err(e) => {
                let body = Response::Error {
                    message: format!("{e}; ask again"),
                };
                let answer = Message::Response {
                    id,
                    done: true,
                    body,
                };
                sender.send(Route::Participant(from), &answer).await?;
                return Ok(());
            }
        };
        // Stopping a search is never refused: it is how a member makes room.
        let in_flight = self
            .participants
            .get(&from)
            .filter(|_| !matches!(body, Request::CancelSearch { .. }))
            .map(|p| p.in_flight.start(matches!(body, Request::Search(_))));
        let guard = match in_flight {
            Some(Ok(guard)) => Some(guard),
            Some(Err(message)) => {
                let answer = Message::Response {
                    id,
                    done: true,
                    body: Response::Error { message },
                };
                sender.send(Route::Participant(from), &answer).await?;
                return Ok(());
            }
            None => None,
        };
        // A search reads what everyone sees: the shared text of files with unsaved edits.
        let texts = match body {
            Request::Search(_) => self.documents.unsaved_texts(),
            _ => Default::default(),
        };
        // Language servers and searches take their time; the session loop does not wait.
        tokio::spawn(async move {
            if let Err(e) = intel.handle(sender, from, id, body, texts).await {
                tracing::warn!(participant = from, "answering a request failed: {e:#}");
            }
            drop(guard);
        });
        Ok(())
    }

    /// The request with its position moved to the current text: it was asked at the
    /// revision the participant had, and others may have edited since. The language
    /// servers have the current text, so that is where their answers point.
    pub(super) fn at_current_revision(&self, request: Request) -> Result<Request, DocumentError> {
        let moved = |at: TextPosition| -> Result<TextPosition, DocumentError> {
            let position = self
                .documents
                .position_now(&at.path, at.revision, at.position)?;
            let revision = self
                .documents
                .text(&at.path)
                .map_or(at.revision, |(r, _)| r);
            Ok(TextPosition {
                position,
                revision,
                ..at
            })
        };
        Ok(match request {
            Request::Hover(at) => Request::Hover(moved(at)?),
            Request::Peek(at) => Request::Peek(moved(at)?),
            Request::Definition(at) => Request::Definition(moved(at)?),
            Request::References(at) => Request::References(moved(at)?),
            Request::Completion(at) => Request::Completion(moved(at)?),
            Request::PrepareRename(at) => Request::PrepareRename(moved(at)?),
            Request::CodeActions(at) => Request::CodeActions(moved(at)?),
            Request::SignatureHelp(at) => Request::SignatureHelp(moved(at)?),
            Request::InlayHints(at) => Request::InlayHints(moved(at)?),
            Request::SemanticTokens(at) => Request::SemanticTokens(moved(at)?),
            Request::LineActions(at) => Request::LineActions(moved(at)?),
            other => other,
        })
    }
}
