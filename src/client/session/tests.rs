//! Tests of the session state: saves wait for our unconfirmed edits, an interrupted open is asked
//! again, follow-me, presence mapped across revisions, and who typed a remote edit.

use super::*;
use crate::protocol::header::Kind;
use crate::text::{EditId, RemoteEdit};

const BEN: ParticipantId = 2;

fn member(participant: ParticipantId, name: &str) -> Member {
    Member {
        participant,
        name: name.into(),
        role: Role::Editor,
        color: 0,
    }
}

fn from(sender: ParticipantId, kind: Kind) -> Header {
    Header {
        kind,
        route: Route::Everyone,
        epoch: 0,
        sender,
        instance: [0; 16],
        counter: 0,
    }
}

/// Ana's session with `main.rs` open at revision 4: "hello world".
fn session_with_document() -> Session {
    let mut session = Session::new(member(1, "ana"), vec![member(BEN, "ben")]);
    let id = session.open_document("main.rs");
    session.handle(
        &from(HOST_ID, Kind::Response),
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
    while session.next_event().is_some() {}
    session
}

/// A save asked for while our typing is still on its way waits for the host to confirm
/// all of it: the host saves its text, which would otherwise miss the rest (seen in
/// GNU screen: "// typed" saved as "/").
#[test]
fn a_save_waits_for_our_unconfirmed_edits() {
    let mut ana = session_with_document();
    ana.take_outbox();
    let requests = |outbox: &[(Route, Message)]| -> Vec<&'static str> {
        outbox
            .iter()
            .map(|(_, message)| match message {
                Message::Edit(EditMessage::Submit { .. }) => "submit",
                Message::Request {
                    body: Request::Save { .. },
                    ..
                } => "save",
                _ => "other",
            })
            .collect()
    };
    let insert = |at: usize, text: &str| Operation::insert(11 + at, 11 + at, text).unwrap();
    ana.local_edit("main.rs", insert(0, "/")).unwrap();
    ana.local_edit("main.rs", insert(1, "/")).unwrap();
    ana.save("main.rs");
    assert_eq!(requests(&ana.take_outbox()), ["submit"]);
    let ack = |ana: &mut Session, revision: u64| {
        let id = ana.documents["main.rs"]
            .ot
            .outstanding()
            .expect("an edit in flight")
            .id;
        ana.handle(
            &from(HOST_ID, Kind::Edit),
            Message::Edit(EditMessage::Acknowledged {
                path: "main.rs".into(),
                id,
                revision,
            }),
        );
    };
    ack(&mut ana, 5);
    assert_eq!(
        requests(&ana.take_outbox()),
        ["submit"],
        "the second edit, not the save"
    );
    ack(&mut ana, 6);
    assert_eq!(requests(&ana.take_outbox()), ["save"]);
}

/// A document still being opened when the connection (ours or the host's) dropped is
/// asked for again: the repeated request goes out, with nothing else left over.
#[test]
fn an_open_cut_short_by_a_lost_connection_is_asked_again() {
    let mut ana = Session::new(member(1, "ana"), vec![]);
    ana.open_document("big.txt");
    assert_eq!(ana.take_outbox().len(), 1, "the first request went out");
    ana.resynchronize();
    let outbox = ana.take_outbox();
    assert!(
        matches!(
            outbox.as_slice(),
            [(Route::Host, Message::Request { body: Request::OpenDocument { path }, .. })]
                if path == "big.txt"
        ),
        "{outbox:?}"
    );
}

/// The host's "everyone follow me" reaches everyone, the host's own editor too: Ben
/// is asked to follow; the leader is not asked to follow itself.
#[test]
fn follow_me_asks_everyone_but_the_leader() {
    let follow_me = |leader| Message::Event(Event::FollowMe { leader });
    let mut ana = session_with_document();
    ana.handle(&from(HOST_ID, Kind::Event), follow_me(1));
    let mut events = std::iter::from_fn(|| ana.next_event());
    assert!(
        !events.any(|event| matches!(event, SessionEvent::FollowMe { .. })),
        "the leader follows itself"
    );
    ana.handle(&from(HOST_ID, Kind::Event), follow_me(BEN));
    let mut events = std::iter::from_fn(|| ana.next_event());
    assert!(events.any(|event| matches!(event, SessionEvent::FollowMe { leader: BEN })));
}

fn bens_cursor(session: &mut Session, seq: u64, revision: u64, at: usize) {
    let presence = Presence {
        seq,
        path: Some("main.rs".into()),
        revision,
        selections: vec![(at, at)],
        scroll_line: 0,
        following: None,
        latency_ms: None,
        terminal: None,
    };
    session.handle(&from(BEN, Kind::Presence), Message::Presence(presence));
}

fn host_edit(session: &mut Session, revision: u64, op: Operation) {
    let edit = RemoteEdit {
        revision,
        author: EditId {
            instance: [7; 16],
            seq: revision,
        },
        op,
    };
    session.handle(
        &from(HOST_ID, Kind::Edit),
        Message::Edit(EditMessage::Applied {
            edits: vec![AppliedEdit {
                path: "main.rs".into(),
                edit,
                by: HOST_ID,
            }],
        }),
    );
}

fn presence_events(session: &mut Session) -> usize {
    std::iter::from_fn(|| session.next_event())
        .filter(|event| matches!(event, SessionEvent::PresenceChanged { participant: BEN }))
        .count()
}

#[test]
fn presence_from_an_older_revision_is_mapped_to_our_text() {
    let mut session = session_with_document();
    // Revision 5 puts "dear " before "world"; Ben's cursor, sent at revision 4 in
    // "wo|rld" (8), is still there: 13 in the host's text.
    host_edit(&mut session, 5, Operation::insert(11, 6, "dear ").unwrap());
    // And we typed "// " at the start, not yet confirmed: 16 in ours.
    session
        .local_edit("main.rs", Operation::insert(16, 0, "// ").unwrap())
        .unwrap();
    while session.next_event().is_some() {}
    bens_cursor(&mut session, 1, 4, 8);
    assert_eq!(presence_events(&mut session), 1);
    assert_eq!(session.presence[&BEN].selections, vec![(16, 16)]);
}

#[test]
fn presence_from_a_newer_revision_waits_for_it() {
    let mut session = session_with_document();
    // Ben already has revision 5 ("hello dear world") and is after "dear " (11).
    bens_cursor(&mut session, 1, 5, 11);
    assert_eq!(presence_events(&mut session), 0, "held back");
    assert!(!session.presence.contains_key(&BEN));
    host_edit(&mut session, 5, Operation::insert(11, 6, "dear ").unwrap());
    assert_eq!(presence_events(&mut session), 1, "released with the edit");
    assert_eq!(session.presence[&BEN].selections, vec![(11, 11)]);
    assert_eq!(
        session.documents["main.rs"].rope.to_string(),
        "hello dear world"
    );
}

#[test]
fn a_held_presence_is_replaced_by_a_newer_one() {
    let mut session = session_with_document();
    bens_cursor(&mut session, 1, 6, 3);
    bens_cursor(&mut session, 2, 4, 2);
    assert_eq!(presence_events(&mut session), 1, "the newer one, at once");
    assert_eq!(session.presence[&BEN].selections, vec![(2, 2)]);
    bens_cursor(&mut session, 1, 4, 9);
    assert_eq!(presence_events(&mut session), 0, "an older one is dropped");
}

#[test]
fn a_remote_edit_says_who_typed_it() {
    let mut session = session_with_document();
    let edit = RemoteEdit {
        revision: 5,
        author: EditId {
            instance: [8; 16],
            seq: 1,
        },
        op: Operation::insert(11, 11, "!").unwrap(),
    };
    session.handle(
        &from(HOST_ID, Kind::Edit),
        Message::Edit(EditMessage::Applied {
            edits: vec![AppliedEdit {
                path: "main.rs".into(),
                edit,
                by: BEN,
            }],
        }),
    );
    let typists: Vec<_> = std::iter::from_fn(|| session.next_event())
        .filter_map(|event| match event {
            SessionEvent::RemoteEdit { by, .. } => Some(by),
            _ => None,
        })
        .collect();
    assert_eq!(typists, [Some(BEN)]);
}

/// The host said it already had our resent edit, as a revision past the ones our copy has,
/// while the catch-up that brings those revisions was on its way (seen in the chaos test
/// after a reconnect and the host's return in quick succession). The acknowledgement
/// waits for the catch-up: the copy and the edit stay, nothing is reloaded or lost.
#[test]
fn an_acknowledgement_ahead_of_our_copy_waits_for_the_catch_up() {
    use crate::text::server::{AuthoritativeDocument, SubmitOutcome};
    let mut host = AuthoritativeDocument::new("hello world", 4);
    let mut ana = session_with_document();
    ana.local_edit("main.rs", Operation::insert(11, 11, "!").unwrap())
        .unwrap();
    let submission = match ana.take_outbox().pop() {
        Some((_, Message::Edit(EditMessage::Submit { submission, .. }))) => submission,
        other => panic!("expected our edit to go out, got {other:?}"),
    };
    // Ana's host came back; she asks for what she missed.
    ana.resynchronize();
    let catch_up = match ana.take_outbox().pop() {
        Some((
            _,
            Message::Request {
                id,
                body: Request::CatchUp { revision: 4, .. },
            },
        )) => id,
        other => panic!("expected a catch-up from revision 4, got {other:?}"),
    };
    // Meanwhile the host sequenced Ben's edit, then hers (sent before its return).
    let bens = crate::text::Submission {
        id: EditId {
            instance: [8; 16],
            seq: 0,
        },
        base_revision: 4,
        op: Operation::insert(11, 0, "ben: ").unwrap(),
    };
    let SubmitOutcome::Applied(bens) = host.submit(bens).unwrap() else {
        panic!("Ben's edit is new");
    };
    let SubmitOutcome::Applied(_) = host.submit(submission.clone()).unwrap() else {
        panic!("Ana's edit is new");
    };
    let SubmitOutcome::Duplicate { revision } = host.submit(submission.clone()).unwrap() else {
        panic!("Ana's resend is a duplicate");
    };
    let host_says = |ana: &mut Session, message| ana.handle(&from(HOST_ID, Kind::Edit), message);
    host_says(
        &mut ana,
        Message::Edit(EditMessage::Applied {
            edits: vec![AppliedEdit {
                path: "main.rs".into(),
                edit: bens,
                by: BEN,
            }],
        }),
    );
    host_says(
        &mut ana,
        Message::Edit(EditMessage::Acknowledged {
            path: "main.rs".into(),
            id: submission.id,
            revision,
        }),
    );
    ana.handle(
        &from(HOST_ID, Kind::Response),
        Message::Response {
            id: catch_up,
            done: true,
            body: Response::Edits(host.edits_since(4).unwrap()),
        },
    );
    let refused: Vec<_> = std::iter::from_fn(|| ana.next_event())
        .filter_map(|event| match event {
            SessionEvent::EditRefused { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(ana.documents["main.rs"].rope, host.rope().clone());
    assert_eq!(host.rope().to_string(), "ben: hello world!");
    assert!(ana.is_synced("main.rs"));
    assert_eq!(ana.documents["main.rs"].ot.revision(), 6);
}

/// An edit that skips revisions (one was lost on the way) makes the copy ask for the ones
/// it missed, keeping our unconfirmed typing, instead of reloading and dropping it.
#[test]
fn missed_edits_are_asked_for_and_our_typing_stays() {
    use crate::text::server::{AuthoritativeDocument, SubmitOutcome};
    let mut host = AuthoritativeDocument::new("hello world", 4);
    let mut ana = session_with_document();
    ana.local_edit("main.rs", Operation::insert(11, 11, "!").unwrap())
        .unwrap();
    let ours = match ana.take_outbox().pop() {
        Some((_, Message::Edit(EditMessage::Submit { submission, .. }))) => submission,
        other => panic!("expected our edit to go out, got {other:?}"),
    };
    let mut bens = Vec::new();
    for (seq, word) in ["a ", "b "].into_iter().enumerate() {
        let submission = crate::text::Submission {
            id: EditId {
                instance: [8; 16],
                seq: seq as u64,
            },
            base_revision: host.revision(),
            op: Operation::insert(host.rope().len_chars(), 0, word).unwrap(),
        };
        let SubmitOutcome::Applied(edit) = host.submit(submission).unwrap() else {
            panic!("Ben's edit is new");
        };
        bens.push(edit);
    }
    // Revision 5 is lost on the way; 6 arrives.
    ana.handle(
        &from(HOST_ID, Kind::Edit),
        Message::Edit(EditMessage::Applied {
            edits: vec![AppliedEdit {
                path: "main.rs".into(),
                edit: bens[1].clone(),
                by: BEN,
            }],
        }),
    );
    let catch_up = match ana.take_outbox().pop() {
        Some((
            _,
            Message::Request {
                id,
                body: Request::CatchUp { revision: 4, .. },
            },
        )) => id,
        other => panic!("expected a catch-up from revision 4, got {other:?}"),
    };
    ana.handle(
        &from(HOST_ID, Kind::Response),
        Message::Response {
            id: catch_up,
            done: true,
            body: Response::Edits(host.edits_since(4).unwrap()),
        },
    );
    assert!(
        !std::iter::from_fn(|| ana.next_event())
            .any(|event| matches!(event, SessionEvent::EditRefused { .. })),
        "the copy was reloaded"
    );
    assert_eq!(
        ana.documents["main.rs"].rope.to_string(),
        "b a hello world!"
    );
    // Our edit is sent again after the catch-up; the host takes it once.
    let resent = match ana.take_outbox().pop() {
        Some((_, Message::Edit(EditMessage::Submit { submission, .. }))) => submission,
        other => panic!("expected our edit again, got {other:?}"),
    };
    assert_eq!(resent.id, ours.id);
    let SubmitOutcome::Applied(applied) = host.submit(resent).unwrap() else {
        panic!("the host had not seen it");
    };
    ana.handle(
        &from(HOST_ID, Kind::Edit),
        Message::Edit(EditMessage::Applied {
            edits: vec![AppliedEdit {
                path: "main.rs".into(),
                edit: applied,
                by: 1,
            }],
        }),
    );
    assert!(ana.is_synced("main.rs"));
    assert_eq!(ana.documents["main.rs"].rope, host.rope().clone());
}

/// Each piece of a document still arriving is taken back to the host, which sends the
/// next ones only then (it keeps a few on the way): the last one needs no answer.
#[test]
fn each_piece_of_a_document_but_the_last_asks_the_host_for_more() {
    let mut ana = Session::new(member(1, "ana"), vec![]);
    let open = ana.open_document("big.txt");
    ana.take_outbox();
    let piece = |text: &str| Response::DocumentText {
        revision: 2,
        text: text.into(),
        read_only: false,
    };
    for (text, done) in [("one ", false), ("two ", false), ("three", true)] {
        let body = piece(text);
        ana.handle(
            &from(HOST_ID, Kind::Response),
            Message::Response {
                id: open,
                done,
                body,
            },
        );
        let taken: Vec<Request> = ana
            .take_outbox()
            .into_iter()
            .filter(|(route, _)| *route == Route::Host)
            .filter_map(|(_, message)| match message {
                Message::Request { body, .. } => Some(body),
                _ => None,
            })
            .collect();
        let expected = if done {
            vec![]
        } else {
            vec![Request::DocumentTextTaken { open }]
        };
        assert_eq!(taken, expected, "after {text:?}");
    }
    assert_eq!(ana.documents["big.txt"].rope.to_string(), "one two three");
}
