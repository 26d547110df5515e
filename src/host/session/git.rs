//! Members' questions about the host's git repository (`host::git`): the branch and the
//! changed shared files, and a shared file's text in the index and HEAD. Answered on a
//! blocking task so the loop never waits for libgit2; a hidden file's base is refused and
//! a hidden or ignored file is never listed. When the repository moves on disk (a
//! commit, a checkout, staging), everyone hears `Event::GitChanged`.

use super::*;
use crate::protocol::git::GitStatus;

/// Changed files per `GitStatus` answer, so a large status fits its frames.
const CHANGES_PER_RESPONSE: usize = 2_000;

/// The index and HEAD texts together must fit one frame with room to spare.
const MAX_BASE_BYTES: usize = crate::protocol::MAX_EDIT_BYTES - 4 * 1024;

impl HostSession {
    pub(super) async fn on_git_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let reply = self.reply(from, id);
        let Some(repository) = self.git.clone() else {
            let reason = "the shared folder is not in a git repository".to_owned();
            return reply.send(true, Response::Nothing { reason }).await;
        };
        let guard = match self
            .participants
            .get(&from)
            .map(|p| p.in_flight.start(false))
        {
            Some(Ok(guard)) => Some(guard),
            Some(Err(message)) => return reply.error(message).await,
            None => None,
        };
        match body {
            Request::GitBase { path } => {
                let path = crate::protocol::message::normal_path(&path);
                // The same words as any refused read: hidden and missing look alike.
                if !self.workspace.is_visible(&path) {
                    return reply
                        .error(format!("{path} is not shared by the host"))
                        .await;
                }
                tokio::spawn(async move {
                    let answer = tokio::task::spawn_blocking(move || repository.base(&path)).await;
                    let body = match answer {
                        Ok(Ok(base)) if base_size(&base) > MAX_BASE_BYTES => Response::Nothing {
                            reason: "the file is too large to compare with git".into(),
                        },
                        Ok(Ok(base)) => Response::GitBase(base),
                        Ok(Err(error)) => Response::Error {
                            message: format!("git: {}", error.message()),
                        },
                        Err(_) => Response::Error {
                            message: "git: reading the repository failed".into(),
                        },
                    };
                    let _ = reply.send(true, body).await;
                    drop(guard);
                });
            }
            Request::GitStatus => {
                let workspace = self.workspace.clone();
                tokio::spawn(async move {
                    let answer = tokio::task::spawn_blocking(move || {
                        repository.status(|path, deleted| {
                            workspace.is_visible(path) || (deleted && workspace.could_share(path))
                        })
                    })
                    .await;
                    let _ = match answer {
                        Ok(Ok(status)) => send_status(&reply, status).await,
                        Ok(Err(error)) => reply.error(format!("git: {}", error.message())).await,
                        Err(_) => reply.error("git: reading the repository failed").await,
                    };
                    drop(guard);
                });
            }
            other => tracing::debug!("not a git request: {other:?}"),
        }
        Ok(())
    }

    /// Files changed on disk: if the repository moved, everyone asks again.
    pub(super) async fn tell_if_repository_moved(
        &self,
        changed: &std::collections::BTreeSet<PathBuf>,
    ) -> anyhow::Result<()> {
        let Some(repository) = &self.git else {
            return Ok(());
        };
        if changed
            .iter()
            .any(|path| repository.is_repository_change(path))
        {
            self.sender()
                .send(Route::Everyone, &Message::Event(Event::GitChanged))
                .await?;
        }
        Ok(())
    }
}

fn base_size(base: &crate::protocol::git::GitBase) -> usize {
    base.index.as_ref().map_or(0, String::len) + base.head.as_ref().map_or(0, String::len)
}

/// The status in batches; each carries the branch.
async fn send_status(reply: &Reply, status: GitStatus) -> anyhow::Result<()> {
    if status.changes.is_empty() {
        return reply.send(true, Response::GitStatus(status)).await;
    }
    let mut batches = status.changes.chunks(CHANGES_PER_RESPONSE).peekable();
    while let Some(batch) = batches.next() {
        let body = Response::GitStatus(GitStatus {
            branch: status.branch.clone(),
            changes: batch.to_vec(),
        });
        reply.send(batches.peek().is_none(), body).await?;
    }
    Ok(())
}
