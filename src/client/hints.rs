//! Asking the host what its language server says while someone types: the signature of
//! the call at a place, and the inlay hints of a stretch of lines.

use super::{ClientError, Participant};
use crate::client::request::HostRequest;
use crate::protocol::hints::{InlayHintsAnswer, SignatureAnswer};
use crate::protocol::message::{Request, Response, TextPosition};
use crate::protocol::semantic::SemanticTokensAnswer;

/// The signatures of the call at a place; `None` outside a call.
pub struct SignatureHelp(pub TextPosition);

impl HostRequest for SignatureHelp {
    type Answer = Option<SignatureAnswer>;
    fn into_request(self) -> Request {
        Request::SignatureHelp(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::Signatures(answer) => Ok(Some(answer)),
            Response::Nothing { .. } => Ok(None),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// The inlay hints of `protocol::hints::INLAY_HINT_LINES` lines from a place's line.
pub struct InlayHints(pub TextPosition);

impl HostRequest for InlayHints {
    type Answer = InlayHintsAnswer;
    fn into_request(self) -> Request {
        Request::InlayHints(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::InlayHints(answer) => Ok(answer),
            _ => Err(ClientError::Protocol),
        }
    }
}

/// A whole document's semantic tokens.
pub struct SemanticTokens(pub TextPosition);

impl HostRequest for SemanticTokens {
    type Answer = SemanticTokensAnswer;
    fn into_request(self) -> Request {
        Request::SemanticTokens(self.0)
    }
    fn answer(response: Response) -> Result<Self::Answer, ClientError> {
        match response {
            Response::SemanticTokens(answer) => Ok(answer),
            _ => Err(ClientError::Protocol),
        }
    }
}

impl Participant {
    pub async fn semantic_tokens(
        &mut self,
        at: TextPosition,
    ) -> Result<SemanticTokensAnswer, ClientError> {
        self.request(SemanticTokens(at)).await
    }

    pub async fn signature_help(
        &mut self,
        at: TextPosition,
    ) -> Result<Option<SignatureAnswer>, ClientError> {
        self.request(SignatureHelp(at)).await
    }

    pub async fn inlay_hints(&mut self, at: TextPosition) -> Result<InlayHintsAnswer, ClientError> {
        self.request(InlayHints(at)).await
    }
}
