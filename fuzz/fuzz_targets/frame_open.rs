//! Sealed data frames through `open_frame` and the message catalog's decoder. With a
//! fixed session key, the fuzzer's bytes are sealed as a member would seal them, so
//! every input reaches the decoder a member runs on what it opened; raw frames (never
//! sealed) and replays must be refused without a panic. Half the sealed inputs are sent
//! as the host's, signed, so the signature check is on the path too.
#![no_main]

use std::sync::OnceLock;

use cotype::crypto::{HostIdentity, HostKey, ReceivingKeys, SessionKeys};
use cotype::link::{Secret, SessionId};
use cotype::protocol::frame::{FrameError, open_frame};
use cotype::protocol::header::{Header, Kind, Route};
use cotype::protocol::message::Message;
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static SessionKeys {
    static KEYS: OnceLock<SessionKeys> = OnceLock::new();
    KEYS.get_or_init(|| SessionKeys::derive(&Secret([7; 32]), &SessionId([9; 16])))
}

fn host() -> &'static HostIdentity {
    static HOST: OnceLock<HostIdentity> = OnceLock::new();
    HOST.get_or_init(HostIdentity::generate)
}

fn host_key() -> HostKey {
    host().public()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut receiving = ReceivingKeys::new(0, keys());
    if mode & 1 == 1 {
        // A frame nobody sealed: it never opens.
        assert!(open_frame(&mut receiving, &host_key(), rest).is_err());
        return;
    }
    let Some((&kind, plaintext)) = rest.split_first() else {
        return;
    };
    let mut sending = keys().sending_key(0);
    let as_host = mode & 2 == 2;
    let sender = if as_host { cotype::protocol::HOST_ID } else { 3 };
    let header = Header {
        kind: Kind::from_byte(1 + kind % 7).expect("kinds 1 to 7 exist"),
        route: Route::Everyone,
        epoch: 0,
        sender,
        instance: sending.instance(),
        counter: sending.next_counter().expect("a new key has counters"),
    };
    let header_bytes = header.encode();
    let mut frame = header_bytes.to_vec();
    let mut sealed_plaintext = Vec::new();
    if as_host {
        sealed_plaintext.extend_from_slice(&host().sign(&header_bytes, plaintext));
    }
    sealed_plaintext.extend_from_slice(plaintext);
    frame.extend_from_slice(&sending.seal(sender, header.counter, &header_bytes, &sealed_plaintext));
    match open_frame(&mut receiving, &host_key(), &frame) {
        Ok((opened, message)) => {
            assert_eq!(opened, header);
            assert_eq!(message.kind(), header.kind);
            // What decodes encodes again, and that decodes to the same message.
            let encoded = postcard::to_allocvec(&message).expect("messages serialize");
            let again: Message =
                postcard::from_bytes(&encoded).expect("re-encoded message decodes");
            assert_eq!(again, message);
        }
        // The seal held (the key is right); only the message may be refused.
        Err(FrameError::Decode(_) | FrameError::KindMismatch { .. }) => {}
        Err(other) => panic!("a correctly sealed frame did not open: {other}"),
    }
    // The same frame again is a replay, whatever it holds.
    assert!(matches!(
        open_frame(&mut receiving, &host_key(), &frame),
        Err(FrameError::Crypto(_))
    ));
    // One flipped bit anywhere (header or seal) and it never opens.
    let mut receiving = ReceivingKeys::new(0, keys());
    let bit = usize::from(mode >> 2) * 7 % (frame.len() * 8);
    frame[bit / 8] ^= 1 << (bit % 8);
    let tampered = open_frame(&mut receiving, &host_key(), &frame);
    assert!(tampered.is_err(), "a tampered frame opened: {tampered:?}");
});
