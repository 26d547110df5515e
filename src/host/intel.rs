//! Code intelligence and workspace search, answered on the host for one participant's
//! request at a time.
//!
//! The session loop hands each request here on its own task, so a slow language server or
//! a long search never holds up edits. Answers go back encrypted to the one participant
//! who asked; diagnostics go to everyone (see [`forward_diagnostics`]). Every request ends
//! with exactly one `done` response, and none waits longer than its time limit: a request
//! that runs out of time is answered with a sentence saying so, while the work behind it
//! (a server still starting, say) carries on for the next request to use.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::channel::ChannelSender;
use crate::host::lsp::{self, LspBridge, LspConfig, LspError};
use crate::host::search;
use crate::host::workspace::Workspace;
use crate::protocol::ParticipantId;
use crate::protocol::header::Route;
use crate::protocol::message::{
    Completion, DiagnosticItem, Event, Message, PeekView, ReferenceHit, Request, RequestId,
    Response, TextLocation, TextPosition, TextRange,
};
use crate::protocol::search::{DEFAULT_MAX_MATCHES, SearchError, SearchQuery};

/// The longest a participant waits for a language server's answer. Below the client's
/// own patience (`client::HOST_TIMEOUT`), so the participant reads our sentence rather
/// than a generic "the host did not answer".
pub const LSP_REQUEST_LIMIT: Duration = Duration::from_secs(20);
/// The longest one search may run before it is stopped.
pub const SEARCH_TIME_LIMIT: Duration = Duration::from_secs(60);
/// No participant may ask for more matches than this in one search, whatever it sends.
pub const MAX_SEARCH_MATCHES: u32 = 100_000;
/// LSP's `ContentModified` error code.
const CONTENT_MODIFIED: i32 = -32801;
/// How long a question is asked again while the server says "content modified": until
/// the text holds still for as long as the server needs (someone typing steadily while a
/// rename runs makes rust-analyzer drop it again and again), well inside
/// [`LSP_REQUEST_LIMIT`] so the participant hears the server's reason, not a timeout.
const CONTENT_MODIFIED_PATIENCE: Duration = Duration::from_secs(12);
const CONTENT_MODIFIED_PAUSE: Duration = Duration::from_millis(200);
/// Files larger than this are left for the language server to read itself.
const MAX_OPEN_FROM_DISK: usize = 4 << 20;
/// Batches waiting between the search threads and the network; a slow link holds the
/// search back instead of filling the host's memory.
const SEARCH_BATCHES_IN_FLIGHT: usize = 4;
/// The bridge's version for a document opened from disk by a request: documents opened by
/// participants count their revisions separately and replace it.
const DISK_VERSION: i32 = 0;

/// Answers intelligence and search requests. Cheap to clone; clones share the servers and
/// the running searches.
#[derive(Clone)]
pub struct Intel {
    inner: Arc<Inner>,
}

struct Inner {
    workspace: Arc<Workspace>,
    config: LspConfig,
    lsp: LspBridge,
    /// Running searches by (who asked, their request id), to stop them on request.
    searches: Mutex<HashMap<(ParticipantId, RequestId), Arc<AtomicBool>>>,
    /// Who has each file open in the bridge, and for disk copies the text they were opened
    /// with (to notice when the file changes on disk).
    opened: Mutex<HashMap<String, Opened>>,
}

enum Opened {
    /// A participant has it open; the documents module keeps the bridge in sync.
    ByDocuments,
    /// Opened by a request from the file on disk.
    FromDisk { text: String, version: i32 },
}

impl Intel {
    /// Code intelligence over `workspace` with the servers of `config`. No server starts
    /// until a request needs one. The bridge never answers about a file the workspace
    /// does not share.
    pub fn new(workspace: Arc<Workspace>, config: LspConfig) -> Result<Intel, LspError> {
        let lsp = LspBridge::new(workspace.root(), config.clone())?;
        let visible = Arc::downgrade(&workspace);
        lsp.set_hidden_filter(Arc::new(move |relative: &str| {
            visible
                .upgrade()
                .is_none_or(|workspace| !workspace.is_visible(relative))
        }));
        Ok(Intel {
            inner: Arc::new(Inner {
                workspace,
                config,
                lsp,
                searches: Mutex::default(),
                opened: Mutex::default(),
            }),
        })
    }

    /// The one bridge of this host, for the documents module to send `did_change` and
    /// `did_save` through. Open and close documents with [`Intel::document_opened`] and
    /// [`Intel::document_closed`], so requests do not replace a participant's text with
    /// the file on disk.
    pub fn lsp(&self) -> &LspBridge {
        &self.inner.lsp
    }

    /// A participant opened `path`: the bridge follows the authoritative text from now on.
    pub async fn document_opened(
        &self,
        path: &str,
        text: ropey::Rope,
        version: i32,
    ) -> Result<(), LspError> {
        self.opened().insert(path.to_owned(), Opened::ByDocuments);
        self.inner.lsp.did_open_rope(path, text, version).await
    }

    /// Nobody has `path` open any more; requests read it from disk again.
    pub fn document_closed(&self, path: &str) -> Result<(), LspError> {
        self.opened().remove(path);
        self.inner.lsp.did_close(path)
    }

    /// Answers one request with one or more responses to `from`, the last one `done`.
    pub async fn handle(
        &self,
        sender: ChannelSender,
        from: ParticipantId,
        id: RequestId,
        request: Request,
        texts: search::SharedTexts,
    ) -> anyhow::Result<()> {
        let reply = Reply {
            sender,
            route: Route::Participant(from),
            id,
            root: self.inner.workspace.root().display().to_string(),
        };
        let answer = match request {
            Request::Search(query) => return self.search(reply, from, query, texts).await,
            Request::CancelSearch { id: search } => {
                let running = self
                    .searches()
                    .get(&(from, search))
                    .map(|cancel| cancel.store(true, Ordering::Relaxed));
                Response::Nothing {
                    reason: match running {
                        Some(()) => "search cancelled".to_owned(),
                        None => "that search had already finished".to_owned(),
                    },
                }
            }
            Request::Hover(at) => self.hover(at).await,
            Request::Peek(at) => self.peek(at).await,
            Request::Definition(at) => self.definition(at).await,
            Request::References(at) => self.references(at).await,
            Request::Completion(at) => self.completion(at).await,
            Request::PrepareRename(at) => self.prepare_rename(at).await,
            Request::CodeActions(at) => self.code_action_list(at, false).await,
            Request::LineActions(at) => self.code_action_list(at, true).await,
            Request::Symbols { path, query } => self.symbols(path, query).await,
            Request::SignatureHelp(at) => self.signature_help(at).await,
            Request::InlayHints(at) => self.inlay_hints(at).await,
            Request::SemanticTokens(at) => self.semantic_tokens(at).await,
            other => Response::Error {
                message: format!("the host cannot answer {other:?} here; please report this"),
            },
        };
        reply.send(true, answer).await
    }

    // ----- search

    async fn search(
        &self,
        reply: Reply,
        from: ParticipantId,
        request: SearchQuery,
        texts: search::SharedTexts,
    ) -> anyhow::Result<()> {
        let query = SearchQuery {
            max_matches: match request.max_matches {
                0 => DEFAULT_MAX_MATCHES,
                asked => asked.min(MAX_SEARCH_MATCHES),
            },
            ..request
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let key = (from, reply.id);
        self.searches().insert(key, cancel.clone());
        let _forget = Forget { intel: self, key };

        let (batches, mut incoming) = mpsc::channel(SEARCH_BATCHES_IN_FLIGHT);
        let workspace = self.inner.workspace.clone();
        let searching = cancel.clone();
        let worker = tokio::task::spawn_blocking(move || {
            search::search(&workspace, &query, &texts, &searching, |batch| {
                // The receiver is gone only when the participant's answer failed to send.
                match batches.blocking_send(batch) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            })
        });
        let deadline = tokio::time::sleep(SEARCH_TIME_LIMIT);
        tokio::pin!(deadline);
        let mut timed_out = false;
        loop {
            tokio::select! {
                batch = incoming.recv() => match batch {
                    Some(hits) => {
                        if let Err(error) = reply.send(false, Response::SearchResults(hits)).await {
                            cancel.store(true, Ordering::Relaxed);
                            return Err(error);
                        }
                    }
                    None => break,
                },
                () = &mut deadline, if !timed_out => {
                    timed_out = true;
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        }
        let answer = match worker.await {
            Ok(Ok(summary)) => Response::SearchDone {
                matches: summary.matches,
                files_searched: summary.files_searched,
                truncated: summary.truncated,
            },
            Ok(Err(SearchError::Cancelled)) if timed_out => Response::Error {
                message: format!(
                    "search stopped after {} s; narrow it with a glob or a more specific pattern",
                    SEARCH_TIME_LIMIT.as_secs()
                ),
            },
            Ok(Err(error)) => Response::Error {
                message: error.to_string(),
            },
            Err(panic) => {
                tracing::error!("search failed: {panic}");
                Response::Error {
                    message: "the search failed on the host; please report this".to_owned(),
                }
            }
        };
        reply.send(true, answer).await
    }

    fn searches(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(ParticipantId, RequestId), Arc<AtomicBool>>> {
        self.inner
            .searches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    // ----- language servers

    async fn hover(&self, at: TextPosition) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                lsp.hover(&path, position).await
            })
            .await
        {
            Ok(Some(hover)) => Response::Hover {
                markdown: hover.markdown,
                syntactic: hover.syntactic,
            },
            Ok(None) => nothing_at("nothing to show", &at),
            Err(message) => Response::Error { message },
        }
    }

    async fn peek(&self, at: TextPosition) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                lsp.peek(&path, position).await
            })
            .await
        {
            Ok(peeks) if peeks.is_empty() => nothing_at("no definition found", &at),
            Ok(peeks) => Response::Peek {
                syntactic: peeks.iter().any(|peek| peek.location.syntactic),
                views: peeks
                    .into_iter()
                    .map(|peek| {
                        let (first_line, lines) = match peek.snippet {
                            Some(snippet) => (snippet.first_line, snippet.lines),
                            None => (peek.location.range.start.line, Vec::new()),
                        };
                        PeekView {
                            location: wire_location(peek.location),
                            first_line: u32::try_from(first_line).unwrap_or(u32::MAX),
                            lines,
                        }
                    })
                    .collect(),
            },
            Err(message) => Response::Error { message },
        }
    }

    async fn definition(&self, at: TextPosition) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                lsp.definition(&path, position).await
            })
            .await
        {
            Ok(locations) if locations.is_empty() => nothing_at("no definition found", &at),
            Ok(locations) => Response::Locations {
                syntactic: locations.iter().any(|location| location.syntactic),
                locations: locations.into_iter().map(wire_location).collect(),
            },
            Err(message) => Response::Error { message },
        }
    }

    async fn references(&self, at: TextPosition) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                lsp.references(&path, position).await
            })
            .await
        {
            Ok(references) if references.is_empty() => nothing_at("no references found", &at),
            Ok(references) => Response::References(
                references
                    .into_iter()
                    .map(|reference| ReferenceHit {
                        location: wire_location(reference.location),
                        context_line: reference.context_line,
                    })
                    .collect(),
            ),
            Err(message) => Response::Error { message },
        }
    }

    async fn completion(&self, at: TextPosition) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                lsp.completion(&path, position).await
            })
            .await
        {
            Ok(items) => Response::Completions(
                items
                    .into_iter()
                    .map(|item| Completion {
                        label: item.label,
                        detail: item.detail,
                        insert_text: item.insert_text,
                    })
                    .collect(),
            ),
            Err(message) => Response::Error { message },
        }
    }

    /// Runs `question` against the bridge once `path` is open there, within
    /// [`LSP_REQUEST_LIMIT`]; the error is a sentence for the participant.
    ///
    /// The question runs on its own task: when the limit passes, the participant gets an
    /// answer, and a server that was still starting keeps starting for the next request.
    pub(super) async fn ask<T, F, Fut>(&self, path: &str, question: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: Fn(LspBridge, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, LspError>> + Send,
    {
        if !self.inner.workspace.is_visible(path) {
            return Err(LspError::NotShared {
                path: path.to_owned(),
            }
            .to_string());
        }
        let intel = self.clone();
        let path = path.to_owned();
        let task = tokio::spawn(async move {
            intel.open_from_disk(&path).await;
            let patience = tokio::time::Instant::now() + CONTENT_MODIFIED_PATIENCE;
            loop {
                match question(intel.inner.lsp.clone(), path.clone()).await {
                    // The spec's advice for "content modified": the text moved under the
                    // question (rust-analyzer says it while loading), so ask again.
                    Err(LspError::Server { code, .. })
                        if code == CONTENT_MODIFIED && tokio::time::Instant::now() < patience =>
                    {
                        tokio::time::sleep(CONTENT_MODIFIED_PAUSE).await;
                    }
                    answer => return answer,
                }
            }
        });
        match tokio::time::timeout(LSP_REQUEST_LIMIT, task).await {
            Ok(Ok(answer)) => answer.map_err(|error| error.to_string()),
            Ok(Err(panic)) => {
                tracing::error!("a language request failed: {panic}");
                Err("the host failed to answer; please report this".to_owned())
            }
            Err(_) => Err(format!(
                "the language server did not answer within {} s; it may still be starting, try again in a moment",
                LSP_REQUEST_LIMIT.as_secs()
            )),
        }
    }

    /// Opens `path` in the bridge from disk unless a participant has it open, and again
    /// when the file changed on disk since. Servers such as pylsp only check (and publish
    /// diagnostics for) files they were told are open.
    async fn open_from_disk(&self, path: &str) {
        let Some(text) = self.disk_text(path) else {
            return;
        };
        let version = {
            let mut opened = self.opened();
            let version = match opened.get(path) {
                Some(Opened::ByDocuments) => return,
                Some(Opened::FromDisk { text: known, .. }) if *known == text => return,
                Some(Opened::FromDisk { version, .. }) => version.saturating_add(1),
                None => DISK_VERSION,
            };
            opened.insert(
                path.to_owned(),
                Opened::FromDisk {
                    text: text.clone(),
                    version,
                },
            );
            version
        };
        match self.inner.lsp.did_open(path, &text, version).await {
            // The request itself reports the missing server, or answers from syntax.
            Ok(()) | Err(LspError::NoServer { .. }) => {}
            Err(error) => tracing::debug!(path, "opening from disk for a request: {error}"),
        }
    }

    /// The file's text, if a language server would care and it is reasonably sized text.
    fn disk_text(&self, path: &str) -> Option<String> {
        self.inner.config.language_for(path)?;
        let bytes = self.inner.workspace.read(path).ok()?;
        if bytes.len() > MAX_OPEN_FROM_DISK {
            return None;
        }
        String::from_utf8(bytes).ok()
    }

    /// Whether the bridge follows `path`'s shared text (its versions are revisions), as
    /// opposed to a copy read from disk for a request.
    pub(super) fn follows_documents(&self, path: &str) -> bool {
        matches!(self.opened().get(path), Some(Opened::ByDocuments))
    }

    fn opened(&self) -> std::sync::MutexGuard<'_, HashMap<String, Opened>> {
        self.inner
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends every language server's diagnostics to everyone in the session, until the bridge
/// or the connection goes away. Spawn it once per host.
pub async fn forward_diagnostics(
    mut diagnostics: broadcast::Receiver<lsp::Diagnostics>,
    sender: ChannelSender,
) {
    loop {
        let published = match diagnostics.recv().await {
            Ok(published) => published,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Each message is a file's complete list, so a later one makes up for it.
                tracing::warn!(missed, "diagnostics came faster than they could be sent");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let event = Event::Diagnostics {
            revision: revision_of_diagnostics(published.version),
            path: published.path,
            items: published
                .items
                .into_iter()
                .map(|item| DiagnosticItem {
                    range: wire_range(item.range),
                    severity: item.severity,
                    message: item.message,
                    source: item.source,
                    tags: item.tags,
                })
                .collect(),
        };
        if let Err(error) = sender.send(Route::Everyone, &Message::Event(event)).await {
            tracing::debug!("diagnostics stop: {error}");
            return;
        }
    }
}

/// The language-server version of a document at `revision` (LSP versions start at 1 and
/// must grow; `DISK_VERSION` and up are used for files opened from disk, see above).
pub fn lsp_version(revision: u64) -> i32 {
    i32::try_from(revision % i32::MAX as u64).unwrap_or(0) + 1
}

/// The document revision diagnostics were computed for: the inverse of `lsp_version`
/// (0 when the server did not say, or for a file nobody has open).
fn revision_of_diagnostics(version: Option<i32>) -> u64 {
    version.map_or(0, lsp_revision)
}

/// The document revision of a bridge version: the inverse of `lsp_version`.
pub(super) fn lsp_revision(version: i32) -> u64 {
    u64::try_from(version.saturating_sub(1)).unwrap_or(0)
}

pub(super) fn wire_range(range: lsp::Range) -> TextRange {
    TextRange {
        start: range.start,
        end: range.end,
    }
}

pub(super) fn wire_location(location: lsp::Location) -> TextLocation {
    TextLocation {
        path: location.path,
        range: wire_range(location.range),
        external: location.external,
    }
}

pub(super) fn nothing_at(what: &str, at: &TextPosition) -> Response {
    Response::Nothing {
        reason: format!(
            "{what} at {}:{}:{}",
            at.path,
            at.position.line + 1,
            at.position.col + 1
        ),
    }
}

/// Where the responses to one request go.
struct Reply {
    sender: ChannelSender,
    route: Route,
    id: RequestId,
    /// The shared folder's absolute path, which no message to a member names.
    root: String,
}

impl Reply {
    async fn send(&self, done: bool, body: Response) -> anyhow::Result<()> {
        // Errors may quote a language server's last words, which name the host's absolute
        // paths: members see paths relative to the shared folder only.
        let body = match body {
            Response::Error { message } => Response::Error {
                message: without_root(&message, &self.root),
            },
            other => other,
        };
        let message = Message::Response {
            id: self.id,
            done,
            body,
        };
        self.sender.send(self.route, &message).await?;
        Ok(())
    }
}

/// `message` with the shared folder's absolute path `root` taken out of every path in it.
fn without_root(message: &str, root: &str) -> String {
    message.replace(&format!("{root}/"), "").replace(root, ".")
}

/// Removes a search from the running ones however its task ends.
struct Forget<'a> {
    intel: &'a Intel,
    key: (ParticipantId, RequestId),
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.intel.searches().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_no_absolute_path_of_the_host() {
        let root = "/home/host/project";
        assert_eq!(
            without_root(
                "rust-analyzer stopped; its last words: failed to load /home/host/project/Cargo.toml in /home/host/project",
                root
            ),
            "rust-analyzer stopped; its last words: failed to load Cargo.toml in ."
        );
    }
    use crate::host::lsp::LineCol;

    fn at(line: usize, col: usize) -> TextPosition {
        TextPosition {
            path: "src/lib.rs".to_owned(),
            revision: 3,
            position: LineCol { line, col },
        }
    }

    #[test]
    fn empty_answers_name_the_place_one_based() {
        assert_eq!(
            nothing_at("no definition found", &at(0, 4)),
            Response::Nothing {
                reason: "no definition found at src/lib.rs:1:5".to_owned()
            }
        );
    }

    #[test]
    fn diagnostics_without_a_version_belong_to_the_disk_text() {
        assert_eq!(revision_of_diagnostics(None), 0);
        assert_eq!(revision_of_diagnostics(Some(-1)), 0);
        assert_eq!(revision_of_diagnostics(Some(lsp_version(7))), 7);
        assert_eq!(revision_of_diagnostics(Some(lsp_version(0))), 0);
    }
}
