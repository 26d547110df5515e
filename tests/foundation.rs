//! The foundation end to end: a real relay on port 0, a real host on a temporary folder,
//! participants over real WebSockets. What a participant reads must be exactly what the
//! host has; what the relay sees must hold nothing readable; bad frames must be refused
//! while everyone else carries on.

mod common;

use std::time::Duration;

use common::{contains, start_host, start_relay, write_tree};
use cotype::channel::{Channel, Incoming};
use cotype::client::{ClientError, Participant};
use cotype::crypto::{CryptoError, SessionKeys};
use cotype::link::{Link, Secret, SessionId};
use cotype::protocol::control::{self, ErrorCode, FromRelay, ToRelay};
use cotype::protocol::frame::{FrameError, FrameSealer};
use cotype::protocol::header::Route;
use cotype::protocol::message::{Event, Message};
use cotype::relay::RelayConfig;

fn sample_tree(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let big: Vec<u8> = (0..1_500_000u32)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[(i % 27) as usize])
        .collect();
    let files: Vec<(String, Vec<u8>)> = vec![
        ("README.md".into(), b"# sample\n".to_vec()),
        (
            "src/main.rs".into(),
            b"fn main() {\r\n    println!(\"h\xc3\xa9llo \xf0\x9f\x98\x80\");\r\n}".to_vec(),
        ),
        ("src/empty.txt".into(), Vec::new()),
        (
            "docs/\u{65e5}\u{672c}.md".into(),
            "\u{3053}\u{3093}\u{306b}\u{3061}\u{306f}\n"
                .as_bytes()
                .to_vec(),
        ),
        ("data/big.txt".into(), big),
    ];
    let borrowed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    write_tree(root, &borrowed);
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_participants_read_exactly_the_hosts_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample_tree(dir.path());
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;

    let (mut alice, mut bob) = tokio::try_join!(
        Participant::join(&link, "alice"),
        Participant::join(&link, "bob")
    )
    .unwrap();
    assert_ne!(alice.id(), bob.id());

    let mut expected: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    expected.sort();
    for participant in [&mut alice, &mut bob] {
        let listed: Vec<String> = participant
            .list_files()
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(listed, expected);
        for (path, contents) in &files {
            let mut read = Vec::new();
            let written = participant.read_file(path, &mut read).await.unwrap();
            assert_eq!(written as usize, contents.len(), "{path}");
            assert!(read == *contents, "{path}: bytes differ");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_readable_crosses_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let markers: [&[u8]; 5] = [
        b"MARKER-FILENAME-7f3a",
        b"MARKER-CONTENT-91c2",
        b"MARKER-HOSTNAME-4be0",
        b"MARKER-GUESTNAME-d85e",
        b"MARKER-DIRNAME-0a9b",
    ];
    write_tree(
        dir.path(),
        &[
            (
                "MARKER-FILENAME-7f3a.rs",
                b"let x = \"MARKER-CONTENT-91c2\";\n",
            ),
            (
                "MARKER-DIRNAME-0a9b/lib.rs",
                b"// MARKER-CONTENT-91c2 twice MARKER-CONTENT-91c2\n",
            ),
        ],
    );
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "MARKER-HOSTNAME-4be0", &[]).await;
    let mut guest = Participant::join(&link, "MARKER-GUESTNAME-d85e")
        .await
        .unwrap();
    let mut other = Participant::join(&link, "second").await.unwrap();
    // The guest's name reached the others (so it did travel), and the file contents too.
    assert!(guest.members().any(|m| m.name == "MARKER-HOSTNAME-4be0"));
    let files = guest.list_files().await.unwrap();
    assert_eq!(files.len(), 2);
    let mut contents = Vec::new();
    guest
        .read_file("MARKER-FILENAME-7f3a.rs", &mut contents)
        .await
        .unwrap();
    assert!(contains(&contents, b"MARKER-CONTENT-91c2"));
    other.list_files().await.unwrap();

    let tapped = relay.tapped.lock().unwrap().clone();
    assert!(tapped.len() > 10, "the tap saw the traffic");
    let secret_text = link.to_url();
    let secret_text = secret_text.split('#').nth(1).unwrap().as_bytes().to_vec();
    for (direction, frame) in &tapped {
        for marker in markers {
            assert!(
                !contains(frame, marker),
                "{} crossed the relay in the clear ({direction:?})",
                String::from_utf8_lossy(marker)
            );
        }
        assert!(
            !contains(frame, &link.secret.0),
            "the raw secret crossed the relay"
        );
        assert!(
            !contains(frame, &secret_text),
            "the link's secret crossed the relay"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_a_gone_session_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"a")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;

    let mut wrong = link.clone();
    wrong.secret.0[5] ^= 0x40;
    let error = Participant::join(&wrong, "mallory").await.err().unwrap();
    assert!(matches!(error, ClientError::WrongSecret(_)), "{error}");
    assert!(error.to_string().contains("does not match"), "{error}");

    let mut gone = link.clone();
    gone.session = SessionId::random();
    let error = Participant::join(&gone, "late").await.err().unwrap();
    assert!(matches!(error, ClientError::SessionGone(_)), "{error}");

    let mut unreachable = link.clone();
    unreachable.relay = "127.0.0.1:1".into();
    let error = Participant::join(&unreachable, "x").await.err().unwrap();
    assert!(matches!(error, ClientError::Unreachable(_)), "{error}");

    // The session is undisturbed.
    let mut guest = Participant::join(&link, "guest").await.unwrap();
    assert_eq!(guest.list_files().await.unwrap().len(), 1);
}

/// Waits for the next data message or rejection on a raw channel, skipping relay events
/// and the host's own traffic when someone joins (announcement, its presence).
async fn next_frame(channel: &mut Channel) -> Incoming {
    loop {
        let incoming = tokio::time::timeout(Duration::from_secs(10), channel.recv())
            .await
            .expect("something arrives");
        match incoming {
            Incoming::Relay(FromRelay::PeerJoined { .. }) => continue,
            Incoming::Message {
                message: Message::Event(Event::MemberJoined(_)),
                ..
            } => continue,
            // The host's own presence, and who may type in its shared terminals (told to
            // every joiner).
            Incoming::Message {
                header,
                message: Message::Presence(_) | Message::Terminal(_),
            } if header.sender == cotype::protocol::HOST_ID => continue,
            Incoming::Closed { reason } => panic!("connection closed: {reason:?}"),
            other => return other,
        }
    }
}

/// What one member may say to another: where it is (members speak only in presence; the
/// rest is the host's to say).
fn said(text: &str) -> Message {
    Message::Presence(cotype::protocol::message::Presence {
        seq: 1,
        path: Some(text.into()),
        revision: 0,
        selections: Vec::new(),
        scroll_line: 0,
        following: None,
        latency_ms: None,
        terminal: None,
    })
}

fn notice(text: &str) -> Message {
    Message::Event(Event::Notice {
        message: text.into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_replayed_spliced_and_forged_frames_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"a")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let other_link = start_host(dir.path(), relay.address, "other host", &[]).await;

    let sender = Participant::join(&link, "sender").await.unwrap();
    let sender_id = sender.id();
    let receiver = Participant::join(&link, "receiver").await.unwrap();
    let receiver_id = receiver.id();
    let mut bystander = Participant::join(&link, "bystander").await.unwrap();
    let sender = sender.into_channel();
    let mut receiver = receiver.into_channel();
    let to_receiver = Route::Participant(receiver_id);

    // Frames sealed honestly, but sent raw so the test can alter them.
    let keys = SessionKeys::derive(&link.secret, &link.session);
    let mut sealer = FrameSealer::new(keys.sending_key(0), sender_id);
    let genuine = sealer.seal(to_receiver, &said("genuine")).unwrap();
    sender.sender.send_raw(genuine.clone()).await.unwrap();
    match next_frame(&mut receiver).await {
        Incoming::Message { header, message } => {
            assert_eq!(message, said("genuine"));
            assert_eq!(header.sender, sender_id);
        }
        other => panic!("expected the genuine frame, got {other:?}"),
    }

    // Replay of the same bytes.
    sender.sender.send_raw(genuine.clone()).await.unwrap();
    assert!(matches!(
        next_frame(&mut receiver).await,
        Incoming::Rejected {
            error: FrameError::Crypto(CryptoError::Replay { .. }),
            ..
        }
    ));

    // One flipped bit in the ciphertext.
    let mut tampered = sealer.seal(to_receiver, &said("tampered")).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    sender.sender.send_raw(tampered).await.unwrap();
    assert!(matches!(
        next_frame(&mut receiver).await,
        Incoming::Rejected {
            error: FrameError::Crypto(CryptoError::Open),
            ..
        }
    ));

    // A sender id that is not the connection's: the relay stamps the real one, and the
    // seal no longer opens.
    let mut forger = FrameSealer::new(keys.sending_key(0), 0);
    sender
        .sender
        .send_raw(forger.seal(to_receiver, &said("I am the host")).unwrap())
        .await
        .unwrap();
    match next_frame(&mut receiver).await {
        Incoming::Rejected { from, error } => {
            assert_eq!(from, sender_id, "the relay stamped the real sender");
            assert_eq!(error, FrameError::Crypto(CryptoError::Open));
        }
        other => panic!("a forged sender must be rejected, got {other:?}"),
    }

    // A member speaking for the host (a notice only the host may send), sealed honestly
    // under the member's own id: it opens, and is refused for what it says.
    sender
        .sender
        .send_raw(sealer.seal(to_receiver, &notice("the host says")).unwrap())
        .await
        .unwrap();
    match next_frame(&mut receiver).await {
        Incoming::Rejected { from, error } => {
            assert_eq!(from, sender_id);
            assert!(matches!(error, FrameError::HostOnly { .. }), "{error:?}");
        }
        other => panic!("a member's notice must be refused, got {other:?}"),
    }

    // A frame sealed under another session's key, spliced into this one.
    let other_keys = SessionKeys::derive(&other_link.secret, &other_link.session);
    let mut splicer = FrameSealer::new(other_keys.sending_key(0), sender_id);
    sender
        .sender
        .send_raw(splicer.seal(to_receiver, &said("spliced")).unwrap())
        .await
        .unwrap();
    assert!(matches!(
        next_frame(&mut receiver).await,
        Incoming::Rejected {
            error: FrameError::Crypto(CryptoError::Open),
            ..
        }
    ));

    // A key made from a wrong secret for this very session.
    let wrong = SessionKeys::derive(&Secret([7; 32]), &link.session);
    let mut stranger = FrameSealer::new(wrong.sending_key(0), sender_id);
    sender
        .sender
        .send_raw(stranger.seal(to_receiver, &said("wrong key")).unwrap())
        .await
        .unwrap();
    assert!(matches!(
        next_frame(&mut receiver).await,
        Incoming::Rejected {
            error: FrameError::Crypto(CryptoError::Open),
            ..
        }
    ));

    // After all that, honest traffic still flows and the host still serves.
    sender
        .sender
        .send_raw(sealer.seal(to_receiver, &said("still here")).unwrap())
        .await
        .unwrap();
    match next_frame(&mut receiver).await {
        Incoming::Message { message, .. } => assert_eq!(message, said("still here")),
        other => panic!("expected honest traffic to flow, got {other:?}"),
    }
    assert_eq!(bystander.list_files().await.unwrap().len(), 1);
    let _ = Link::parse(&other_link.to_url(), false).unwrap();
}

/// Sends `frame` raw and returns the relay's answer to it.
async fn relay_answer(channel: &mut Channel, frame: Vec<u8>) -> (ErrorCode, bool) {
    channel.sender.send_raw(frame).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), channel.recv()).await {
            Ok(Incoming::Relay(FromRelay::Error { code, fatal, .. })) => return (code, fatal),
            Ok(Incoming::Closed { reason }) => panic!("connection closed: {reason:?}"),
            Ok(_) => continue,
            Err(_) => panic!("the relay did not answer"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused_with_a_reason_and_everyone_else_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"a"), ("b.txt", b"b")]);
    let relay = start_relay(RelayConfig {
        max_frame: 64 * 1024,
        ..RelayConfig::default()
    })
    .await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let neighbour_link = start_host(dir.path(), relay.address, "neighbour", &[]).await;
    let mut bystander = Participant::join(&link, "bystander").await.unwrap();
    let mut attacker = Participant::join(&link, "attacker")
        .await
        .unwrap()
        .into_channel();

    let header_only = {
        let keys = SessionKeys::derive(&link.secret, &link.session);
        let mut sealer = FrameSealer::new(keys.sending_key(0), 0);
        sealer.seal(Route::Host, &notice("x")).unwrap()[..40].to_vec()
    };
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        ("empty frame", vec![], ErrorCode::Malformed),
        ("one byte", vec![1], ErrorCode::Malformed),
        ("wrong version", vec![9, 2, 0, 0], ErrorCode::Malformed),
        ("unknown kind", vec![1, 200, 0, 0], ErrorCode::Malformed),
        (
            "truncated header",
            header_only[..20].to_vec(),
            ErrorCode::Malformed,
        ),
        (
            "random bytes",
            (0..500u32).map(|i| (i * 7919 % 251) as u8).collect(),
            ErrorCode::Malformed,
        ),
        (
            "garbage control",
            vec![1, 0, 0xff, 0xff, 0xff],
            ErrorCode::Malformed,
        ),
        ("oversized", vec![1; 70 * 1024], ErrorCode::FrameTooLarge),
        (
            "admit by a participant",
            control::encode(&ToRelay::Admit { participant: 1 }),
            ErrorCode::NotAllowed,
        ),
        (
            "remove by a participant",
            control::encode(&ToRelay::Remove { participant: 1 }),
            ErrorCode::NotAllowed,
        ),
        (
            "end by a participant",
            control::encode(&ToRelay::End),
            ErrorCode::NotAllowed,
        ),
        (
            "rotate by a participant",
            control::encode(&ToRelay::RotateToken {
                verifier: [0; 32],
                epoch: 1,
            }),
            ErrorCode::NotAllowed,
        ),
        (
            "second join",
            control::encode(&ToRelay::Join {
                session: link.session.0,
                token: [0; 32],
            }),
            ErrorCode::NotAllowed,
        ),
        (
            "to a nobody",
            {
                let mut h = header_only.clone();
                h[2] = 1;
                h[12..16].copy_from_slice(&999u32.to_be_bytes());
                h.extend_from_slice(&[0; 32]);
                h
            },
            ErrorCode::NoSuchParticipant,
        ),
    ];
    for (what, frame, expected) in cases {
        let fatal_expected = what == "second join";
        let (code, fatal) = relay_answer(&mut attacker, frame).await;
        assert_eq!(code, expected, "{what}");
        assert_eq!(fatal, fatal_expected, "{what}");
        if fatal {
            break;
        }
    }

    // A connection that never joined is told to join first.
    let socket = cotype::net::connect(&link, 64 * 1024).await.unwrap();
    let keys = SessionKeys::derive(&link.secret, &link.session);
    let mut stranger = Channel::new(
        socket,
        keys.sending_key(0),
        cotype::crypto::ReceivingKeys::new(0, &keys),
        link.host_key,
    );
    let (code, _) = relay_answer(&mut stranger, header_only.clone()).await;
    assert_eq!(code, ErrorCode::NotJoined);

    // Everyone else carries on: the same session and its neighbour both still serve.
    assert_eq!(bystander.list_files().await.unwrap().len(), 2);
    let mut neighbour = Participant::join(&neighbour_link, "n").await.unwrap();
    let mut bytes = Vec::new();
    neighbour.read_file("b.txt", &mut bytes).await.unwrap();
    assert_eq!(bytes, b"b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_is_dropped_without_slowing_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"a")]);
    let relay = start_relay(RelayConfig {
        queue_frames: 32,
        ..RelayConfig::default()
    })
    .await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let talker = Participant::join(&link, "talker").await.unwrap();
    let talker_id = talker.id();
    let talker = talker.into_channel();
    let mut listener = Participant::join(&link, "listener")
        .await
        .unwrap()
        .into_channel();
    // Joins, then never reads again: its socket buffers and then its relay queue fill up.
    let stalled = Participant::join(&link, "stalled")
        .await
        .unwrap()
        .into_channel();

    let keys = SessionKeys::derive(&link.secret, &link.session);
    let mut sealer = FrameSealer::new(keys.sending_key(0), talker_id);
    let payload = "x".repeat(60 * 1024);
    // In lock step with the reading member, so only the stalled one can fall behind:
    // 400 frames of 60 KiB overflow its socket buffers and then its relay queue.
    let count = 400;
    let mut received = 0;
    for _ in 0..count {
        let frame = sealer.seal(Route::Everyone, &said(&payload)).unwrap();
        talker.sender.send_raw(frame).await.unwrap();
        loop {
            if let Incoming::Message {
                message: Message::Presence(_),
                ..
            } = next_frame(&mut listener).await
            {
                received += 1;
                break;
            }
        }
    }
    assert_eq!(received, count, "the reading member got everything");
    assert!(
        relay
            .relay
            .metrics_text()
            .contains("cotype_relay_slow_readers_dropped_total 1"),
        "{}",
        relay.relay.metrics_text()
    );
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_read_out_of_order_are_kept_for_whoever_waits_for_them() {
    use cotype::protocol::message::{Request, Response};
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"alpha")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let mut guest = Participant::join(&link, "guest").await.unwrap();
    let list = guest.send_request(Request::ListFiles).await.unwrap();
    let read = guest
        .send_request(Request::ReadFile {
            path: "a.txt".into(),
            offset: 0,
            len: 1024,
            saved: false,
        })
        .await
        .unwrap();
    // The host answers in order; waiting for the second answer first sets the first aside.
    let (second, _) = guest.next_response(read).await.unwrap();
    assert!(
        matches!(second, Response::FileChunk { ref data, .. } if data == b"alpha"),
        "{second:?}"
    );
    let (first, done) = guest.next_response(list).await.unwrap();
    assert!(done);
    assert!(
        matches!(first, Response::Files(ref files) if files.len() == 1),
        "{first:?}"
    );
}
