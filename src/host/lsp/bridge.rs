//! `LspBridge`: the one object the host talks to. It keeps the open documents' text (so
//! positions can be converted and peeks read), starts servers lazily per language,
//! restarts a crashed one on the next request, and turns answers into cotype's types.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};

use lsp_types::{
    CompletionResponse, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, GotoDefinitionParams,
    GotoDefinitionResponse, HoverContents, MarkedString, PartialResultParams,
    PublishDiagnosticsParams, ReferenceContext, ReferenceParams, TextDocumentContentChangeEvent,
    TextDocumentIdentifier, TextDocumentItem, TextDocumentPositionParams, TextDocumentSyncKind,
    VersionedTextDocumentIdentifier, WorkDoneProgressParams,
};
use ropey::Rope;
use tokio::sync::{Mutex, broadcast};

use super::config::{LspConfig, ServerCommand, extension_of};
use super::convert::{self, Place, Root};
use super::server::{DiagnosticsSink, Server, server_name};
use super::trust::{self, Settings, Untrusted};
use super::{
    CompletionItem, Diagnostic, DiagnosticTag, Diagnostics, Hover, LineCol, Location, LspError,
    Peek, Range, Reference, Severity, Snippet,
};
use crate::host::syntactic;
use crate::text::position::char_to_lsp_in;
use crate::text::{LspEncoding, Operation};

/// A failed start is not retried for this long, so a broken server does not cost every
/// request a spawn.
const RETRY_FAILED_START_AFTER: Duration = Duration::from_secs(30);
/// Peeks stop here even when a definition is longer.
const PEEK_MAX_LINES: usize = 40;
/// Larger files are not read for peeks, context lines or the syntactic fallback.
const MAX_READ_BYTES: u64 = 4 << 20;

/// Cheap to clone; all clones share the servers. Servers get `shutdown`/`exit` when the
/// last clone is dropped, or earlier with [`LspBridge::shutdown`].
#[derive(Clone)]
pub struct LspBridge {
    inner: Arc<Inner>,
}

/// A started server, for a status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerStatus {
    /// As users know it, e.g. `rust-analyzer`.
    pub server: String,
    pub command: String,
    pub pid: u32,
    pub state: ServerState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Still loading or indexing the workspace; answers may be missing meanwhile.
    Indexing {
        percent: Option<u32>,
    },
    Ready,
    /// Exited; the next request starts it again.
    Stopped,
}

struct Inner {
    config: LspConfig,
    shared: Arc<Shared>,
    servers: Mutex<Servers>,
}

/// Says whether a root-relative path is hidden by the host (`.env`, keys, …).
pub type HiddenFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What the servers' notification tasks need too (they must not keep `Inner` alive).
struct Shared {
    root: Root,
    hidden: StdMutex<Option<HiddenFilter>>,
    documents: StdMutex<HashMap<String, OpenDocument>>,
    diagnostics: broadcast::Sender<Diagnostics>,
}

#[derive(Default)]
struct Servers {
    /// One slot per server command; its lock is held while the server starts, so that
    /// starting rust-analyzer does not hold up requests for other languages.
    slots: HashMap<ServerCommand, Arc<Mutex<Option<Arc<Server>>>>>,
    /// Per language id: when starting its server last failed, and why.
    failed: HashMap<String, (Instant, LspError)>,
}

struct OpenDocument {
    /// Checked to be inside the shared folder when the document was opened.
    uri: lsp_types::Uri,
    text: Rope,
    version: i32,
    /// The server that has this document open, if any. Changes go to exactly that one,
    /// under the documents lock, so they reach it in order and never before its didOpen.
    server: Option<Weak<Server>>,
}

impl OpenDocument {
    fn live_server(&self) -> Option<Arc<Server>> {
        self.server
            .as_ref()
            .and_then(Weak::upgrade)
            .filter(|server| server.is_alive())
    }
}

impl LspBridge {
    /// A bridge for the folder `root`; no server starts until a document needs one.
    pub fn new(root: &Path, config: LspConfig) -> Result<LspBridge, LspError> {
        let root = Root::new(root).map_err(|error| LspError::Unreadable {
            path: root.display().to_string(),
            detail: error.to_string(),
        })?;
        let (diagnostics, _) = broadcast::channel(256);
        Ok(LspBridge {
            inner: Arc::new(Inner {
                config,
                shared: Arc::new(Shared {
                    root,
                    hidden: StdMutex::default(),
                    documents: StdMutex::default(),
                    diagnostics,
                }),
                servers: Mutex::default(),
            }),
        })
    }

    /// Files the host hides are never asked about, read, or named in an answer: requests
    /// for them fail with `NotShared`, answers pointing into them are dropped, and so are
    /// their diagnostics. Applies from now on.
    pub fn set_hidden_filter(&self, is_hidden: HiddenFilter) {
        *self
            .inner
            .shared
            .hidden
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(is_hidden);
    }

    /// Every `publishDiagnostics` of every server, converted; files outside the shared
    /// folder are left out.
    pub fn subscribe_diagnostics(&self) -> broadcast::Receiver<Diagnostics> {
        self.inner.shared.diagnostics.subscribe()
    }

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
                    super::transport::frame_notification::<
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

    pub async fn hover(&self, path: &str, position: LineCol) -> Result<Option<Hover>, LspError> {
        let server = match self.server_for(path).await {
            Ok((server, _)) => server,
            Err(LspError::NoServer { .. }) if syntactic::supports(path) => {
                return self.syntactic_hover(path, position);
            }
            Err(error) => return Err(error),
        };
        let params = lsp_types::HoverParams {
            text_document_position_params: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
        };
        let answer = self
            .ask::<lsp_types::request::HoverRequest>(&server, params)
            .await?;
        let markdown = answer.map(|hover| hover_markdown(hover.contents));
        match markdown.filter(|text| !text.trim().is_empty()) {
            Some(markdown) => Ok(Some(Hover {
                markdown,
                syntactic: false,
            })),
            None => server.indexing_error().map_or(Ok(None), Err),
        }
    }

    pub async fn definition(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<Location>, LspError> {
        Ok(self
            .definition_targets(path, position)
            .await?
            .into_iter()
            .map(|target| target.location)
            .collect())
    }

    /// Definitions with the lines around each (read from the open document if it is
    /// open, else from disk).
    pub async fn peek(&self, path: &str, position: LineCol) -> Result<Vec<Peek>, LspError> {
        let context = self.inner.config.peek_context_lines;
        let targets = self.definition_targets(path, position).await?;
        Ok(targets
            .into_iter()
            .map(|target| {
                let snippet = target.absolute.as_ref().and_then(|absolute| {
                    let text = self.text_at(&target.location.path, absolute)?;
                    let first = target.extent.start.line.saturating_sub(context);
                    let last = target
                        .extent
                        .end
                        .line
                        .max(target.location.range.start.line)
                        .saturating_add(context)
                        .min(first + PEEK_MAX_LINES - 1);
                    Some(snippet(&text, first, last))
                });
                Peek {
                    location: target.location,
                    snippet,
                }
            })
            .collect())
    }

    /// Every use of the symbol, its declaration included, each with its line of text.
    pub async fn references(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<Reference>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let params = ReferenceParams {
            text_document_position: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
            context: ReferenceContext {
                include_declaration: true,
            },
        };
        let answer = self
            .ask::<lsp_types::request::References>(&server, params)
            .await?
            .unwrap_or_default();
        if answer.is_empty()
            && let Some(indexing) = server.indexing_error()
        {
            return Err(indexing);
        }
        let mut texts = TextCache::default();
        let mut references: Vec<Reference> = answer
            .into_iter()
            .filter_map(|location| {
                let target = self.target(
                    server.encoding(),
                    &mut texts,
                    location.uri,
                    location.range,
                    None,
                )?;
                let context_line = match &target.absolute {
                    Some(absolute) => texts
                        .get(self, &target.location.path, absolute)
                        .and_then(|text| line_text(&text, target.location.range.start.line))
                        .unwrap_or_default(),
                    None => String::new(),
                };
                Some(Reference {
                    location: target.location,
                    context_line,
                })
            })
            .collect();
        references.sort_by(|a, b| {
            (&a.location.path, a.location.range.start)
                .cmp(&(&b.location.path, b.location.range.start))
        });
        Ok(references)
    }

    /// The server's completions at `position`, best first, at most
    /// `LspConfig::completion_limit` of them.
    pub async fn completion(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<CompletionItem>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let params = lsp_types::CompletionParams {
            text_document_position: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
            context: None,
        };
        let items = match self
            .ask::<lsp_types::request::Completion>(&server, params)
            .await?
        {
            Some(CompletionResponse::Array(items)) => items,
            Some(CompletionResponse::List(list)) => list.items,
            None => Vec::new(),
        };
        let mut items: Vec<_> = items
            .into_iter()
            .map(|item| {
                let rank = item.sort_text.clone().unwrap_or_else(|| item.label.clone());
                let insert_text = match item.text_edit {
                    Some(lsp_types::CompletionTextEdit::Edit(edit)) => edit.new_text,
                    Some(lsp_types::CompletionTextEdit::InsertAndReplace(edit)) => edit.new_text,
                    None => item.insert_text.unwrap_or_else(|| item.label.clone()),
                };
                let completion = CompletionItem {
                    label: item.label,
                    detail: item.detail,
                    insert_text,
                };
                (rank, completion)
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.truncate(self.inner.config.completion_limit);
        Ok(items.into_iter().map(|(_, item)| item).collect())
    }

    /// The servers started so far (a server that is starting right now is left out).
    pub async fn status(&self) -> Vec<ServerStatus> {
        let slots: Vec<_> = self
            .inner
            .servers
            .lock()
            .await
            .slots
            .values()
            .cloned()
            .collect();
        let mut status: Vec<_> = slots
            .iter()
            .filter_map(|slot| slot.try_lock().ok()?.clone())
            .map(|server| ServerStatus {
                server: server.name.clone(),
                command: server.command.display(),
                pid: server.pid(),
                state: match (server.is_alive(), server.indexing()) {
                    (false, _) => ServerState::Stopped,
                    (true, Some(percent)) => ServerState::Indexing { percent },
                    (true, None) => ServerState::Ready,
                },
            })
            .collect();
        status.sort_by(|a, b| a.server.cmp(&b.server));
        status
    }

    /// Stops the server of `path`'s language abruptly, as a crash would; the next request
    /// starts it again. For tests of the restart path and a "restart server" command.
    pub async fn kill_server(&self, path: &str) -> bool {
        let Some(language) = self.inner.config.language_for(path) else {
            return false;
        };
        let slots: Vec<_> = {
            let servers = self.inner.servers.lock().await;
            language
                .servers
                .iter()
                .filter_map(|command| servers.slots.get(command).cloned())
                .collect()
        };
        for slot in slots {
            if let Some(server) = slot.lock().await.as_ref().filter(|s| s.is_alive()) {
                server.kill();
                return true;
            }
        }
        false
    }

    /// `shutdown` and `exit` to every server; the bridge may be used again afterwards
    /// (servers start anew).
    pub async fn shutdown(&self) {
        let slots: Vec<_> = {
            let mut servers = self.inner.servers.lock().await;
            servers.slots.drain().map(|(_, slot)| slot).collect()
        };
        for slot in slots {
            let server = slot.lock().await.take();
            if let Some(server) = server {
                server.shutdown().await;
            }
        }
    }

    // ----- servers

    /// The running server for `path`'s language, started or restarted if needed;
    /// `fresh` when it was just started (and has every open document of its languages).
    async fn server_for(&self, path: &str) -> Result<(Arc<Server>, bool), LspError> {
        self.inner.shared.absolute(path)?;
        let extension = extension_of(path).unwrap_or_default();
        let no_server = |tried| LspError::NoServer {
            extension: extension.clone(),
            tried,
        };
        let language = self
            .inner
            .config
            .language_for(path)
            .ok_or_else(|| no_server(Vec::new()))?;
        {
            let servers = self.inner.servers.lock().await;
            for command in &language.servers {
                let running = servers.slots.get(command).and_then(|slot| {
                    let slot = slot.try_lock().ok()?;
                    slot.as_ref().filter(|server| server.is_alive()).cloned()
                });
                if let Some(server) = running {
                    return Ok((server, false));
                }
            }
            if let Some((when, error)) = servers.failed.get(&language.language_id)
                && when.elapsed() < RETRY_FAILED_START_AFTER
            {
                return Err(error.clone());
            }
        }

        let mut tried = Vec::new();
        for command in &language.servers {
            let Some(program) = command.resolve() else {
                tried.push(format!("{}: not found on PATH", command.display()));
                continue;
            };
            let settings = if self.inner.config.trust_project {
                Settings::default()
            } else {
                match trust::untrusted(&server_name(command, &program)) {
                    Untrusted::Start(settings) => settings,
                    Untrusted::Refuse { why } => {
                        tried.push(format!(
                            "{}: not started for a project the host has not trusted: {why} \
                             (the host can allow it with --trust-project)",
                            command.display()
                        ));
                        continue;
                    }
                }
            };
            let slot = {
                let mut servers = self.inner.servers.lock().await;
                servers.slots.entry(command.clone()).or_default().clone()
            };
            let mut running = slot.lock().await;
            if let Some(server) = running.as_ref() {
                if server.is_alive() {
                    // Someone else started it while we waited for the slot.
                    return Ok((server.clone(), false));
                }
                tracing::warn!(server = %server.name, "language server died; restarting it");
            }
            *running = None;
            let started = Server::start(
                command,
                &program,
                &self.inner.shared.root,
                &settings,
                self.inner.config.initialize_timeout,
                self.diagnostics_sink(),
            )
            .await;
            match started {
                Ok(server) => {
                    let server = Arc::new(server);
                    *running = Some(server.clone());
                    self.reopen_documents(&server);
                    drop(running);
                    let mut servers = self.inner.servers.lock().await;
                    servers.failed.remove(&language.language_id);
                    return Ok((server, true));
                }
                Err(error) => tried.push(format!("{}: {error}", command.display())),
            }
        }
        let error = no_server(tried);
        let mut servers = self.inner.servers.lock().await;
        servers.failed.insert(
            language.language_id.clone(),
            (Instant::now(), error.clone()),
        );
        Err(error)
    }

    /// A new server learns of every open document whose language it serves.
    fn reopen_documents(&self, server: &Arc<Server>) {
        let paths: Vec<String> = self.inner.shared.documents().keys().cloned().collect();
        for path in paths {
            let serves = self
                .inner
                .config
                .language_for(&path)
                .is_some_and(|language| language.servers.contains(&server.command));
            if serves {
                self.open_at(server, &path);
            }
        }
    }

    fn open_at(&self, server: &Arc<Server>, path: &str) {
        let Some(language) = self.inner.config.language_for(path) else {
            return;
        };
        let Ok(uri) = self.inner.shared.uri_for(path) else {
            return;
        };
        let mut documents = self.inner.shared.documents();
        let Some(document) = documents.get_mut(path) else {
            return;
        };
        if document
            .live_server()
            .is_some_and(|open_at| Arc::ptr_eq(&open_at, server))
        {
            return; // a concurrent (re)start already opened it there
        }
        document.server = Some(Arc::downgrade(server));
        server.notify::<lsp_types::notification::DidOpenTextDocument>(DidOpenTextDocumentParams {
            text_document: TextDocumentItem {
                uri,
                language_id: language.language_id.clone(),
                version: document.version,
                text: document.text.to_string(),
            },
        });
    }

    fn diagnostics_sink(&self) -> DiagnosticsSink {
        let shared = Arc::downgrade(&self.inner.shared);
        Arc::new(move |params: PublishDiagnosticsParams, encoding| {
            if let Some(shared) = shared.upgrade() {
                shared.publish(params, encoding);
            }
        })
    }

    /// One request, with "content modified" and friends during indexing reported as
    /// indexing.
    async fn ask<R: lsp_types::request::Request>(
        &self,
        server: &Server,
        params: R::Params,
    ) -> Result<R::Result, LspError> {
        let timeout = self.inner.config.request_timeout;
        match server.request::<R>(params, timeout).await {
            Ok(answer) => Ok(answer),
            Err(error @ (LspError::Server { .. } | LspError::Timeout { .. })) => {
                Err(server.indexing_error().unwrap_or(error))
            }
            Err(error) => Err(error),
        }
    }

    // ----- positions, paths and text

    fn position_params(
        &self,
        server: &Server,
        path: &str,
        position: LineCol,
    ) -> Result<TextDocumentPositionParams, LspError> {
        let shared = &self.inner.shared;
        let uri = shared.uri_for(path)?;
        let absolute = shared.absolute(path)?;
        let text = self
            .text_at(path, &absolute)
            .ok_or_else(|| LspError::Unreadable {
                path: path.to_owned(),
                detail: "not open, and not a readable text file".to_owned(),
            })?;
        Ok(TextDocumentPositionParams {
            text_document: TextDocumentIdentifier { uri },
            position: convert::to_lsp(&text, position, server.encoding()),
        })
    }

    /// An open document's text, else the file's (if it is a reasonably sized text file).
    fn text_at(&self, relative: &str, absolute: &Path) -> Option<Rope> {
        if let Some(document) = self.inner.shared.documents().get(relative) {
            return Some(document.text.clone());
        }
        read_text(absolute)
    }

    async fn definition_targets(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<Target>, LspError> {
        let server = match self.server_for(path).await {
            Ok((server, _)) => server,
            Err(LspError::NoServer { .. }) if syntactic::supports(path) => {
                return self.syntactic_definitions(path, position);
            }
            Err(error) => return Err(error),
        };
        let params = GotoDefinitionParams {
            text_document_position_params: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
        };
        let answer = self
            .ask::<lsp_types::request::GotoDefinition>(&server, params)
            .await?;
        // rust-analyzer answers with links; others with locations. Both mean the same.
        let raw: Vec<(lsp_types::Uri, lsp_types::Range, Option<lsp_types::Range>)> = match answer {
            None => Vec::new(),
            Some(GotoDefinitionResponse::Scalar(location)) => {
                vec![(location.uri, location.range, None)]
            }
            Some(GotoDefinitionResponse::Array(locations)) => locations
                .into_iter()
                .map(|location| (location.uri, location.range, None))
                .collect(),
            Some(GotoDefinitionResponse::Link(links)) => links
                .into_iter()
                .map(|link| {
                    (
                        link.target_uri,
                        link.target_selection_range,
                        Some(link.target_range),
                    )
                })
                .collect(),
        };
        if raw.is_empty()
            && let Some(indexing) = server.indexing_error()
        {
            return Err(indexing);
        }
        let mut texts = TextCache::default();
        Ok(raw
            .into_iter()
            .filter_map(|(uri, range, extent)| {
                self.target(server.encoding(), &mut texts, uri, range, extent)
            })
            .collect())
    }

    /// A server's location in cotype's terms; `None` for non-file URIs.
    fn target(
        &self,
        encoding: LspEncoding,
        texts: &mut TextCache,
        uri: lsp_types::Uri,
        range: lsp_types::Range,
        extent: Option<lsp_types::Range>,
    ) -> Option<Target> {
        match self.inner.shared.place(&uri)? {
            Place::Workspace { relative, absolute } => {
                let text = texts.get(self, &relative, &absolute);
                let convert_range = |range| match &text {
                    Some(text) => convert::range_from_lsp(text, range, encoding),
                    None => convert::range_passthrough(range),
                };
                let range = convert_range(range);
                let extent = extent.map(convert_range).unwrap_or(range);
                Some(Target {
                    location: Location {
                        path: relative,
                        range,
                        external: false,
                        syntactic: false,
                    },
                    extent,
                    absolute: Some(absolute),
                })
            }
            // Columns pass through unconverted: converting them would mean reading a file
            // the host did not share, for a location nobody can open anyway.
            Place::External { file_name, .. } => {
                let range = convert::range_passthrough(range);
                Some(Target {
                    location: Location {
                        path: file_name,
                        range,
                        external: true,
                        syntactic: false,
                    },
                    extent: range,
                    absolute: None,
                })
            }
        }
    }

    // ----- the syntactic fallback

    fn syntactic_definitions(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<Target>, LspError> {
        let found = self.syntactic_lookup(path, position)?;
        Ok(found
            .into_iter()
            .map(|(relative, absolute, definition)| Target {
                location: Location {
                    path: relative,
                    range: definition.name_range,
                    external: false,
                    syntactic: true,
                },
                extent: definition.item_range,
                absolute: Some(absolute),
            })
            .collect())
    }

    fn syntactic_hover(&self, path: &str, position: LineCol) -> Result<Option<Hover>, LspError> {
        let found = self.syntactic_lookup(path, position)?;
        Ok(found.into_iter().next().map(|(_, _, definition)| Hover {
            markdown: definition.hover_markdown(),
            syntactic: true,
        }))
    }

    /// Definitions of the identifier at `position`: in the file itself first, then in
    /// the files of the same language in its folder (a Go package, C with its headers).
    fn syntactic_lookup(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<(String, PathBuf, syntactic::Definition)>, LspError> {
        let root = &self.inner.shared.root;
        let absolute = self.inner.shared.absolute(path)?;
        let text = self
            .text_at(path, &absolute)
            .ok_or_else(|| LspError::Unreadable {
                path: path.to_owned(),
                detail: "not open, and not a readable text file".to_owned(),
            })?;
        let Some(name) = syntactic::identifier_at(&text, position) else {
            return Ok(Vec::new());
        };
        let here: Vec<_> = syntactic::definitions(path, &text, &name)
            .into_iter()
            .map(|definition| (path.to_owned(), absolute.clone(), definition))
            .collect();
        if !here.is_empty() {
            return Ok(here);
        }
        let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
        let extension = extension_of(path);
        let mut siblings: Vec<String> = std::fs::read_dir(absolute.parent().unwrap_or(root.dir()))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
                    .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
                    .map(|name| match folder {
                        "" => name,
                        folder => format!("{folder}/{name}"),
                    })
                    .filter(|sibling| sibling != path && extension_of(sibling) == extension)
                    .collect()
            })
            .unwrap_or_default();
        siblings.sort();
        let mut found = Vec::new();
        for sibling in siblings {
            let Ok(sibling_absolute) = self.inner.shared.absolute(&sibling) else {
                continue;
            };
            let Some(text) = self.text_at(&sibling, &sibling_absolute) else {
                continue;
            };
            found.extend(
                syntactic::definitions(&sibling, &text, &name)
                    .into_iter()
                    .map(|definition| (sibling.clone(), sibling_absolute.clone(), definition)),
            );
        }
        Ok(found)
    }
}

impl Shared {
    fn is_hidden(&self, relative: &str) -> bool {
        let hidden = self.hidden.lock().unwrap_or_else(|e| e.into_inner());
        hidden.as_ref().is_some_and(|is_hidden| is_hidden(relative))
    }

    /// The host path of a participant's root-relative path, if the host shares it.
    fn absolute(&self, relative: &str) -> Result<PathBuf, LspError> {
        if self.is_hidden(relative) {
            return Err(LspError::NotShared {
                path: relative.to_owned(),
            });
        }
        self.root.absolute(relative)
    }

    fn uri_for(&self, relative: &str) -> Result<lsp_types::Uri, LspError> {
        self.absolute(relative)?;
        self.root.uri_for(relative)
    }

    /// Where a server's URI points; hidden files are as good as absent.
    fn place(&self, uri: &lsp_types::Uri) -> Option<Place> {
        match self.root.place(uri)? {
            Place::Workspace { relative, .. } if self.is_hidden(&relative) => None,
            place => Some(place),
        }
    }

    fn documents(&self) -> std::sync::MutexGuard<'_, HashMap<String, OpenDocument>> {
        self.documents.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, params: PublishDiagnosticsParams, encoding: LspEncoding) {
        let Some(Place::Workspace { relative, absolute }) = self.place(&params.uri) else {
            return;
        };
        let text = match self.documents().get(&relative) {
            Some(document) => Some(document.text.clone()),
            None => read_text(&absolute),
        };
        let items = params
            .diagnostics
            .into_iter()
            .map(|diagnostic| Diagnostic {
                range: match &text {
                    Some(text) => convert::range_from_lsp(text, diagnostic.range, encoding),
                    None => convert::range_passthrough(diagnostic.range),
                },
                severity: match diagnostic.severity {
                    Some(lsp_types::DiagnosticSeverity::WARNING) => Severity::Warning,
                    Some(lsp_types::DiagnosticSeverity::INFORMATION) => Severity::Information,
                    Some(lsp_types::DiagnosticSeverity::HINT) => Severity::Hint,
                    // Unspecified severity is the client's call; an error is the safe one.
                    _ => Severity::Error,
                },
                message: diagnostic.message,
                source: diagnostic.source,
                tags: diagnostic
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|tag| match tag {
                        lsp_types::DiagnosticTag::UNNECESSARY => Some(DiagnosticTag::Unnecessary),
                        lsp_types::DiagnosticTag::DEPRECATED => Some(DiagnosticTag::Deprecated),
                        _ => None,
                    })
                    .collect(),
            })
            .collect();
        // Nobody listening is fine: diagnostics are a stream of current state.
        let _ = self.diagnostics.send(Diagnostics {
            path: relative,
            version: params.version,
            items,
        });
    }
}

/// A definition's location, how far its item extends (for the peek), and where to read
/// it (`None` when external).
struct Target {
    location: Location,
    extent: Range,
    absolute: Option<PathBuf>,
}

/// Texts read while converting one answer: a references list names the same file often.
#[derive(Default)]
struct TextCache {
    texts: HashMap<String, Option<Rope>>,
}

impl TextCache {
    fn get(&mut self, bridge: &LspBridge, relative: &str, absolute: &Path) -> Option<Rope> {
        self.texts
            .entry(relative.to_owned())
            .or_insert_with(|| bridge.text_at(relative, absolute))
            .clone()
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

fn read_text(path: &Path) -> Option<Rope> {
    let file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() > MAX_READ_BYTES {
        return None;
    }
    Rope::from_reader(std::io::BufReader::new(file)).ok()
}

fn line_text(text: &Rope, line: usize) -> Option<String> {
    let line = text.get_line(line)?;
    Some(line.to_string().trim_end_matches(['\n', '\r']).to_owned())
}

fn snippet(text: &Rope, first: usize, last: usize) -> Snippet {
    // A text ending in a line break has an empty last line in ropey; it is not content.
    let lines = text.len_lines();
    let final_line = if lines > 1 && text.line(lines - 1).len_chars() == 0 {
        lines - 2
    } else {
        lines.saturating_sub(1)
    };
    let last = last.min(final_line);
    Snippet {
        first_line: first,
        lines: (first..=last)
            .filter_map(|line| line_text(text, line))
            .collect(),
    }
}

/// A hover's contents as the markdown the participant's popup renders.
pub fn hover_markdown(contents: HoverContents) -> String {
    fn marked(string: MarkedString) -> String {
        match string {
            MarkedString::String(text) => text,
            MarkedString::LanguageString(code) => {
                format!("```{}\n{}\n```", code.language, code.value)
            }
        }
    }
    match contents {
        HoverContents::Scalar(string) => marked(string),
        HoverContents::Array(strings) => strings
            .into_iter()
            .map(marked)
            .collect::<Vec<_>>()
            .join("\n\n---\n\n"),
        HoverContents::Markup(markup) => markup.value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge_with(
        python_server: ServerCommand,
        initialize_timeout: Duration,
    ) -> (tempfile::TempDir, LspBridge) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.py"), "x = 1\n").expect("write");
        let mut config = LspConfig {
            initialize_timeout,
            ..LspConfig::default()
        };
        config.set_server("py", python_server);
        let bridge = LspBridge::new(dir.path(), config).expect("bridge");
        (dir, bridge)
    }

    fn tried(error: LspError) -> String {
        match error {
            LspError::NoServer { tried, .. } => tried.join("; "),
            other => panic!("expected NoServer, got {other}"),
        }
    }

    #[tokio::test]
    async fn a_server_that_dies_at_start_is_explained_by_its_last_words() {
        let dying = ServerCommand::new("sh", &["-c", "echo 'fatal: no interpreter' >&2; exit 3"]);
        let (_dir, bridge) = bridge_with(dying, Duration::from_secs(20));
        let error = bridge
            .did_open("a.py", "x = 1\n", 1)
            .await
            .expect_err("the server cannot start");
        let why = tried(error);
        assert!(why.contains("stopped unexpectedly"), "{why}");
        assert!(why.contains("fatal: no interpreter"), "{why}");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_is_not_restarted_on_every_request() {
        let silent = ServerCommand::new("sh", &["-c", "cat > /dev/null"]);
        let (_dir, bridge) = bridge_with(silent, Duration::from_millis(300));
        // References have no syntactic fallback, so the server's failure shows.
        let first = bridge
            .references("a.py", LineCol::default())
            .await
            .expect_err("no answer");
        let why = tried(first.clone());
        assert!(
            why.contains("did not answer initialize within 0.3 s"),
            "{why}"
        );
        // Remembered: the second request fails at once with the same explanation.
        let started = Instant::now();
        let second = bridge.references("a.py", LineCol::default()).await;
        assert_eq!(second, Err(first));
        assert!(started.elapsed() < Duration::from_millis(300));
    }
}
