//! Changing the shared folder as a participant: replace across the workspace, and
//! creating, renaming and deleting files and folders. The headless commands and the TUI
//! share these requests.

use super::{ClientError, Participant};
use crate::client::request::{FileOperation, Replace, ReplaceProgress};
use crate::protocol::message::Request;
use crate::protocol::search::{ReplaceHit, ReplaceRequest, ReplaceSummary};

impl Participant {
    /// Replaces across the shared files (or, with `dry_run`, lists what would change).
    /// Returns every change, sorted by (path, line, column), and how it ended.
    pub async fn replace(
        &mut self,
        request: ReplaceRequest,
    ) -> Result<(Vec<ReplaceHit>, ReplaceSummary), ClientError> {
        let id = self.send(Replace(request)).await?;
        let mut hits = Vec::new();
        loop {
            match self.next_answer::<Replace>(id).await? {
                (ReplaceProgress::Changes(batch), false) => hits.extend(batch),
                (ReplaceProgress::Done(summary), true) => {
                    hits.sort();
                    return Ok((hits, summary));
                }
                _ => return Err(ClientError::Protocol),
            }
        }
    }

    /// Creates a file holding `content`, or a folder; returns the host's sentence.
    pub async fn create_path(
        &mut self,
        path: &str,
        folder: bool,
        content: &str,
    ) -> Result<String, ClientError> {
        self.request(FileOperation(Request::CreatePath {
            path: path.to_owned(),
            folder,
            content: content.to_owned(),
        }))
        .await
    }

    /// Renames or moves a file or folder; returns the host's sentence.
    pub async fn move_path(&mut self, from: &str, to: &str) -> Result<String, ClientError> {
        self.request(FileOperation(Request::MovePath {
            from: from.to_owned(),
            to: to.to_owned(),
        }))
        .await
    }

    /// Deletes a file or folder; returns the host's sentence.
    pub async fn delete_path(&mut self, path: &str) -> Result<String, ClientError> {
        self.request(FileOperation(Request::DeletePath {
            path: path.to_owned(),
        }))
        .await
    }
}
