//! The 40-byte cleartext header every data frame starts with: the relay decodes it from
//! every frame any connection sends.
#![no_main]

use cotype::protocol::header::{HEADER_LEN, Header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let Ok(header) = Header::decode(frame) else {
        return;
    };
    // What decodes encodes back to the same 40 bytes (the reserved byte is zero when
    // encoded, so compare with it cleared) and decodes again to the same header.
    let encoded = header.encode();
    let mut expected = [0u8; HEADER_LEN];
    expected.copy_from_slice(&frame[..HEADER_LEN]);
    expected[3] = 0;
    // The target id only means something for a route to one participant.
    if !matches!(
        header.route,
        cotype::protocol::header::Route::Participant(_)
    ) {
        expected[12..16].fill(0);
    }
    assert_eq!(encoded, expected);
    assert_eq!(Header::decode(&encoded), Ok(header));
    // The relay's stamp changes the sender and nothing else.
    let mut stamped = frame.to_vec();
    Header::stamp_sender(&mut stamped, header.sender.wrapping_add(1));
    let restamped = Header::decode(&stamped).expect("a stamped header still decodes");
    assert_eq!(restamped.sender, header.sender.wrapping_add(1));
    assert_eq!(
        Header {
            sender: header.sender,
            ..restamped
        },
        header
    );
    assert_eq!(stamped[HEADER_LEN..], frame[HEADER_LEN..]);
});
