//! The encrypted message catalog: what members say to each other inside sealed frames.
//!
//! Encoded with postcard (compact, schema in these types). New variants go at the end of
//! each enum so that the encoding of existing ones never changes within a protocol version.

use serde::{Deserialize, Serialize};

use super::ParticipantId;
use super::git::{GitBase, GitStatus};
use super::header::Kind;
use super::hints::{InlayHintsAnswer, SignatureAnswer};
use super::language::{
    ApplyCodeAction, CodeActionItem, EditSummary, FormatRangeRequest, RenameRequest, SymbolItem,
};
use super::search::{ReplaceHit, ReplaceRequest, ReplaceSummary, SearchHit, SearchQuery};
use super::semantic::SemanticTokensAnswer;
use crate::text::{EditId, LineCol, RemoteEdit, Submission};

pub type RequestId = u64;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// First frame of a participant, to the host: who it is.
    Hello(Hello),
    /// The host's answer to a hello, once the participant is admitted.
    Welcome(Welcome),
    Request {
        id: RequestId,
        body: Request,
    },
    /// One or more responses per request; the last one has `done` set.
    Response {
        id: RequestId,
        done: bool,
        body: Response,
    },
    Event(Event),
    Edit(EditMessage),
    Presence(Presence),
    /// From the host to one member after a removal: the next epoch's secret, wrapped
    /// for that member's X25519 key (see `rekey`).
    KeyUpdate(KeyUpdate),
    /// Shared terminals running on the host (see `TerminalMessage`). Last, so the
    /// variants before it keep their numbers.
    Terminal(TerminalMessage),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUpdate {
    pub epoch: u32,
    pub wrapped: crate::rekey::WrappedSecret,
}

impl Message {
    /// The coarse kind the relay sees for this message.
    pub fn kind(&self) -> Kind {
        match self {
            Message::Hello(_) => Kind::Hello,
            Message::Welcome(_) => Kind::Event,
            Message::Request { .. } => Kind::Request,
            Message::Response { .. } => Kind::Response,
            Message::Event(_) => Kind::Event,
            Message::Edit(_) => Kind::Edit,
            Message::Presence(_) => Kind::Presence,
            Message::KeyUpdate(_) => Kind::KeyUpdate,
            Message::Terminal(terminal) if terminal.from_member() => Kind::Request,
            Message::Terminal(_) => Kind::Event,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub name: String,
    /// The participant's X25519 public key, for the host to wrap new epoch secrets to.
    pub public_key: [u8; 32],
    pub client_version: String,
    /// Only the host's own user sends one: `OwnerKey::proof` for this connection's id.
    pub owner_proof: Option<[u8; 32]>,
    /// After a dropped connection: who we were, to get our place (our role) back.
    pub rejoin: Option<Rejoin>,
}

/// A claim to be a member whose connection dropped (`MemberKeyPair::rejoin_proof`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejoin {
    pub previous: ParticipantId,
    pub proof: [u8; 32],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Host,
    Editor,
    ReadOnly,
}

impl Role {
    /// Editors and the host's own user may change files; read-only members may not.
    pub fn may_edit(self) -> bool {
        matches!(self, Role::Host | Role::Editor)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub participant: ParticipantId,
    pub name: String,
    pub role: Role,
    /// Index into the palette, the same for everyone in the session.
    pub color: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub you: Member,
    pub members: Vec<Member>,
    /// The host's X25519 key: key updates are accepted only when wrapped with it.
    pub host_public_key: [u8; 32],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    ListFiles,
    /// Up to `len` bytes of a file from `offset`. Participants pull large files chunk by
    /// chunk, a few requests ahead, so no queue on the way ever holds a whole file.
    ReadFile {
        path: String,
        offset: u64,
        len: u32,
        /// The bytes saved on the host's disk; otherwise the shared text everyone sees
        /// (the same unless someone has unsaved edits).
        saved: bool,
    },
    /// Open a document for editing: answered by `DocumentLength`, then `DocumentText`
    /// pieces (the last has `done`), a few at a time as the member takes them
    /// (`DocumentTextTaken`); edits the host sequences meanwhile reach the member as
    /// broadcasts, to apply once the text is whole.
    OpenDocument {
        path: String,
    },
    CloseDocument {
        path: String,
    },
    /// Edits since `revision`, to catch up after a reconnect: `Edits`, or an error
    /// telling the member to open the document again.
    CatchUp {
        path: String,
        revision: u64,
    },
    /// Write the document to disk on the host.
    Save {
        path: String,
    },
    /// Workspace search; answered by `SearchResults` batches and a final `SearchDone`.
    Search(SearchQuery),
    /// Stop the search started by request `id`.
    CancelSearch {
        id: RequestId,
    },
    Hover(TextPosition),
    Peek(TextPosition),
    Definition(TextPosition),
    References(TextPosition),
    Completion(TextPosition),
    /// Answered at once with `Pong`: the asker times the round trip to the host.
    Ping,
    /// Replace across the shared files: answered by `Replaced` batches (every change, made
    /// or, in a dry run, to be made) and a final `ReplaceDone`. The host applies the
    /// changes as its own edits, through the same sequencing as typing.
    Replace(ReplaceRequest),
    /// Create a file (with `content`) or a folder; its parent folders as needed. Answered
    /// by `Nothing` (a sentence saying what was done) or `Error`.
    CreatePath {
        path: String,
        folder: bool,
        content: String,
    },
    /// Rename or move a file or a folder; `to` must not exist.
    MovePath {
        from: String,
        to: String,
    },
    /// Delete a file or a folder (a folder only if the host shares everything in it).
    DeletePath {
        path: String,
    },
    /// The member took a `DocumentText` piece of the document its request `open` opened:
    /// the host sends the next piece, as an answer to `open` (this request has no answer
    /// of its own). The host keeps a few pieces ahead of the last one taken.
    DocumentTextTaken {
        open: RequestId,
    },
    /// Whether the symbol at a place can be renamed: `RenameTarget` (its range and
    /// name), `Nothing` when the server does not say, or `Error` when it cannot.
    PrepareRename(TextPosition),
    /// Rename a symbol through the host's language server: the host applies its edits to
    /// every file they touch as shared edits and answers `LanguageEdited`. Refused whole
    /// if they touch a file the host does not share.
    Rename(RenameRequest),
    /// Format a document with its language server, applied as one shared edit.
    Format {
        path: String,
        save: bool,
    },
    /// Format the lines of a range, as `Format` does the whole document.
    FormatRange(FormatRangeRequest),
    /// The server's code actions at a place: `CodeActions`, fixes first.
    CodeActions(TextPosition),
    /// The server's code actions for the whole line of a place: `CodeActions`. The
    /// lightbulb asks it when the cursor rests on a line.
    LineActions(TextPosition),
    /// Apply one of them: `LanguageEdited`.
    ApplyCodeAction(ApplyCodeAction),
    /// With `path`: that document's outline; without: the workspace's symbols matching
    /// `query`. Answered by `Symbols`.
    Symbols {
        path: Option<String>,
        query: String,
    },
    /// The host's branch and its changed shared files: `GitStatus` batches (the last one
    /// `done`), or `Nothing` when the folder is not in a git repository.
    GitStatus,
    /// A shared file's text in the git index and in HEAD: `GitBase`, `Nothing` outside a
    /// repository or for a file too large to send whole. Refused for hidden files.
    GitBase {
        path: String,
    },
    /// The signatures of the call being typed at a place: `Signatures`, or `Nothing`
    /// outside a call.
    SignatureHelp(TextPosition),
    /// The inlay hints of `hints::INLAY_HINT_LINES` lines from `at`'s line: `InlayHints`.
    InlayHints(TextPosition),
    /// The whole document's semantic tokens (`at` names the document and revision):
    /// `SemanticTokens`.
    SemanticTokens(TextPosition),
}

/// About how many bytes an edit of `path` takes in an `Applied` broadcast, at most: the
/// path, the revision, author and typist (varints and a 16-byte tag), and the operation.
pub fn applied_size(path: &str, op: &crate::text::Operation) -> usize {
    path.len() + 64 + op.encoded_size()
}

/// A shared file's path in the one form documents are known by (`src/main.rs`): without
/// `.` parts or empty ones. The host keeps one document per file and refuses a path in any
/// other form, so `./notes.txt` can never become a second copy of `notes.txt`; clients
/// turn what a person typed into this form before asking.
pub fn normal_path(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The revision of a `TextPosition` asked about the text as it is now on the host, by
/// someone who has no copy of it open (the headless commands).
pub const CURRENT_TEXT: u64 = u64::MAX;

/// A place in a document, at the revision the asker was looking at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextPosition {
    pub path: String,
    pub revision: u64,
    /// 0-based line and column in chars.
    pub position: LineCol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextRange {
    pub start: LineCol,
    pub end: LineCol,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextLocation {
    pub path: String,
    pub range: TextRange,
    /// Outside the shared folder: `path` is only a file name, and nothing can be opened.
    pub external: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeekView {
    pub location: TextLocation,
    /// 0-based line number of `lines[0]`.
    pub first_line: u32,
    pub lines: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceHit {
    pub location: TextLocation,
    pub context_line: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub label: String,
    pub detail: Option<String>,
    pub insert_text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

/// What a language server adds about a diagnostic's text (LSP's `DiagnosticTag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiagnosticTag {
    /// Unused or inactive code (an unused import, a block `#[cfg]` leaves out): shown
    /// dimmed rather than underlined.
    Unnecessary,
    /// A use of something deprecated: shown struck through.
    Deprecated,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticItem {
    pub range: TextRange,
    pub severity: Severity,
    pub message: String,
    pub source: Option<String>,
    /// Last, so the fields before it keep their encoding.
    pub tags: Vec<DiagnosticTag>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative, with '/' separators.
    pub path: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Files(Vec<FileEntry>),
    FileChunk {
        offset: u64,
        total: u64,
        #[serde(with = "serde_bytes_vec")]
        data: Vec<u8>,
    },
    /// The request failed; `message` is meant for the person who asked.
    Error {
        message: String,
    },
    /// A piece of an opened document's text; pieces concatenate in order.
    DocumentText {
        revision: u64,
        text: String,
        read_only: bool,
    },
    Edits(Vec<RemoteEdit>),
    Saved {
        revision: u64,
    },
    SearchResults(Vec<SearchHit>),
    SearchDone {
        matches: u64,
        files_searched: u64,
        truncated: bool,
    },
    Hover {
        markdown: String,
        /// Answered from syntax alone (no language server for this file).
        syntactic: bool,
    },
    Peek {
        views: Vec<PeekView>,
        syntactic: bool,
    },
    Locations {
        locations: Vec<TextLocation>,
        syntactic: bool,
    },
    References(Vec<ReferenceHit>),
    Completions(Vec<Completion>),
    /// The request succeeded and there is nothing to say (e.g. no hover at that spot).
    Nothing {
        reason: String,
    },
    /// The answer to `Ping`.
    Pong,
    /// Before an opened document's `DocumentText` pieces: the length of the whole text in
    /// bytes, so the participant can show how much has arrived.
    DocumentLength {
        bytes: u64,
    },
    /// Changes of a `Replace`, in batches sorted by (path, line, column).
    Replaced(Vec<ReplaceHit>),
    ReplaceDone(ReplaceSummary),
    /// The answer to `PrepareRename`: the symbol's range and its current name.
    RenameTarget {
        range: TextRange,
        placeholder: String,
    },
    CodeActions(Vec<CodeActionItem>),
    /// A server's edits applied as shared edits (rename, format, code action).
    LanguageEdited(EditSummary),
    Symbols(Vec<SymbolItem>),
    GitStatus(GitStatus),
    GitBase(GitBase),
    Signatures(SignatureAnswer),
    InlayHints(InlayHintsAnswer),
    SemanticTokens(SemanticTokensAnswer),
}

/// Edits travel apart from requests: a participant submits to the host, the host
/// broadcasts the edits it sequenced to everyone who has the document open, authors
/// included (an author takes its own edit coming back as the acknowledgement).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditMessage {
    Submit {
        path: String,
        submission: Submission,
    },
    /// Sequenced edits in the host's order: everything it sequenced from the submissions
    /// that were waiting when it got to them. One under a light load; many under a heavy
    /// one, so a busy host sends fewer and fuller frames instead of falling behind.
    Applied { edits: Vec<AppliedEdit> },
    /// The host refused a submission (read-only member, document not open, out of sync).
    Refused {
        path: String,
        id: EditId,
        reason: String,
    },
    /// A resent submission that was applied before: here is the revision it got.
    Acknowledged {
        path: String,
        id: EditId,
        revision: u64,
    },
}

/// One edit the host sequenced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedEdit {
    pub path: String,
    pub edit: RemoteEdit,
    /// Who typed it (`HOST_ID` for a change made on the host's disk), so receivers move
    /// the typist's cursor past their own text at once instead of waiting for their next
    /// presence.
    pub by: ParticipantId,
}

/// Where someone is and what they have selected. Sent throttled to the sender's
/// followers (every change) and to everyone (at a lower rate) for the people panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Increases with every update, so a receiver drops stale ones.
    pub seq: u64,
    pub path: Option<String>,
    pub revision: u64,
    /// (anchor, head) char indices; the first is the primary selection.
    pub selections: Vec<(usize, usize)>,
    /// First visible line, so followers can scroll with their leader.
    pub scroll_line: usize,
    pub following: Option<ParticipantId>,
    /// The sender's last measured round trip in milliseconds: a participant's to the host
    /// through the relay, the host's to the relay.
    pub latency_ms: Option<u32>,
    /// The shared terminal the sender is looking at, if any (its followers show it too).
    /// Last, so the fields before it keep their encoding.
    pub terminal: Option<TerminalId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    MemberJoined(Member),
    MemberLeft {
        participant: ParticipantId,
    },
    /// Shown to the person concerned, e.g. why the host refused something.
    Notice {
        message: String,
    },
    RoleChanged {
        participant: ParticipantId,
        role: Role,
    },
    /// The host asks everyone to follow `leader`.
    FollowMe {
        leader: ParticipantId,
    },
    Saved {
        path: String,
        revision: u64,
        /// Who asked for the save.
        by: ParticipantId,
    },
    /// A file changed on the host's disk by another program (open documents receive the
    /// change as an ordinary edit as well).
    FileChanged {
        path: String,
    },
    /// `path` (a file, or a folder with everything in it) is gone from the host's disk: an
    /// open document of it keeps its text, and saving writes it again.
    FileDeleted {
        path: String,
    },
    /// A file or a folder (everything under `from/` too) was renamed or moved: open
    /// documents are known by their new path from now on.
    FileRenamed {
        from: String,
        to: String,
    },
    /// The shared file list changed (files created or removed).
    FilesChanged,
    Diagnostics {
        path: String,
        revision: u64,
        items: Vec<DiagnosticItem>,
    },
    /// To a joiner, from a host that asks its user before letting anyone in: the wait
    /// for the welcome is the host's user deciding. (Last, so older peers' variant
    /// numbers stay; an older client drops the frame it cannot decode.)
    AwaitingAdmission,
    /// Whether `path`'s shared text differs from the host's disk, as of `revision`: the one
    /// meaning of "unsaved" (`[+]`), the same for everyone. Sent when it changes, and to
    /// whoever opens a document that is unsaved.
    Unsaved {
        path: String,
        revision: u64,
        unsaved: bool,
    },
    /// The host's repository moved (a commit, a checkout, a file staged): ask again for
    /// the branch and for the git base of open documents.
    GitChanged,
}

/// A shared terminal's number, given by the host from 1 and never reused in a session.
pub type TerminalId = u32;

/// The most bytes of keystrokes in one `TerminalMessage::Input`.
pub const MAX_TERMINAL_INPUT: usize = 4 * 1024;

/// Shared terminals: a program in a PTY on the host, its screen kept by a terminal
/// emulator at the host and at every viewer. The host's frames are signed like all of
/// its frames, so no member can paint on others' screens; members only watch, type
/// (when the host lets them) and, for the host's own user, open, size and close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminalMessage {
    /// Host to everyone: a terminal exists (also sent to a joiner for each open one).
    Opened {
        id: TerminalId,
        name: String,
        cols: u16,
        rows: u16,
    },
    /// Host to each watcher: the program's output of one tick (about 16 ms), raw.
    Output {
        id: TerminalId,
        seq: u64,
        #[serde(with = "serde_bytes_vec")]
        bytes: Vec<u8>,
    },
    /// Host to each watcher: during a flood the raw output is not sent; these bytes redraw
    /// the current screen instead (alternate-screen switch and `state_formatted`).
    Resync {
        id: TerminalId,
        seq: u64,
        #[serde(with = "serde_bytes_vec")]
        state: Vec<u8>,
    },
    /// Host to each watcher: the PTY's size changed (the host user's pane decides it).
    Resized {
        id: TerminalId,
        seq: u64,
        cols: u16,
        rows: u16,
    },
    /// Host to everyone: who typed last in the terminal.
    Typing { id: TerminalId, by: ParticipantId },
    /// Host to everyone: who may type in terminals (the host's own user always may).
    Grants { writers: Vec<ParticipantId> },
    /// Host to everyone: the program ended.
    Closed {
        id: TerminalId,
        exit_code: Option<i32>,
    },
    /// Host to one watcher: a piece of the current screen and bounded scrollback, as
    /// bytes that recreate it in a fresh emulator of `cols` x `rows`; it includes every
    /// `Output` up to `seq`.
    Snapshot {
        id: TerminalId,
        seq: u64,
        cols: u16,
        rows: u16,
        last: bool,
        #[serde(with = "serde_bytes_vec")]
        bytes: Vec<u8>,
    },
    /// Host to one member: its keystrokes were not passed on.
    InputRefused { id: TerminalId, reason: String },
    /// Member to host: send me this terminal's screen (answered by `Snapshot`s) and from
    /// now on its output, until I leave.
    Watch { id: TerminalId },
    /// Member to host: keystrokes, at most `MAX_TERMINAL_INPUT` bytes.
    Input {
        id: TerminalId,
        #[serde(with = "serde_bytes_vec")]
        bytes: Vec<u8>,
    },
    /// The host's own user to host: start a terminal (`command` run by `sh -c`; none:
    /// the user's shell).
    Open {
        name: String,
        command: Option<String>,
    },
    /// The host's own user to host: its pane's size, which is the PTY's size.
    Resize {
        id: TerminalId,
        cols: u16,
        rows: u16,
    },
    /// The host's own user to host: end the program.
    Close { id: TerminalId },
    // Added after the others, so that their encoding stays as it was.
    /// Member to host: I have applied this terminal's frames up to `seq` (the host
    /// keeps a watcher's unacknowledged frames within a window, so a slow link never
    /// queues more terminal output than that ahead of an edit).
    Seen { id: TerminalId, seq: u64 },
    /// Host to one watcher that fell behind (its link carried less than the terminal
    /// wrote): the screen at `seq`, to apply whatever it missed, with the PTY's size.
    CatchUp {
        id: TerminalId,
        seq: u64,
        cols: u16,
        rows: u16,
        #[serde(with = "serde_bytes_vec")]
        state: Vec<u8>,
    },
}

impl TerminalMessage {
    /// Whether members send this one (to the host); the rest only the host sends.
    pub fn from_member(&self) -> bool {
        matches!(
            self,
            TerminalMessage::Watch { .. }
                | TerminalMessage::Seen { .. }
                | TerminalMessage::Input { .. }
                | TerminalMessage::Open { .. }
                | TerminalMessage::Resize { .. }
                | TerminalMessage::Close { .. }
        )
    }

    /// Its place in its terminal's numbered frames (`None` for the messages outside them).
    pub fn seq(&self) -> Option<u64> {
        match self {
            TerminalMessage::Output { seq, .. }
            | TerminalMessage::Resync { seq, .. }
            | TerminalMessage::Resized { seq, .. }
            | TerminalMessage::Snapshot { seq, .. }
            | TerminalMessage::CatchUp { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// The bytes of terminal output or screen it carries (0 for the rest).
    pub fn screen_bytes(&self) -> usize {
        match self {
            TerminalMessage::Output { bytes, .. } | TerminalMessage::Snapshot { bytes, .. } => {
                bytes.len()
            }
            TerminalMessage::Resync { state, .. } | TerminalMessage::CatchUp { state, .. } => {
                state.len()
            }
            _ => 0,
        }
    }
}

/// Byte vectors as one length-prefixed blob (postcard's default for `Vec<u8>` is the
/// same on the wire; this keeps the intent visible and the serializer on the fast path).
mod serde_bytes_vec {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}
