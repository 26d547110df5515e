//! Sealing and opening 64 KiB chunks through cotype's crypto against the raw `aes-gcm`
//! crate, measured in the same run.
//!
//! Ours: `SendingKey::seal` and `ReceivingKeys::open` with a 40-byte header as associated
//! data (what every data frame pays: counter bookkeeping, the replay check, a per-sender
//! key lookup). Baseline: `Aes256Gcm::encrypt`/`decrypt` with the same key size, nonce
//! size, associated data and allocation pattern. Rounds alternate between the two so a
//! busy machine slows both alike; the median round counts. Target: at least 0.9x.
//!
//! Run: `cargo bench --bench crypto`. The last line is one JSON object of the figures.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a short smoke run.

use std::hint::black_box;
use std::time::Instant;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use cotype::crypto::{ReceivingKeys, SessionKeys};
use cotype::link::{Secret, SessionId};

const CHUNK: usize = 64 * 1024;
const SENDER: u32 = 7;
const HEADER: [u8; 40] = [7; 40];

/// Seconds to seal, then open, `chunks` chunks with cotype's keys.
fn ours(chunks: usize, plaintext: &[u8]) -> (f64, f64) {
    let keys = SessionKeys::derive(&Secret::random(), &SessionId::random());
    let mut sender = keys.sending_key(0);
    let mut receiver = ReceivingKeys::new(0, &keys);
    let instance = sender.instance();
    let started = Instant::now();
    let sealed: Vec<(u64, Vec<u8>)> = (0..chunks)
        .map(|_| {
            let counter = sender.next_counter().expect("counter space");
            (counter, sender.seal(SENDER, counter, &HEADER, plaintext))
        })
        .collect();
    let seal_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (counter, ciphertext) in &sealed {
        let opened = receiver
            .open(0, SENDER, &instance, *counter, &HEADER, ciphertext, |_| {
                true
            })
            .expect("our own frames open");
        black_box(opened);
    }
    (seal_secs, started.elapsed().as_secs_f64())
}

/// Seconds to sign, then verify, `chunks` chunks as the host does on top of sealing.
fn host_signature(chunks: usize, plaintext: &[u8]) -> (f64, f64) {
    let identity = cotype::crypto::HostIdentity::generate();
    let key = identity.public();
    let started = Instant::now();
    let signatures: Vec<_> = (0..chunks)
        .map(|_| identity.sign(&HEADER, plaintext))
        .collect();
    let sign_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for signature in &signatures {
        assert!(key.verify(&HEADER, plaintext, signature));
    }
    (sign_secs, started.elapsed().as_secs_f64())
}

/// The same work with the `aes-gcm` crate alone.
fn raw(chunks: usize, plaintext: &[u8]) -> (f64, f64) {
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
    let nonce = |counter: u64| {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&counter.to_be_bytes());
        Nonce::from(nonce)
    };
    let started = Instant::now();
    let sealed: Vec<(u64, Vec<u8>)> = (1..=chunks as u64)
        .map(|counter| {
            let payload = Payload {
                msg: plaintext,
                aad: &HEADER,
            };
            let ciphertext = cipher.encrypt(&nonce(counter), payload).expect("seal");
            (counter, ciphertext)
        })
        .collect();
    let seal_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (counter, ciphertext) in &sealed {
        let payload = Payload {
            msg: ciphertext.as_slice(),
            aad: &HEADER,
        };
        black_box(cipher.decrypt(&nonce(*counter), payload).expect("open"));
    }
    (seal_secs, started.elapsed().as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, chunks) = if full { (7, 2048) } else { (1, 16) };
    let plaintext: Vec<u8> = (0..CHUNK).map(|i| (i % 251) as u8).collect();
    let mib = (chunks * CHUNK) as f64 / (1024.0 * 1024.0);

    // Warm up both paths (page faults, CPU feature detection) before timing.
    ours(chunks.min(64), &plaintext);
    raw(chunks.min(64), &plaintext);
    let (mut our_seal, mut our_open, mut raw_seal, mut raw_open) = (vec![], vec![], vec![], vec![]);
    let (mut signed_seal, mut signed_open) = (vec![], vec![]);
    for _ in 0..rounds {
        let (sign, verify) = host_signature(chunks, &plaintext);
        let (seal, open) = ours(chunks, &plaintext);
        signed_seal.push(mib / (seal + sign));
        signed_open.push(mib / (open + verify));
        let (seal, open) = ours(chunks, &plaintext);
        our_seal.push(mib / seal);
        our_open.push(mib / open);
        let (seal, open) = raw(chunks, &plaintext);
        raw_seal.push(mib / seal);
        raw_open.push(mib / open);
    }
    let (our_seal, our_open) = (median(our_seal), median(our_open));
    let (raw_seal, raw_open) = (median(raw_seal), median(raw_open));
    let (signed_seal, signed_open) = (median(signed_seal), median(signed_open));
    let seal_ratio = our_seal / raw_seal;
    let open_ratio = our_open / raw_open;
    println!(
        "seal 64 KiB chunks: cotype {our_seal:.0} MiB/s, raw aes-gcm {raw_seal:.0} MiB/s: {seal_ratio:.2}x (target >= 0.9x)"
    );
    println!(
        "open 64 KiB chunks: cotype {our_open:.0} MiB/s, raw aes-gcm {raw_open:.0} MiB/s: {open_ratio:.2}x (target >= 0.9x)"
    );
    println!(
        "host frames (sealed and signed): seal {signed_seal:.0} MiB/s ({:.2}x raw), open {signed_open:.0} MiB/s ({:.2}x raw)",
        signed_seal / raw_seal,
        signed_open / raw_open
    );
    println!("({rounds} alternating rounds of {mib:.0} MiB each; median round)");
    println!(
        "{{\"bench\":\"crypto\",\"chunk_bytes\":{CHUNK},\"mib_per_round\":{mib:.0},\"rounds\":{rounds},\
         \"seal_mib_per_sec\":{our_seal:.1},\"raw_seal_mib_per_sec\":{raw_seal:.1},\"seal_ratio\":{seal_ratio:.3},\
         \"open_mib_per_sec\":{our_open:.1},\"raw_open_mib_per_sec\":{raw_open:.1},\"open_ratio\":{open_ratio:.3},\
         \"host_signed_seal_mib_per_sec\":{signed_seal:.1},\"host_signed_open_mib_per_sec\":{signed_open:.1},\
         \"full\":{full}}}"
    );
}
