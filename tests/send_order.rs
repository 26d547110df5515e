//! Frames must leave in the order of their counters: the receiver's replay window drops
//! a frame that arrives behind a higher counter from the same sender. The host sends from
//! many tasks at once (its main loop, request tasks, the diagnostics forwarder), so this
//! sends from many tasks at once through a real relay and counts what arrives.

mod common;

use std::time::Duration;

use cotype::channel::{Channel, Incoming};
use cotype::crypto::{ReceivingKeys, SessionKeys};
use cotype::link::{Link, Secret, SessionId};
use cotype::protocol::HOST_ID;
use cotype::protocol::control::{FromRelay, ToRelay};
use cotype::protocol::header::Route;
use cotype::protocol::message::{Event, Message};
use cotype::relay::RelayConfig;

const TASKS: usize = 16;
const PER_TASK: usize = 400;

async fn connect(link: &Link, keys: &SessionKeys) -> Channel {
    let socket = cotype::net::connect(link, cotype::protocol::DEFAULT_MAX_FRAME)
        .await
        .expect("the relay accepts connections");
    Channel::new(
        socket,
        keys.sending_key(0),
        ReceivingKeys::new(0, keys),
        link.host_key,
    )
}

async fn welcome(channel: &mut Channel) -> u32 {
    match tokio::time::timeout(Duration::from_secs(5), channel.recv()).await {
        Ok(Incoming::Relay(FromRelay::Welcome { participant, .. })) => participant,
        other => panic!("expected a welcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn frames_sent_from_many_tasks_at_once_all_arrive() {
    let relay = common::start_relay(RelayConfig::default()).await;
    let session = SessionId::random();
    let identity = std::sync::Arc::new(cotype::crypto::HostIdentity::generate());
    let link = Link::new(
        false,
        relay.address.to_string(),
        session,
        Secret::random(),
        identity.public(),
    );
    let keys = SessionKeys::derive(&link.secret, &session);

    let mut host = connect(&link, &keys).await;
    host.sender.sign_as_host(identity);
    host.sender
        .control(&ToRelay::Create {
            session: session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: cotype::crypto::admission_verifier(&[7; 32]),
        })
        .await
        .unwrap();
    assert_eq!(welcome(&mut host).await, HOST_ID);

    let mut reader = connect(&link, &keys).await;
    reader
        .sender
        .control(&ToRelay::Join {
            session: session.0,
            token: keys.admission_token(),
        })
        .await
        .unwrap();
    let reader_id = welcome(&mut reader).await;
    reader.sender.set_participant(reader_id);
    host.sender
        .control(&ToRelay::Admit {
            participant: reader_id,
        })
        .await
        .unwrap();

    let counting = tokio::spawn(async move {
        let (mut received, mut rejected) = (0, Vec::new());
        while received + rejected.len() < TASKS * PER_TASK {
            match tokio::time::timeout(Duration::from_secs(20), reader.recv()).await {
                Ok(Incoming::Message { .. }) => received += 1,
                Ok(Incoming::Rejected { error, .. }) => rejected.push(error.to_string()),
                Ok(Incoming::Relay(_)) => {}
                Ok(Incoming::Closed { reason }) => panic!("the reader was cut off: {reason:?}"),
                Err(_) => break,
            }
        }
        (received, rejected)
    });
    let senders: Vec<_> = (0..TASKS)
        .map(|task| {
            let sender = host.sender.clone();
            tokio::spawn(async move {
                for n in 0..PER_TASK {
                    let message = Message::Event(Event::Notice {
                        message: format!("task {task} notice {n}"),
                    });
                    sender.send(Route::Everyone, &message).await.unwrap();
                    if n % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let (received, rejected) = counting.await.unwrap();
    assert!(
        rejected.is_empty(),
        "{} of {} frames were refused on arrival, e.g. {:?}",
        rejected.len(),
        TASKS * PER_TASK,
        rejected.first()
    );
    assert_eq!(received, TASKS * PER_TASK);
}
