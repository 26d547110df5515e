//! Semantic highlighting on the wire: what the host's language server says each name in a
//! document is, for the text at a revision.

use serde::{Deserialize, Serialize};

/// One name and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemanticTokenItem {
    /// A char index into the text at the answer's revision.
    pub offset: u64,
    /// Its length in chars (on one line).
    pub len: u32,
    /// The server's token type: `function`, `parameter`, `type`, `macro`, …
    pub kind: String,
}

/// The answer to `SemanticTokens`: the whole document's tokens in text order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemanticTokensAnswer {
    pub revision: u64,
    pub tokens: Vec<SemanticTokenItem>,
}
