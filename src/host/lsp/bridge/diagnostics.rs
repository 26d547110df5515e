//! Diagnostics: a server's publishDiagnostics turned into cotype's `Diagnostics` for the
//! shared folder (hidden files and files outside it are dropped).

use lsp_types::PublishDiagnosticsParams;

use super::{Shared, read_text};
use crate::host::lsp::convert::{self, Place};
use crate::host::lsp::{Diagnostic, DiagnosticTag, Diagnostics, Severity};
use crate::text::LspEncoding;

impl Shared {
    pub(super) fn publish(&self, params: PublishDiagnosticsParams, encoding: LspEncoding) {
        let Some(Place::Workspace { relative, absolute }) = self.place(&params.uri) else {
            return;
        };
        let text = match self.documents().get(&relative) {
            Some(document) => Some(document.text.clone()),
            None => read_text(&absolute),
        };
        let items = params
            .diagnostics
            .into_iter()
            .map(|diagnostic| Diagnostic {
                range: match &text {
                    Some(text) => convert::range_from_lsp(text, diagnostic.range, encoding),
                    None => convert::range_passthrough(diagnostic.range),
                },
                severity: match diagnostic.severity {
                    Some(lsp_types::DiagnosticSeverity::WARNING) => Severity::Warning,
                    Some(lsp_types::DiagnosticSeverity::INFORMATION) => Severity::Information,
                    Some(lsp_types::DiagnosticSeverity::HINT) => Severity::Hint,
                    // Unspecified severity is the client's call; an error is the safe one.
                    _ => Severity::Error,
                },
                message: diagnostic.message,
                source: diagnostic.source,
                tags: diagnostic
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|tag| match tag {
                        lsp_types::DiagnosticTag::UNNECESSARY => Some(DiagnosticTag::Unnecessary),
                        lsp_types::DiagnosticTag::DEPRECATED => Some(DiagnosticTag::Deprecated),
                        _ => None,
                    })
                    .collect(),
            })
            .collect();
        // Nobody listening is fine: diagnostics are a stream of current state.
        let _ = self.diagnostics.send(Diagnostics {
            path: relative,
            version: params.version,
            items,
        });
    }
}
