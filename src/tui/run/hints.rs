//! Inlay hints from the host, carried into our text before the app shows them: the host
//! computed them for a revision we may have typed past, so their places go through the
//! edits since, as someone's cursor does (`client::presence::localize`).

use super::event_loop::ParticipantLoop;
use crate::client::presence::{Localized, localize};
use crate::protocol::message::Response;
use crate::tui::inlay::Hint;

impl ParticipantLoop {
    pub(super) fn inlay_hints_answered(&mut self, path: &str, body: Response) {
        let answer = match body {
            Response::InlayHints(answer) => answer,
            Response::Error { message } => {
                tracing::debug!(path, message, "no inlay hints");
                self.app.inlay_hints_failed(path);
                return;
            }
            other => {
                tracing::debug!(path, ?other, "an unexpected answer to inlay hints");
                self.app.inlay_hints_failed(path);
                return;
            }
        };
        let Some(document) = self.session.documents.get(path) else {
            return;
        };
        let places: Vec<(usize, usize)> = answer
            .hints
            .iter()
            .map(|hint| {
                let at = usize::try_from(hint.offset).unwrap_or(usize::MAX);
                (at, at)
            })
            .collect();
        match localize(&places, answer.revision, &document.log, &document.ot) {
            Localized::Here(places) => {
                let len = document.rope.len_chars();
                let hints = answer
                    .hints
                    .into_iter()
                    .zip(places)
                    .map(|(hint, (at, _))| Hint {
                        at: at.min(len),
                        label: hint.label,
                        kind: hint.kind,
                    })
                    .collect();
                let lines = answer.first_line as usize..answer.end_line as usize;
                self.app.set_inlay_hints(path, lines, hints);
            }
            // Computed for a revision whose edits have not reached us yet: ask again.
            Localized::Ahead => self.app.inlay_hints_dropped(path),
        }
    }
}
