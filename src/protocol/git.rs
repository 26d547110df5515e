//! The host's git repository as members see it (issue 14, item 7): the branch, which
//! shared files changed, and a file's text as the index and HEAD hold it. Members diff
//! those against the live shared text themselves, so the gutter follows everyone's
//! unsaved typing without asking the host again.

use serde::{Deserialize, Serialize};

/// One changed shared file, as `git status --porcelain` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitChange {
    /// Relative to the shared folder, with '/' separators.
    pub path: String,
    /// Porcelain's two letters: the index against HEAD, then the working tree against
    /// the index (`" M"`, `"M "`, `"A "`, `"??"`, `" D"`, `"UU"`, …).
    pub status: String,
}

/// The answer to `Request::GitStatus`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitStatus {
    /// The current branch (`main`), `HEAD detached at 1a2b3c4`, or none outside a repository.
    pub branch: Option<String>,
    /// Changed shared files, sorted by path (hidden and ignored files never appear).
    pub changes: Vec<GitChange>,
}

/// The answer to `Request::GitBase`: what a shared file holds in the index and in HEAD.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitBase {
    /// The staged text; none when the file is not in the index (untracked) or not text.
    pub index: Option<String>,
    /// The committed text; none when HEAD has no such file (or no commit yet), or when
    /// `head_is_index` (then it is `index`, not sent twice).
    pub head: Option<String>,
    pub head_is_index: bool,
}

impl GitBase {
    /// HEAD's text, wherever it travelled.
    pub fn head_text(&self) -> Option<&str> {
        if self.head_is_index {
            self.index.as_deref()
        } else {
            self.head.as_deref()
        }
    }
}
