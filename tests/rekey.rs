//! Removal with rekey, end to end at the level of frames: what a removed member holds
//! opens nothing sealed after its removal, and its link no longer gets into the session.
//!
//! The first test uses the real key derivation, wrap and frame sealing with no network.
//! The second puts a real relay in between and looks at the frames the relay saw.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cotype::channel::{Channel, Incoming};
use cotype::crypto::{CryptoError, HostIdentity, ReceivingKeys, SessionKeys};
use cotype::link::{Link, Secret, SessionId};
use cotype::protocol::control::{ErrorCode, FromRelay, ToRelay};
use cotype::protocol::frame::{FrameError, FrameSealer, open_frame};
use cotype::protocol::header::Route;
use cotype::protocol::message::{Event, Message};
use cotype::protocol::{HOST_ID, ParticipantId};
use cotype::rekey::{MemberKeyPair, RekeyError, rekey};
use cotype::relay::RelayConfig;

const AFTER_REMOVAL: &str = "said after the removal";

fn notice(text: &str) -> Message {
    Message::Event(Event::Notice {
        message: text.to_string(),
    })
}

/// One member as it stands in epoch 0: its key pair and the keys the link gave it.
struct Member {
    id: ParticipantId,
    key_pair: MemberKeyPair,
    receiving: ReceivingKeys,
}

impl Member {
    fn join(id: ParticipantId, link_keys: &SessionKeys) -> Member {
        Member {
            id,
            key_pair: MemberKeyPair::generate(),
            receiving: ReceivingKeys::new(0, link_keys),
        }
    }
}

#[test]
fn after_a_rekey_the_removed_member_opens_nothing() {
    let session = SessionId::random();
    let link_secret = Secret::random();
    let link_keys = SessionKeys::derive(&link_secret, &session);
    let host_pair = MemberKeyPair::generate();
    let identity = Arc::new(HostIdentity::generate());
    let host_key = identity.public();
    let mut host_sealer = FrameSealer::new(link_keys.sending_key(0), HOST_ID);
    host_sealer.sign_with(identity.clone());
    let mut alice = Member::join(1, &link_keys);
    let mut bob = Member::join(2, &link_keys);
    let mut mallory = Member::join(3, &link_keys);

    // Epoch 0: everyone, Mallory included, reads the host.
    let before = host_sealer
        .seal(Route::Everyone, &notice("before"))
        .unwrap();
    for member in [&mut alice, &mut bob, &mut mallory] {
        let (_, message) = open_frame(&mut member.receiving, &host_key, &before).unwrap();
        assert_eq!(message, notice("before"), "member {}", member.id);
    }

    // The host removes Mallory: a new secret, wrapped for Alice and Bob only.
    let rekey = rekey(
        &host_pair,
        &session,
        1,
        [
            (alice.id, alice.key_pair.public()),
            (bob.id, bob.key_pair.public()),
        ],
    )
    .unwrap();
    let new_keys = SessionKeys::derive(&rekey.secret, &session);
    host_sealer = FrameSealer::new(new_keys.sending_key(1), HOST_ID);
    host_sealer.sign_with(identity);
    let after = host_sealer
        .seal(Route::Everyone, &notice(AFTER_REMOVAL))
        .unwrap();

    // Alice and Bob each unwrap their own copy and read the new epoch.
    for member in [&mut alice, &mut bob] {
        let (_, wrapped) = rekey
            .wrapped
            .iter()
            .find(|(id, _)| *id == member.id)
            .expect("a wrap for every remaining member");
        let secret = member
            .key_pair
            .unwrap_epoch_secret(wrapped, &host_pair.public(), &session, 1)
            .unwrap();
        member
            .receiving
            .add_epoch(1, &SessionKeys::derive(&secret, &session));
        member.receiving.retire_epochs_below(1);
        let (header, message) = open_frame(&mut member.receiving, &host_key, &after).unwrap();
        assert_eq!(header.epoch, 1);
        assert_eq!(message, notice(AFTER_REMOVAL), "member {}", member.id);
    }

    // Mallory: epoch 0 keys do not open epoch 1 ...
    assert_eq!(
        open_frame(&mut mallory.receiving, &host_key, &after),
        Err(FrameError::Crypto(CryptoError::UnknownEpoch(1)))
    );
    // ... not even if she relabels her epoch 0 keys as epoch 1 ...
    mallory.receiving.add_epoch(1, &link_keys);
    assert_eq!(
        open_frame(&mut mallory.receiving, &host_key, &after),
        Err(FrameError::Crypto(CryptoError::Open))
    );
    // ... and her key pair opens none of the wraps she may have captured.
    assert_eq!(rekey.wrapped.len(), 2);
    for (id, wrapped) in &rekey.wrapped {
        assert_eq!(
            mallory
                .key_pair
                .unwrap_epoch_secret(wrapped, &host_pair.public(), &session, 1),
            Err(RekeyError::Unwrap),
            "the wrap for member {id}"
        );
    }

    // Her link is no longer the session's: the relay's verifier changed.
    assert_ne!(link_keys.admission_verifier(), rekey.verifier);
    assert_eq!(rekey.verifier, new_keys.admission_verifier());
    // And a new link's verification code differs, so people see the change.
    assert_ne!(
        link_keys.verification_code(&host_pair.public()),
        new_keys.verification_code(&host_pair.public())
    );
}

async fn recv(channel: &mut Channel) -> Incoming {
    tokio::time::timeout(Duration::from_secs(5), channel.recv())
        .await
        .expect("the relay answers within 5 s")
}

async fn connect(link: &Link, keys: &SessionKeys, epoch: u32) -> Channel {
    let socket = cotype::net::connect(link, cotype::protocol::DEFAULT_MAX_FRAME)
        .await
        .expect("the relay accepts connections");
    Channel::new(
        socket,
        keys.sending_key(epoch),
        ReceivingKeys::new(epoch, keys),
        link.host_key,
    )
}

/// A participant joins with `link`; returns its channel and id, or the relay's refusal.
async fn join(link: &Link) -> Result<(Channel, ParticipantId), (ErrorCode, String)> {
    let keys = SessionKeys::derive(&link.secret, &link.session);
    let mut channel = connect(link, &keys, 0).await;
    channel
        .sender
        .control(&ToRelay::Join {
            session: link.session.0,
            token: keys.admission_token(),
        })
        .await
        .unwrap();
    match recv(&mut channel).await {
        Incoming::Relay(FromRelay::Welcome { participant, .. }) => {
            channel.sender.set_participant(participant);
            Ok((channel, participant))
        }
        Incoming::Relay(FromRelay::Error { code, message, .. }) => Err((code, message)),
        other => panic!("unexpected answer to a join: {other:?}"),
    }
}

/// Waits for the next session message on `channel`, skipping relay notices.
async fn next_message(channel: &mut Channel) -> Message {
    loop {
        match recv(channel).await {
            Incoming::Message { message, .. } => return message,
            Incoming::Relay(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn through_a_relay_the_old_link_is_refused_and_captured_frames_stay_closed() {
    let relay = common::start_relay(RelayConfig::default()).await;
    let session = SessionId::random();
    let identity = Arc::new(HostIdentity::generate());
    let host_key = identity.public();
    let old_link = Link::new(
        false,
        relay.address.to_string(),
        session,
        Secret::random(),
        host_key,
    );
    let old_keys = SessionKeys::derive(&old_link.secret, &session);
    let host_pair = MemberKeyPair::generate();

    let mut host = connect(&old_link, &old_keys, 0).await;
    host.sender.sign_as_host(identity);
    let mut resume_token = [0u8; 32];
    rand::fill(&mut resume_token);
    host.sender
        .control(&ToRelay::Create {
            session: session.0,
            verifier: old_keys.admission_verifier(),
            resume_verifier: cotype::crypto::admission_verifier(&resume_token),
        })
        .await
        .unwrap();
    assert!(matches!(
        recv(&mut host).await,
        Incoming::Relay(FromRelay::Welcome {
            participant: HOST_ID,
            ..
        })
    ));

    let (mut alice, alice_id) = join(&old_link).await.unwrap();
    let (mut mallory, mallory_id) = join(&old_link).await.unwrap();
    let alice_pair = MemberKeyPair::generate();
    for id in [alice_id, mallory_id] {
        host.sender
            .control(&ToRelay::Admit { participant: id })
            .await
            .unwrap();
    }
    host.sender
        .send(Route::Everyone, &notice("before"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut alice).await, notice("before"));
    assert_eq!(next_message(&mut mallory).await, notice("before"));

    // Remove Mallory, rotate the token, move to epoch 1.
    host.sender
        .control(&ToRelay::Remove {
            participant: mallory_id,
        })
        .await
        .unwrap();
    let rekey = rekey(&host_pair, &session, 1, [(alice_id, alice_pair.public())]).unwrap();
    host.sender
        .control(&ToRelay::RotateToken {
            verifier: rekey.verifier,
            epoch: 1,
        })
        .await
        .unwrap();
    let new_keys = SessionKeys::derive(&rekey.secret, &session);
    host.sender.replace_key(new_keys.sending_key(1));
    let secret = alice_pair
        .unwrap_epoch_secret(&rekey.wrapped[0].1, &host_pair.public(), &session, 1)
        .unwrap();
    alice
        .keys
        .add_epoch(1, &SessionKeys::derive(&secret, &session));
    host.sender
        .send(Route::Everyone, &notice(AFTER_REMOVAL))
        .await
        .unwrap();
    assert_eq!(next_message(&mut alice).await, notice(AFTER_REMOVAL));

    // The relay closed Mallory's connection with a reason she can show.
    let closed = loop {
        match recv(&mut mallory).await {
            Incoming::Relay(FromRelay::Error { code, .. }) => break code,
            Incoming::Closed { reason } => panic!("closed without a reason: {reason:?}"),
            _ => {}
        }
    };
    assert_eq!(closed, ErrorCode::Removed);

    // Every epoch 1 frame the relay received or sent stays closed to what Mallory holds.
    let captured: Vec<Vec<u8>> = relay
        .tapped
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(_, frame)| {
            let header = cotype::protocol::header::Header::decode(frame).ok()?;
            (header.epoch == 1).then(|| frame.clone())
        })
        .collect();
    assert!(!captured.is_empty(), "the relay carried the epoch 1 frame");
    for frame in &captured {
        assert!(!common::contains(frame, AFTER_REMOVAL.as_bytes()));
        let mut mallory_keys = ReceivingKeys::new(0, &old_keys);
        mallory_keys.add_epoch(1, &old_keys);
        assert_eq!(
            open_frame(&mut mallory_keys, &host_key, frame).map(|_| ()),
            Err(FrameError::Crypto(CryptoError::Open))
        );
    }

    // The old link no longer gets in; the new one does.
    let (code, message) = join(&old_link).await.err().expect("old link refused");
    assert_eq!(code, ErrorCode::BadToken);
    assert!(
        message.contains("ask the host for the current one"),
        "{message}"
    );
    let new_link = Link::new(
        false,
        relay.address.to_string(),
        session,
        rekey.secret.clone(),
        host_key,
    );
    assert!(join(&new_link).await.is_ok());
}
