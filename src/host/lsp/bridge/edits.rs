//! Requests whose answer is an edit: rename, prepareRename, formatting (of a document or
//! a range) and code actions.
//!
//! A server computes an edit for the document versions it has when the request reaches
//! it. The request is queued while the bridge's documents are held still, and the texts
//! of that moment are kept with the answer (`FileEdits::text`, `version`): the host then
//! applies the edit at the revision it was computed for, transformed against whatever was
//! typed while the server worked, never at positions that have moved since.
//!
//! A workspace edit that would touch a file the host hides or ignores, a file outside the
//! shared folder, or create, rename or delete files is refused whole.

use std::collections::HashMap;

use lsp_types::{
    CodeActionContext, CodeActionOrCommand, CodeActionParams, CodeActionTriggerKind,
    DocumentChangeOperation, DocumentChanges, DocumentFormattingParams, FormattingOptions, OneOf,
    PartialResultParams, PrepareRenameResponse, RenameParams, TextDocumentIdentifier,
    TextDocumentPositionParams, TextEdit, WorkDoneProgressParams, WorkspaceEdit,
};
use ropey::Rope;

use super::{LspBridge, OpenDocument, read_text};
use crate::host::lsp::convert::{self, Place};
use crate::host::lsp::server::Server;
use crate::host::lsp::{CodeAction, FileEdits, LineCol, LspError, Range};
use crate::text::LspEncoding;
use crate::text::position::lsp_to_char_in;

/// The bridge's open documents when a request was queued: version and text.
pub(super) type Snapshot = HashMap<String, (i32, Rope)>;

impl LspBridge {
    /// The symbol's range and name if the server can rename it (`None` when the server
    /// does not answer prepareRename; it may still rename).
    pub async fn prepare_rename(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Option<(Range, String)>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let offers = matches!(
            server.capabilities().rename_provider,
            Some(OneOf::Right(ref options)) if options.prepare_provider == Some(true)
        );
        if !offers {
            return Ok(None);
        }
        let (snapshot, asked) = self
            .send_snapshotted::<lsp_types::request::PrepareRenameRequest>(&server, |documents| {
                self.position_in(documents, &server, path, position)
            })?;
        let answer = self
            .answered::<lsp_types::request::PrepareRenameRequest>(&server, asked)
            .await?;
        let text = self.text_in(&snapshot, path)?.1;
        let convert = |range| convert::range_from_lsp(&text, range, server.encoding());
        let name_in = |range: Range| {
            let start = crate::text::position::line_col_to_char(&text, range.start);
            let end = crate::text::position::line_col_to_char(&text, range.end);
            text.slice(start..end.max(start)).to_string()
        };
        match answer {
            None => Err(LspError::Refused(format!(
                "{} cannot rename anything at {path}:{}:{}",
                server.name,
                position.line + 1,
                position.col + 1
            ))),
            Some(PrepareRenameResponse::Range(range)) => {
                let range = convert(range);
                Ok(Some((range, name_in(range))))
            }
            Some(PrepareRenameResponse::RangeWithPlaceholder { range, placeholder }) => {
                Ok(Some((convert(range), placeholder)))
            }
            Some(PrepareRenameResponse::DefaultBehavior { .. }) => Ok(None),
        }
    }

    /// The server's edits renaming the symbol at `position` to `new_name`, file by file.
    pub async fn rename(
        &self,
        path: &str,
        position: LineCol,
        new_name: &str,
    ) -> Result<Vec<FileEdits>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let (snapshot, asked) =
            self.send_snapshotted::<lsp_types::request::Rename>(&server, |documents| {
                Ok(RenameParams {
                    text_document_position: self.position_in(documents, &server, path, position)?,
                    new_name: new_name.to_owned(),
                    work_done_progress_params: WorkDoneProgressParams::default(),
                })
            })?;
        let answer = self
            .answered::<lsp_types::request::Rename>(&server, asked)
            .await?;
        let Some(edit) = answer else {
            return Err(server.indexing_error().unwrap_or_else(|| {
                LspError::Refused(format!("{} found nothing to rename there", server.name))
            }));
        };
        self.workspace_edits(server.encoding(), edit, &snapshot)
    }

    /// The server's formatting of the whole document (empty when it is formatted).
    pub async fn format(&self, path: &str) -> Result<Vec<FileEdits>, LspError> {
        let (server, _) = self.server_for(path).await?;
        if matches!(
            server.capabilities().document_formatting_provider,
            None | Some(OneOf::Left(false))
        ) {
            return Err(LspError::Refused(format!(
                "{} cannot format {path}",
                server.name
            )));
        }
        let uri = self.inner.shared.uri_for(path)?;
        let (snapshot, asked) =
            self.send_snapshotted::<lsp_types::request::Formatting>(&server, |_| {
                Ok(DocumentFormattingParams {
                    text_document: TextDocumentIdentifier { uri: uri.clone() },
                    options: FormattingOptions {
                        tab_size: 4,
                        insert_spaces: true,
                        ..Default::default()
                    },
                    work_done_progress_params: WorkDoneProgressParams::default(),
                })
            })?;
        let answer = self
            .answered::<lsp_types::request::Formatting>(&server, asked)
            .await?
            .unwrap_or_default();
        if answer.is_empty() {
            return Ok(Vec::new());
        }
        let file = self.file_edits(server.encoding(), &snapshot, path, &answer)?;
        Ok(vec![file])
    }

    /// The server's formatting of the lines `range` touches (`textDocument/rangeFormatting`),
    /// or a sentence saying the server does not format a part of a file.
    pub async fn format_range(&self, path: &str, range: Range) -> Result<Vec<FileEdits>, LspError> {
        let (server, _) = self.server_for(path).await?;
        if matches!(
            server.capabilities().document_range_formatting_provider,
            None | Some(OneOf::Left(false))
        ) {
            return Err(LspError::Refused(format!(
                "{} cannot format a part of {path}; format the whole file instead",
                server.name
            )));
        }
        let (snapshot, asked) =
            self.send_snapshotted::<lsp_types::request::RangeFormatting>(&server, |documents| {
                let start = self.position_in(documents, &server, path, range.start)?;
                let end = self.position_in(documents, &server, path, range.end)?;
                Ok(lsp_types::DocumentRangeFormattingParams {
                    text_document: start.text_document,
                    range: lsp_types::Range {
                        start: start.position,
                        end: end.position,
                    },
                    options: FormattingOptions {
                        tab_size: 4,
                        insert_spaces: true,
                        ..Default::default()
                    },
                    work_done_progress_params: WorkDoneProgressParams::default(),
                })
            })?;
        let answer = self
            .answered::<lsp_types::request::RangeFormatting>(&server, asked)
            .await?
            .unwrap_or_default();
        if answer.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![self.file_edits(
            server.encoding(),
            &snapshot,
            path,
            &answer,
        )?])
    }

    /// The server's code actions at `position`: fixes of diagnostics first, then the
    /// server's preferred ones, then the rest in its order.
    pub async fn code_actions(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<CodeAction>, LspError> {
        let range = Range {
            start: position,
            end: position,
        };
        self.code_actions_in(path, range).await
    }

    /// The server's code actions for all of line `line` (what the lightbulb asks).
    pub async fn line_code_actions(
        &self,
        path: &str,
        line: usize,
    ) -> Result<Vec<CodeAction>, LspError> {
        let range = Range {
            start: LineCol { line, col: 0 },
            // Clamped to the end of the line's text.
            end: LineCol {
                line,
                col: usize::MAX,
            },
        };
        self.code_actions_in(path, range).await
    }

    /// [`Self::code_actions`] for a range, with the diagnostics of its first line.
    async fn code_actions_in(&self, path: &str, range: Range) -> Result<Vec<CodeAction>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let (snapshot, asked) =
            self.send_snapshotted::<lsp_types::request::CodeActionRequest>(&server, |documents| {
                let at = self.position_in(documents, &server, path, range.start)?;
                let end = self.position_in(documents, &server, path, range.end)?;
                Ok(CodeActionParams {
                    text_document: at.text_document,
                    range: lsp_types::Range {
                        start: at.position,
                        end: end.position,
                    },
                    context: CodeActionContext {
                        diagnostics: self.diagnostics_at(path, at.position),
                        only: None,
                        trigger_kind: Some(CodeActionTriggerKind::INVOKED),
                    },
                    work_done_progress_params: WorkDoneProgressParams::default(),
                    partial_result_params: PartialResultParams::default(),
                })
            })?;
        let answer = self
            .answered::<lsp_types::request::CodeActionRequest>(&server, asked)
            .await?
            .unwrap_or_default();
        let offered_for: std::collections::BTreeMap<String, i32> = snapshot
            .iter()
            .map(|(path, (version, _))| (path.clone(), *version))
            .collect();
        let mut actions = Vec::new();
        for item in answer {
            let action = match item {
                CodeActionOrCommand::Command(command) => CodeAction {
                    title: command.title.clone(),
                    kind: None,
                    fix: false,
                    edits: Vec::new(),
                    server_runs_command: server.runs_command(&command.command),
                    command: Some(command),
                    offered_for: offered_for.clone(),
                },
                CodeActionOrCommand::CodeAction(action) => {
                    let edits = match action.edit {
                        // An action whose edit the host refuses is left out of the list.
                        Some(edit) => {
                            match self.workspace_edits(server.encoding(), edit, &snapshot) {
                                Ok(edits) => edits,
                                Err(error) => {
                                    tracing::debug!(title = %action.title, "code action left out: {error}");
                                    continue;
                                }
                            }
                        }
                        None => Vec::new(),
                    };
                    let is_quickfix = action
                        .kind
                        .as_ref()
                        .is_some_and(|kind| kind.as_str().starts_with("quickfix"));
                    CodeAction {
                        title: action.title,
                        fix: action.diagnostics.is_some_and(|d| !d.is_empty())
                            || action.is_preferred == Some(true)
                            || is_quickfix,
                        kind: action.kind.map(|kind| kind.as_str().to_owned()),
                        edits,
                        server_runs_command: action
                            .command
                            .as_ref()
                            .is_some_and(|command| server.runs_command(&command.command)),
                        command: action.command,
                        offered_for: offered_for.clone(),
                    }
                }
            };
            actions.push(action);
        }
        // Stable: the server's order within each group.
        actions.sort_by_key(|action| !action.fix);
        Ok(actions)
    }

    /// Queues request `R` with the bridge's documents held still, and returns their
    /// versions and texts of that moment: exactly what the server computes for.
    pub(super) fn send_snapshotted<R: lsp_types::request::Request>(
        &self,
        server: &Server,
        params: impl FnOnce(&HashMap<String, OpenDocument>) -> Result<R::Params, LspError>,
    ) -> Result<(Snapshot, crate::host::lsp::transport::Asked), LspError> {
        let documents = self.inner.shared.documents();
        let params = params(&documents)?;
        let snapshot = documents
            .iter()
            .map(|(path, document)| (path.clone(), (document.version, document.text.clone())))
            .collect();
        let asked = server.send_request::<R>(params)?;
        Ok((snapshot, asked))
    }

    /// The answer to a request `send_snapshotted` queued, with "content modified" and
    /// timeouts during indexing reported as indexing.
    pub(super) async fn answered<R: lsp_types::request::Request>(
        &self,
        server: &Server,
        asked: crate::host::lsp::transport::Asked,
    ) -> Result<R::Result, LspError> {
        let timeout = self.inner.config.request_timeout;
        match server.answer::<R>(asked, timeout).await {
            Ok(answer) => Ok(answer),
            Err(error @ LspError::Timeout { .. }) => Err(server.indexing_error().unwrap_or(error)),
            Err(error) => Err(error),
        }
    }

    /// A position for the server in `path`'s text as the bridge has it (held by the
    /// caller), or as on disk when nobody has it open.
    fn position_in(
        &self,
        documents: &HashMap<String, OpenDocument>,
        server: &Server,
        path: &str,
        position: LineCol,
    ) -> Result<TextDocumentPositionParams, LspError> {
        let uri = self.inner.shared.uri_for(path)?;
        let text = match documents.get(path) {
            Some(document) => document.text.clone(),
            None => {
                let absolute = self.inner.shared.absolute(path)?;
                read_text(&absolute).ok_or_else(|| unreadable(path))?
            }
        };
        Ok(TextDocumentPositionParams {
            text_document: TextDocumentIdentifier { uri },
            position: convert::to_lsp(&text, position, server.encoding()),
        })
    }

    /// The version and text the server computed for: the snapshot's, or the disk's.
    fn text_in(&self, snapshot: &Snapshot, path: &str) -> Result<(Option<i32>, Rope), LspError> {
        if let Some((version, text)) = snapshot.get(path) {
            return Ok((Some(*version), text.clone()));
        }
        let absolute = self.inner.shared.absolute(path)?;
        let text = read_text(&absolute).ok_or_else(|| unreadable(path))?;
        Ok((None, text))
    }

    /// A workspace edit as edits of shared files, or refused whole.
    pub(super) fn workspace_edits(
        &self,
        encoding: LspEncoding,
        edit: WorkspaceEdit,
        snapshot: &Snapshot,
    ) -> Result<Vec<FileEdits>, LspError> {
        let mut per_uri: Vec<(lsp_types::Uri, Vec<TextEdit>)> = Vec::new();
        match edit.document_changes {
            Some(DocumentChanges::Edits(edits)) => {
                for edit in edits {
                    per_uri.push((edit.text_document.uri, plain_edits(edit.edits)));
                }
            }
            Some(DocumentChanges::Operations(operations)) => {
                for operation in operations {
                    match operation {
                        DocumentChangeOperation::Edit(edit) => {
                            per_uri.push((edit.text_document.uri, plain_edits(edit.edits)));
                        }
                        DocumentChangeOperation::Op(_) => {
                            return Err(LspError::Refused(
                                "this change would also create, rename or delete files, which cotype does not do through a language server; nothing was changed".to_owned(),
                            ));
                        }
                    }
                }
            }
            None => {
                for (uri, edits) in edit.changes.unwrap_or_default() {
                    per_uri.push((uri, edits));
                }
            }
        }
        let mut files: Vec<FileEdits> = Vec::new();
        for (uri, edits) in per_uri {
            let path = self.shared_path(&uri)?;
            if files.iter().any(|file| file.path == path) {
                return Err(LspError::Refused(format!(
                    "the server changes {path} twice in one edit, which cotype does not apply; nothing was changed"
                )));
            }
            files.push(self.file_edits(encoding, snapshot, &path, &edits)?);
        }
        files.retain(|file| !file.edits.is_empty());
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// The shared path a server's URI names, or why the edit may not touch it.
    fn shared_path(&self, uri: &lsp_types::Uri) -> Result<String, LspError> {
        match self.inner.shared.root.place(uri) {
            Some(Place::Workspace { relative, .. }) if !self.inner.shared.is_hidden(&relative) => {
                Ok(relative)
            }
            Some(Place::Workspace { relative, .. }) => Err(LspError::Refused(format!(
                "this change would touch {relative}, which the host does not share (hidden or ignored); nothing was changed"
            ))),
            Some(Place::External { file_name, .. }) => Err(LspError::Refused(format!(
                "this change would touch {file_name}, outside the shared folder; nothing was changed"
            ))),
            None => Err(LspError::Refused(
                "this change would touch something that is not a file; nothing was changed"
                    .to_owned(),
            )),
        }
    }

    /// One file's LSP edits in chars of the text the server computed them for.
    fn file_edits(
        &self,
        encoding: LspEncoding,
        snapshot: &Snapshot,
        path: &str,
        edits: &[TextEdit],
    ) -> Result<FileEdits, LspError> {
        let (version, text) = self.text_in(snapshot, path)?;
        let mut ranges: Vec<(std::ops::Range<usize>, String)> = edits
            .iter()
            .map(|edit| {
                let start = lsp_to_char_in(&text, edit.range.start, encoding);
                let end = lsp_to_char_in(&text, edit.range.end, encoding);
                (start..end.max(start), edit.new_text.clone())
            })
            .collect();
        // Stable, so inserts at one place keep the server's order.
        ranges.sort_by_key(|(range, _)| (range.start, range.end));
        if ranges
            .windows(2)
            .any(|pair| pair[0].0.end > pair[1].0.start)
        {
            return Err(LspError::Protocol {
                server: "the language server".to_owned(),
                detail: format!("overlapping edits of {path}"),
            });
        }
        Ok(FileEdits {
            path: path.to_owned(),
            version,
            text,
            edits: ranges,
        })
    }
}

fn plain_edits(edits: Vec<OneOf<TextEdit, lsp_types::AnnotatedTextEdit>>) -> Vec<TextEdit> {
    edits
        .into_iter()
        .map(|edit| match edit {
            OneOf::Left(edit) => edit,
            OneOf::Right(annotated) => annotated.text_edit,
        })
        .collect()
}

fn unreadable(path: &str) -> LspError {
    LspError::Unreadable {
        path: path.to_owned(),
        detail: "not open, and not a readable text file".to_owned(),
    }
}
