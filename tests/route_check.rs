//! A relay that misdelivers: the associated data stops it from changing a frame's route,
//! but only the receiver can notice a frame that was never addressed to it. Here a hostile
//! relay (written in this test, speaking the real protocol) hands a participant the host's
//! welcome meant for someone else before its own; the participant must take its own.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use cotype::client::Participant;
use cotype::crypto::SessionKeys;
use cotype::link::{Link, Secret, SessionId};
use cotype::protocol::control::{self, FromRelay};
use cotype::protocol::frame::FrameSealer;
use cotype::protocol::header::Route;
use cotype::protocol::message::{Member, Message, Role, Welcome};

fn welcome(participant: u32, name: &str) -> Message {
    Message::Welcome(Welcome {
        you: Member {
            participant,
            name: name.into(),
            role: Role::Editor,
            color: 1,
        },
        members: Vec::new(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_ignores_frames_addressed_to_someone_else() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let link = Link::new(
        false,
        listener.local_addr().unwrap().to_string(),
        SessionId::random(),
        Secret::random(),
    );
    let keys = SessionKeys::derive(&link.secret, &link.session);
    // The genuine host's frames, as a relay would have seen them pass.
    let mut host = FrameSealer::new(keys.sending_key(0), 0);
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
        (guest.me.participant, guest.me.name.as_str()),
        (5, "guest"),
        "the participant took a welcome addressed to participant 6"
    );
    guest.leave().await;
    hostile_relay.abort();
}
