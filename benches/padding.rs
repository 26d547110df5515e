//! What padding costs at the relay: the sealed size of typical frames with padding off
//! (the baseline) and on, and the ratio. Sizes are exact, not timed.
//!
//! `cargo bench --bench padding`; the last line is one JSON object.

use cotype::crypto::SessionKeys;
use cotype::link::{Secret, SessionId};
use cotype::protocol::FILE_CHUNK_LEN;
use cotype::protocol::frame::FrameSealer;
use cotype::protocol::header::Route;
use cotype::protocol::message::{AppliedEdit, EditMessage, Message, Response};
use cotype::text::{EditId, Operation, RemoteEdit};

fn edit(chars: usize) -> Message {
    Message::Edit(EditMessage::Applied {
        edits: vec![AppliedEdit {
            path: "src/main.rs".into(),
            edit: RemoteEdit {
                revision: 1234,
                author: EditId {
                    instance: [1; 16],
                    seq: 99,
                },
                op: Operation::insert(2000, 1000, &"x".repeat(chars)).unwrap(),
            },
            by: 3,
        }],
    })
}

fn chunk(len: usize) -> Message {
    Message::Response {
        id: 1,
        done: true,
        body: Response::FileChunk {
            offset: 0,
            total: len as u64,
            data: vec![b'x'; len],
        },
    }
}

fn main() {
    let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
    let mut sealer = FrameSealer::new(keys.sending_key(0), 0);
    let cases = [
        ("keystroke_edit", edit(1)),
        ("edit_40_chars", edit(40)),
        ("edit_200_chars", edit(200)),
        ("file_1_kb", chunk(1000)),
        ("file_10_kb", chunk(10_000)),
        ("file_100_kb", chunk(100_000)),
        ("full_file_chunk", chunk(FILE_CHUNK_LEN)),
    ];
    let mut figures = Vec::new();
    println!(
        "{:<16} {:>10} {:>10} {:>6}",
        "frame", "unpadded", "padded", "ratio"
    );
    for (name, message) in &cases {
        sealer.set_padding(false);
        let plain = sealer.seal(Route::Everyone, message).unwrap().len();
        sealer.set_padding(true);
        let padded = sealer.seal(Route::Everyone, message).unwrap().len();
        let ratio = padded as f64 / plain as f64;
        println!("{name:<16} {plain:>10} {padded:>10} {ratio:>6.2}");
        figures.push(format!(
            "\"{name}\":{{\"unpadded\":{plain},\"padded\":{padded},\"ratio\":{ratio:.3}}}"
        ));
    }
    println!("{{{}}}", figures.join(","));
}
