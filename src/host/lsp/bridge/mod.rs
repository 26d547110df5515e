//! `LspBridge`: the one object the host talks to. It keeps the open documents' text (so
//! positions can be converted and peeks read), starts servers lazily per language,
//! restarts a crashed one on the next request, and turns answers into cotype's types.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};

use ropey::Rope;
use tokio::sync::{Mutex, broadcast};

use super::config::{LspConfig, ServerCommand};
use super::convert::{Place, Root};
use super::server::Server;
use super::{Diagnostics, LspError};

mod commands;
mod diagnostics;
mod edits;
mod fallback;
mod hints;
mod requests;
mod semantic;
mod servers;
mod symbols;
mod sync;

pub use requests::hover_markdown;

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
    /// Each file's last published diagnostics as the server sent them.
    last_diagnostics: StdMutex<HashMap<String, Vec<lsp_types::Diagnostic>>>,
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
                    last_diagnostics: StdMutex::default(),
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
}

fn read_text(path: &Path) -> Option<Rope> {
    let file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() > MAX_READ_BYTES {
        return None;
    }
    Rope::from_reader(std::io::BufReader::new(file)).ok()
}

#[cfg(test)]
mod tests;
