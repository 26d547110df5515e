//! The host stays in control: nobody receives session traffic before admission, a refused
//! joiner is told why, read-only members cannot change anything, and a removed member is
//! cut off cryptographically (new epoch, rotated token), while the others carry on.

mod common;

use std::time::Duration;

use common::{start_host_with, start_relay, write_tree};
use cotype::channel::{Channel, Incoming};
use cotype::client::driver::{Driver, DriverEvent};
use cotype::client::headless::{EditAction, edit, open, run_until};
use cotype::client::session::SessionError;
use cotype::client::{ClientError, Participant};
use cotype::crypto::{ReceivingKeys, SessionKeys};
use cotype::host::session::{Approval, HostCommand, HostControl, HostEvent};
use cotype::link::Link;
use cotype::protocol::control::{ErrorCode, FromRelay, ToRelay};
use cotype::protocol::frame::open_frame;
use cotype::protocol::header::{Header, Route};
use cotype::protocol::message::{Hello, Message, Request, Response, Role};
use cotype::relay::{RelayConfig, TapDirection};
use cotype::text::{LineCol, Operation};

async fn next_host_event(control: &mut HostControl) -> HostEvent {
    tokio::time::timeout(Duration::from_secs(20), control.events.recv())
        .await
        .expect("the host reports something")
        .expect("the host session runs")
}

/// Joins in the background, answering the host's admission from the test.
async fn join_admitted(
    link: &Link,
    control: &mut HostControl,
    name: &str,
    role: Role,
) -> (Driver, cotype::client::session::Session) {
    let joining = tokio::spawn({
        let link = link.clone();
        let name = name.to_string();
        async move { Driver::join(&link, &name).await }
    });
    loop {
        match next_host_event(control).await {
            HostEvent::JoinRequest {
                participant,
                name: asked,
            } if asked == name => {
                control
                    .commands
                    .send(HostCommand::Admit { participant, role })
                    .await
                    .unwrap();
                break;
            }
            _ => continue,
        }
    }
    joining.await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_hears_the_session_before_admission_and_a_refusal_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"hello\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let (link, mut control) =
        start_host_with(dir.path(), relay.address, "host", &[], Approval::Ask).await;
    let (mut alice, mut alice_session) =
        join_admitted(&link, &mut control, "alice", Role::Editor).await;
    open(&mut alice, &mut alice_session, "a.txt").await.unwrap();

    // Eve proves she has the link and says hello, but the host has not let her in.
    let keys = SessionKeys::derive(&link.secret, &link.session);
    let socket = cotype::net::connect(&link, 1 << 20).await.unwrap();
    let mut eve = Channel::new(
        socket,
        keys.sending_key(0),
        ReceivingKeys::new(0, &keys),
        link.host_key,
    );
    eve.sender
        .control(&ToRelay::Join {
            session: link.session.0,
            token: keys.admission_token(),
        })
        .await
        .unwrap();
    let eve_id = match eve.recv().await {
        Incoming::Relay(FromRelay::Welcome { participant, .. }) => participant,
        other => panic!("expected the relay's welcome, got {other:?}"),
    };
    eve.sender.set_participant(eve_id);
    eve.sender
        .send(
            Route::Host,
            &Message::Hello(Hello {
                rejoin: None,
                name: "eve".into(),
                public_key: [9; 32],
                client_version: "test".into(),
                owner_proof: None,
            }),
        )
        .await
        .unwrap();
    loop {
        if let HostEvent::JoinRequest { participant, name } = next_host_event(&mut control).await {
            assert_eq!((participant, name.as_str()), (eve_id, "eve"));
            break;
        }
    }
    // The one thing a waiting joiner hears: the host, to it alone, that its user decides.
    let told = tokio::time::timeout(Duration::from_secs(10), eve.recv())
        .await
        .expect("the host tells a waiting joiner why it waits");
    assert!(
        matches!(
            &told,
            Incoming::Message {
                header,
                message: Message::Event(cotype::protocol::message::Event::AwaitingAdmission),
            } if header.sender == 0
        ),
        "{told:?}"
    );
    // Session traffic flows meanwhile: edits, events, broadcasts.
    for i in 0..5 {
        let len = alice_session.documents["a.txt"].rope.len_chars();
        alice_session
            .local_edit(
                "a.txt",
                Operation::insert(len, len, &format!("{i}")).unwrap(),
            )
            .unwrap();
    }
    run_until(
        &mut alice,
        &mut alice_session,
        Duration::from_secs(20),
        |s, _| Ok(s.is_synced("a.txt")),
    )
    .await
    .unwrap();
    // Eve received nothing of it (only relay control messages could reach her).
    let heard = tokio::time::timeout(Duration::from_millis(500), eve.recv()).await;
    assert!(heard.is_err(), "a waiting joiner received {heard:?}");
    // Asking anything gets a refusal, not the answer, and not silence (an asker left
    // waiting in silence never knows to ask again).
    eve.sender
        .send(
            Route::Host,
            &Message::Request {
                id: 7,
                body: Request::ListFiles,
            },
        )
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), eve.recv())
        .await
        .expect("the host answers a waiting joiner's request");
    match &answer {
        Incoming::Message {
            message:
                Message::Response {
                    id: 7,
                    done: true,
                    body: Response::Error { message },
                },
            ..
        } => assert!(message.contains("not let you in yet"), "{message}"),
        other => panic!("a waiting joiner's request got {other:?}"),
    }

    control
        .commands
        .send(HostCommand::Refuse {
            participant: eve_id,
        })
        .await
        .unwrap();
    let mut told = None;
    while let Ok(incoming) = tokio::time::timeout(Duration::from_secs(10), eve.recv()).await {
        match incoming {
            Incoming::Relay(FromRelay::Error {
                code,
                message,
                fatal,
            }) => {
                assert!(fatal);
                told = Some((code, message));
            }
            Incoming::Closed { .. } => break,
            other => panic!("a refused joiner received {other:?}"),
        }
    }
    let (code, message) = told.expect("the refused joiner is told why");
    assert_eq!(code, ErrorCode::Refused);
    assert_eq!(message, "the host did not let you in");

    // Through the participant API, the refusal is a clear error.
    let mallory = tokio::spawn({
        let link = link.clone();
        async move { Participant::join(&link, "mallory").await.err() }
    });
    loop {
        if let HostEvent::JoinRequest { participant, .. } = next_host_event(&mut control).await {
            control
                .commands
                .send(HostCommand::Refuse { participant })
                .await
                .unwrap();
            break;
        }
    }
    let error = mallory.await.unwrap().expect("mallory is refused");
    assert!(matches!(error, ClientError::NotAdmitted(_)), "{error:?}");
    assert_eq!(error.to_string(), "the host did not let you in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_member_can_read_but_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let original = b"line one\nline two\n";
    write_tree(dir.path(), &[("a.txt", original)]);
    let relay = start_relay(RelayConfig::default()).await;
    let (link, mut control) =
        start_host_with(dir.path(), relay.address, "host", &[], Approval::Ask).await;
    let (mut viewer, mut session) =
        join_admitted(&link, &mut control, "viewer", Role::ReadOnly).await;
    assert_eq!(session.role(), Role::ReadOnly);

    // The headless edit says why, and so does the session for a local edit.
    let error = edit(
        &mut viewer,
        &mut session,
        "a.txt",
        LineCol { line: 1, col: 1 },
        &EditAction::Insert("x".into()),
        true,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("read-only"), "{error}");
    let len = session.documents["a.txt"].rope.len_chars();
    assert_eq!(
        session.local_edit("a.txt", Operation::insert(len, 0, "x").unwrap()),
        Err(SessionError::ReadOnly)
    );
    // A client that ignores its read-only flag is refused by the host, and so is a save.
    session.documents.get_mut("a.txt").unwrap().read_only = false;
    session
        .local_edit("a.txt", Operation::insert(len, 0, "sneaky").unwrap())
        .unwrap();
    session.save("a.txt");
    let mut refused = false;
    let mut save_failed = false;
    run_until(
        &mut viewer,
        &mut session,
        Duration::from_secs(20),
        |_, event| {
            match event {
                Some(cotype::client::session::SessionEvent::EditRefused { reason, .. }) => {
                    assert!(reason.contains("read-only"), "{reason}");
                    refused = true;
                }
                Some(cotype::client::session::SessionEvent::Failed { message, .. }) => {
                    assert!(message.contains("read-only"), "{message}");
                    save_failed = true;
                }
                _ => {}
            }
            Ok(refused && save_failed)
        },
    )
    .await
    .unwrap();
    // After the refusal the document was reloaded from the host: unchanged.
    open(&mut viewer, &mut session, "a.txt").await.unwrap();
    assert_eq!(
        session.documents["a.txt"].rope.to_string(),
        "line one\nline two\n"
    );
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), original);

    // Reading still works.
    let reader = Participant::join(&link, "reader");
    tokio::pin!(reader);
    let reader = loop {
        tokio::select! {
            joined = &mut reader => break joined.unwrap(),
            event = control.events.recv() => {
                if let Some(HostEvent::JoinRequest { participant, .. }) = event {
                    control.commands.send(HostCommand::Admit { participant, role: Role::ReadOnly }).await.unwrap();
                }
            }
        }
    };
    let mut reader = reader;
    let mut bytes = Vec::new();
    reader.read_file("a.txt", &mut bytes).await.unwrap();
    assert_eq!(bytes, original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_is_cut_off_by_a_new_key_epoch_and_the_others_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("plan.md", b"# plan\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let (link, mut control) =
        start_host_with(dir.path(), relay.address, "host", &[], Approval::Ask).await;
    let (mut alice, mut alice_session) =
        join_admitted(&link, &mut control, "alice", Role::Editor).await;
    let (mut bob, mut bob_session) = join_admitted(&link, &mut control, "bob", Role::Editor).await;
    let (mut mallory, mallory_session) =
        join_admitted(&link, &mut control, "mallory", Role::Editor).await;
    open(&mut alice, &mut alice_session, "plan.md")
        .await
        .unwrap();
    open(&mut bob, &mut bob_session, "plan.md").await.unwrap();
    let mallory_id = mallory_session.me.participant;
    let frames_before = relay.tapped.lock().unwrap().len();

    control
        .commands
        .send(HostCommand::Remove {
            participant: mallory_id,
        })
        .await
        .unwrap();
    let new_link = loop {
        if let HostEvent::Rekeyed { link, .. } = next_host_event(&mut control).await {
            break link;
        }
    };
    // Mallory is told, and her session is over.
    let fatal = loop {
        match tokio::time::timeout(Duration::from_secs(20), mallory.next())
            .await
            .expect("mallory hears")
        {
            DriverEvent::Fatal(error) => break error,
            _ => continue,
        }
    };
    assert_eq!(fatal.to_string(), "the host removed you from the session");

    // The others move to the new epoch and keep editing together.
    for (driver, session, text) in [
        (&mut alice, &mut alice_session, "alice was here\n"),
        (&mut bob, &mut bob_session, "bob too\n"),
    ] {
        let len = session.documents["plan.md"].rope.len_chars();
        session
            .local_edit("plan.md", Operation::insert(len, len, text).unwrap())
            .unwrap();
        run_until(driver, session, Duration::from_secs(20), |s, _| {
            Ok(s.is_synced("plan.md"))
        })
        .await
        .unwrap();
    }
    run_until(
        &mut alice,
        &mut alice_session,
        Duration::from_secs(20),
        |s, _| Ok(s.documents["plan.md"].rope.to_string().contains("bob too")),
    )
    .await
    .unwrap();
    assert!(
        alice_session.documents["plan.md"]
            .rope
            .to_string()
            .contains("alice was here")
    );

    // Nothing the relay carried after the removal opens with what mallory holds: her
    // epoch-0 keys, even relabelled as the new epoch.
    let old_keys = SessionKeys::derive(&link.secret, &link.session);
    let tapped: Vec<Vec<u8>> = relay.tapped.lock().unwrap()[frames_before..]
        .iter()
        .filter(|(direction, frame)| {
            *direction == TapDirection::Sent && Header::decode(frame).is_ok()
        })
        .map(|(_, frame)| frame.clone())
        .collect();
    let new_epoch_frames: Vec<&Vec<u8>> = tapped
        .iter()
        .filter(|f| Header::decode(f).unwrap().epoch == 1)
        .collect();
    assert!(new_epoch_frames.len() >= 4, "edits flowed in the new epoch");
    for frame in &new_epoch_frames {
        let mut as_is = ReceivingKeys::new(0, &old_keys);
        assert!(open_frame(&mut as_is, &link.host_key, frame).is_err());
        let mut relabelled = ReceivingKeys::new(1, &old_keys);
        assert!(open_frame(&mut relabelled, &link.host_key, frame).is_err());
    }

    // The old link no longer gets in, with a clear message; the new one does.
    let error = Participant::join(&link, "mallory again")
        .await
        .err()
        .unwrap();
    assert!(matches!(error, ClientError::WrongSecret(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("ask the host for the current one"),
        "{error}"
    );
    let new_link = Link::parse(&new_link, false).unwrap();
    let carol = tokio::spawn(async move { Participant::join(&new_link, "carol").await });
    loop {
        if let HostEvent::JoinRequest { participant, .. } = next_host_event(&mut control).await {
            control
                .commands
                .send(HostCommand::Admit {
                    participant,
                    role: Role::Editor,
                })
                .await
                .unwrap();
            break;
        }
    }
    let mut carol = carol.await.unwrap().unwrap();
    assert_eq!(carol.list_files().await.unwrap().len(), 1);
}

/// The host's own terminal UI joins as a participant proven by the session's owner key:
/// let in without asking and shown as the host. A forged claim is asked about like anyone,
/// and the host's own user can be neither demoted nor removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_own_user_is_proven_not_claimed() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"hello\n")]);
    let relay = start_relay(RelayConfig::default()).await;
    let mut host = cotype::host::HostSession::start(cotype::host::HostOptions {
        root: dir.path().to_path_buf(),
        relay: relay.address.to_string(),
        insecure: false,
        hide: Vec::new(),
        name: "daemon".into(),
        approval: Approval::Ask,
        trust_project: false,
    })
    .await
    .unwrap();
    let link = host.link.clone();
    let owner_key = host.owner_key();
    let mut control = host.control().unwrap();
    tokio::spawn(host.run());

    // A proof made with another key is no proof: the host is asked about mallory.
    let forger = cotype::crypto::OwnerKey::generate();
    let mallory = tokio::spawn({
        let link = link.clone();
        async move { Participant::join_as(&link, "mallory", Some(&forger)).await }
    });
    match next_host_event(&mut control).await {
        HostEvent::JoinRequest { name, .. } => assert_eq!(name, "mallory"),
        other => panic!("expected the host to be asked about mallory, got {other:?}"),
    }

    // The real owner is let in at once, as the host, and is the only host listed.
    let mut owner = Participant::join_as(&link, "alice", Some(&owner_key))
        .await
        .expect("the owner is admitted without an answer");
    assert_eq!(owner.me().role, Role::Host);
    let hosts: Vec<_> = owner
        .members()
        .filter(|member| member.role == Role::Host)
        .map(|member| (member.participant, member.name.clone()))
        .collect();
    assert_eq!(hosts, [(owner.id(), "alice".to_string())]);

    // Neither a role change nor a removal reaches the host's own user.
    let owner_id = owner.id();
    for command in [
        HostCommand::SetRole {
            participant: owner_id,
            role: Role::ReadOnly,
        },
        HostCommand::Remove {
            participant: owner_id,
        },
    ] {
        control.commands.send(command).await.unwrap();
    }
    // Commands run in order: once this is answered, both above were handled.
    control
        .commands
        .send(HostCommand::CheckUnsaved)
        .await
        .unwrap();
    loop {
        match next_host_event(&mut control).await {
            HostEvent::Unsaved { .. } => break,
            HostEvent::JoinRequest { .. } | HostEvent::MemberJoined(_) => continue,
            other => panic!("the host's own user was changed: {other:?}"),
        }
    }
    let files = owner.list_files().await.expect("still in the session");
    assert_eq!(files.len(), 1);
    mallory.abort();
}

/// The host and a participant show the same verification code, computed on each side from
/// the secret and the host's key; it is long enough to resist a search for a look-alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_participant_show_the_same_fifteen_digit_code() {
    let dir = tempfile::tempdir().unwrap();
    common::write_tree(dir.path(), &[("a.txt", b"a\n")]);
    let relay = common::start_relay(cotype::relay::RelayConfig::default()).await;
    let mut host = cotype::host::HostSession::start(cotype::host::HostOptions {
        root: dir.path().to_path_buf(),
        relay: relay.address.to_string(),
        insecure: false,
        hide: Vec::new(),
        name: "host".into(),
        approval: Approval::Auto,
        trust_project: false,
    })
    .await
    .unwrap();
    let host_code = host.verification_code();
    let link = host.link.clone();
    let _control = host.control();
    tokio::spawn(host.run());
    let (driver, _session) = cotype::client::driver::Driver::join(&link, "guest")
        .await
        .unwrap();
    assert_eq!(driver.verification_code(), host_code);
    assert_eq!(host_code.chars().filter(char::is_ascii_digit).count(), 15);
}
