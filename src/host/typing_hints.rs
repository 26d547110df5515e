//! Signature help and inlay hints, asked on behalf of a member: the questions go to the
//! bridge like hover's; the answers name the revision they were computed for, so the
//! member can carry the hints' places across whatever was typed since (as presence is).

use crate::host::intel::{Intel, lsp_revision, nothing_at};
use crate::host::lsp::{InlayHintKind, SignatureHelp};
use crate::protocol::hints::{
    HintKind, INLAY_HINT_LINES, InlayHintItem, InlayHintsAnswer, SignatureAnswer, SignatureItem,
};
use crate::protocol::message::{Response, TextPosition};

impl Intel {
    pub(super) async fn signature_help(&self, at: TextPosition) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                lsp.signature_help(&path, position).await
            })
            .await
        {
            Ok(Some(help)) => Response::Signatures(wire_signatures(help)),
            Ok(None) => nothing_at("no call", &at),
            Err(message) => Response::Error { message },
        }
    }

    pub(super) async fn inlay_hints(&self, at: TextPosition) -> Response {
        let first = at.position.line;
        let lines = first..first + INLAY_HINT_LINES as usize;
        let asked = lines.clone();
        match self
            .ask(&at.path, move |lsp, path| {
                let lines = asked.clone();
                async move { lsp.inlay_hints(&path, lines).await }
            })
            .await
        {
            Ok(found) => Response::InlayHints(InlayHintsAnswer {
                // Computed for the text the server had: the revision of that version (or
                // the one the question was moved to, for a file read from disk).
                revision: match found.version {
                    Some(version) if self.follows_documents(&at.path) => lsp_revision(version),
                    _ => at.revision,
                },
                first_line: u32::try_from(lines.start).unwrap_or(u32::MAX),
                end_line: u32::try_from(lines.end).unwrap_or(u32::MAX),
                hints: found
                    .hints
                    .into_iter()
                    .map(|hint| InlayHintItem {
                        offset: hint.offset as u64,
                        position: hint.position,
                        label: hint.label,
                        kind: match hint.kind {
                            InlayHintKind::Type => HintKind::Type,
                            InlayHintKind::Parameter => HintKind::Parameter,
                            InlayHintKind::Other => HintKind::Other,
                        },
                    })
                    .collect(),
            }),
            Err(message) => Response::Error { message },
        }
    }
}

fn wire_signatures(help: SignatureHelp) -> SignatureAnswer {
    let index = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    SignatureAnswer {
        active: index(help.active_signature),
        triggers: help.triggers,
        signatures: help
            .signatures
            .into_iter()
            .map(|signature| SignatureItem {
                label: signature.label,
                parameters: signature
                    .parameters
                    .into_iter()
                    .map(|range| (index(range.start), index(range.end)))
                    .collect(),
                active_parameter: signature.active_parameter.map(index),
                documentation: signature.documentation,
            })
            .collect(),
    }
}
