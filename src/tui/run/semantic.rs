//! Semantic tokens from the host, carried into our text before the app shows them (as
//! inlay hints are, `hints.rs`).

use super::event_loop::ParticipantLoop;
use crate::client::presence::{Localized, localize};
use crate::protocol::message::Response;
use crate::tui::semantic::Span;

impl ParticipantLoop {
    pub(super) fn semantic_tokens_answered(&mut self, path: &str, body: Response) {
        let answer = match body {
            Response::SemanticTokens(answer) => answer,
            other => {
                tracing::debug!(path, ?other, "no semantic tokens");
                self.app.semantic_failed(path);
                return;
            }
        };
        let Some(document) = self.session.documents.get(path) else {
            return;
        };
        let places: Vec<(usize, usize)> = answer
            .tokens
            .iter()
            .map(|token| {
                let start = usize::try_from(token.offset).unwrap_or(usize::MAX);
                (start, start.saturating_add(token.len as usize))
            })
            .collect();
        match localize(&places, answer.revision, &document.log, &document.ot) {
            Localized::Here(places) => {
                let len = document.rope.len_chars();
                let spans = answer
                    .tokens
                    .into_iter()
                    .zip(places)
                    .filter(|(_, (start, end))| start < end && *end <= len)
                    .map(|(token, (start, end))| Span {
                        range: start..end,
                        kind: token.kind,
                    })
                    .collect();
                self.app.set_semantic(path, spans);
            }
            Localized::Ahead => self.app.semantic_dropped(path),
        }
    }
}
