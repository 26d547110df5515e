//! Keys for SSH guests (`cotype relay --ssh-listen`, and the SSH server each host runs for
//! its session): the user name a guest presents, derived from the link's secret, and the
//! persistent Ed25519 host keys of the relay and of each shared folder.
//!
//! The user name travels only inside the guest's end-to-end SSH encryption (the relay
//! forwards that ciphertext and never sees it), so knowing the session id, as the relay
//! does, gets nobody in.

use std::path::Path;

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::link::{Secret, SessionId};

const INFO_SSH_GUEST_USER: &[u8] = b"cotype v1 ssh guest user";
/// Bytes of the user token (shown as hex: 32 characters, safe in any SSH user name).
const GUEST_TOKEN_LEN: usize = 16;

/// The SSH user name that admits a guest to the session of `secret`: HKDF-SHA256 with the
/// session id as salt, like every other key of the link, under its own label.
pub fn guest_user(secret: &Secret, session: &SessionId) -> String {
    let hkdf = Hkdf::<Sha256>::new(Some(&session.0), &secret.0);
    let mut token = [0u8; GUEST_TOKEN_LEN];
    hkdf.expand(INFO_SSH_GUEST_USER, &mut token)
        .expect("16 bytes is a valid HKDF length");
    token.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `offered` is the guest user name of the session, compared in constant time.
pub fn is_guest_user(secret: &Secret, session: &SessionId, offered: &str) -> bool {
    let expected = guest_user(secret, session);
    // Lengths are public (always 32); only the content is compared in constant time.
    expected.len() == offered.len() && bool::from(expected.as_bytes().ct_eq(offered.as_bytes()))
}

/// The host key kept at `path` (OpenSSH format, readable by its owner only), made on first
/// use: guests pin it, so it must survive restarts.
pub fn load_or_create_host_key(path: &Path) -> anyhow::Result<russh::keys::PrivateKey> {
    use anyhow::Context;
    if let Ok(text) = std::fs::read_to_string(path) {
        return russh::keys::PrivateKey::from_openssh(&text)
            .with_context(|| format!("the SSH host key {} is damaged", path.display()));
    }
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::fill(&mut seed[..]);
    let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let key = russh::keys::PrivateKey::from(pair);
    let text = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .context("cannot encode the SSH host key")?;
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    write_private(path, text.as_bytes())
        .with_context(|| format!("cannot save the SSH host key to {}", path.display()))?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The host key's public half as a known_hosts line's key part (`ssh-ed25519 AAAA…`).
pub fn public_line(key: &russh::keys::PrivateKey) -> String {
    key.public_key().to_openssh().unwrap_or_default()
}

/// The key's SHA-256 fingerprint as OpenSSH prints it (`SHA256:…`).
pub fn fingerprint(key: &russh::keys::PublicKey) -> String {
    key.fingerprint(russh::keys::HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently with Python's `cryptography` (HKDF-SHA256, salt = the
    /// session id, info `cotype v1 ssh guest user`, 16 bytes).
    const KAT_SSH_GUEST_USER: &str = "1f55e804fe8f03ed5130fbb284a29cf3";

    #[test]
    fn known_answer_guest_user() {
        let secret = Secret(std::array::from_fn(|i| i as u8));
        let session = SessionId(std::array::from_fn(|i| 0xa0 + i as u8));
        assert_eq!(guest_user(&secret, &session), KAT_SSH_GUEST_USER);
        assert!(is_guest_user(&secret, &session, KAT_SSH_GUEST_USER));
        assert!(!is_guest_user(
            &secret,
            &session,
            "1f55e804fe8f03ed5130fbb284a29cf4"
        ));
        assert!(!is_guest_user(&secret, &session, "1f55e804"));
        assert!(!is_guest_user(&secret, &session, ""));
        let other = Secret([9; 32]);
        assert!(!is_guest_user(&other, &session, KAT_SSH_GUEST_USER));
    }

    #[test]
    fn a_host_key_is_made_once_and_kept() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("keys/host_key");
        let first = load_or_create_host_key(&path).unwrap();
        let again = load_or_create_host_key(&path).unwrap();
        assert_eq!(public_line(&first), public_line(&again));
        assert!(public_line(&first).starts_with("ssh-ed25519 AAAA"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
