//! Unit tests of `crypto`, with the known answers scripts/crypto_kat.py checks.

use super::*;

/// The participant id the test frames are sealed by.
const SENDER: ParticipantId = 7;

fn accept_all(_: &[u8]) -> bool {
    true
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fixed_keys() -> SessionKeys {
    let secret = Secret(std::array::from_fn(|i| i as u8));
    let session = SessionId(std::array::from_fn(|i| 0xa0 + i as u8));
    SessionKeys::derive(&secret, &session)
}

/// Pins the derivations; the expected values were computed independently by
/// scripts/crypto_kat.py with Python's `cryptography` (HKDF-SHA256, AES-GCM).
#[test]
fn known_answer_derivations() {
    let keys = fixed_keys();
    assert_eq!(hex(&keys.content), KAT_CONTENT);
    assert_eq!(hex(&keys.admission_token()), KAT_TOKEN);
    assert_eq!(hex(&keys.admission_verifier()), KAT_VERIFIER);
    let host_public_key: [u8; 32] = std::array::from_fn(|i| 0x50 + i as u8);
    assert_eq!(keys.verification_code(&host_public_key), KAT_CODE);
}

/// The code commits to the host's key as well as the secret, and has about 50 bits.
#[test]
fn the_verification_code_covers_the_host_key_and_has_fifteen_digits() {
    let keys = fixed_keys();
    let code = keys.verification_code(&[1; 32]);
    assert_ne!(code, keys.verification_code(&[2; 32]));
    assert_eq!(code.len(), 19, "{code}");
    assert_eq!(code.chars().filter(char::is_ascii_digit).count(), 15);
}

#[test]
fn known_answer_sealed_frame() {
    let keys = fixed_keys();
    let mut sender = keys.sending_key(0);
    sender.instance = [0x11; INSTANCE_LEN];
    let counter = sender.next_counter().unwrap();
    assert_eq!(counter, 1);
    let sealed = sender.seal(SENDER, counter, b"header", b"hello, cotype");
    assert_eq!(hex(&sealed), KAT_SEALED);
    let mut receiver = ReceivingKeys::new(0, &keys);
    let opened = receiver
        .open(
            0,
            SENDER,
            &sender.instance,
            counter,
            b"header",
            &sealed,
            accept_all,
        )
        .unwrap();
    assert_eq!(opened, b"hello, cotype");
}

#[test]
fn known_answer_owner_proof() {
    let owner = OwnerKey(std::array::from_fn(|i| 0x30 + i as u8));
    let session = SessionId(std::array::from_fn(|i| 0xa0 + i as u8));
    assert_eq!(hex(&owner.proof(&session, 7)), KAT_OWNER_PROOF);
    assert!(owner.verify(&session, 7, &owner.proof(&session, 7)));
    // Bound to the connection and the session: a copied proof is worth nothing.
    assert!(!owner.verify(&session, 8, &owner.proof(&session, 7)));
    let other_session = SessionId([0xa0; 16]);
    assert!(!owner.verify(&other_session, 7, &owner.proof(&session, 7)));
    assert_eq!(format!("{owner:?}"), "OwnerKey(..)");
}

const KAT_CONTENT: &str = "d74278473329ffc322376aec559c25fc2526c371fbf0a30a568ca2756e8e9f10";
const KAT_TOKEN: &str = "f525e28c675afc2f4190aa0dbab52ce5478feee5dd123ae2153d4b31c3e40267";
const KAT_VERIFIER: &str = "7b4dfb567435d7e7b184902ff61a1700d7eb4810d547647e4524f10aac6d1421";
const KAT_CODE: &str = "900 351 636 055 459";
const KAT_SEALED: &str = "c43762002101cc685cff66713736716345a1b7da6a25d9a69fd6106b51";
const KAT_HOST_KEY: &str = "1ce56a48c82ff99162a14bc544612674e5d61fb9317e65d4055780fdbcb4dc35";
const KAT_HOST_SIGNATURE: &str = "79620ec9833817fcecf4be2662e3fa132835ddeec70b4cafc049b5195ef2446e20a4ae6fa558611738d2573378b2ca06af7a8c389a161ca2ad7e2aed3e1a220e";
const KAT_OWNER_PROOF: &str = "a4bcd28594927b291b4952a268de2b9eb4e3b70fd016bcf0d32e7c046d3d5928";

#[test]
fn replays_and_reorders_are_refused() {
    let keys = fixed_keys();
    let mut sender = keys.sending_key(0);
    let mut receiver = ReceivingKeys::new(0, &keys);
    let first = sender.next_counter().unwrap();
    let first_sealed = sender.seal(SENDER, first, b"h", b"one");
    let second = sender.next_counter().unwrap();
    let second_sealed = sender.seal(SENDER, second, b"h", b"two");
    let instance = sender.instance();
    assert_eq!(
        receiver
            .open(
                0,
                SENDER,
                &instance,
                second,
                b"h",
                &second_sealed,
                accept_all
            )
            .unwrap(),
        b"two"
    );
    assert_eq!(
        receiver.open(0, SENDER, &instance, first, b"h", &first_sealed, accept_all),
        Err(CryptoError::Replay {
            counter: 1,
            last: 2
        })
    );
    assert!(matches!(
        receiver.open(
            0,
            SENDER,
            &instance,
            second,
            b"h",
            &second_sealed,
            accept_all
        ),
        Err(CryptoError::Replay { .. })
    ));
}

#[test]
fn tampering_wrong_keys_and_moved_headers_fail() {
    let keys = fixed_keys();
    let mut sender = keys.sending_key(0);
    let counter = sender.next_counter().unwrap();
    let sealed = sender.seal(SENDER, counter, b"route=host", b"payload");
    let instance = sender.instance();

    let mut flipped = sealed.clone();
    flipped[0] ^= 1;
    let mut receiver = ReceivingKeys::new(0, &keys);
    assert_eq!(
        receiver.open(
            0,
            SENDER,
            &instance,
            counter,
            b"route=host",
            &flipped,
            accept_all
        ),
        Err(CryptoError::Open)
    );
    assert_eq!(
        receiver.open(
            0,
            SENDER,
            &instance,
            counter,
            b"route=all",
            &sealed,
            accept_all
        ),
        Err(CryptoError::Open)
    );
    assert_eq!(
        receiver.open(
            0,
            SENDER,
            &instance,
            counter + 1,
            b"route=host",
            &sealed,
            accept_all
        ),
        Err(CryptoError::Open)
    );
    assert_eq!(
        receiver.open(
            1,
            SENDER,
            &instance,
            counter,
            b"route=host",
            &sealed,
            accept_all
        ),
        Err(CryptoError::UnknownEpoch(1))
    );

    let other = SessionKeys::derive(&Secret([1; 32]), &SessionId([2; 16]));
    let mut stranger = ReceivingKeys::new(0, &other);
    assert_eq!(
        stranger.open(
            0,
            SENDER,
            &instance,
            counter,
            b"route=host",
            &sealed,
            accept_all
        ),
        Err(CryptoError::Open)
    );
    // The failed attempts left no state behind: the genuine frame still opens.
    assert_eq!(
        receiver
            .open(
                0,
                SENDER,
                &instance,
                counter,
                b"route=host",
                &sealed,
                accept_all
            )
            .unwrap(),
        b"payload"
    );
}

#[test]
fn a_reconnect_keeps_the_replay_window() {
    let keys = fixed_keys();
    let mut sender = keys.sending_key(0);
    let sealed: Vec<(u64, Vec<u8>)> = (0..3)
        .map(|_| {
            let counter = sender.next_counter().unwrap();
            (counter, sender.seal(SENDER, counter, b"header", b"edit"))
        })
        .collect();
    let mut first_connection = ReceivingKeys::new(0, &keys);
    for (counter, frame) in &sealed[..2] {
        first_connection
            .open(
                0,
                SENDER,
                &sender.instance,
                *counter,
                b"header",
                frame,
                accept_all,
            )
            .unwrap();
    }
    let mut second_connection = ReceivingKeys::new(0, &keys);
    second_connection.inherit_replay_window(&first_connection);
    let (counter, frame) = &sealed[1];
    assert_eq!(
        second_connection.open(
            0,
            SENDER,
            &sender.instance,
            *counter,
            b"header",
            frame,
            accept_all
        ),
        Err(CryptoError::Replay {
            counter: 2,
            last: 2
        })
    );
    let (counter, frame) = &sealed[2];
    assert!(
        second_connection
            .open(
                0,
                SENDER,
                &sender.instance,
                *counter,
                b"header",
                frame,
                accept_all
            )
            .is_ok()
    );
}

#[test]
fn senders_never_share_a_key() {
    let keys = fixed_keys();
    let mut a = keys.sending_key(0);
    let mut b = keys.sending_key(0);
    assert_ne!(a.instance(), b.instance());
    assert_ne!(
        a.seal(SENDER, 1, b"", b"same"),
        b.seal(SENDER, 1, b"", b"same")
    );
}

/// Attack: a member who knows another member's instance id (it is in every header)
/// seals frames "as" that instance from its own participant id, with a high counter.
/// They open under the attacker's id, in a window of their own: the victim's next
/// frame still opens.
#[test]
fn a_borrowed_instance_cannot_silence_its_owner() {
    const VICTIM: ParticipantId = 3;
    const ATTACKER: ParticipantId = 4;
    let keys = fixed_keys();
    let mut victim = keys.sending_key(0);
    let mut attacker = keys.sending_key(0);
    attacker.instance = victim.instance();
    let mut host = ReceivingKeys::new(0, &keys);
    let forged = attacker.seal(ATTACKER, 1_000_000, b"h", b"noise");
    let instance = victim.instance();
    assert!(
        host.open(0, ATTACKER, &instance, 1_000_000, b"h", &forged, accept_all)
            .is_ok()
    );
    // Claiming the victim's id with the attacker's seal does not open at all.
    assert_eq!(
        host.open(0, VICTIM, &instance, 1_000_000, b"h", &forged, accept_all),
        Err(CryptoError::Open)
    );
    let counter = victim.next_counter().unwrap();
    let genuine = victim.seal(VICTIM, counter, b"h", b"ping");
    assert_eq!(
        host.open(0, VICTIM, &instance, counter, b"h", &genuine, accept_all)
            .unwrap(),
        b"ping"
    );
}

/// A frame its check refuses (a forged host signature) changes no replay window.
#[test]
fn a_refused_frame_moves_no_window() {
    let keys = fixed_keys();
    let mut sender = keys.sending_key(0);
    let mut receiver = ReceivingKeys::new(0, &keys);
    let instance = sender.instance();
    let forged = sender.seal(SENDER, 50, b"h", b"forged");
    assert_eq!(
        receiver.open(0, SENDER, &instance, 50, b"h", &forged, |_| false),
        Err(CryptoError::NotSignedByHost)
    );
    let genuine = sender.seal(SENDER, 1, b"h", b"genuine");
    assert!(
        receiver
            .open(0, SENDER, &instance, 1, b"h", &genuine, accept_all)
            .is_ok()
    );
}

#[test]
fn known_answer_host_signature() {
    let identity = HostIdentity(ed25519_dalek::SigningKey::from_bytes(&std::array::from_fn(
        |i| 0x70 + i as u8,
    )));
    assert_eq!(hex(&identity.public().0), KAT_HOST_KEY);
    let signature = identity.sign(b"header", b"hello, cotype");
    assert_eq!(hex(&signature), KAT_HOST_SIGNATURE);
    let key = identity.public();
    assert!(key.verify(b"header", b"hello, cotype", &signature));
    assert!(!key.verify(b"header", b"hello, cotypf", &signature));
    assert!(!key.verify(b"headex", b"hello, cotype", &signature));
    assert!(
        !HostIdentity::generate()
            .public()
            .verify(b"header", b"hello, cotype", &signature)
    );
}

#[test]
fn retired_epochs_stop_opening() {
    let old = fixed_keys();
    let new = SessionKeys::derive(&Secret([5; 32]), &SessionId([6; 16]));
    let mut receiver = ReceivingKeys::new(0, &old);
    receiver.add_epoch(1, &new);
    let mut sender = old.sending_key(0);
    let counter = sender.next_counter().unwrap();
    let sealed = sender.seal(SENDER, counter, b"", b"x");
    receiver.retire_epochs_below(1);
    assert_eq!(
        receiver.open(
            0,
            SENDER,
            &sender.instance(),
            counter,
            b"",
            &sealed,
            accept_all
        ),
        Err(CryptoError::UnknownEpoch(0))
    );
}
