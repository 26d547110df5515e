//! What a language server says while someone types, asked for by a member and answered
//! by the host: the signature of the call being typed, and inlay hints (types and
//! parameter names shown between the characters, never part of the shared text).

use serde::{Deserialize, Serialize};

use crate::text::LineCol;

/// Lines one `InlayHints` request covers from its first line: about a few screens.
pub const INLAY_HINT_LINES: u32 = 200;

/// One signature of the call at a place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureItem {
    /// The whole signature, e.g. `fn area(width: u32, height: u32) -> u32`.
    pub label: String,
    /// Each parameter's char range in `label` (start, end).
    pub parameters: Vec<(u32, u32)>,
    /// Index into `parameters` of the one being typed.
    pub active_parameter: Option<u32>,
    pub documentation: Option<String>,
}

/// The answer to `SignatureHelp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureAnswer {
    pub signatures: Vec<SignatureItem>,
    /// Index into `signatures` of the best fit.
    pub active: u32,
    /// The characters after which this server offers signatures, besides `(` and `,`.
    pub triggers: Vec<String>,
}

impl SignatureAnswer {
    /// The signature to show and the char range of its active parameter, if any.
    pub fn shown(&self) -> Option<(&SignatureItem, Option<std::ops::Range<usize>>)> {
        let signature = self
            .signatures
            .get(self.active as usize)
            .or(self.signatures.first())?;
        let active = signature
            .active_parameter
            .and_then(|index| signature.parameters.get(index as usize))
            .map(|&(start, end)| start as usize..end as usize);
        Some((signature, active))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HintKind {
    Type,
    Parameter,
    Other,
}

/// One inlay hint: text to draw before the char at `offset`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlayHintItem {
    /// A char index into the text at the answer's revision.
    pub offset: u64,
    /// The same place as (line, char column).
    pub position: LineCol,
    /// As drawn, padding included (`: Vec<i32>`, `width: `).
    pub label: String,
    pub kind: HintKind,
}

/// The answer to `InlayHints`: the hints of the lines asked, for the text at `revision`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlayHintsAnswer {
    pub revision: u64,
    /// The lines covered (0-based, end excluded) at `revision`.
    pub first_line: u32,
    pub end_line: u32,
    pub hints: Vec<InlayHintItem>,
}
