//! Keys and sealing: everything cotype encrypts goes through this page.
//!
//! From the link secret, HKDF-SHA256 (salt = session id) derives independent subkeys:
//! the content key (AES-256-GCM) and the relay-admission token. The relay stores only
//! SHA-256(token), so it can check that a joiner knows the link without learning anything
//! that decrypts.
//!
//! Nonces: every sender (one per process and epoch) picks a random 128-bit instance id and
//! derives its own sending key from the content key, that id and the participant id the
//! relay gave it; the nonce is a 64-bit counter. Two senders never share a key, and one
//! sender never repeats a counter, so no (key, nonce) pair repeats. Receivers keep the
//! highest counter seen per (sender id, instance) and refuse anything not above it (replay,
//! reorder): a member who borrows another's instance id opens a window of its own and
//! cannot push the other's forward. The cleartext header is the associated data, so the
//! relay cannot move a frame to another session, sender, route, kind or epoch without the
//! open failing.
//!
//! Everyone holding the link holds the content key, so a seal proves "a member sent this",
//! not which one. The host therefore also signs every frame it sends with an Ed25519 key
//! that never leaves its process and whose public half is in the link (`HostIdentity`,
//! `HostKey`): a member can say only what a member may say.

pub mod ssh;

use std::collections::HashMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::link::{Secret, SessionId};
use crate::protocol::ParticipantId;

pub const INSTANCE_LEN: usize = 16;
/// Bytes the AEAD adds to every payload.
pub const TAG_LEN: usize = 16;

const INFO_CONTENT: &[u8] = b"cotype v1 content key";
const INFO_ADMISSION: &[u8] = b"cotype v1 relay admission token";
/// Followed by the sender's participant id (4 bytes, big-endian).
const INFO_SENDER: &[u8] = b"cotype v2 sender key";
const INFO_VERIFICATION: &[u8] = b"cotype v1 verification code";
/// Hashed before the verification key and the host's public key into the code.
const INFO_VERIFICATION_CODE: &[u8] = b"cotype v2 verification code\0";
const INFO_OWNER: &[u8] = b"cotype v1 host owner proof";
/// Prefixed to what the host signs, so its signatures mean nothing anywhere else.
const INFO_HOST_SIGNATURE: &[u8] = b"cotype v1 host frame\0";

/// A sender's random identity; part of every frame header.
pub type InstanceId = [u8; INSTANCE_LEN];
/// A key epoch: 0 for the link's secret, +1 at every rekey.
pub type Epoch = u32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("message could not be decrypted: wrong key, or it was altered in transit")]
    Open,
    #[error("message replayed or out of order (counter {counter} not above {last})")]
    Replay { counter: u64, last: u64 },
    #[error("message is for key epoch {0}, which this member does not hold")]
    UnknownEpoch(Epoch),
    /// From the host's participant id, but not signed by the host's key: a member (who can
    /// seal, since it holds the link) trying to speak for the host.
    #[error("message claims to come from the host but does not carry the host's signature")]
    NotSignedByHost,
    #[error("this sender has used up its counter space; reconnect to get a new key")]
    CounterExhausted,
}

/// Everything derived from one link secret. Wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    content: [u8; 32],
    admission_token: [u8; 32],
    verification: [u8; 32],
}

impl SessionKeys {
    pub fn derive(secret: &Secret, session: &SessionId) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(&session.0), &secret.0);
        let mut keys = SessionKeys {
            content: [0; 32],
            admission_token: [0; 32],
            verification: [0; 32],
        };
        // The output lengths are constants within HKDF's limit, so expand cannot fail.
        hkdf.expand(INFO_CONTENT, &mut keys.content)
            .expect("32 bytes is a valid HKDF length");
        hkdf.expand(INFO_ADMISSION, &mut keys.admission_token)
            .expect("32 bytes is a valid HKDF length");
        hkdf.expand(INFO_VERIFICATION, &mut keys.verification)
            .expect("32 bytes is a valid HKDF length");
        keys
    }

    /// What a joiner shows the relay to prove it holds the link.
    pub fn admission_token(&self) -> [u8; 32] {
        self.admission_token
    }

    /// What the host registers with the relay: SHA-256 of the admission token.
    pub fn admission_verifier(&self) -> [u8; 32] {
        admission_verifier(&self.admission_token)
    }

    /// The code people compare out of band: equal codes mean the same session secret and
    /// the same host key (the key every later key update must come from). Fifteen digits,
    /// about 50 bits: finding another secret, or another host key, with the same code
    /// takes about 2^50 tries, where the six digits before took 2^20.
    pub fn verification_code(&self, host_public_key: &[u8; 32]) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(INFO_VERIFICATION_CODE)
            .chain_update(self.verification)
            .chain_update(host_public_key)
            .finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        let digits = format!("{:015}", u64::from_be_bytes(first) % 1_000_000_000_000_000);
        digits
            .as_bytes()
            .chunks(3)
            .map(|group| std::str::from_utf8(group).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A new sending key with a fresh random instance id. Its cipher is derived when it
    /// first seals, for the participant id the sender has by then.
    pub fn sending_key(&self, epoch: Epoch) -> SendingKey {
        let mut instance = [0u8; INSTANCE_LEN];
        rand::fill(&mut instance);
        SendingKey {
            instance,
            epoch,
            next_counter: 1,
            content: self.content_copy(),
            cipher: None,
        }
    }

    /// A sending key with a chosen instance id and first counter: what a hostile member
    /// who copied another's instance id from a header would build. Only tests use it.
    #[doc(hidden)]
    pub fn sending_key_as(&self, epoch: Epoch, instance: InstanceId, first: u64) -> SendingKey {
        SendingKey {
            instance,
            epoch,
            next_counter: first,
            content: self.content_copy(),
            cipher: None,
        }
    }

    fn content_copy(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.content)
    }
}

/// SHA-256 of an admission token, as the relay stores and compares it.
pub fn admission_verifier(token: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// The host process's own secret, proving that a participant is the host's user (the
/// host's terminal UI joins its own session as a participant): such a participant is
/// admitted without asking and shown as the host. The secret never leaves the host
/// process. A proof binds the session and the participant id the relay assigned to that
/// connection, so a hello a malicious relay copies proves nothing for any other one.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OwnerKey([u8; 32]);

impl std::fmt::Debug for OwnerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OwnerKey(..)")
    }
}

impl OwnerKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        Self(bytes)
    }

    /// What the owner's hello carries when the relay numbered its connection `participant`.
    pub fn proof(&self, session: &SessionId, participant: u32) -> [u8; 32] {
        let hkdf = Hkdf::<Sha256>::new(Some(&session.0), &self.0);
        let mut info = INFO_OWNER.to_vec();
        info.extend_from_slice(&participant.to_be_bytes());
        let mut proof = [0u8; 32];
        hkdf.expand(&info, &mut proof)
            .expect("32 bytes is a valid HKDF length");
        proof
    }

    pub fn verify(&self, session: &SessionId, participant: u32, proof: &[u8; 32]) -> bool {
        use subtle::ConstantTimeEq;
        self.proof(session, participant).ct_eq(proof).into()
    }
}

/// Bytes of a host signature, carried at the start of every sealed frame the host sends.
pub const SIGNATURE_LEN: usize = 64;

/// The host's signing key: made at random when the session starts, never written down and
/// never sent. Its public half (`HostKey`) is part of the link.
pub struct HostIdentity(ed25519_dalek::SigningKey);

impl HostIdentity {
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::fill(seed.as_mut());
        HostIdentity(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> HostKey {
        HostKey(self.0.verifying_key().to_bytes())
    }

    /// Signs what a frame says: its header bytes and its plaintext.
    pub fn sign(&self, header: &[u8], plaintext: &[u8]) -> [u8; SIGNATURE_LEN] {
        use ed25519_dalek::Signer;
        self.0.sign(&signed_bytes(header, plaintext)).to_bytes()
    }
}

impl std::fmt::Debug for HostIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostIdentity({:?})", self.public())
    }
}

/// The host's public signing key, as the link carries it: only frames it verifies are the
/// host's.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostKey(pub [u8; 32]);

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: String = self.0[..4].iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "HostKey({hex}..)")
    }
}

impl HostKey {
    pub fn verify(&self, header: &[u8], plaintext: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        key.verify_strict(&signed_bytes(header, plaintext), &signature)
            .is_ok()
    }
}

/// What a host signature covers: a label, the header, then SHA-256 of the plaintext. The
/// digest keeps the signed message small: Ed25519 hashes what it signs twice with SHA-512,
/// which for a 256 KiB file chunk cost six times the sealing; SHA-256 runs on the CPU's
/// SHA instructions.
fn signed_bytes(header: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(plaintext);
    let mut bytes = Vec::with_capacity(INFO_HOST_SIGNATURE.len() + header.len() + digest.len());
    bytes.extend_from_slice(INFO_HOST_SIGNATURE);
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&digest);
    bytes
}

fn sender_cipher(content: &[u8; 32], instance: &InstanceId, sender: ParticipantId) -> Aes256Gcm {
    let hkdf = Hkdf::<Sha256>::new(Some(instance), content);
    let mut key = Zeroizing::new([0u8; 32]);
    let mut info = [0u8; INFO_SENDER.len() + 4];
    info[..INFO_SENDER.len()].copy_from_slice(INFO_SENDER);
    info[INFO_SENDER.len()..].copy_from_slice(&sender.to_be_bytes());
    hkdf.expand(&info, key.as_mut())
        .expect("32 bytes is a valid HKDF length");
    Aes256Gcm::new_from_slice(key.as_ref()).expect("AES-256 takes 32-byte keys")
}

fn nonce_for(counter: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// One sender's key: an instance id and a counter that only goes up.
pub struct SendingKey {
    instance: InstanceId,
    epoch: Epoch,
    next_counter: u64,
    content: Zeroizing<[u8; 32]>,
    /// The cipher for the participant id it was last used with.
    cipher: Option<(ParticipantId, Aes256Gcm)>,
}

impl SendingKey {
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Reserves the next counter; the caller puts it in the header, then seals.
    pub fn next_counter(&mut self) -> Result<u64, CryptoError> {
        let counter = self.next_counter;
        self.next_counter = counter
            .checked_add(1)
            .ok_or(CryptoError::CounterExhausted)?;
        Ok(counter)
    }

    /// Seals `plaintext` from participant `sender` with the header bytes `aad` as
    /// associated data.
    pub fn seal(
        &mut self,
        sender: ParticipantId,
        counter: u64,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        let nonce = nonce_for(counter);
        if self.cipher.as_ref().is_none_or(|(id, _)| *id != sender) {
            self.cipher = Some((sender, sender_cipher(&self.content, &self.instance, sender)));
        }
        let (_, cipher) = self.cipher.as_ref().expect("derived just above");
        cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail")
    }
}

#[derive(Clone)]
struct PeerState {
    cipher: Aes256Gcm,
    last_counter: u64,
}

/// Who sealed a frame, as its header says: the epoch, the relay-assigned participant id
/// and the sender's instance. Keys and replay windows are per `SenderSlot`.
type SenderSlot = (Epoch, ParticipantId, InstanceId);

/// The receiving side: content keys by epoch, and per sender the cipher and the highest
/// counter opened so far.
#[derive(Clone, Default)]
pub struct ReceivingKeys {
    content: HashMap<Epoch, Zeroizing<[u8; 32]>>,
    peers: HashMap<SenderSlot, PeerState>,
}

impl ReceivingKeys {
    pub fn new(epoch: Epoch, keys: &SessionKeys) -> Self {
        let mut receiving = ReceivingKeys::default();
        receiving.add_epoch(epoch, keys);
        receiving
    }

    pub fn add_epoch(&mut self, epoch: Epoch, keys: &SessionKeys) {
        self.content.insert(epoch, keys.content_copy());
    }

    /// Carries the replay window of an earlier connection into this one, so frames a
    /// relay recorded before a reconnect cannot be played to us again: senders keep their
    /// keys and counters across our reconnects.
    pub fn inherit_replay_window(&mut self, earlier: &ReceivingKeys) {
        for (key, state) in &earlier.peers {
            if !self.content.contains_key(&key.0) {
                continue;
            }
            let mine = self.peers.entry(*key).or_insert_with(|| state.clone());
            mine.last_counter = mine.last_counter.max(state.last_counter);
        }
    }

    /// Forgets every epoch below `oldest`, so a removed member's epochs stop being accepted.
    pub fn retire_epochs_below(&mut self, oldest: Epoch) {
        self.content.retain(|&epoch, _| epoch >= oldest);
        self.peers.retain(|&(epoch, _, _), _| epoch >= oldest);
    }

    /// Opens a frame from `sender`: decrypts it and, if `accept` agrees with the plaintext
    /// (the host's signature, for a frame from the host's id), moves that sender's replay
    /// window. A frame that fails either check changes nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        epoch: Epoch,
        sender: ParticipantId,
        instance: &InstanceId,
        counter: u64,
        aad: &[u8],
        ciphertext: &[u8],
        accept: impl FnOnce(&[u8]) -> bool,
    ) -> Result<Vec<u8>, CryptoError> {
        let key = (epoch, sender, *instance);
        if let Some(peer) = self.peers.get(&key)
            && counter <= peer.last_counter
        {
            return Err(CryptoError::Replay {
                counter,
                last: peer.last_counter,
            });
        }
        let nonce = Nonce::from(nonce_for(counter));
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        // A known sender's cipher is used where it lies (an `Aes256Gcm` is a key schedule
        // of several hundred bytes, not worth copying for every frame).
        let mut fresh = None;
        let cipher = match self.peers.get(&key) {
            Some(peer) => &peer.cipher,
            None => {
                let content = self
                    .content
                    .get(&epoch)
                    .ok_or(CryptoError::UnknownEpoch(epoch))?;
                &*fresh.insert(sender_cipher(content, instance, sender))
            }
        };
        let plaintext = cipher
            .decrypt(&nonce, payload)
            .map_err(|_| CryptoError::Open)?;
        if !accept(&plaintext) {
            return Err(CryptoError::NotSignedByHost);
        }
        // Only a frame that opened creates state, so forged instance ids cost nothing.
        match fresh {
            Some(cipher) => {
                self.peers.insert(
                    key,
                    PeerState {
                        cipher,
                        last_counter: counter,
                    },
                );
            }
            None => {
                if let Some(peer) = self.peers.get_mut(&key) {
                    peer.last_counter = counter;
                }
            }
        }
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests;
