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
