//! The participant loop's questions to the host on behalf of the search panel: the
//! workspace search (one at a time: a new one cancels the one before, and is sent once
//! the host says the cancelled one ended) and the file text for its preview. It remembers
//! which request is whose, so an answer to a question no longer asked (a search replaced
//! by the next keystroke) is dropped. Questions about the
//! code at a place (references among them) go through `tui::intel`.

use std::ops::ControlFlow;

use ropey::Rope;

use crate::client::ClientError;
use crate::client::request::{
    self, CancelSearch, FileOperation, ReadFile, Replace, ReplaceProgress, Search, SearchProgress,
    Symbols,
};
use crate::client::session::Session;
use crate::protocol::FILE_CHUNK_LEN;
use crate::protocol::message::{Request, RequestId, Response};
use crate::protocol::search::{SearchQuery, SearchSummary};
use crate::tui::app::App;
use crate::tui::compositor::AppCommand;

#[derive(Debug, Default)]
pub struct PanelRequests {
    search: Option<RequestId>,
    /// A search we cancelled that the host has not said ended yet. The next one waits for
    /// it: the host bounds the searches a member may have running, and one cancelled
    /// mid-walk still runs until it notices, so typing fast would otherwise be refused.
    cancelled: Option<RequestId>,
    /// The latest query typed while a cancelled search winds down; sent when it has.
    next: Option<SearchQuery>,
    preview: Option<(RequestId, String)>,
    /// The search panel's replace, until its last answer.
    replace: Option<RequestId>,
    /// File operations asked from the file tree, until answered, each with the file it
    /// creates (opened for whoever created it, as editors do).
    file_operations: Vec<(RequestId, Option<String>)>,
    /// The workspace symbol picker's latest question (an answer to an earlier one, for a
    /// query since typed further, is dropped).
    symbols: Option<RequestId>,
}

impl PanelRequests {
    /// Carries out a panel's command; gives back any other command untouched.
    pub fn command(
        &mut self,
        command: AppCommand,
        session: &mut Session,
        app: &mut App,
    ) -> ControlFlow<(), AppCommand> {
        match command {
            AppCommand::WorkspaceSearch(query) => {
                self.cancel_search(session);
                match self.cancelled {
                    Some(_) => self.next = Some(query),
                    None => self.search = Some(session.ask(Search(query))),
                }
            }
            AppCommand::CancelSearch => {
                self.cancel_search(session);
                self.next = None;
            }
            AppCommand::SearchPreview(path) => match session.documents.get(&path) {
                Some(document) => app.search_preview(&path, document.rope.clone()),
                None => {
                    let id = session.ask(ReadFile {
                        path: path.clone(),
                        offset: 0,
                        len: FILE_CHUNK_LEN as u32,
                        saved: false,
                    });
                    self.preview = Some((id, path));
                }
            },
            AppCommand::WorkspaceReplace(asked) => {
                self.replace = Some(session.ask(Replace(asked)));
            }
            AppCommand::FileOperation(asked) => {
                let creates = match &asked {
                    Request::CreatePath {
                        path,
                        folder: false,
                        ..
                    } => Some(path.clone()),
                    _ => None,
                };
                self.file_operations
                    .push((session.ask(FileOperation(asked)), creates));
            }
            AppCommand::WorkspaceSymbols(query) => {
                self.symbols =
                    (!query.trim().is_empty()).then(|| session.ask(Symbols { path: None, query }));
                if self.symbols.is_none() {
                    app.workspace_symbols(Ok(Vec::new()));
                }
            }
            other => return ControlFlow::Continue(other),
        }
        ControlFlow::Break(())
    }

    /// Requests in flight died with the connection (ours or the host's): the search starts
    /// over.
    pub fn resend_after_reconnect(&mut self, session: &mut Session, app: &mut App) {
        self.preview = None;
        // A search running or waiting to be sent: the panel wants its query answered (one
        // only winding down was cancelled by the user, and stays so).
        let running = self.search.take().is_some();
        let waiting = self.next.take().is_some();
        self.cancelled = None;
        let searching = running || waiting;
        if searching && let Some(query) = app.restart_search() {
            self.search = Some(session.ask(Search(query)));
        }
    }

    /// The replace ended: the panel says so and searches again.
    fn replaced(&mut self, outcome: Result<String, String>, session: &mut Session, app: &mut App) {
        for command in app.replace_finished(outcome) {
            let _ = self.command(command, session, app);
        }
    }

    fn cancel_search(&mut self, session: &mut Session) {
        if let Some(id) = self.search.take() {
            session.ask(CancelSearch(id));
            self.cancelled = Some(id);
        }
    }

    /// Whether response `id` answers one of our questions.
    pub fn owns(&self, id: RequestId) -> bool {
        self.search == Some(id)
            || self.replace == Some(id)
            || self.file_operations.iter().any(|(asked, _)| *asked == id)
            || self.symbols == Some(id)
            || self.cancelled == Some(id)
            || self.preview.as_ref().is_some_and(|(asked, _)| *asked == id)
    }

    /// Hands an answer to its panel; returns a file to open now (one just created).
    pub fn response(
        &mut self,
        id: RequestId,
        done: bool,
        body: Response,
        session: &mut Session,
        app: &mut App,
    ) -> Option<String> {
        if self.replace == Some(id) {
            match request::answer::<Replace>(body) {
                // The preview is the panel's own; the summary says what was done.
                Ok(ReplaceProgress::Changes(_)) => {}
                Ok(ReplaceProgress::Done(summary)) => {
                    let mut said = format!(
                        "replaced {} match{} in {} file{}",
                        summary.changes,
                        if summary.changes == 1 { "" } else { "es" },
                        summary.files,
                        if summary.files == 1 { "" } else { "s" },
                    );
                    for skipped in &summary.skipped {
                        said.push_str(&format!("; left alone {skipped}"));
                    }
                    self.replace = None;
                    self.replaced(Ok(said), session, app);
                }
                Err(ClientError::Host(message)) => {
                    self.replace = None;
                    self.replaced(Err(message), session, app);
                }
                Err(error) => tracing::debug!("unexpected answer to a replace: {error}"),
            }
            if done {
                self.replace = None;
            }
        } else if let Some(at) = self
            .file_operations
            .iter()
            .position(|(asked, _)| *asked == id)
        {
            let (_, creates) = self.file_operations.remove(at);
            match request::answer::<FileOperation>(body) {
                Ok(said) => {
                    app.message(crate::tui::status::Level::Info, said);
                    return creates;
                }
                Err(error) => app.message(crate::tui::status::Level::Error, error.to_string()),
            }
        } else if self.symbols == Some(id) {
            self.symbols = None;
            app.workspace_symbols(request::answer::<Symbols>(body).map_err(|e| e.to_string()));
        } else if self.cancelled == Some(id) {
            // Its results are no longer wanted; its end makes room for the next search.
            if done {
                self.cancelled = None;
                if let Some(query) = self.next.take() {
                    self.search = Some(session.ask(Search(query)));
                }
            }
        } else if self.search == Some(id) {
            if done {
                self.search = None;
            }
            match request::answer::<Search>(body) {
                Ok(SearchProgress::Hits(hits)) => {
                    for command in app.search_results(hits, &*session) {
                        // Only previews come back from a batch of results.
                        let _ = self.command(command, session, app);
                    }
                }
                Ok(SearchProgress::Done {
                    matches,
                    files_searched,
                    truncated,
                }) => app.search_finished(Ok(SearchSummary {
                    matches,
                    files_searched,
                    truncated,
                    // The panel asks for the host's default cap.
                    limit: 0,
                    cancelled: false,
                })),
                Err(ClientError::Host(message)) => app.search_finished(Err(message)),
                Err(error) => tracing::debug!("unexpected answer to a search: {error}"),
            }
        } else if let Some((_, path)) = self.preview.take_if(|(asked, _)| *asked == id) {
            match request::answer::<ReadFile>(body) {
                Ok(chunk) => {
                    let text = String::from_utf8_lossy(&chunk.data);
                    app.search_preview(&path, Rope::from_str(&text));
                }
                // The preview falls back to the matching lines; nothing to tell.
                Err(error) => tracing::debug!("no preview of {path}: {error}"),
            }
        }
        None
    }
}
