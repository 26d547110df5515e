//! Code intelligence and search requests, answered from the language servers and the
//! workspace. (Being written on branch `intel`.)

use crate::channel::ChannelSender;
use crate::protocol::ParticipantId;
use crate::protocol::header::Route;
use crate::protocol::message::{Message, Request, RequestId, Response};

/// Answers intelligence and search requests.
#[derive(Clone, Default)]
pub struct Intel {}

impl Intel {
    pub async fn handle(
        &self,
        sender: ChannelSender,
        from: ParticipantId,
        id: RequestId,
        _request: Request,
    ) -> anyhow::Result<()> {
        let answer = Message::Response {
            id,
            done: true,
            body: Response::Error {
                message: "this host does not answer code intelligence requests yet".into(),
            },
        };
        sender.send(Route::Participant(from), &answer).await?;
        Ok(())
    }
}
