//! Following across relay nodes: frames a leader sends to its followers
//! (`Route::Followers`) reach a follower on another node, and only followers, before and
//! after the follower reconnects to a third node, and after the leader (the host) resumes
//! on another node, which moves the session's home. Real `cotype relay --redis` processes
//! and a real Redis; raw protocol clients connect straight to the node named, so that who
//! is where is known.
//!
//! The relay keeps the follow graph where the session is routed, at its home, and Redis
//! holds no copy of it (docs/DEPLOY.md, "What Redis holds"): a reconnect gives the member
//! a new participant id, and only the members know which old id it replaces (in the sealed
//! `Hello`), so the follower tells the relay again whom it follows, as the client does after
//! every reconnect. This test does what the client does, and checks what a user notices:
//! the follower keeps seeing where its leader goes.
//!
//! Also: a member on another node that the host removes gets every frame routed to it
//! before, then the removal, and its connection closes.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/process.rs"]
mod process;
#[path = "common/relay_process.rs"]
mod relay_process;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use cluster::{Node, RedisServer};
use cotype::crypto::{SessionKeys, admission_verifier};
use cotype::link::{Secret, SessionId};
use cotype::protocol::control::{self, ErrorCode, FromRelay, ToRelay};
use cotype::protocol::header::{HEADER_LEN, Header, Kind, Route};
use cotype::protocol::{HOST_ID, ParticipantId};
use relay_process::{Rx, Tx, next_control, send_control, ws_from};

const RESUME: [u8; 32] = [5; 32];

struct Member {
    tx: Tx,
    rx: Rx,
    id: ParticipantId,
}

async fn connect(node: SocketAddr) -> (Tx, Rx) {
    ws_from("127.0.0.1".parse().unwrap(), node)
        .await
        .expect("the node accepts")
        .split()
}

/// The host of a new session, connected to `node`.
async fn create(node: SocketAddr, session: &SessionId, keys: &SessionKeys) -> Member {
    let (mut tx, mut rx) = connect(node).await;
    send_control(
        &mut tx,
        &ToRelay::Create {
            session: session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: admission_verifier(&RESUME),
        },
    )
    .await;
    assert!(matches!(
        next_control(&mut rx).await,
        Some(FromRelay::Welcome { .. })
    ));
    Member {
        tx,
        rx,
        id: HOST_ID,
    }
}

/// Joins through `node` and waits for the host (reading `host`) to admit it.
async fn join(
    node: SocketAddr,
    session: &SessionId,
    keys: &SessionKeys,
    host: &mut Member,
) -> Member {
    let (mut tx, mut rx) = connect(node).await;
    send_control(
        &mut tx,
        &ToRelay::Join {
            session: session.0,
            token: keys.admission_token(),
        },
    )
    .await;
    let Some(FromRelay::Welcome { participant, .. }) = next_control(&mut rx).await else {
        panic!("the join through {node} was refused");
    };
    loop {
        match next_control(&mut host.rx).await {
            Some(FromRelay::JoinRequest {
                participant: asking,
            }) if asking == participant => break,
            Some(_) => {}
            None => panic!("the host's connection ended"),
        }
    }
    send_control(&mut host.tx, &ToRelay::Admit { participant }).await;
    loop {
        match next_control(&mut rx).await {
            Some(FromRelay::Admitted) => break,
            Some(_) => {}
            None => panic!("participant {participant} was not admitted"),
        }
    }
    Member {
        tx,
        rx,
        id: participant,
    }
}

/// `member` sends `marker` along `route`.
async fn send_marker(member: &mut Member, route: Route, marker: u8, counter: u64) {
    use futures_util::SinkExt;
    let header = Header {
        kind: Kind::Event,
        route,
        epoch: 0,
        sender: member.id,
        instance: [3; 16],
        counter,
    };
    let mut frame = header.encode().to_vec();
    frame.extend_from_slice(&[marker; 32]);
    member
        .tx
        .send(Message::Binary(frame.into()))
        .await
        .expect("the member sends");
}

/// `follower` follows the host, as the client does after every (re)connect. `Follow` has
/// no answer: a frame to the host after it crosses to the home the same way, so once the
/// host has that frame the home has the `Follow` too.
async fn follow_the_host(follower: &mut Member, host: &mut Member) {
    let follow = ToRelay::Follow {
        leader: Some(HOST_ID),
    };
    send_control(&mut follower.tx, &follow).await;
    send_marker(follower, Route::Host, 99, 1).await;
    assert_eq!(next_marker(host).await, 99);
}

/// The marker of the next data frame `member` receives (control frames skipped).
async fn next_marker(member: &mut Member) -> u8 {
    let read = async {
        loop {
            match member.rx.next().await {
                Some(Ok(Message::Binary(frame))) if control::is_control(&frame) == Ok(false) => {
                    return frame[HEADER_LEN];
                }
                Some(Ok(_)) => {}
                other => panic!("member {} lost its connection: {other:?}", member.id),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .unwrap_or_else(|_| panic!("member {} received nothing", member.id))
}

/// The host sends `marker` to its followers, then `marker + 1` to everyone: the follower
/// sees the first, the bystander only the second.
async fn followers_only(
    host: &mut Member,
    follower: &mut Member,
    bystander: &mut Member,
    marker: u8,
) {
    let counter = u64::from(marker);
    send_marker(host, Route::Followers, marker, counter).await;
    send_marker(host, Route::Everyone, marker + 1, counter + 1).await;
    assert_eq!(
        next_marker(follower).await,
        marker,
        "the follower missed its leader"
    );
    assert_eq!(next_marker(follower).await, marker + 1);
    assert_eq!(
        next_marker(bystander).await,
        marker + 1,
        "a frame for followers reached someone who follows nobody"
    );
}

/// Waits for the relay to tell `member` to move, and for its connection to close.
async fn told_to_move(member: &mut Member) {
    let moved = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match next_control(&mut member.rx).await {
                Some(FromRelay::Move { .. }) => return true,
                Some(_) => {}
                None => return false,
            }
        }
    })
    .await;
    assert_eq!(
        moved,
        Ok(true),
        "participant {} was not told to move",
        member.id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_on_another_node_keeps_its_leader_across_reconnects() {
    let redis = RedisServer::start();
    let a = Node::start("fa", &redis);
    let b = Node::start("fb", &redis);
    let c = Node::start("fc", &redis);
    let session = SessionId::random();
    let keys = SessionKeys::derive(&Secret::random(), &session);

    // The host (the leader) on A, the follower on B, a bystander on C.
    let mut host = create(a.address(), &session, &keys).await;
    let mut follower = join(b.address(), &session, &keys, &mut host).await;
    let mut bystander = join(c.address(), &session, &keys, &mut host).await;
    follow_the_host(&mut follower, &mut host).await;
    followers_only(&mut host, &mut follower, &mut bystander, 10).await;

    // The follower's connection drops; it comes back on C with a new id and says again
    // whom it follows.
    drop(follower);
    let mut follower = join(c.address(), &session, &keys, &mut host).await;
    follow_the_host(&mut follower, &mut host).await;
    followers_only(&mut host, &mut follower, &mut bystander, 20).await;

    // The leader's connection drops; it resumes on B, which becomes the session's home:
    // the members (on C, of a session homed on A) are told to move, and come back on A.
    drop(host);
    let (mut tx, mut rx) = connect(b.address()).await;
    send_control(
        &mut tx,
        &ToRelay::Resume {
            session: session.0,
            resume_token: RESUME,
        },
    )
    .await;
    assert!(
        matches!(next_control(&mut rx).await, Some(FromRelay::Welcome { .. })),
        "the host did not resume on another node"
    );
    let mut host = Member {
        tx,
        rx,
        id: HOST_ID,
    };
    told_to_move(&mut follower).await;
    told_to_move(&mut bystander).await;
    let mut follower = join(a.address(), &session, &keys, &mut host).await;
    let mut bystander = join(a.address(), &session, &keys, &mut host).await;
    follow_the_host(&mut follower, &mut host).await;
    followers_only(&mut host, &mut follower, &mut bystander, 30).await;

    // Without saying it again, a member follows nobody: the relay routed by the follow
    // graph all along, not to everyone.
    let mut newcomer = join(c.address(), &session, &keys, &mut host).await;
    followers_only(&mut host, &mut follower, &mut newcomer, 40).await;
    drop(bystander);
}

/// The host on A sends frames to a member on B and removes it at once: the member gets
/// every frame in order, then the removal, and then its connection closes (the home's
/// kick crosses to B after the frames routed before it); another member on B stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_removed_on_another_node_gets_the_frames_sent_before() {
    let redis = RedisServer::start();
    let a = Node::start("ra", &redis);
    let b = Node::start("rb", &redis);
    let session = SessionId::random();
    let keys = SessionKeys::derive(&Secret::random(), &session);
    let mut host = create(a.address(), &session, &keys).await;
    let mut member = join(b.address(), &session, &keys, &mut host).await;
    let mut bystander = join(b.address(), &session, &keys, &mut host).await;
    for marker in 1..=50u8 {
        let to = Route::Participant(member.id);
        send_marker(&mut host, to, marker, u64::from(marker)).await;
    }
    let removed = ToRelay::Remove {
        participant: member.id,
    };
    send_control(&mut host.tx, &removed).await;
    let (mut markers, mut told) = (Vec::new(), false);
    let read = async {
        while let Some(Ok(message)) = member.rx.next().await {
            let Message::Binary(frame) = message else {
                continue;
            };
            match control::decode::<FromRelay>(&frame) {
                _ if control::is_control(&frame) == Ok(false) => markers.push(frame[HEADER_LEN]),
                Ok(FromRelay::Error {
                    code: ErrorCode::Removed,
                    ..
                }) => told = true,
                _ => {}
            }
        }
    };
    let closed = tokio::time::timeout(Duration::from_secs(5), read).await;
    assert!(
        closed.is_ok(),
        "the removed member's connection stayed open"
    );
    assert_eq!(
        markers,
        (1..=50).collect::<Vec<u8>>(),
        "frames lost or reordered"
    );
    assert!(told, "the removed member was not told why");
    send_marker(&mut host, Route::Everyone, 77, 51).await;
    assert_eq!(next_marker(&mut bystander).await, 77);
}
