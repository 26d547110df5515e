//! Semantic tokens asked on behalf of a member, answered with the revision they are for.

use crate::host::intel::{Intel, lsp_revision};
use crate::host::lsp::SemanticSpan;
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
                tokens: within_one_frame(found.spans),
            }),
            Err(message) => Response::Error { message },
        }
    }
}

/// About the most an answer's tokens may take: the answer travels in one frame
/// (`protocol::DEFAULT_MAX_FRAME`, 1 MiB); a file with more names is colored from its
/// start, the rest by tree-sitter alone.
const MAX_ANSWER_BYTES: usize = 768 * 1024;

/// The tokens, in text order, up to [`MAX_ANSWER_BYTES`] (each counted at the most its
/// encoding takes: two varints and the kind's name with its length).
fn within_one_frame(spans: Vec<SemanticSpan>) -> Vec<SemanticTokenItem> {
    let mut bytes = 0;
    spans
        .into_iter()
        .take_while(|span| {
            bytes += span.kind.len() + 20;
            bytes <= MAX_ANSWER_BYTES
        })
        .map(|span| SemanticTokenItem {
            offset: span.range.start as u64,
            len: u32::try_from(span.range.len()).unwrap_or(u32::MAX),
            kind: span.kind,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::Message;

    #[test]
    fn the_most_tokens_still_fit_one_frame() {
        let spans = (0..200_000)
            .map(|n| SemanticSpan {
                range: n * 10_000..n * 10_000 + 12,
                kind: "enumMember".to_owned(),
            })
            .collect();
        let tokens = within_one_frame(spans);
        assert!(tokens.len() > 20_000, "{}", tokens.len());
        let answer = Message::Response {
            id: u64::MAX,
            done: true,
            body: Response::SemanticTokens(SemanticTokensAnswer {
                revision: u64::MAX,
                tokens,
            }),
        };
        let encoded = postcard::to_allocvec(&answer).expect("encodes");
        assert!(
            encoded.len() < crate::protocol::DEFAULT_MAX_FRAME - 4096,
            "{}",
            encoded.len()
        );
    }
}
