//! Requests: hover, definition, peek, references and completion asked of a server, and
//! its answers turned into cotype's positions and paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::{
    CompletionResponse, GotoDefinitionParams, GotoDefinitionResponse, HoverContents, MarkedString,
    PartialResultParams, ReferenceContext, ReferenceParams, TextDocumentIdentifier,
    TextDocumentPositionParams, WorkDoneProgressParams,
};
use ropey::Rope;

use super::{LspBridge, PEEK_MAX_LINES, read_text};
use crate::host::lsp::convert::{self, Place};
use crate::host::lsp::server::Server;
use crate::host::lsp::{
    CompletionItem, Hover, LineCol, Location, LspError, Peek, Range, Reference, Snippet,
};
use crate::host::syntactic;
use crate::text::LspEncoding;

impl LspBridge {
    pub async fn hover(&self, path: &str, position: LineCol) -> Result<Option<Hover>, LspError> {
        let server = match self.server_for(path).await {
            Ok((server, _)) => server,
            Err(no_server @ LspError::NoServer { .. }) if syntactic::supports(path) => {
                return self.syntactic_hover(path, position, no_server);
            }
            Err(error) => return Err(error),
        };
        let params = lsp_types::HoverParams {
            text_document_position_params: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
        };
        let answer = self
            .ask::<lsp_types::request::HoverRequest>(&server, params)
            .await?;
        let markdown = answer.map(|hover| hover_markdown(hover.contents));
        match markdown.filter(|text| !text.trim().is_empty()) {
            Some(markdown) => Ok(Some(Hover {
                markdown,
                syntactic: false,
            })),
            None => server.indexing_error().map_or(Ok(None), Err),
        }
    }

    pub async fn definition(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<Location>, LspError> {
        Ok(self
            .definition_targets(path, position)
            .await?
            .into_iter()
            .map(|target| target.location)
            .collect())
    }

    /// Definitions with the lines around each (read from the open document if it is
    /// open, else from disk).
    pub async fn peek(&self, path: &str, position: LineCol) -> Result<Vec<Peek>, LspError> {
        let context = self.inner.config.peek_context_lines;
        let targets = self.definition_targets(path, position).await?;
        Ok(targets
            .into_iter()
            .map(|target| {
                let snippet = target.absolute.as_ref().and_then(|absolute| {
                    let text = self.text_at(&target.location.path, absolute)?;
                    let first = target.extent.start.line.saturating_sub(context);
                    let last = target
                        .extent
                        .end
                        .line
                        .max(target.location.range.start.line)
                        .saturating_add(context)
                        .min(first + PEEK_MAX_LINES - 1);
                    Some(snippet(&text, first, last))
                });
                Peek {
                    location: target.location,
                    snippet,
                }
            })
            .collect())
    }

    /// Every use of the symbol, its declaration included, each with its line of text.
    pub async fn references(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<Reference>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let params = ReferenceParams {
            text_document_position: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
            context: ReferenceContext {
                include_declaration: true,
            },
        };
        let answer = self
            .ask::<lsp_types::request::References>(&server, params)
            .await?
            .unwrap_or_default();
        if answer.is_empty()
            && let Some(indexing) = server.indexing_error()
        {
            return Err(indexing);
        }
        let mut texts = TextCache::default();
        let mut references: Vec<Reference> = answer
            .into_iter()
            .filter_map(|location| {
                let target = self.target(
                    server.encoding(),
                    &mut texts,
                    location.uri,
                    location.range,
                    None,
                )?;
                let context_line = match &target.absolute {
                    Some(absolute) => texts
                        .get(self, &target.location.path, absolute)
                        .and_then(|text| line_text(&text, target.location.range.start.line))
                        .unwrap_or_default(),
                    None => String::new(),
                };
                Some(Reference {
                    location: target.location,
                    context_line,
                })
            })
            .collect();
        references.sort_by(|a, b| {
            (&a.location.path, a.location.range.start)
                .cmp(&(&b.location.path, b.location.range.start))
        });
        Ok(references)
    }

    /// The server's completions at `position`, best first, at most
    /// `LspConfig::completion_limit` of them.
    pub async fn completion(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<CompletionItem>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let params = lsp_types::CompletionParams {
            text_document_position: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
            context: None,
        };
        let items = match self
            .ask::<lsp_types::request::Completion>(&server, params)
            .await?
        {
            Some(CompletionResponse::Array(items)) => items,
            Some(CompletionResponse::List(list)) => list.items,
            None => Vec::new(),
        };
        let mut items: Vec<_> = items
            .into_iter()
            .map(|item| {
                let rank = item.sort_text.clone().unwrap_or_else(|| item.label.clone());
                let insert_text = match item.text_edit {
                    Some(lsp_types::CompletionTextEdit::Edit(edit)) => edit.new_text,
                    Some(lsp_types::CompletionTextEdit::InsertAndReplace(edit)) => edit.new_text,
                    None => item.insert_text.unwrap_or_else(|| item.label.clone()),
                };
                let completion = CompletionItem {
                    label: item.label,
                    detail: item.detail,
                    insert_text,
                };
                (rank, completion)
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.truncate(self.inner.config.completion_limit);
        Ok(items.into_iter().map(|(_, item)| item).collect())
    }

    /// One request, with "content modified" and friends during indexing reported as
    /// indexing.
    pub(super) async fn ask<R: lsp_types::request::Request>(
        &self,
        server: &Server,
        params: R::Params,
    ) -> Result<R::Result, LspError> {
        let timeout = self.inner.config.request_timeout;
        match server.request::<R>(params, timeout).await {
            Ok(answer) => Ok(answer),
            Err(error @ (LspError::Server { .. } | LspError::Timeout { .. })) => {
                Err(server.indexing_error().unwrap_or(error))
            }
            Err(error) => Err(error),
        }
    }

    pub(super) fn position_params(
        &self,
        server: &Server,
        path: &str,
        position: LineCol,
    ) -> Result<TextDocumentPositionParams, LspError> {
        let uri = self.inner.shared.uri_for(path)?;
        let (_, text) = self.asked_text(path)?;
        Ok(TextDocumentPositionParams {
            text_document: TextDocumentIdentifier { uri },
            position: convert::to_lsp(&text, position, server.encoding()),
        })
    }

    /// The text of the shared file a question is about, and where it is on the host.
    pub(super) fn asked_text(&self, path: &str) -> Result<(PathBuf, Rope), LspError> {
        let absolute = self.inner.shared.absolute(path)?;
        let text = self
            .text_at(path, &absolute)
            .ok_or_else(|| LspError::Unreadable {
                path: path.to_owned(),
                detail: "not open, and not a readable text file".to_owned(),
            })?;
        Ok((absolute, text))
    }

    /// An open document's text, else the file's (if it is a reasonably sized text file).
    pub(super) fn text_at(&self, relative: &str, absolute: &Path) -> Option<Rope> {
        if let Some(document) = self.inner.shared.documents().get(relative) {
            return Some(document.text.clone());
        }
        read_text(absolute)
    }

    async fn definition_targets(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Vec<Target>, LspError> {
        let server = match self.server_for(path).await {
            Ok((server, _)) => server,
            Err(no_server @ LspError::NoServer { .. }) if syntactic::supports(path) => {
                return self.syntactic_definitions(path, position, no_server);
            }
            Err(error) => return Err(error),
        };
        let params = GotoDefinitionParams {
            text_document_position_params: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
        };
        let answer = self
            .ask::<lsp_types::request::GotoDefinition>(&server, params)
            .await?;
        // rust-analyzer answers with links; others with locations. Both mean the same.
        let raw: Vec<(lsp_types::Uri, lsp_types::Range, Option<lsp_types::Range>)> = match answer {
            None => Vec::new(),
            Some(GotoDefinitionResponse::Scalar(location)) => {
                vec![(location.uri, location.range, None)]
            }
            Some(GotoDefinitionResponse::Array(locations)) => locations
                .into_iter()
                .map(|location| (location.uri, location.range, None))
                .collect(),
            Some(GotoDefinitionResponse::Link(links)) => links
                .into_iter()
                .map(|link| {
                    (
                        link.target_uri,
                        link.target_selection_range,
                        Some(link.target_range),
                    )
                })
                .collect(),
        };
        if raw.is_empty()
            && let Some(indexing) = server.indexing_error()
        {
            return Err(indexing);
        }
        let mut texts = TextCache::default();
        Ok(raw
            .into_iter()
            .filter_map(|(uri, range, extent)| {
                self.target(server.encoding(), &mut texts, uri, range, extent)
            })
            .collect())
    }

    /// A server's location in cotype's terms; `None` for non-file URIs.
    pub(super) fn target(
        &self,
        encoding: LspEncoding,
        texts: &mut TextCache,
        uri: lsp_types::Uri,
        range: lsp_types::Range,
        extent: Option<lsp_types::Range>,
    ) -> Option<Target> {
        match self.inner.shared.place(&uri)? {
            Place::Workspace { relative, absolute } => {
                let text = texts.get(self, &relative, &absolute);
                let convert_range = |range| match &text {
                    Some(text) => convert::range_from_lsp(text, range, encoding),
                    None => convert::range_passthrough(range),
                };
                let range = convert_range(range);
                let extent = extent.map(convert_range).unwrap_or(range);
                Some(Target {
                    location: Location {
                        path: relative,
                        range,
                        external: false,
                        syntactic: false,
                    },
                    extent,
                    absolute: Some(absolute),
                })
            }
            // Columns pass through unconverted: converting them would mean reading a file
            // the host did not share, for a location nobody can open anyway.
            Place::External { file_name, .. } => {
                let range = convert::range_passthrough(range);
                Some(Target {
                    location: Location {
                        path: file_name,
                        range,
                        external: true,
                        syntactic: false,
                    },
                    extent: range,
                    absolute: None,
                })
            }
        }
    }
}

/// A definition's location, how far its item extends (for the peek), and where to read
/// it (`None` when external).
pub(super) struct Target {
    pub(super) location: Location,
    pub(super) extent: Range,
    pub(super) absolute: Option<PathBuf>,
}

/// Texts read while converting one answer: a references list names the same file often.
#[derive(Default)]
pub(super) struct TextCache {
    texts: HashMap<String, Option<Rope>>,
}

impl TextCache {
    fn get(&mut self, bridge: &LspBridge, relative: &str, absolute: &Path) -> Option<Rope> {
        self.texts
            .entry(relative.to_owned())
            .or_insert_with(|| bridge.text_at(relative, absolute))
            .clone()
    }
}

fn line_text(text: &Rope, line: usize) -> Option<String> {
    let line = text.get_line(line)?;
    Some(line.to_string().trim_end_matches(['\n', '\r']).to_owned())
}

fn snippet(text: &Rope, first: usize, last: usize) -> Snippet {
    // A text ending in a line break has an empty last line in ropey; it is not content.
    let lines = text.len_lines();
    let final_line = if lines > 1 && text.line(lines - 1).len_chars() == 0 {
        lines - 2
    } else {
        lines.saturating_sub(1)
    };
    let last = last.min(final_line);
    Snippet {
        first_line: first,
        lines: (first..=last)
            .filter_map(|line| line_text(text, line))
            .collect(),
    }
}

/// A hover's contents as the markdown the participant's popup renders.
pub fn hover_markdown(contents: HoverContents) -> String {
    fn marked(string: MarkedString) -> String {
        match string {
            MarkedString::String(text) => text,
            MarkedString::LanguageString(code) => {
                format!("```{}\n{}\n```", code.language, code.value)
            }
        }
    }
    match contents {
        HoverContents::Scalar(string) => marked(string),
        HoverContents::Array(strings) => strings
            .into_iter()
            .map(marked)
            .collect::<Vec<_>>()
            .join("\n\n---\n\n"),
        HoverContents::Markup(markup) => markup.value,
    }
}
