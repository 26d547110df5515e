//! What a server says while someone types: the signature of the call being typed
//! (`textDocument/signatureHelp`) and the types and parameter names it would show between
//! the characters (`textDocument/inlayHint`), in cotype's char positions.

use lsp_types::{
    Documentation, InlayHintLabel, InlayHintParams, ParameterLabel, SignatureHelpParams,
    TextDocumentIdentifier, WorkDoneProgressParams,
};
use ropey::Rope;

use super::LspBridge;
use crate::host::lsp::convert;
use crate::host::lsp::{
    InlayHint, InlayHintKind, InlayHints, LineCol, LspError, SignatureHelp, SignatureInfo,
};
use crate::text::LspEncoding;
use crate::text::position::{char_to_lsp_in, line_col_to_char, lsp_to_char_in};

/// The most hints one answer carries; a generated file can have tens of thousands.
const MAX_HINTS: usize = 2_000;
/// Hint labels longer than this are cut (a type can be a page long).
const MAX_HINT_CHARS: usize = 60;

impl LspBridge {
    /// The signatures of the call at `position`; `None` when it is not in a call.
    pub async fn signature_help(
        &self,
        path: &str,
        position: LineCol,
    ) -> Result<Option<SignatureHelp>, LspError> {
        let (server, _) = self.server_for(path).await?;
        let triggers = server
            .capabilities()
            .signature_help_provider
            .as_ref()
            .and_then(|options| options.trigger_characters.clone())
            .unwrap_or_default();
        let params = SignatureHelpParams {
            context: None,
            text_document_position_params: self.position_params(&server, path, position)?,
            work_done_progress_params: WorkDoneProgressParams::default(),
        };
        let Some(answer) = self
            .ask::<lsp_types::request::SignatureHelpRequest>(&server, params)
            .await?
        else {
            return Ok(None);
        };
        if answer.signatures.is_empty() {
            return Ok(None);
        }
        let active_signature =
            (answer.active_signature.unwrap_or(0) as usize).min(answer.signatures.len() - 1);
        let encoding = server.encoding();
        let signatures = answer
            .signatures
            .into_iter()
            .map(|signature| {
                let label = Rope::from_str(&signature.label);
                let parameters = signature
                    .parameters
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|parameter| parameter_range(&label, parameter.label, encoding))
                    .collect::<Vec<_>>();
                let active_parameter = signature
                    .active_parameter
                    .or(answer.active_parameter)
                    .map(|index| index as usize)
                    .filter(|index| *index < parameters.len());
                SignatureInfo {
                    label: signature.label,
                    parameters,
                    active_parameter,
                    documentation: signature.documentation.map(|text| match text {
                        Documentation::String(text) => text,
                        Documentation::MarkupContent(markup) => markup.value,
                    }),
                }
            })
            .collect();
        Ok(Some(SignatureHelp {
            signatures,
            active_signature,
            triggers,
        }))
    }

    /// The hints of `lines` (0-based, end excluded) of `path`, in the order of the text.
    pub async fn inlay_hints(
        &self,
        path: &str,
        lines: std::ops::Range<usize>,
    ) -> Result<InlayHints, LspError> {
        let (server, _) = self.server_for(path).await?;
        let uri = self.inner.shared.uri_for(path)?;
        let encoding = server.encoding();
        // The text and version of the moment the request is queued: what the server
        // computes for, since changes reach it in order, before anything asked later.
        let (version, text, asked) = {
            let documents = self.inner.shared.documents();
            let (version, text) = match documents.get(path) {
                Some(document) => (Some(document.version), document.text.clone()),
                None => (None, self.asked_text(path)?.1),
            };
            let last = lines.end.min(text.len_lines()).max(lines.start);
            let start = line_col_to_char(
                &text,
                LineCol {
                    line: lines.start,
                    col: 0,
                },
            );
            let end = line_col_to_char(&text, LineCol { line: last, col: 0 });
            let params = InlayHintParams {
                work_done_progress_params: WorkDoneProgressParams::default(),
                text_document: TextDocumentIdentifier { uri },
                range: lsp_types::Range {
                    start: char_to_lsp_in(&text, start, encoding),
                    end: char_to_lsp_in(&text, end, encoding),
                },
            };
            let asked = server.send_request::<lsp_types::request::InlayHintRequest>(params)?;
            (version, text, asked)
        };
        let timeout = self.inner.config.request_timeout;
        let answer = match server
            .answer::<lsp_types::request::InlayHintRequest>(asked, timeout)
            .await
        {
            Ok(answer) => answer.unwrap_or_default(),
            Err(error @ (LspError::Server { .. } | LspError::Timeout { .. })) => {
                return Err(server.indexing_error().unwrap_or(error));
            }
            Err(error) => return Err(error),
        };
        let mut hints: Vec<InlayHint> = answer
            .into_iter()
            .take(MAX_HINTS)
            .map(|hint| {
                let offset = lsp_to_char_in(&text, hint.position, encoding);
                let mut label = hint_label(hint.label);
                if hint.padding_left == Some(true) {
                    label.insert(0, ' ');
                }
                if hint.padding_right == Some(true) {
                    label.push(' ');
                }
                InlayHint {
                    position: convert::from_lsp(&text, hint.position, encoding),
                    offset,
                    label,
                    kind: match hint.kind {
                        Some(lsp_types::InlayHintKind::TYPE) => InlayHintKind::Type,
                        Some(lsp_types::InlayHintKind::PARAMETER) => InlayHintKind::Parameter,
                        _ => InlayHintKind::Other,
                    },
                }
            })
            .filter(|hint| !hint.label.trim().is_empty())
            .collect();
        hints.sort_by_key(|hint| hint.offset);
        // A server still loading the project answers with none: say so, so the member
        // asks again rather than taking "none" for the answer.
        if hints.is_empty()
            && let Some(indexing) = server.indexing_error()
        {
            return Err(indexing);
        }
        Ok(InlayHints { version, hints })
    }
}

/// A hint's text on one line, cut to [`MAX_HINT_CHARS`].
fn hint_label(label: InlayHintLabel) -> String {
    let text = match label {
        InlayHintLabel::String(text) => text,
        InlayHintLabel::LabelParts(parts) => parts.into_iter().map(|part| part.value).collect(),
    };
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX_HINT_CHARS {
        let cut: String = one_line.chars().take(MAX_HINT_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// A parameter's char range in its signature's label, if it is really there.
fn parameter_range(
    label: &Rope,
    parameter: ParameterLabel,
    encoding: LspEncoding,
) -> Option<std::ops::Range<usize>> {
    match parameter {
        ParameterLabel::Simple(name) => {
            let text = label.to_string();
            let byte = text.find(&name)?;
            let start = text[..byte].chars().count();
            Some(start..start + name.chars().count())
        }
        ParameterLabel::LabelOffsets([start, end]) => {
            let at = |offset| {
                lsp_to_char_in(
                    label,
                    lsp_types::Position {
                        line: 0,
                        character: offset,
                    },
                    encoding,
                )
            };
            let (start, end) = (at(start), at(end));
            (start < end).then_some(start..end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_found_by_name_or_by_utf16_offsets() {
        let label = Rope::from_str("fn 𝔸(width: u32, height: u32)");
        assert_eq!(
            parameter_range(
                &label,
                ParameterLabel::Simple("height: u32".into()),
                LspEncoding::Utf16
            ),
            Some(17..28)
        );
        // `width: u32` starts after `fn 𝔸(`: 5 chars, 6 UTF-16 units.
        assert_eq!(
            parameter_range(
                &label,
                ParameterLabel::LabelOffsets([6, 16]),
                LspEncoding::Utf16
            ),
            Some(5..15)
        );
        assert_eq!(
            parameter_range(
                &label,
                ParameterLabel::Simple("nope".into()),
                LspEncoding::Utf16
            ),
            None
        );
    }

    #[test]
    fn long_hints_are_cut_to_one_line() {
        let long = format!("HashMap<{}>", "String, ".repeat(20));
        let cut = hint_label(InlayHintLabel::String(long));
        assert_eq!(cut.chars().count(), MAX_HINT_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(
            hint_label(InlayHintLabel::String("Vec<\n i32>".into())),
            "Vec< i32>"
        );
    }
}
