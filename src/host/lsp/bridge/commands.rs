//! Code actions whose effect is a command: the host asks the server to run it
//! (`workspace/executeCommand`) and the server sends back, as requests of its own
//! (`workspace/applyEdit`), the edits it wants made.
//!
//! Only a command the server listed in the code action it just offered, and that it says
//! it runs itself (`executeCommandProvider`), is ever run: a member names an action by
//! its title, never a command or its arguments. The editor's own commands, such as
//! rust-analyzer's `rust-analyzer.runSingle` (which would run the project's code), are not
//! run at all.
//!
//! A server's `workspace/applyEdit` is taken only while one of its commands runs for a
//! member (one command per server at a time), and is checked like a rename's edit: a
//! file the host hides or ignores, outside the folder, or created, renamed or deleted
//! refuses the whole command. The edits are computed for the documents as they were when
//! the command was sent, and applied by the host like a rename's (transformed against
//! whatever was typed meanwhile).

use std::collections::BTreeMap;

use lsp_server::{Request, Response};
use lsp_types::request::{ExecuteCommand, Request as _};
use lsp_types::{ApplyWorkspaceEditParams, ApplyWorkspaceEditResponse, ExecuteCommandParams};
use tokio::sync::mpsc::UnboundedReceiver;

use super::LspBridge;
use super::edits::Snapshot;
use crate::host::lsp::server::Server;
use crate::host::lsp::{FileEdits, LspError};

/// LSP's "content modified": the host asks again, as when a server says it.
const CONTENT_MODIFIED: i32 = -32801;

impl LspBridge {
    /// Runs `command`, which the server offered in a code action for `path`, and returns
    /// the edits the server asked for meanwhile, file by file (all of them or none).
    /// `offered_for` are the document versions the action was offered for: if any
    /// changed since, the command's arguments may name stale positions, so it is not sent
    /// and the answer is "content modified" (the caller asks for the actions again).
    /// `None` after the action's own edits were made, which its command follows.
    pub async fn run_command(
        &self,
        path: &str,
        command: lsp_types::Command,
        offered_for: Option<&BTreeMap<String, i32>>,
    ) -> Result<Vec<FileEdits>, LspError> {
        let (server, _) = self.server_for(path).await?;
        if !server.runs_command(&command.command) {
            return Err(LspError::Refused(format!(
                "\u{201c}{}\u{201d} runs {}, a command of the editor rather than of {}; cotype does not run it",
                command.title, command.command, server.name
            )));
        }
        let (turn, mut asks) = server.command_turn().await;
        server.take_shown_error();
        let title = command.title.clone();
        let made = match self
            .command_edits(&server, command, offered_for, &mut asks)
            .await
        {
            // A server that could not do it may say so only in a message to the user.
            Ok(files) if files.is_empty() => match server.take_shown_error() {
                Some(shown) => Err(LspError::Refused(format!(
                    "\u{201c}{title}\u{201d} changed nothing: {}",
                    shown.trim()
                ))),
                None => Ok(files),
            },
            made => made,
        };
        server.commands_done();
        drop(turn);
        // Edits asked for after the command's answer belong to nothing a member chose.
        asks.close();
        while let Ok(request) = asks.try_recv() {
            server.respond(answer(request, Err("the command had already finished")));
        }
        made
    }

    /// Sends the command and gathers the edits the server asks for until it answers.
    async fn command_edits(
        &self,
        server: &Server,
        command: lsp_types::Command,
        offered_for: Option<&BTreeMap<String, i32>>,
        asks: &mut UnboundedReceiver<Request>,
    ) -> Result<Vec<FileEdits>, LspError> {
        let (snapshot, asked) = self.send_snapshotted::<ExecuteCommand>(server, |documents| {
            let now: BTreeMap<String, i32> = documents
                .iter()
                .map(|(path, document)| (path.clone(), document.version))
                .collect();
            if offered_for.is_some_and(|offered_for| &now != offered_for) {
                return Err(LspError::Server {
                    server: server.name.clone(),
                    code: CONTENT_MODIFIED,
                    message: "the text changed since the server offered this action; ask again"
                        .to_owned(),
                });
            }
            Ok(ExecuteCommandParams {
                command: command.command.clone(),
                arguments: command.arguments.clone().unwrap_or_default(),
                work_done_progress_params: Default::default(),
            })
        })?;
        let answered = self.answered::<ExecuteCommand>(server, asked);
        tokio::pin!(answered);
        let mut gathered = Gathered::default();
        loop {
            tokio::select! {
                Some(request) = asks.recv() => self.take_apply_edit(server, request, &snapshot, &mut gathered),
                answer = &mut answered => {
                    answer?;
                    break;
                }
            }
        }
        // The reader hands an edit over before it reads the answer that follows it.
        while let Ok(request) = asks.try_recv() {
            self.take_apply_edit(server, request, &snapshot, &mut gathered);
        }
        match gathered.refused {
            Some(error) => Err(error),
            None => Ok(gathered.files),
        }
    }

    /// Checks one `workspace/applyEdit` and answers it: accepted edits are kept for the
    /// host to make, a refused one refuses the whole command.
    fn take_apply_edit(
        &self,
        server: &Server,
        request: Request,
        snapshot: &Snapshot,
        gathered: &mut Gathered,
    ) {
        if gathered.refused.is_some() {
            server.respond(answer(request, Err("an earlier edit was refused")));
            return;
        }
        let checked = serde_json::from_value::<ApplyWorkspaceEditParams>(request.params.clone())
            .map_err(|error| LspError::Protocol {
                server: server.name.clone(),
                detail: format!(
                    "{}: {error}",
                    lsp_types::request::ApplyWorkspaceEdit::METHOD
                ),
            })
            .and_then(|params| self.workspace_edits(server.encoding(), params.edit, snapshot))
            .and_then(|files| gathered.add(files));
        match checked {
            Ok(()) => server.respond(answer(request, Ok(()))),
            Err(error) => {
                let reason = error.to_string();
                server.respond(answer(request, Err(&reason)));
                gathered.refused = Some(error);
            }
        }
    }
}

/// The edits one command asked for so far.
#[derive(Default)]
struct Gathered {
    files: Vec<FileEdits>,
    refused: Option<LspError>,
}

impl Gathered {
    fn add(&mut self, files: Vec<FileEdits>) -> Result<(), LspError> {
        for file in files {
            if self.files.iter().any(|known| known.path == file.path) {
                return Err(LspError::Refused(format!(
                    "the server changes {} twice in one command, which cotype does not apply; nothing was changed",
                    file.path
                )));
            }
            self.files.push(file);
        }
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(())
    }
}

/// The answer to a `workspace/applyEdit`: taken for the host to make, or refused.
fn answer(request: Request, taken: Result<(), &str>) -> Response {
    Response::new_ok(
        request.id,
        ApplyWorkspaceEditResponse {
            applied: taken.is_ok(),
            failure_reason: taken.err().map(str::to_owned),
            failed_change: None,
        },
    )
}
