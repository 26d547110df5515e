//! Document sync: the bridge's copy of each open document, kept in step with the host's
//! edits, and the didOpen/didChange/didSave/didClose its server is told.

use std::collections::HashMap;
use std::sync::Arc;

use lsp_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidSaveTextDocumentParams,
    TextDocumentContentChangeEvent, TextDocumentIdentifier, TextDocumentSyncKind,
    VersionedTextDocumentIdentifier,
};
use ropey::Rope;

use super::{LspBridge, OpenDocument};
use crate::host::lsp::LspError;
use crate::host::lsp::server::Server;
use crate::text::position::char_to_lsp_in;
use crate::text::{LspEncoding, Operation};

impl LspBridge {
    /// Tracks the document and tells its server (starting it if needed). The document is
    /// tracked even when this returns an error, e.g. `NoServer`.
    pub async fn did_open(&self, path: &str, text: &str, version: i32) -> Result<(), LspError> {
        self.did_open_rope(path, Rope::from_str(text), version)
            .await
    }

    /// [`Self::did_open`] with the text as a rope: a clone of the host's document shares
    /// its nodes (until either changes them), so following a large document costs the
    /// bridge no second copy of it.
    pub async fn did_open_rope(
        &self,
        path: &str,
        text: Rope,
        version: i32,
    ) -> Result<(), LspError> {
        let uri = self.inner.shared.uri_for(path)?;
        let replaced = self.inner.shared.documents().insert(
            path.to_owned(),
            OpenDocument {
                uri: uri.clone(),
                text,
                version,
                server: None,
            },
        );
        if let Some(server) = replaced.and_then(|document| document.live_server()) {
            server.notify::<lsp_types::notification::DidCloseTextDocument>(
                DidCloseTextDocumentParams {
                    text_document: TextDocumentIdentifier { uri },
                },
            );
        }
        let (server, fresh) = self.server_for(path).await?;
        if !fresh {
            self.open_at(&server, path);
        }
        Ok(())
    }

    /// Applies `edit` (the same operation the host applied to its copy) and tells the
    /// server. An edit made for another length of the text changes nothing.
    pub fn did_change(&self, path: &str, version: i32, edit: &Operation) -> Result<(), LspError> {
        self.did_change_all([(path, version, edit)])
            .into_iter()
            .next()
            .map_or(Ok(()), Err)
    }

    /// [`Self::did_change`] for several documents (a broadcast's edits, one composed
    /// operation per document): each server gets its notifications in one piece, so a
    /// busy session wakes the writer thread and the server once per broadcast, not once
    /// per document. Returns the errors, one per document that failed.
    pub fn did_change_all<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a str, i32, &'a Operation)>,
    ) -> Vec<LspError> {
        let mut errors = Vec::new();
        let mut per_server: Vec<(Arc<Server>, Vec<u8>)> = Vec::new();
        let mut documents = self.inner.shared.documents();
        for (path, version, edit) in changes {
            match apply_change(&mut documents, path, version, edit) {
                Ok(Some((server, params))) => {
                    let index = match per_server
                        .iter()
                        .position(|(known, _)| Arc::ptr_eq(known, &server))
                    {
                        Some(index) => index,
                        None => {
                            per_server.push((server, Vec::new()));
                            per_server.len() - 1
                        }
                    };
                    crate::host::lsp::transport::frame_notification::<
                        lsp_types::notification::DidChangeTextDocument,
                    >(&params, &mut per_server[index].1);
                }
                Ok(None) => {}
                Err(error) => errors.push(error),
            }
        }
        // Sent under the documents lock, so changes reach each server in order and never
        // before its didOpen.
        for (server, framed) in per_server {
            server.send_framed(framed);
        }
        errors
    }

    /// The host wrote the document to disk (servers such as rust-analyzer re-check then).
    pub fn did_save(&self, path: &str) -> Result<(), LspError> {
        let uri = self.inner.shared.uri_for(path)?;
        let documents = self.inner.shared.documents();
        let document = documents.get(path).ok_or_else(|| LspError::NotOpen {
            path: path.to_owned(),
        })?;
        if let Some(server) = document.live_server() {
            let text = server
                .save_includes_text()
                .then(|| document.text.to_string());
            server.notify::<lsp_types::notification::DidSaveTextDocument>(
                DidSaveTextDocumentParams {
                    text_document: TextDocumentIdentifier { uri },
                    text,
                },
            );
        }
        Ok(())
    }

    /// Nobody has the document open any more; answers about it come from disk again.
    pub fn did_close(&self, path: &str) -> Result<(), LspError> {
        let uri = self.inner.shared.uri_for(path)?;
        let closed = self.inner.shared.documents().remove(path);
        if let Some(server) = closed.and_then(|document| document.live_server()) {
            server.notify::<lsp_types::notification::DidCloseTextDocument>(
                DidCloseTextDocumentParams {
                    text_document: TextDocumentIdentifier { uri },
                },
            );
        }
        Ok(())
    }
}

/// Applies `edit` to the bridge's copy of `path` and says what to tell its server, if
/// one follows it (and wants changes). An edit made for another length of the text
/// changes nothing.
fn apply_change(
    documents: &mut HashMap<String, OpenDocument>,
    path: &str,
    version: i32,
    edit: &Operation,
) -> Result<Option<(Arc<Server>, DidChangeTextDocumentParams)>, LspError> {
    let document = documents.get_mut(path).ok_or_else(|| LspError::NotOpen {
        path: path.to_owned(),
    })?;
    if edit.base_len() != document.text.len_chars() {
        return Err(LspError::OutOfSync {
            path: path.to_owned(),
            expected: edit.base_len(),
            len: document.text.len_chars(),
        });
    }
    // Without a live server the document is only tracked; a (re)started server gets
    // the current text in its didOpen.
    let server = document.live_server();
    let sync = server
        .as_ref()
        .map_or(TextDocumentSyncKind::NONE, |server| server.sync_kind());
    let encoding = server
        .as_ref()
        .map_or(LspEncoding::Utf16, |server| server.encoding());
    let incremental = sync == TextDocumentSyncKind::INCREMENTAL;

    // Each change is located in the text with the earlier ones applied, which is how
    // both `Operation::changes` and LSP content changes count.
    let text = &mut document.text;
    let mut changes = Vec::new();
    for change in edit.changes() {
        if incremental {
            changes.push(TextDocumentContentChangeEvent {
                range: Some(lsp_types::Range {
                    start: char_to_lsp_in(text, change.range.start, encoding),
                    end: char_to_lsp_in(text, change.range.end, encoding),
                }),
                range_length: None,
                text: change.text.to_owned(),
            });
        }
        text.remove(change.range.clone());
        text.insert(change.range.start, change.text);
    }
    // The whole text only for a server that asks for it: building it for a document
    // no server follows cost a copy of the document per edit (100 MB for a 100 MB file).
    if sync == TextDocumentSyncKind::FULL {
        changes.push(TextDocumentContentChangeEvent {
            range: None,
            range_length: None,
            text: text.to_string(),
        });
    }
    document.version = version;
    Ok(server
        .filter(|_| sync != TextDocumentSyncKind::NONE)
        .map(|server| {
            let params = DidChangeTextDocumentParams {
                text_document: VersionedTextDocumentIdentifier {
                    uri: document.uri.clone(),
                    version,
                },
                content_changes: changes,
            };
            (server, params)
        }))
}
