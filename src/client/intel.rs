//! Asking the host about code: search, hover, peek, definition, references, completion,
//! and the diagnostics it pushes. The headless commands and the TUI share these.

use std::ops::ControlFlow;

use super::{ClientError, Participant};
use crate::channel::Incoming;
use crate::protocol::message::{
    Completion, DiagnosticItem, Event, Message, PeekView, ReferenceHit, Request, Response,
    SearchHit, SearchRequest, TextLocation, TextPosition,
};

/// How a search ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchSummary {
    pub matches: u64,
    pub files_searched: u64,
    /// The host stopped at `limit` matches; more exist.
    pub truncated: bool,
    /// The most matches the host was asked for.
    pub limit: u32,
    /// The caller stopped the search before the host finished it.
    pub cancelled: bool,
}

impl SearchSummary {
    /// What to tell the user about results left out, if any.
    pub fn notice(&self) -> Option<String> {
        self.truncated.then(|| {
            format!(
                "search stopped after {} matches; narrow it with a glob or a more specific pattern",
                thousands(self.matches)
            )
        })
    }
}

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
        query: SearchRequest,
        mut on_batch: impl FnMut(Vec<SearchHit>) -> ControlFlow<()>,
    ) -> Result<SearchSummary, ClientError> {
        let limit = query.max_matches;
        let id = self.send_request(Request::Search(query)).await?;
        let mut delivered = 0u64;
        loop {
            match self.next_response(id).await? {
                (Response::SearchResults(hits), false) => {
                    delivered += hits.len() as u64;
                    if on_batch(hits).is_break() {
                        let cancel = self.send_request(Request::CancelSearch { id }).await?;
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
                    Response::SearchDone {
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
                (Response::Error { message }, _) => return Err(ClientError::Host(message)),
                _ => return Err(ClientError::Protocol),
            }
        }
    }

    pub async fn hover(&mut self, at: TextPosition) -> Result<Option<HoverText>, ClientError> {
        match self.ask(Request::Hover(at)).await? {
            Response::Hover {
                markdown,
                syntactic,
            } => Ok(Some(HoverText {
                markdown,
                syntactic,
            })),
            Response::Nothing { .. } => Ok(None),
            _ => Err(ClientError::Protocol),
        }
    }

    pub async fn peek(&mut self, at: TextPosition) -> Result<Peeked, ClientError> {
        match self.ask(Request::Peek(at)).await? {
            Response::Peek { views, syntactic } => Ok(Peeked { views, syntactic }),
            Response::Nothing { .. } => Ok(Peeked::default()),
            _ => Err(ClientError::Protocol),
        }
    }

    pub async fn definition(&mut self, at: TextPosition) -> Result<Definitions, ClientError> {
        match self.ask(Request::Definition(at)).await? {
            Response::Locations {
                locations,
                syntactic,
            } => Ok(Definitions {
                locations,
                syntactic,
            }),
            Response::Nothing { .. } => Ok(Definitions::default()),
            _ => Err(ClientError::Protocol),
        }
    }

    /// Every use of the symbol at `at`, its declaration included, sorted by place.
    pub async fn references(&mut self, at: TextPosition) -> Result<Vec<ReferenceHit>, ClientError> {
        match self.ask(Request::References(at)).await? {
            Response::References(hits) => Ok(hits),
            Response::Nothing { .. } => Ok(Vec::new()),
            _ => Err(ClientError::Protocol),
        }
    }

    pub async fn completion(&mut self, at: TextPosition) -> Result<Vec<Completion>, ClientError> {
        match self.ask(Request::Completion(at)).await? {
            Response::Completions(items) => Ok(items),
            Response::Nothing { .. } => Ok(Vec::new()),
            _ => Err(ClientError::Protocol),
        }
    }

    /// Waits for the host's next diagnostics for `path` (messages for others stay queued).
    /// Returns the revision they were computed for and the complete list.
    pub async fn next_diagnostics(
        &mut self,
        path: &str,
    ) -> Result<(u64, Vec<DiagnosticItem>), ClientError> {
        let is_wanted = |incoming: &Incoming| {
            matches!(incoming, Incoming::Message {
                message: Message::Event(Event::Diagnostics { path: about, .. }),
                ..
            } if about == path)
        };
        let found = self.next_matching(is_wanted).await?;
        match found {
            Incoming::Message {
                message:
                    Message::Event(Event::Diagnostics {
                        revision, items, ..
                    }),
                ..
            } => Ok((revision, items)),
            _ => Err(ClientError::Protocol),
        }
    }

    /// One request with one answer; the host's error becomes `ClientError::Host`.
    async fn ask(&mut self, body: Request) -> Result<Response, ClientError> {
        let id = self.send_request(body).await?;
        match self.next_response(id).await? {
            (Response::Error { message }, _) => Err(ClientError::Host(message)),
            (answer, true) => Ok(answer),
            (_, false) => Err(ClientError::Protocol),
        }
    }

    /// Reads the responses of `requests` up to the last of each, so none is left queued.
    async fn finish(&mut self, requests: &[u64]) -> Result<(), ClientError> {
        let mut open: Vec<u64> = requests.to_vec();
        let is_last_of = |incoming: &Incoming, open: &[u64]| match incoming {
            Incoming::Message {
                message: Message::Response { id, done: true, .. },
                ..
            } => open.iter().position(|request| request == id),
            _ => None,
        };
        // Every response of these requests is read (and dropped) until each one's last.
        while !open.is_empty() {
            let ours = |incoming: &Incoming| matches!(incoming, Incoming::Message { message: Message::Response { id, .. }, .. } if open.contains(id));
            if let Some(at) = is_last_of(&self.next_matching(ours).await?, &open) {
                open.remove(at);
            }
        }
        Ok(())
    }
}

/// 10000 as "10,000".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_notice_reads_like_the_issue_says() {
        let summary = SearchSummary {
            matches: 10_000,
            files_searched: 12,
            truncated: true,
            limit: 10_000,
            cancelled: false,
        };
        assert_eq!(
            summary.notice().as_deref(),
            Some(
                "search stopped after 10,000 matches; narrow it with a glob or a more specific pattern"
            )
        );
        assert_eq!(
            SearchSummary {
                truncated: false,
                ..summary
            }
            .notice(),
            None
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
