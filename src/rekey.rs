//! Removal with rekey: handing a new epoch secret to every member but the removed one.
//!
//! Removing someone must cut them off cryptographically, not only at the relay. The removed
//! member holds the link secret and every key derived from it, so the host draws a new
//! secret (same session id, new link `https://RELAY/s/SESSION#NEWSECRET`, new admission
//! token) and gives it to each remaining member in a way only that member can read: sealed
//! to the X25519 public key the member sent in its encrypted hello.
//!
//! The wrap for one recipient R (public key `r`), by the host H (static key pair `h`):
//! ```text
//! e            fresh ephemeral key pair, one per wrap
//! ikm          = X25519(e, r) ‖ X25519(h, r)
//! wrapping key = HKDF-SHA256(salt = session id, ikm,
//!                            info = "cotype v1 epoch secret wrap" ‖ epoch ‖ E ‖ H ‖ R)
//! sealed       = AES-256-GCM(wrapping key, nonce = 0, new secret,
//!                            aad = session id ‖ epoch ‖ R)
//! ```
//! Why both an ephemeral and the host's static key: the ephemeral half makes every wrapping
//! key fresh (so a zero nonce is safe, and a later leak of the host's key pair reveals no
//! past epoch secret); the static half authenticates the host. Without it, anyone who knows
//! a member's public key could wrap a secret of their own choosing, and the removed member,
//! still holding the old epoch's keys, could (with a relay's help) send a forged key update
//! and move the others onto an epoch it controls. With it, a wrap opens only if it was made
//! by the holder of the host key the member learned when it was welcomed. The epoch and all
//! three public keys are bound into the key and the session, epoch and recipient into the
//! seal, so a wrap cannot be replayed to another session, epoch or member.
//!
//! Public keys that yield an all-zero shared secret (small-order points) are refused on
//! both sides: they would make the wrapping key public.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x25519_dalek::{PublicKey, SharedSecret, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{Epoch, SessionKeys};
use crate::link::{SECRET_LEN, Secret, SessionId};

const INFO_WRAP: &[u8] = b"cotype v1 epoch secret wrap";
const INFO_REJOIN: &[u8] = b"cotype v1 rejoin";
/// Each wrapping key is used exactly once (it depends on a fresh ephemeral key), so a
/// constant nonce never repeats under one key.
const WRAP_NONCE: [u8; 12] = [0; 12];
/// A sealed secret: 32 bytes of secret and the 16-byte tag.
pub const SEALED_LEN: usize = SECRET_LEN + crate::crypto::TAG_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RekeyError {
    #[error(
        "a member's public key is unusable (a small-order point); it must rejoin with a fresh key"
    )]
    WeakPublicKey,
    #[error(
        "the new session key could not be unwrapped: it was not meant for this member, epoch or session, was not made by this session's host, or was altered in transit"
    )]
    Unwrap,
}

/// A member's X25519 key pair: participants send the public half in their hello, the host
/// uses its own to authenticate the secrets it wraps. The private half is wiped on drop.
#[derive(Clone)]
pub struct MemberKeyPair {
    secret: StaticSecret,
    public: PublicKey,
}

impl fmt::Debug for MemberKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberKeyPair(public: {})", hex(self.public.as_bytes()))
    }
}

impl MemberKeyPair {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(bytes.as_mut());
        Self::from_private_bytes(*bytes)
    }

    /// A key pair from fixed private bytes: for known-answer tests, never for real keys.
    fn from_private_bytes(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret);
        MemberKeyPair { secret, public }
    }

    pub fn public(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// Opens a secret the host wrapped for this member. `host_public` is the host's key as
    /// this member learned it when it was welcomed (not as the wrap claims it).
    pub fn unwrap_epoch_secret(
        &self,
        wrapped: &WrappedSecret,
        host_public: &[u8; 32],
        session: &SessionId,
        epoch: Epoch,
    ) -> Result<Secret, RekeyError> {
        let ephemeral = PublicKey::from(wrapped.ephemeral_public);
        let host = PublicKey::from(*host_public);
        let (cipher, aad) = Wrapping {
            session,
            epoch,
            ephemeral_public: &wrapped.ephemeral_public,
            host_public,
            recipient_public: &self.public(),
        }
        .cipher(
            self.secret.diffie_hellman(&ephemeral),
            self.secret.diffie_hellman(&host),
        )?;
        let opened = Zeroizing::new(
            cipher
                .decrypt(
                    &Nonce::from(WRAP_NONCE),
                    Payload {
                        msg: &wrapped.sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| RekeyError::Unwrap)?,
        );
        if opened.len() != SECRET_LEN {
            return Err(RekeyError::Unwrap);
        }
        // Copied straight into the type that wipes itself, leaving no stray copy behind.
        let mut secret = Secret([0; SECRET_LEN]);
        secret.0.copy_from_slice(&opened);
        Ok(secret)
    }
}

/// Getting one's place back after a dropped connection. The relay gives the new connection
/// a new participant id; the hello on it carries the old id and a proof that its sender
/// holds the private key the old member announced. Only that member and the host can
/// compute it (X25519 of the member's key and the host's static key):
/// ```text
/// proof = HKDF-SHA256(salt = session id, ikm = X25519(m, h),
///                     info = "cotype v1 rejoin" ‖ old id ‖ new id ‖ new public key)
/// ```
/// Bound to both ids and to the key pair the new hello announces, so it vouches for that
/// one connection only, and no one else can take the place with a key of their own.
impl MemberKeyPair {
    /// The member's side: proof that we were `previous`, for the hello of connection
    /// `now` announcing `new_public`.
    pub fn rejoin_proof(
        &self,
        host_public: &[u8; 32],
        session: &SessionId,
        previous: u32,
        now: u32,
        new_public: &[u8; 32],
    ) -> Result<[u8; 32], RekeyError> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*host_public));
        if !shared.was_contributory() {
            return Err(RekeyError::WeakPublicKey);
        }
        Ok(rejoin_tag(
            shared.as_bytes(),
            session,
            previous,
            now,
            new_public,
        ))
    }

    /// The host's side: whether `proof` comes from the holder of `previous_public`.
    pub fn verify_rejoin(
        &self,
        previous_public: &[u8; 32],
        session: &SessionId,
        previous: u32,
        now: u32,
        new_public: &[u8; 32],
        proof: &[u8; 32],
    ) -> bool {
        let shared = self
            .secret
            .diffie_hellman(&PublicKey::from(*previous_public));
        let expected = rejoin_tag(shared.as_bytes(), session, previous, now, new_public);
        shared.was_contributory()
            && bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &proof[..]))
    }
}

fn rejoin_tag(
    shared: &[u8; 32],
    session: &SessionId,
    previous: u32,
    now: u32,
    new_public: &[u8; 32],
) -> [u8; 32] {
    let mut info = Vec::with_capacity(INFO_REJOIN.len() + 8 + 32);
    info.extend_from_slice(INFO_REJOIN);
    info.extend_from_slice(&previous.to_be_bytes());
    info.extend_from_slice(&now.to_be_bytes());
    info.extend_from_slice(new_public);
    let mut proof = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&session.0), shared)
        .expand(&info, &mut proof)
        .expect("32 bytes is a valid HKDF length");
    proof
}

/// A new epoch secret sealed for one member; what travels in the key update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedSecret {
    pub ephemeral_public: [u8; 32],
    /// `SEALED_LEN` bytes: the secret and its tag.
    pub sealed: Vec<u8>,
}

/// Wraps `new_secret` for the member whose public key is `recipient`, authenticated by the
/// host's key pair.
pub fn wrap_epoch_secret(
    host: &MemberKeyPair,
    new_secret: &Secret,
    session: &SessionId,
    epoch: Epoch,
    recipient: &[u8; 32],
) -> Result<WrappedSecret, RekeyError> {
    let mut ephemeral = Zeroizing::new([0u8; 32]);
    rand::fill(ephemeral.as_mut());
    wrap_with_ephemeral(
        host,
        StaticSecret::from(*ephemeral),
        new_secret,
        session,
        epoch,
        recipient,
    )
}

fn wrap_with_ephemeral(
    host: &MemberKeyPair,
    ephemeral: StaticSecret,
    new_secret: &Secret,
    session: &SessionId,
    epoch: Epoch,
    recipient: &[u8; 32],
) -> Result<WrappedSecret, RekeyError> {
    let recipient_key = PublicKey::from(*recipient);
    let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
    let (cipher, aad) = Wrapping {
        session,
        epoch,
        ephemeral_public: &ephemeral_public,
        host_public: &host.public(),
        recipient_public: recipient,
    }
    .cipher(
        ephemeral.diffie_hellman(&recipient_key),
        host.secret.diffie_hellman(&recipient_key),
    )?;
    let sealed = cipher
        .encrypt(
            &Nonce::from(WRAP_NONCE),
            Payload {
                msg: &new_secret.0,
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    Ok(WrappedSecret {
        ephemeral_public,
        sealed,
    })
}

/// The public half of one wrapping: the session and epoch, and the three public keys
/// (the wrap's ephemeral key, the host's, the recipient's). Host and recipient derive the
/// same cipher from it, each with its own two Diffie-Hellman results.
struct Wrapping<'a> {
    session: &'a SessionId,
    epoch: Epoch,
    ephemeral_public: &'a [u8; 32],
    host_public: &'a [u8; 32],
    recipient_public: &'a [u8; 32],
}

impl Wrapping<'_> {
    /// The cipher and associated data of the wrap, from the ephemeral and the static
    /// Diffie-Hellman results; a low-order public key (whose result anyone can compute)
    /// is refused.
    fn cipher(
        &self,
        ephemeral_shared: SharedSecret,
        static_shared: SharedSecret,
    ) -> Result<(Aes256Gcm, Vec<u8>), RekeyError> {
        if !ephemeral_shared.was_contributory() || !static_shared.was_contributory() {
            return Err(RekeyError::WeakPublicKey);
        }
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(ephemeral_shared.as_bytes());
        ikm[32..].copy_from_slice(static_shared.as_bytes());
        let mut info = Vec::with_capacity(INFO_WRAP.len() + 4 + 3 * 32);
        info.extend_from_slice(INFO_WRAP);
        info.extend_from_slice(&self.epoch.to_be_bytes());
        info.extend_from_slice(self.ephemeral_public);
        info.extend_from_slice(self.host_public);
        info.extend_from_slice(self.recipient_public);
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(&self.session.0), ikm.as_ref())
            .expand(&info, key.as_mut())
            .expect("32 bytes is a valid HKDF length");
        let cipher = Aes256Gcm::new_from_slice(key.as_ref()).expect("AES-256 takes 32-byte keys");
        let aad = associated_data(self.session, self.epoch, self.recipient_public);
        Ok((cipher, aad))
    }
}

fn associated_data(session: &SessionId, epoch: Epoch, recipient: &[u8; 32]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(session.0.len() + 4 + 32);
    aad.extend_from_slice(&session.0);
    aad.extend_from_slice(&epoch.to_be_bytes());
    aad.extend_from_slice(recipient);
    aad
}

/// Everything the host needs to move the session to a new epoch after a removal.
pub struct Rekey<Id> {
    pub epoch: Epoch,
    /// The new link secret: the host's new link is `https://RELAY/s/SESSION#<this>`.
    pub secret: Secret,
    /// What the host registers with `ToRelay::RotateToken`, so the old link stops joining.
    pub verifier: [u8; 32],
    /// One wrapped secret per remaining member, to send to that member alone.
    pub wrapped: Vec<(Id, WrappedSecret)>,
}

/// Draws a new epoch secret and wraps it for each remaining member. `members` are the
/// members who stay, with the public keys from their hellos; the removed one is simply
/// not among them. Fails without wrapping for anyone if one key is unusable.
pub fn rekey<Id>(
    host: &MemberKeyPair,
    session: &SessionId,
    epoch: Epoch,
    members: impl IntoIterator<Item = (Id, [u8; 32])>,
) -> Result<Rekey<Id>, RekeyError> {
    let secret = Secret::random();
    let wrapped = members
        .into_iter()
        .map(|(id, public)| {
            wrap_epoch_secret(host, &secret, session, epoch, &public).map(|w| (id, w))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let verifier = SessionKeys::derive(&secret, session).admission_verifier();
    Ok(Rekey {
        epoch,
        secret,
        verifier,
        wrapped,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_session() -> SessionId {
        SessionId(std::array::from_fn(|i| 0xa0 + i as u8))
    }

    fn fixed_host() -> MemberKeyPair {
        MemberKeyPair::from_private_bytes(std::array::from_fn(|i| 0x40 + i as u8))
    }

    fn fixed_recipient() -> MemberKeyPair {
        MemberKeyPair::from_private_bytes(std::array::from_fn(|i| 0x60 + i as u8))
    }

    fn fixed_new_secret() -> Secret {
        Secret(std::array::from_fn(|i| 0xc0 + i as u8))
    }

    /// Pins the rejoin proof (computed independently by scripts/crypto_kat.py), and shows
    /// it vouches only for the member, ids and new key it was made for.
    #[test]
    fn known_answer_rejoin() {
        let (host, member) = (fixed_host(), fixed_recipient());
        let session = fixed_session();
        let new_public = MemberKeyPair::from_private_bytes([0x33; 32]).public();
        let proof = member
            .rejoin_proof(&host.public(), &session, 7, 12, &new_public)
            .unwrap();
        assert_eq!(hex(&proof), KAT_REJOIN_PROOF);
        let verify = |previous_public: &[u8; 32], previous, now, new_public: &[u8; 32]| {
            host.verify_rejoin(previous_public, &session, previous, now, new_public, &proof)
        };
        assert!(verify(&member.public(), 7, 12, &new_public));
        let stranger = MemberKeyPair::from_private_bytes([0x55; 32]).public();
        assert!(
            !verify(&stranger, 7, 12, &new_public),
            "another member's place"
        );
        assert!(
            !verify(&member.public(), 8, 12, &new_public),
            "another old id"
        );
        assert!(
            !verify(&member.public(), 7, 13, &new_public),
            "another connection"
        );
        assert!(
            !verify(&member.public(), 7, 12, &stranger),
            "another new key"
        );
    }

    /// Pins the wrap; the expected values were computed independently by
    /// scripts/crypto_kat.py with Python's `cryptography` (X25519, HKDF-SHA256, AES-GCM).
    #[test]
    fn known_answer_wrap() {
        let host = fixed_host();
        let recipient = fixed_recipient();
        let ephemeral = StaticSecret::from(std::array::from_fn(|i| 0x20 + i as u8));
        let session = fixed_session();
        let wrapped = wrap_with_ephemeral(
            &host,
            ephemeral,
            &fixed_new_secret(),
            &session,
            2,
            &recipient.public(),
        )
        .unwrap();
        assert_eq!(hex(&host.public()), KAT_HOST_PUBLIC);
        assert_eq!(hex(&recipient.public()), KAT_RECIPIENT_PUBLIC);
        assert_eq!(hex(&wrapped.ephemeral_public), KAT_EPHEMERAL_PUBLIC);
        assert_eq!(hex(&wrapped.sealed), KAT_WRAPPED);
        assert_eq!(wrapped.sealed.len(), SEALED_LEN);
        let opened = recipient
            .unwrap_epoch_secret(&wrapped, &host.public(), &session, 2)
            .unwrap();
        assert_eq!(opened, fixed_new_secret());
    }

    const KAT_HOST_PUBLIC: &str =
        "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a";
    const KAT_RECIPIENT_PUBLIC: &str =
        "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f";
    const KAT_EPHEMERAL_PUBLIC: &str =
        "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";
    const KAT_WRAPPED: &str = "27f8bf8bdc52cae1793d2d6d220411c0e1f34cd3879310b3c48ce5aab4dd6f2aaa3240dee7f6065babdc52bf1609ce53";
    const KAT_REJOIN_PROOF: &str =
        "0a9af7748bf32f96c2acbe3fc226c0ca77bdc70ce140c15888aff79f21796d34";

    fn wrap_for(recipient: &MemberKeyPair, epoch: Epoch) -> WrappedSecret {
        wrap_epoch_secret(
            &fixed_host(),
            &fixed_new_secret(),
            &fixed_session(),
            epoch,
            &recipient.public(),
        )
        .unwrap()
    }

    #[test]
    fn only_the_recipient_unwraps() {
        let recipient = MemberKeyPair::generate();
        let removed = MemberKeyPair::generate();
        let wrapped = wrap_for(&recipient, 1);
        let host_public = fixed_host().public();
        assert_eq!(
            removed.unwrap_epoch_secret(&wrapped, &host_public, &fixed_session(), 1),
            Err(RekeyError::Unwrap)
        );
        assert_eq!(
            recipient
                .unwrap_epoch_secret(&wrapped, &host_public, &fixed_session(), 1)
                .unwrap(),
            fixed_new_secret()
        );
    }

    #[test]
    fn a_wrap_is_bound_to_its_epoch_and_session() {
        let recipient = MemberKeyPair::generate();
        let wrapped = wrap_for(&recipient, 2);
        let host_public = fixed_host().public();
        assert_eq!(
            recipient.unwrap_epoch_secret(&wrapped, &host_public, &fixed_session(), 3),
            Err(RekeyError::Unwrap)
        );
        assert_eq!(
            recipient.unwrap_epoch_secret(&wrapped, &host_public, &SessionId([7; 16]), 2),
            Err(RekeyError::Unwrap)
        );
    }

    #[test]
    fn tampered_wraps_fail() {
        let recipient = MemberKeyPair::generate();
        let wrapped = wrap_for(&recipient, 1);
        let host_public = fixed_host().public();
        let unwrap =
            |w: &WrappedSecret| recipient.unwrap_epoch_secret(w, &host_public, &fixed_session(), 1);
        for index in [0, SECRET_LEN, SEALED_LEN - 1] {
            let mut flipped = wrapped.clone();
            flipped.sealed[index] ^= 0x80;
            assert_eq!(unwrap(&flipped), Err(RekeyError::Unwrap), "byte {index}");
        }
        let mut truncated = wrapped.clone();
        truncated.sealed.pop();
        assert_eq!(unwrap(&truncated), Err(RekeyError::Unwrap));
        let mut other_ephemeral = wrapped.clone();
        other_ephemeral.ephemeral_public = MemberKeyPair::generate().public();
        assert_eq!(unwrap(&other_ephemeral), Err(RekeyError::Unwrap));
        assert!(unwrap(&wrapped).is_ok());
    }

    /// Someone who knows a member's public key but not the host's private key (a removed
    /// member, say) cannot make a wrap that member accepts.
    #[test]
    fn wraps_not_made_by_the_host_are_refused() {
        let recipient = MemberKeyPair::generate();
        let impostor = MemberKeyPair::generate();
        let forged = wrap_epoch_secret(
            &impostor,
            &Secret([9; 32]),
            &fixed_session(),
            1,
            &recipient.public(),
        )
        .unwrap();
        assert_eq!(
            recipient.unwrap_epoch_secret(&forged, &fixed_host().public(), &fixed_session(), 1),
            Err(RekeyError::Unwrap)
        );
    }

    #[test]
    fn small_order_keys_are_refused() {
        let recipient = MemberKeyPair::generate();
        let zero = [0u8; 32];
        assert_eq!(
            wrap_epoch_secret(
                &fixed_host(),
                &fixed_new_secret(),
                &fixed_session(),
                1,
                &zero
            ),
            Err(RekeyError::WeakPublicKey)
        );
        let wrapped = WrappedSecret {
            ephemeral_public: zero,
            sealed: vec![0; SEALED_LEN],
        };
        assert_eq!(
            recipient.unwrap_epoch_secret(&wrapped, &fixed_host().public(), &fixed_session(), 1),
            Err(RekeyError::WeakPublicKey)
        );
    }

    #[test]
    fn rekey_wraps_for_exactly_the_remaining_members() {
        let host = fixed_host();
        let alice = MemberKeyPair::generate();
        let bob = MemberKeyPair::generate();
        let session = fixed_session();
        let old = SessionKeys::derive(&fixed_new_secret(), &session);
        let rekey = rekey(
            &host,
            &session,
            1,
            [(1u32, alice.public()), (2, bob.public())],
        )
        .unwrap();
        let ids: Vec<u32> = rekey.wrapped.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2]);
        for ((_, wrapped), member) in rekey.wrapped.iter().zip([&alice, &bob]) {
            let opened = member
                .unwrap_epoch_secret(wrapped, &host.public(), &session, 1)
                .unwrap();
            assert_eq!(opened, rekey.secret);
        }
        assert_eq!(
            rekey.verifier,
            SessionKeys::derive(&rekey.secret, &session).admission_verifier()
        );
        assert_ne!(rekey.verifier, old.admission_verifier());
        assert!(matches!(
            super::rekey(&host, &session, 1, [(1u32, alice.public()), (3, [0; 32])]),
            Err(RekeyError::WeakPublicKey)
        ));
    }
}
