//! Asking the host about code: search, hover, peek, definition, references, completion,
//! and the diagnostics it pushes. The headless commands and the TUI share these.

use std::ops::ControlFlow;

use super::{ClientError, Participant};
use crate::client::request::{
    CancelSearch, Complete, Definition, Hover, Peek, References, Search, SearchProgress,
};
use crate::client::session::SessionEvent;
use crate::protocol::message::{
    Completion, DiagnosticItem, Event, PeekView, ReferenceHit, RequestId, TextLocation,
    TextPosition,
};
use crate::protocol::search::{SearchHit, SearchQuery, SearchSummary};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoverText {
    pub markdown: String,
    /// From syntax alone: the host has no language server for this file.
    pub syntactic: bool,
}

/// Definitions, with the lines around each when the host could read them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peeked {
    pub views: Vec<PeekView>,
    pub syntactic: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Definitions {
    pub locations: Vec<TextLocation>,
    pub syntactic: bool,
}

impl Participant {
    /// Searches the host's shared files; `on_batch` sees the matches as they arrive (in
    /// no particular order) and may stop the search with `Break`.
    pub async fn search(
        &mut self,
        query: SearchQuery,
        mut on_batch: impl FnMut(Vec<SearchHit>) -> ControlFlow<()>,
    ) -> Result<SearchSummary, ClientError> {
        let limit = query.max_matches;
        let id = self.send(Search(query)).await?;
        let mut delivered = 0u64;
        loop {
            match self.next_answer::<Search>(id).await? {
                (SearchProgress::Hits(hits), false) => {
                    delivered += hits.len() as u64;
                    if on_batch(hits).is_break() {
                        let cancel = self.send(CancelSearch(id)).await?;
                        self.finish(&[id, cancel]).await?;
                        return Ok(SearchSummary {
                            matches: delivered,
                            files_searched: 0,
                            truncated: false,
                            limit,
                            cancelled: true,
                        });
                    }
                }
                (
                    SearchProgress::Done {
                        matches,
                        files_searched,
                        truncated,
                    },
                    true,
                ) => {
                    return Ok(SearchSummary {
                        matches,
                        files_searched,
                        truncated,
                        limit,
                        cancelled: false,
                    });
                }
                _ => return Err(ClientError::Protocol),
            }
        }
    }

    pub async fn hover(&mut self, at: TextPosition) -> Result<Option<HoverText>, ClientError> {
        self.request(Hover(at)).await
    }

    pub async fn peek(&mut self, at: TextPosition) -> Result<Peeked, ClientError> {
        self.request(Peek(at)).await
    }

    pub async fn definition(&mut self, at: TextPosition) -> Result<Definitions, ClientError> {
        self.request(Definition(at)).await
    }

    /// Every use of the symbol at `at`, its declaration included, sorted by place.
    pub async fn references(&mut self, at: TextPosition) -> Result<Vec<ReferenceHit>, ClientError> {
        self.request(References(at)).await
    }

    pub async fn completion(&mut self, at: TextPosition) -> Result<Vec<Completion>, ClientError> {
        self.request(Complete(at)).await
    }

    /// Waits for the host's next diagnostics for `path` (other answers and events stay
    /// kept). Returns the revision they were computed for and the complete list.
    pub async fn next_diagnostics(
        &mut self,
        path: &str,
    ) -> Result<(u64, Vec<DiagnosticItem>), ClientError> {
        let is_wanted = |event: &SessionEvent| matches!(event, SessionEvent::Host(Event::Diagnostics { path: about, .. }) if about == path);
        match self.next_event(is_wanted).await? {
            SessionEvent::Host(Event::Diagnostics {
                revision, items, ..
            }) => Ok((revision, items)),
            _ => Err(ClientError::Protocol),
        }
    }

    /// Reads the responses of `requests` up to the last of each, so none is left queued.
    async fn finish(&mut self, requests: &[RequestId]) -> Result<(), ClientError> {
        let mut open: Vec<RequestId> = requests.to_vec();
        // Every response of these requests is read (and dropped) until each one's last.
        while !open.is_empty() {
            let ours = |event: &SessionEvent| matches!(event, SessionEvent::Response { id, .. } if open.contains(id));
            if let SessionEvent::Response { id, done: true, .. } = self.next_event(ours).await?
                && let Some(at) = open.iter().position(|request| *request == id)
            {
                open.remove(at);
            }
        }
        Ok(())
    }
}
