//! Semantic tokens asked on behalf of a member, answered with the revision they are for.

use crate::host::intel::{Intel, lsp_revision};
use crate::protocol::message::{Response, TextPosition};
use crate::protocol::semantic::{SemanticTokenItem, SemanticTokensAnswer};

impl Intel {
    pub(super) async fn semantic_tokens(&self, at: TextPosition) -> Response {
        match self
            .ask(&at.path, |lsp, path| async move {
                lsp.semantic_tokens(&path).await
            })
            .await
        {
            Ok(found) => Response::SemanticTokens(SemanticTokensAnswer {
                revision: match found.version {
                    Some(version) if self.follows_documents(&at.path) => lsp_revision(version),
                    _ => at.revision,
                },
                tokens: found
                    .spans
                    .into_iter()
                    .map(|span| SemanticTokenItem {
                        offset: span.range.start as u64,
                        len: u32::try_from(span.range.len()).unwrap_or(u32::MAX),
                        kind: span.kind,
                    })
                    .collect(),
            }),
            Err(message) => Response::Error { message },
        }
    }
}
