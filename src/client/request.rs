//! Requests bound to their answers, as zed's typed RPC binds them: each request type
//! names what one of the host's answers to it becomes, so an answer of the wrong kind is
//! refused in one place (`HostRequest::answer`) and every caller gets a typed value. The
//! bytes on the wire stay `protocol::message::Request` and `Response`; docs/PROTOCOL.md
//! lists the pairs.
//!
//! Documents (open, close, catch up, save) are not here: `Session` owns those requests,
//! since their answers change its state.

use crate::client::ClientError;
use crate::client::intel::{Definitions, HoverText, Peeked};
use crate::protocol::language::{CodeActionItem, EditSummary, RenameRequest, SymbolItem};
use crate::protocol::message::{
    Completion, FileEntry, ReferenceHit, Request, RequestId, Response, TextPosition, TextRange,
};
use crate::protocol::search::{ReplaceHit, ReplaceRequest, ReplaceSummary, SearchHit, SearchQuery};

/// A request to the host and what each of its answers becomes.
pub trait HostRequest {
    /// What one answer (one `Response` message) becomes.
    type Answer;
    /// The request as sent.
    fn into_request(self) -> Request;
    /// One answer, other than the host's error (that is `ClientError::Host` for every
    /// request, see [`answer`]); an answer of another kind is `ClientError::Protocol`.
    fn answer(response: Response) -> Result<Self::Answer, ClientError>;
}

/// The host's response to a request of type `R`, typed; its error is `ClientError::Host`.
pub fn answer<R: HostRequest>(response: Response) -> Result<R::Answer, ClientError> {
    match response {
        Response::Error { message } => Err(ClientError::Host(message)),
        other => R::answer(other),
    }
}

/// Every shared file, in batches (the last one `done`).
pub struct ListFiles;

impl HostRequest for ListFiles {
    type Answer = Vec<FileEntry>;
    fn into_request(self) -> Request {
        Request::ListFiles
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Files(batch) => Ok(batch),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// Up to `len` bytes of a file from `offset`: its shared text, or with `saved` its bytes
/// on the host's disk.
pub struct ReadFile {
    pub path: String,
    pub offset: u64,
    pub len: u32,
    pub saved: bool,
}

/// A piece of a file.
pub struct FileChunk {
    pub offset: u64,
    /// The whole file's length.
    pub total: u64,
    pub data: Vec<u8>,
}

impl HostRequest for ReadFile {
    type Answer = FileChunk;
    fn into_request(self) -> Request {
        Request::ReadFile {
            path: self.path,
            offset: self.offset,
            len: self.len,
            saved: self.saved,
        }
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::FileChunk {
                offset,
                total,
                data,
            } => Ok(FileChunk {
                offset,
                total,
                data,
            }),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// A workspace search: batches of matches, then how it ended (the `done` answer).
pub struct Search(pub SearchQuery);

pub enum SearchProgress {
    Hits(Vec<SearchHit>),
    Done {
        matches: u64,
        files_searched: u64,
        truncated: bool,
    },
}

impl HostRequest for Search {
    type Answer = SearchProgress;
    fn into_request(self) -> Request {
        Request::Search(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::SearchResults(hits) => Ok(SearchProgress::Hits(hits)),
            Response::SearchDone {
                matches,
                files_searched,
                truncated,
            } => Ok(SearchProgress::Done {
                matches,
                files_searched,
                truncated,
            }),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// Stops the search started by request `id`; the host answers whether it was running.
pub struct CancelSearch(pub RequestId);

impl HostRequest for CancelSearch {
    type Answer = ();
    fn into_request(self) -> Request {
        Request::CancelSearch { id: self.0 }
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Nothing { .. } => Ok(()),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// A workspace replace: batches of changes, then how it ended (the `done` answer).
pub struct Replace(pub ReplaceRequest);

pub enum ReplaceProgress {
    Changes(Vec<ReplaceHit>),
    Done(ReplaceSummary),
}

impl HostRequest for Replace {
    type Answer = ReplaceProgress;
    fn into_request(self) -> Request {
        Request::Replace(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Replaced(hits) => Ok(ReplaceProgress::Changes(hits)),
            Response::ReplaceDone(summary) => Ok(ReplaceProgress::Done(summary)),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// A file operation (`Request::CreatePath`, `MovePath`, `DeletePath`): the host's
/// sentence saying what it did.
pub struct FileOperation(pub Request);

impl HostRequest for FileOperation {
    type Answer = String;
    fn into_request(self) -> Request {
        self.0
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Nothing { reason } => Ok(reason),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// The host's round trip: answered at once.
pub struct Ping;

impl HostRequest for Ping {
    type Answer = ();
    fn into_request(self) -> Request {
        Request::Ping
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Pong => Ok(()),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// The documentation of the symbol at a place, if there is any.
pub struct Hover(pub TextPosition);

impl HostRequest for Hover {
    type Answer = Option<HoverText>;
    fn into_request(self) -> Request {
        Request::Hover(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
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
}

/// The definitions of the symbol at a place, with the lines around each.
pub struct Peek(pub TextPosition);

impl HostRequest for Peek {
    type Answer = Peeked;
    fn into_request(self) -> Request {
        Request::Peek(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Peek { views, syntactic } => Ok(Peeked { views, syntactic }),
            Response::Nothing { .. } => Ok(Peeked::default()),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// Where the symbol at a place is defined.
pub struct Definition(pub TextPosition);

impl HostRequest for Definition {
    type Answer = Definitions;
    fn into_request(self) -> Request {
        Request::Definition(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
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
}

/// Every use of the symbol at a place, its declaration included.
pub struct References(pub TextPosition);

impl HostRequest for References {
    type Answer = Vec<ReferenceHit>;
    fn into_request(self) -> Request {
        Request::References(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::References(hits) => Ok(hits),
            Response::Nothing { .. } => Ok(Vec::new()),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// What may be typed at a place.
pub struct Complete(pub TextPosition);

impl HostRequest for Complete {
    type Answer = Vec<Completion>;
    fn into_request(self) -> Request {
        Request::Completion(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Completions(items) => Ok(items),
            Response::Nothing { .. } => Ok(Vec::new()),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// Whether the symbol at a place can be renamed: its range and current name, or `None`
/// when the server does not say (it may still rename).
pub struct PrepareRename(pub TextPosition);

impl HostRequest for PrepareRename {
    type Answer = Option<(TextRange, String)>;
    fn into_request(self) -> Request {
        Request::PrepareRename(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::RenameTarget { range, placeholder } => Ok(Some((range, placeholder))),
            Response::Nothing { .. } => Ok(None),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// Renames a symbol through the host's language server, as shared edits.
pub struct Rename(pub RenameRequest);

impl HostRequest for Rename {
    type Answer = EditSummary;
    fn into_request(self) -> Request {
        Request::Rename(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        language_edited(response)
    }
}

/// Formats a document with its language server, as one shared edit.
pub struct Format {
    pub path: String,
    pub save: bool,
}

impl HostRequest for Format {
    type Answer = EditSummary;
    fn into_request(self) -> Request {
        Request::Format {
            path: self.path,
            save: self.save,
        }
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        language_edited(response)
    }
}

/// Formats the lines of a range with the document's language server, as one shared edit.
pub struct FormatRange(pub crate::protocol::language::FormatRangeRequest);

impl HostRequest for FormatRange {
    type Answer = EditSummary;
    fn into_request(self) -> Request {
        Request::FormatRange(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        language_edited(response)
    }
}

/// The server's code actions at a place, fixes first.
pub struct CodeActions(pub TextPosition);

impl HostRequest for CodeActions {
    type Answer = Vec<CodeActionItem>;
    fn into_request(self) -> Request {
        Request::CodeActions(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::CodeActions(actions) => Ok(actions),
            Response::Nothing { .. } => Ok(Vec::new()),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// The server's code actions for the whole line of a place (the lightbulb's question).
pub struct LineActions(pub TextPosition);

impl HostRequest for LineActions {
    type Answer = Vec<CodeActionItem>;
    fn into_request(self) -> Request {
        Request::LineActions(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        CodeActions::answer(response)
    }
}

/// Applies one of the code actions, as shared edits.
pub struct ApplyCodeAction(pub crate::protocol::language::ApplyCodeAction);

impl HostRequest for ApplyCodeAction {
    type Answer = EditSummary;
    fn into_request(self) -> Request {
        Request::ApplyCodeAction(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        language_edited(response)
    }
}

/// A document's outline (`path`), or the workspace's symbols matching `query`.
pub struct Symbols {
    pub path: Option<String>,
    pub query: String,
}

impl HostRequest for Symbols {
    type Answer = Vec<SymbolItem>;
    fn into_request(self) -> Request {
        Request::Symbols {
            path: self.path,
            query: self.query,
        }
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Symbols(symbols) => Ok(symbols),
            Response::Nothing { .. } => Ok(Vec::new()),
            _ => Err(ClientError::Protocol),
        }
    }
}

fn language_edited(response: Response) -> Result<EditSummary, ClientError> {
    match response {
        Response::LanguageEdited(summary) => Ok(summary),
        _ => Err(ClientError::Protocol),
    }
}

/// The host's branch and changed shared files, in batches (the last one `done`); `None`
/// when the shared folder is not in a git repository.
pub struct GitStatus;

impl HostRequest for GitStatus {
    type Answer = Option<crate::protocol::git::GitStatus>;
    fn into_request(self) -> Request {
        Request::GitStatus
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::GitStatus(status) => Ok(Some(status)),
            Response::Nothing { .. } => Ok(None),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// A shared file's text in the host's git index and HEAD; `None` outside a repository
/// or for a file too large to compare.
pub struct GitBase {
    pub path: String,
}

impl HostRequest for GitBase {
    type Answer = Option<crate::protocol::git::GitBase>;
    fn into_request(self) -> Request {
        Request::GitBase { path: self.path }
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::GitBase(base) => Ok(Some(base)),
            Response::Nothing { .. } => Ok(None),
            _ => Err(ClientError::Protocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::LineCol;

    fn at() -> TextPosition {
        TextPosition {
            path: "a.rs".into(),
            revision: 0,
            position: LineCol { line: 0, col: 0 },
        }
    }

    #[test]
    fn an_answer_of_another_kind_is_a_protocol_error() {
        assert!(matches!(
            answer::<Hover>(Response::Pong),
            Err(ClientError::Protocol)
        ));
        assert!(matches!(
            answer::<ListFiles>(Response::References(Vec::new())),
            Err(ClientError::Protocol)
        ));
    }

    #[test]
    fn the_hosts_error_is_for_the_user_and_nothing_is_empty() {
        let error = answer::<References>(Response::Error {
            message: "no such file".into(),
        });
        assert!(matches!(error, Err(ClientError::Host(m)) if m == "no such file"));
        let nothing = || Response::Nothing {
            reason: "none".into(),
        };
        assert!(answer::<References>(nothing()).unwrap().is_empty());
        assert!(answer::<Hover>(nothing()).unwrap().is_none());
        assert_eq!(Peek(at()).into_request(), Request::Peek(at()));
    }
}
