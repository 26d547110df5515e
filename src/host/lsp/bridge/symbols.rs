//! Symbols: a document's outline (`textDocument/documentSymbol`) and the workspace's
//! symbols matching a query (`workspace/symbol`), as cotype's places. Symbols in files
//! the host does not share are left out; those outside the folder keep only their file
//! name, as definitions do.

use std::sync::Arc;

use lsp_types::{
    DocumentSymbolParams, DocumentSymbolResponse, PartialResultParams, TextDocumentIdentifier,
    WorkDoneProgressParams, WorkspaceSymbolParams, WorkspaceSymbolResponse,
};

use super::LspBridge;
use super::requests::TextCache;
use crate::host::lsp::server::Server;
use crate::host::lsp::{LspError, Symbol};

impl LspBridge {
    /// `path`'s symbols in the order of the file, nested ones after their parent (named
    /// as their `container`).
    /// Without a server for the language, the outline comes from the syntax tree (each
    /// symbol's location says `syntactic`).
    pub async fn document_symbols(&self, path: &str) -> Result<Vec<Symbol>, LspError> {
        let server = match self.server_for(path).await {
            Ok((server, _)) => server,
            Err(LspError::NoServer { .. }) if crate::host::syntactic::supports(path) => {
                return self.syntactic_outline(path);
            }
            Err(error) => return Err(error),
        };
        let uri = self.inner.shared.uri_for(path)?;
        let params = DocumentSymbolParams {
            text_document: TextDocumentIdentifier { uri: uri.clone() },
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
        };
        let answer = self
            .ask::<lsp_types::request::DocumentSymbolRequest>(&server, params)
            .await?;
        let mut found = Vec::new();
        match answer {
            None => {}
            Some(DocumentSymbolResponse::Flat(symbols)) => {
                for symbol in symbols {
                    found.push((
                        symbol.name,
                        symbol.kind,
                        symbol.location.uri,
                        symbol.location.range,
                        symbol.container_name,
                    ));
                }
            }
            Some(DocumentSymbolResponse::Nested(symbols)) => {
                let mut stack: Vec<(lsp_types::DocumentSymbol, Option<String>)> =
                    symbols.into_iter().rev().map(|s| (s, None)).collect();
                while let Some((symbol, container)) = stack.pop() {
                    for child in symbol.children.iter().flatten().rev() {
                        stack.push((child.clone(), Some(symbol.name.clone())));
                    }
                    found.push((
                        symbol.name,
                        symbol.kind,
                        uri.clone(),
                        symbol.selection_range,
                        container,
                    ));
                }
            }
        }
        if found.is_empty()
            && let Some(indexing) = server.indexing_error()
        {
            return Err(indexing);
        }
        Ok(self.symbols(&server, found))
    }

    /// The workspace's symbols matching `query`, from the server of `near`'s language, or
    /// from every running server when no file is named.
    pub async fn workspace_symbols(
        &self,
        query: &str,
        near: Option<&str>,
    ) -> Result<Vec<Symbol>, LspError> {
        let servers: Vec<Arc<Server>> = match near {
            Some(path) => vec![self.server_for(path).await?.0],
            None => self.running_servers().await,
        };
        if servers.is_empty() {
            return Err(LspError::Refused(
                "no language server runs on the host yet; name a file (--file) to start its server"
                    .to_owned(),
            ));
        }
        let mut all = Vec::new();
        for server in servers {
            let params = WorkspaceSymbolParams {
                query: query.to_owned(),
                work_done_progress_params: WorkDoneProgressParams::default(),
                partial_result_params: PartialResultParams::default(),
            };
            let answer = self
                .ask::<lsp_types::request::WorkspaceSymbolRequest>(&server, params)
                .await?;
            let found = match answer {
                None => Vec::new(),
                Some(WorkspaceSymbolResponse::Flat(symbols)) => symbols
                    .into_iter()
                    .map(|s| {
                        (
                            s.name,
                            s.kind,
                            s.location.uri,
                            s.location.range,
                            s.container_name,
                        )
                    })
                    .collect(),
                Some(WorkspaceSymbolResponse::Nested(symbols)) => symbols
                    .into_iter()
                    .filter_map(|s| match s.location {
                        lsp_types::OneOf::Left(location) => Some((
                            s.name,
                            s.kind,
                            location.uri,
                            location.range,
                            s.container_name,
                        )),
                        lsp_types::OneOf::Right(_) => None,
                    })
                    .collect(),
            };
            all.extend(self.symbols(&server, found));
        }
        Ok(all)
    }

    fn symbols(
        &self,
        server: &Server,
        found: Vec<(
            String,
            lsp_types::SymbolKind,
            lsp_types::Uri,
            lsp_types::Range,
            Option<String>,
        )>,
    ) -> Vec<Symbol> {
        let mut texts = TextCache::default();
        found
            .into_iter()
            .filter_map(|(name, kind, uri, range, container)| {
                let target = self.target(server.encoding(), &mut texts, uri, range, None)?;
                Some(Symbol {
                    name,
                    kind: kind_name(kind),
                    location: target.location,
                    container,
                })
            })
            .collect()
    }
}

/// `function`, `struct`, … as LSP names the kinds.
fn kind_name(kind: lsp_types::SymbolKind) -> String {
    format!("{kind:?}").to_ascii_lowercase()
}
