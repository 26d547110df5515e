//! Semantic highlighting: what a server knows each name is (`textDocument/semanticTokens/
//! full`): a function, a parameter, a type, a macro, … as char ranges of the text it was
//! computed for, named by the server's legend.

use lsp_types::{
    PartialResultParams, SemanticTokensParams, SemanticTokensResult,
    SemanticTokensServerCapabilities, TextDocumentIdentifier, WorkDoneProgressParams,
};
use ropey::Rope;

use super::LspBridge;
use crate::host::lsp::{LspError, SemanticSpan, SemanticTokens};
use crate::text::LspEncoding;
use crate::text::position::lsp_to_char_in;

/// The most tokens one answer carries (a few hundred thousand in a generated file).
const MAX_TOKENS: usize = 200_000;

impl LspBridge {
    /// The whole document's semantic tokens, in text order; none when the server has no
    /// semantic tokens.
    pub async fn semantic_tokens(&self, path: &str) -> Result<SemanticTokens, LspError> {
        let (server, _) = self.server_for(path).await?;
        let legend = match &server.capabilities().semantic_tokens_provider {
            Some(SemanticTokensServerCapabilities::SemanticTokensOptions(options)) => {
                options.legend.token_types.clone()
            }
            Some(SemanticTokensServerCapabilities::SemanticTokensRegistrationOptions(options)) => {
                options.semantic_tokens_options.legend.token_types.clone()
            }
            None => {
                return Ok(SemanticTokens {
                    version: None,
                    spans: Vec::new(),
                });
            }
        };
        let uri = self.inner.shared.uri_for(path)?;
        let encoding = server.encoding();
        let (version, text, asked) = {
            let documents = self.inner.shared.documents();
            let (version, text) = match documents.get(path) {
                Some(document) => (Some(document.version), document.text.clone()),
                None => (None, self.asked_text(path)?.1),
            };
            let params = SemanticTokensParams {
                work_done_progress_params: WorkDoneProgressParams::default(),
                partial_result_params: PartialResultParams::default(),
                text_document: TextDocumentIdentifier { uri },
            };
            let asked =
                server.send_request::<lsp_types::request::SemanticTokensFullRequest>(params)?;
            (version, text, asked)
        };
        let timeout = self.inner.config.request_timeout;
        let answer = match server
            .answer::<lsp_types::request::SemanticTokensFullRequest>(asked, timeout)
            .await
        {
            Ok(answer) => answer,
            Err(error @ (LspError::Server { .. } | LspError::Timeout { .. })) => {
                return Err(server.indexing_error().unwrap_or(error));
            }
            Err(error) => return Err(error),
        };
        let data = match answer {
            Some(SemanticTokensResult::Tokens(tokens)) => tokens.data,
            Some(SemanticTokensResult::Partial(partial)) => partial.data,
            None => Vec::new(),
        };
        let kinds: Vec<String> = legend.iter().map(|kind| kind.as_str().to_owned()).collect();
        let spans = decode(&text, &data, &kinds, encoding);
        if spans.is_empty()
            && let Some(indexing) = server.indexing_error()
        {
            return Err(indexing);
        }
        Ok(SemanticTokens { version, spans })
    }
}

/// The server's relative encoding (each token's line and start from the previous one's)
/// as char ranges of `text`; tokens of kinds outside the legend or past the text's end
/// are left out.
fn decode(
    text: &Rope,
    data: &[lsp_types::SemanticToken],
    kinds: &[String],
    encoding: LspEncoding,
) -> Vec<SemanticSpan> {
    let (mut line, mut start) = (0u32, 0u32);
    let mut spans = Vec::new();
    for token in data.iter().take(MAX_TOKENS) {
        if token.delta_line > 0 {
            line = line.saturating_add(token.delta_line);
            start = token.delta_start;
        } else {
            start = start.saturating_add(token.delta_start);
        }
        if line as usize >= text.len_lines() {
            break;
        }
        let Some(kind) = kinds.get(token.token_type as usize) else {
            continue;
        };
        let at =
            |character| lsp_to_char_in(text, lsp_types::Position { line, character }, encoding);
        let (from, to) = (at(start), at(start.saturating_add(token.length)));
        if from < to {
            spans.push(SemanticSpan {
                range: from..to,
                kind: kind.clone(),
            });
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(
        delta_line: u32,
        delta_start: u32,
        length: u32,
        token_type: u32,
    ) -> lsp_types::SemanticToken {
        lsp_types::SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type,
            token_modifiers_bitset: 0,
        }
    }

    #[test]
    fn relative_tokens_become_char_ranges_named_by_the_legend() {
        // `𝔸` is two UTF-16 units: `area` after it starts at UTF-16 column 3, char 2.
        let text = Rope::from_str("fn main() {}\n 𝔸area(x)\n");
        let kinds = ["function".to_owned(), "parameter".to_owned()];
        let data = [
            token(0, 3, 4, 0),
            token(1, 3, 4, 0),
            token(0, 5, 1, 1),
            token(0, 2, 1, 9),
        ];
        let spans = decode(&text, &data, &kinds, LspEncoding::Utf16);
        let named: Vec<(String, &str)> = spans
            .iter()
            .map(|span| {
                (
                    text.slice(span.range.clone()).to_string(),
                    span.kind.as_str(),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                ("main".to_owned(), "function"),
                ("area".to_owned(), "function"),
                ("x".to_owned(), "parameter"),
            ]
        );
    }
}
