//! The participant loop's side of questions about code (hover, peek, definition,
//! completion, references): sending them at a revision the host knows, and matching
//! answers to them.
//!
//! A position only means something in a known text. While our own edits to a file are
//! unconfirmed, our text is one the host has not seen, so a question about it waits until
//! the host has confirmed them (typically a round trip); it is then asked at our revision,
//! and the host moves it across whatever others typed since. Only the latest question of
//! each kind counts: an answer to one asked before it is dropped.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::client::session::Session;
use crate::protocol::language::{ApplyCodeAction, RenameRequest};
use crate::protocol::message::{Request, RequestId, Response, TextPosition};
use crate::tui::popup::{AskKind, ChangeAsk, IntelAsk};

/// How long we wait for an answer before telling the user. The host answers language
/// questions within 20 s (with its own explanation), so this only fires when the host or
/// the connection is in trouble.
pub const ANSWER_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct IntelRequests {
    /// Asked while our edits to the file were unconfirmed; at most one per kind.
    held: Vec<IntelAsk>,
    in_flight: HashMap<RequestId, (IntelAsk, Instant)>,
    latest: HashMap<AskKind, RequestId>,
}

impl IntelRequests {
    /// Asks now if the file's text is the host's, else as soon as it is.
    pub fn ask(&mut self, ask: IntelAsk, session: &mut Session) {
        self.held.retain(|held| held.kind != ask.kind);
        self.held.push(ask);
        self.send_ready(session);
    }

    /// Sends the held questions whose files have no unconfirmed edits; call after every
    /// turn of the loop. A question about a file no longer open is dropped.
    pub fn send_ready(&mut self, session: &mut Session) {
        let mut still_held = Vec::new();
        for ask in std::mem::take(&mut self.held) {
            let Some(document) = session.documents.get(&ask.path) else {
                continue;
            };
            if document.ot.has_pending() {
                still_held.push(ask);
                continue;
            }
            let at = TextPosition {
                path: ask.path.clone(),
                revision: document.ot.revision(),
                position: ask.at,
            };
            tracing::debug!(?ask, revision = at.revision, "asking the host");
            let id = session.request(match ask.kind {
                AskKind::Hover => Request::Hover(at),
                AskKind::Peek => Request::Peek(at),
                AskKind::Definition => Request::Definition(at),
                AskKind::Completion => Request::Completion(at),
                AskKind::References => Request::References(at),
                AskKind::PrepareRename => Request::PrepareRename(at),
                AskKind::CodeActions => Request::CodeActions(at),
                AskKind::SignatureHelp => Request::SignatureHelp(at),
                AskKind::InlayHints => Request::InlayHints(at),
                AskKind::SemanticTokens => Request::SemanticTokens(at),
                AskKind::LineActions => Request::LineActions(at),
                AskKind::Symbols => Request::Symbols {
                    path: Some(at.path),
                    query: String::new(),
                },
                AskKind::Change => match ask.change.clone() {
                    Some(ChangeAsk::Rename(new_name)) => Request::Rename(RenameRequest {
                        at,
                        new_name,
                        save: false,
                    }),
                    Some(ChangeAsk::ApplyAction(title)) => {
                        Request::ApplyCodeAction(ApplyCodeAction {
                            at,
                            title,
                            save: false,
                        })
                    }
                    Some(ChangeAsk::Format) | None => Request::Format {
                        path: at.path,
                        save: false,
                    },
                    Some(ChangeAsk::FormatSelection { from, to }) => {
                        Request::FormatRange(crate::protocol::language::FormatRangeRequest {
                            path: at.path,
                            revision: at.revision,
                            range: crate::protocol::message::TextRange {
                                start: from,
                                end: to,
                            },
                            save: false,
                        })
                    }
                },
            });
            self.latest.insert(ask.kind, id);
            self.in_flight.insert(id, (ask, Instant::now()));
        }
        self.held = still_held;
    }

    /// Whether `id` is one of our questions.
    pub fn owns(&self, id: RequestId) -> bool {
        self.in_flight.contains_key(&id)
    }

    /// The question `id` answered, unless a newer one of its kind was asked since.
    pub fn answer(&mut self, id: RequestId, body: Response) -> Option<(IntelAsk, Response)> {
        let (ask, _) = self.in_flight.remove(&id)?;
        let latest = self.latest.get(&ask.kind) == Some(&id);
        if !latest {
            tracing::debug!(?ask, "an answer to a question asked again since is dropped");
        }
        latest.then_some((ask, body))
    }

    /// When the oldest question in flight runs out of patience.
    pub fn deadline(&self) -> Option<Instant> {
        self.in_flight
            .values()
            .map(|(_, sent)| *sent + ANSWER_PATIENCE)
            .min()
    }

    /// The questions unanswered for too long, forgotten; what to tell the user of each.
    pub fn expired(&mut self, now: Instant) -> Vec<String> {
        let late: Vec<RequestId> = self
            .in_flight
            .iter()
            .filter(|(_, (_, sent))| now >= *sent + ANSWER_PATIENCE)
            .map(|(id, _)| *id)
            .collect();
        self.forget(late, |what| {
            format!(
                "no {what} answer from the host within {} s; the host or the connection may be slow, try again",
                ANSWER_PATIENCE.as_secs()
            )
        })
    }

    /// The questions in flight died with the connection (ours or the host's): forgotten;
    /// what to tell the user of each.
    pub fn lost(&mut self) -> Vec<String> {
        let all: Vec<RequestId> = self.in_flight.keys().copied().collect();
        self.forget(all, |what| {
            format!("the connection dropped before the {what} answer; ask again")
        })
    }

    fn forget(&mut self, ids: Vec<RequestId>, say: impl Fn(&str) -> String) -> Vec<String> {
        ids.into_iter()
            .filter_map(|id| self.in_flight.remove(&id))
            .filter(|(ask, _)| ask.explicit)
            .map(|(ask, _)| {
                say(match ask.kind {
                    AskKind::Hover => "hover",
                    AskKind::Peek => "peek",
                    AskKind::Definition => "definition",
                    AskKind::Completion => "completions",
                    AskKind::References => "references",
                    AskKind::PrepareRename => "rename",
                    AskKind::CodeActions | AskKind::LineActions => "code actions",
                    AskKind::Change => "change",
                    AskKind::Symbols => "symbols",
                    AskKind::SignatureHelp => "signature",
                    AskKind::InlayHints => "inlay hints",
                    AskKind::SemanticTokens => "semantic tokens",
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HOST_ID;
    use crate::protocol::header::{Header, Kind, Route};
    use crate::protocol::message::{AppliedEdit, EditMessage, Member, Message, Role};
    use crate::text::{LineCol, Operation, RemoteEdit};

    fn header(kind: Kind) -> Header {
        Header {
            kind,
            route: Route::Everyone,
            epoch: 0,
            sender: HOST_ID,
            instance: [0; 16],
            counter: 0,
        }
    }

    /// The questions in the session's outbox, with the revision each was asked at.
    fn asked(session: &mut Session) -> Vec<(String, u64)> {
        session
            .take_outbox()
            .into_iter()
            .filter_map(|(_, message)| match message {
                Message::Request {
                    body: Request::References(at) | Request::Hover(at),
                    ..
                } => Some((at.path, at.revision)),
                _ => None,
            })
            .collect()
    }

    /// A question about our text while the host has not confirmed our edits to it would
    /// name a revision whose text is not ours: it waits for the confirmation, then goes
    /// at the revision that includes them.
    #[test]
    fn a_question_waits_until_the_host_has_our_edits() {
        let me = Member {
            participant: 1,
            name: "ana".into(),
            role: Role::Editor,
            color: 0,
        };
        let mut session = Session::new(me, vec![]);
        let id = session.open_document("main.rs");
        session.handle(
            &header(Kind::Response),
            Message::Response {
                id,
                done: true,
                body: Response::DocumentText {
                    revision: 4,
                    text: "hello world".into(),
                    read_only: false,
                },
            },
        );
        // "// " typed at the start, not yet confirmed.
        session
            .local_edit("main.rs", Operation::insert(11, 0, "// ").unwrap())
            .unwrap();
        let submission = session
            .take_outbox()
            .into_iter()
            .find_map(|(_, message)| match message {
                Message::Edit(EditMessage::Submit { submission, .. }) => Some(submission),
                _ => None,
            })
            .expect("the edit is submitted");

        let mut requests = IntelRequests::default();
        let ask = IntelAsk {
            kind: AskKind::References,
            path: "main.rs".into(),
            at: LineCol { line: 0, col: 5 },
            explicit: true,
            change: None,
        };
        requests.ask(ask, &mut session);
        assert_eq!(asked(&mut session), vec![], "held while unconfirmed");

        // The host sequences our edit as revision 5 and sends it back: confirmed.
        session.handle(
            &header(Kind::Edit),
            Message::Edit(EditMessage::Applied {
                edits: vec![AppliedEdit {
                    path: "main.rs".into(),
                    edit: RemoteEdit {
                        revision: 5,
                        author: submission.id.public(),
                        op: submission.op,
                    },
                    by: 1,
                }],
            }),
        );
        requests.send_ready(&mut session);
        assert_eq!(asked(&mut session), vec![("main.rs".to_string(), 5)]);
    }
}
