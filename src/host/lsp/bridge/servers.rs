//! The server processes: started lazily per language, restarted after a crash, a failed
//! start remembered, stopped on shutdown.

use std::sync::Arc;
use std::time::Instant;

use lsp_types::{DidOpenTextDocumentParams, PublishDiagnosticsParams, TextDocumentItem};

use super::{LspBridge, RETRY_FAILED_START_AFTER, ServerState, ServerStatus};
use crate::host::lsp::LspError;
use crate::host::lsp::config::extension_of;
use crate::host::lsp::server::{DiagnosticsSink, Server, server_name};
use crate::host::lsp::trust::{self, Settings, Untrusted};

impl LspBridge {
    /// The servers started so far (a server that is starting right now is left out).
    pub async fn status(&self) -> Vec<ServerStatus> {
        let slots: Vec<_> = self
            .inner
            .servers
            .lock()
            .await
            .slots
            .values()
            .cloned()
            .collect();
        let mut status: Vec<_> = slots
            .iter()
            .filter_map(|slot| slot.try_lock().ok()?.clone())
            .map(|server| ServerStatus {
                server: server.name.clone(),
                command: server.command.display(),
                pid: server.pid(),
                state: match (server.is_alive(), server.indexing()) {
                    (false, _) => ServerState::Stopped,
                    (true, Some(percent)) => ServerState::Indexing { percent },
                    (true, None) => ServerState::Ready,
                },
            })
            .collect();
        status.sort_by(|a, b| a.server.cmp(&b.server));
        status
    }

    /// The servers running now (none is started).
    pub(super) async fn running_servers(&self) -> Vec<Arc<Server>> {
        let slots: Vec<_> = self
            .inner
            .servers
            .lock()
            .await
            .slots
            .values()
            .cloned()
            .collect();
        slots
            .iter()
            .filter_map(|slot| slot.try_lock().ok()?.clone())
            .filter(|server| server.is_alive())
            .collect()
    }

    /// Stops the server of `path`'s language abruptly, as a crash would; the next request
    /// starts it again. For tests of the restart path and a "restart server" command.
    pub async fn kill_server(&self, path: &str) -> bool {
        let Some(language) = self.inner.config.language_for(path) else {
            return false;
        };
        let slots: Vec<_> = {
            let servers = self.inner.servers.lock().await;
            language
                .servers
                .iter()
                .filter_map(|command| servers.slots.get(command).cloned())
                .collect()
        };
        for slot in slots {
            if let Some(server) = slot.lock().await.as_ref().filter(|s| s.is_alive()) {
                server.kill();
                return true;
            }
        }
        false
    }

    /// `shutdown` and `exit` to every server; the bridge may be used again afterwards
    /// (servers start anew).
    pub async fn shutdown(&self) {
        let slots: Vec<_> = {
            let mut servers = self.inner.servers.lock().await;
            servers.slots.drain().map(|(_, slot)| slot).collect()
        };
        for slot in slots {
            let server = slot.lock().await.take();
            if let Some(server) = server {
                server.shutdown().await;
            }
        }
    }

    /// Whether a server is configured for `path`'s language (it may not be installed).
    pub fn has_server_for(&self, path: &str) -> bool {
        self.inner.config.language_for(path).is_some()
    }

    /// The running server for `path`'s language, started or restarted if needed;
    /// `fresh` when it was just started (and has every open document of its languages).
    pub(super) async fn server_for(&self, path: &str) -> Result<(Arc<Server>, bool), LspError> {
        self.inner.shared.absolute(path)?;
        let extension = extension_of(path).unwrap_or_default();
        let no_server = |tried| LspError::NoServer {
            extension: extension.clone(),
            tried,
        };
        let language = self
            .inner
            .config
            .language_for(path)
            .ok_or_else(|| no_server(Vec::new()))?;
        {
            let servers = self.inner.servers.lock().await;
            for command in &language.servers {
                let running = servers.slots.get(command).and_then(|slot| {
                    let slot = slot.try_lock().ok()?;
                    slot.as_ref().filter(|server| server.is_alive()).cloned()
                });
                if let Some(server) = running {
                    return Ok((server, false));
                }
            }
            if let Some((when, error)) = servers.failed.get(&language.language_id)
                && when.elapsed() < RETRY_FAILED_START_AFTER
            {
                return Err(error.clone());
            }
        }

        let mut tried = Vec::new();
        for command in &language.servers {
            let Some(program) = command.resolve() else {
                tried.push(format!("{}: not found on PATH", command.display()));
                continue;
            };
            let settings = if self.inner.config.trust_project {
                Settings::default()
            } else {
                match trust::untrusted(&server_name(command, &program)) {
                    Untrusted::Start(settings) => settings,
                    Untrusted::Refuse { why } => {
                        tried.push(format!(
                            "{}: not started for a project the host has not trusted: {why} \
                             (the host can allow it with --trust-project)",
                            command.display()
                        ));
                        continue;
                    }
                }
            };
            let slot = {
                let mut servers = self.inner.servers.lock().await;
                servers.slots.entry(command.clone()).or_default().clone()
            };
            let mut running = slot.lock().await;
            if let Some(server) = running.as_ref() {
                if server.is_alive() {
                    // Someone else started it while we waited for the slot.
                    return Ok((server.clone(), false));
                }
                tracing::warn!(server = %server.name, "language server died; restarting it");
            }
            *running = None;
            let started = Server::start(
                command,
                &program,
                &self.inner.shared.root,
                &settings,
                self.inner.config.initialize_timeout,
                self.diagnostics_sink(),
            )
            .await;
            match started {
                Ok(server) => {
                    let server = Arc::new(server);
                    *running = Some(server.clone());
                    self.reopen_documents(&server);
                    drop(running);
                    let mut servers = self.inner.servers.lock().await;
                    servers.failed.remove(&language.language_id);
                    return Ok((server, true));
                }
                Err(error) => tried.push(format!("{}: {error}", command.display())),
            }
        }
        let error = no_server(tried);
        let mut servers = self.inner.servers.lock().await;
        servers.failed.insert(
            language.language_id.clone(),
            (Instant::now(), error.clone()),
        );
        Err(error)
    }

    /// A new server learns of every open document whose language it serves.
    fn reopen_documents(&self, server: &Arc<Server>) {
        let paths: Vec<String> = self.inner.shared.documents().keys().cloned().collect();
        for path in paths {
            let serves = self
                .inner
                .config
                .language_for(&path)
                .is_some_and(|language| language.servers.contains(&server.command));
            if serves {
                self.open_at(server, &path);
            }
        }
    }

    pub(super) fn open_at(&self, server: &Arc<Server>, path: &str) {
        let Some(language) = self.inner.config.language_for(path) else {
            return;
        };
        let Ok(uri) = self.inner.shared.uri_for(path) else {
            return;
        };
        let mut documents = self.inner.shared.documents();
        let Some(document) = documents.get_mut(path) else {
            return;
        };
        if document
            .live_server()
            .is_some_and(|open_at| Arc::ptr_eq(&open_at, server))
        {
            return; // a concurrent (re)start already opened it there
        }
        document.server = Some(Arc::downgrade(server));
        server.notify::<lsp_types::notification::DidOpenTextDocument>(DidOpenTextDocumentParams {
            text_document: TextDocumentItem {
                uri,
                language_id: language.language_id.clone(),
                version: document.version,
                text: document.text.to_string(),
            },
        });
    }

    fn diagnostics_sink(&self) -> DiagnosticsSink {
        let shared = Arc::downgrade(&self.inner.shared);
        Arc::new(move |params: PublishDiagnosticsParams, encoding| {
            if let Some(shared) = shared.upgrade() {
                shared.publish(params, encoding);
            }
        })
    }
}
