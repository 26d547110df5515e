//! A relay that misdelivers: the associated data stops it from changing a frame's route,
//! but only the receiver can notice a frame that was never addressed to it. Here a hostile
//! relay (written in this test, speaking the real protocol) hands a participant the host's
//! welcome meant for someone else before its own; the participant must take its own.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use cotype::client::Participant;
use std::sync::Arc;

use cotype::crypto::{HostIdentity, SessionKeys};
use cotype::link::{Link, Secret, SessionId};
use cotype::protocol::control::{self, FromRelay};
use cotype::protocol::frame::FrameSealer;
use cotype::protocol::header::Route;
use cotype::protocol::message::{Member, Message, Presence, Role, Welcome};

fn welcome(participant: u32, name: &str) -> Message {
    Message::Welcome(Welcome {
        you: Member {
            participant,
            name: name.into(),
            role: Role::Editor,
            color: 1,
        },
        members: Vec::new(),
        host_public_key: [7; 32],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_ignores_frames_addressed_to_someone_else() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let identity = Arc::new(HostIdentity::generate());
    let link = Link::new(
        false,
        listener.local_addr().unwrap().to_string(),
        SessionId::random(),
        Secret::random(),
        identity.public(),
    );
    let keys = SessionKeys::derive(&link.secret, &link.session);
    // The genuine host's frames, as a relay would have seen them pass.
    let mut host = FrameSealer::new(keys.sending_key(0), 0);
    host.sign_with(identity);
    let for_victim = host
        .seal(Route::Participant(6), &welcome(6, "victim"))
        .unwrap();
    let for_guest = host
        .seal(Route::Participant(5), &welcome(5, "guest"))
        .unwrap();

    let hostile_relay = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        let _join = socket.next().await;
        let control = |m: &FromRelay| WsMessage::Binary(control::encode(m).into());
        socket
            .send(control(&FromRelay::Welcome {
                participant: 5,
                max_frame: 1 << 20,
                epoch: 0,
            }))
            .await
            .unwrap();
        let _hello = socket.next().await;
        socket.send(control(&FromRelay::Admitted)).await.unwrap();
        socket
            .send(WsMessage::Binary(for_victim.into()))
            .await
            .unwrap();
        socket
            .send(WsMessage::Binary(for_guest.into()))
            .await
            .unwrap();
        // Keep the connection open until the participant is done.
        while let Some(Ok(_)) = socket.next().await {}
    });

    let guest = Participant::join(&link, "guest").await.unwrap();
    assert_eq!(
        (guest.me().participant, guest.me().name.as_str()),
        (5, "guest"),
        "the participant took a welcome addressed to participant 6"
    );
    guest.leave().await;
    hostile_relay.abort();
}

/// After a key change, a removed member still knows the old epoch's key (it cannot sign as
/// the host, but a relay on its side could hold back and replay the host's old-epoch
/// frames). A member that switched takes nothing from the host in the old epoch, takes
/// other members' frames in it for a few seconds only, and takes the host's frames in the
/// new epoch as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_epoch_opens_no_host_message_after_a_key_change() {
    use cotype::channel::{Channel, Incoming};
    use cotype::crypto::ReceivingKeys;
    use cotype::protocol::frame::FrameError;
    use cotype::protocol::message::Event;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let identity = Arc::new(HostIdentity::generate());
    let link = Link::new(
        false,
        listener.local_addr().unwrap().to_string(),
        SessionId::random(),
        Secret::random(),
        identity.public(),
    );
    let old_keys = SessionKeys::derive(&link.secret, &link.session);
    let new_keys = SessionKeys::derive(&Secret::random(), &link.session);
    let notice = |text: &str| {
        Message::Event(Event::Notice {
            message: text.into(),
        })
    };
    let host = |epoch: u32, keys: &SessionKeys| {
        let mut sealer = FrameSealer::new(keys.sending_key(epoch), 0);
        sealer.sign_with(identity.clone());
        sealer
    };
    // A host frame of the old epoch (one the relay held back, say), and a member's presence
    // sealed just before it switched.
    let old_host = host(0, &old_keys)
        .seal(Route::Everyone, &notice("the host in the old epoch"))
        .unwrap();
    let late_presence = Message::Presence(Presence {
        seq: 1,
        path: Some("sent just before the switch".into()),
        revision: 0,
        selections: Vec::new(),
        scroll_line: 0,
        following: None,
        latency_ms: None,
        terminal: None,
    });
    let late_member = FrameSealer::new(old_keys.sending_key(0), 9)
        .seal(Route::Everyone, &late_presence)
        .unwrap();
    let genuine_host = host(1, &new_keys)
        .seal(Route::Everyone, &notice("the host in the new epoch"))
        .unwrap();

    let (go, ready) = tokio::sync::oneshot::channel::<()>();
    let hostile_relay = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        let _ = ready.await;
        for frame in [old_host, late_member, genuine_host] {
            socket.send(WsMessage::Binary(frame.into())).await.unwrap();
        }
        while let Some(Ok(_)) = socket.next().await {}
    });

    let socket = cotype::net::connect(&link, 1 << 20).await.unwrap();
    let mut member = Channel::new(
        socket,
        old_keys.sending_key(0),
        ReceivingKeys::new(0, &old_keys),
        link.host_key,
    );
    member.sender.set_participant(5);
    member.switch_epoch(1, &new_keys);
    go.send(()).unwrap();

    let mut next = async || {
        tokio::time::timeout(std::time::Duration::from_secs(5), member.recv())
            .await
            .expect("a frame within 5 s")
    };
    match next().await {
        Incoming::Rejected {
            from: 0,
            error: FrameError::RetiredEpoch { epoch: 0 },
        } => {}
        other => panic!("the host's message in the old epoch was not refused: {other:?}"),
    }
    match next().await {
        Incoming::Message { header, message } => {
            assert_eq!(header.sender, 9);
            assert_eq!(message, late_presence);
        }
        other => panic!("a member's frame in flight was lost: {other:?}"),
    }
    match next().await {
        Incoming::Message { message, .. } => {
            assert_eq!(message, notice("the host in the new epoch"))
        }
        other => panic!("the host's message in the new epoch: {other:?}"),
    }
    hostile_relay.abort();
}
