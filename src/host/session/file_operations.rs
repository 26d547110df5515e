//! Members creating, renaming and deleting files and folders: the host checks the paths
//! (`Workspace::create`, `rename`, `delete`), asks its user nothing, and tells everyone,
//! so every file tree lists the change and open documents follow a rename.

use super::*;
use crate::host::workspace::{ChangeError, Kind};

impl HostSession {
    pub(super) async fn on_file_operation(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let reply = self.reply(from, id);
        if !self.role_of(from).is_some_and(Role::may_edit) {
            return reply
                .error("you are read-only in this session: the host did not let you change files")
                .await;
        }
        let asked: Vec<&String> = match &body {
            Request::CreatePath { path, .. } | Request::DeletePath { path } => vec![path],
            Request::MovePath { from, to } => vec![from, to],
            _ => Vec::new(),
        };
        if let Some(refusal) = asked.iter().find_map(|path| self.tools_refusal(from, path)) {
            return reply.error(refusal).await;
        }
        let name = self.name_of(from);
        let done = match body {
            Request::CreatePath {
                path,
                folder,
                content,
            } => self.create_path(&path, folder, &content, &name).await?,
            Request::MovePath { from: old, to } => self.move_path(&old, &to, &name).await?,
            Request::DeletePath { path } => self.delete_path(&path, &name).await?,
            other => {
                tracing::warn!("not a file operation: {other:?}");
                return Ok(());
            }
        };
        match done {
            Ok(message) => {
                tracing::info!(participant = from, "{message}");
                self.sender()
                    .send(Route::Everyone, &Message::Event(Event::FilesChanged))
                    .await?;
                let notice = Event::Notice {
                    message: message.clone(),
                };
                self.sender()
                    .send(Route::Everyone, &Message::Event(notice))
                    .await?;
                reply
                    .send(true, Response::Nothing { reason: message })
                    .await
            }
            Err(error) => reply.error(error.to_string()).await,
        }
    }

    /// Why `from` may not create, move or delete `path` because it (or a file under it)
    /// chooses the host's tools (as for edits, `edit_refusal`).
    fn tools_refusal(&self, from: ParticipantId, path: &str) -> Option<String> {
        if self.trust_project || Some(from) == self.owner {
            return None;
        }
        let path = crate::protocol::message::normal_path(path);
        let under = self.workspace.files_under(&path);
        std::iter::once(&path)
            .chain(&under)
            .find(|path| crate::host::lsp::configures_tools(path))
            .map(|path| {
                format!(
                    "{path} chooses which programs the host's tools run: only the host can create, move or delete it \
                     (unless the host trusts the project, with --trust-project)"
                )
            })
    }

    async fn create_path(
        &mut self,
        path: &str,
        folder: bool,
        content: &str,
        name: &str,
    ) -> anyhow::Result<Result<String, ChangeError>> {
        if let Err(error) = self.workspace.create(path, folder, content) {
            return Ok(Err(error));
        }
        let path = crate::protocol::message::normal_path(path);
        let what = if folder { "folder" } else { "file" };
        Ok(Ok(format!("{name} created the {what} {path}")))
    }

    async fn move_path(
        &mut self,
        from: &str,
        to: &str,
        name: &str,
    ) -> anyhow::Result<Result<String, ChangeError>> {
        let (from, to, _) = match self.workspace.rename(from, to) {
            Ok(moved) => moved,
            Err(error) => return Ok(Err(error)),
        };
        for (old, new) in self.documents.rename(&from, &to) {
            for participant in self.participants.values_mut() {
                if participant.open.remove(&old) {
                    participant.open.insert(new.clone());
                }
                if participant.viewing.as_deref() == Some(old.as_str()) {
                    participant.viewing = Some(new.clone());
                }
            }
            // Language servers know a document by its path: closed under the old one,
            // opened under the new one with its text now.
            if let Err(e) = self.intel.document_closed(&old) {
                tracing::debug!("language server not told of the rename: {e}");
            }
            if let Some((revision, rope)) = self.documents.text(&new).map(|(r, t)| (r, t.clone())) {
                self.language_servers_open(&new, revision, &rope).await;
            }
            self.renamed.insert(old, new);
        }
        self.publish_people();
        let event = Event::FileRenamed {
            from: from.clone(),
            to: to.clone(),
        };
        self.sender()
            .send(Route::Everyone, &Message::Event(event))
            .await?;
        Ok(Ok(format!("{name} renamed {from} to {to}")))
    }

    async fn delete_path(
        &mut self,
        path: &str,
        name: &str,
    ) -> anyhow::Result<Result<String, ChangeError>> {
        let (path, kind) = match self.workspace.delete(path) {
            Ok(deleted) => deleted,
            Err(error) => return Ok(Err(error)),
        };
        let gone = self.documents.disk_gone(&path);
        self.announce_unsaved(gone.iter().map(String::as_str))
            .await?;
        let event = Event::FileDeleted { path: path.clone() };
        self.sender()
            .send(Route::Everyone, &Message::Event(event))
            .await?;
        let what = match kind {
            Kind::File => "file",
            Kind::Folder => "folder",
        };
        Ok(Ok(format!("{name} deleted the {what} {path}")))
    }
}
