#!/usr/bin/env python3
"""Independent computation of cotype's crypto known answers (docs/SECURITY.md).

Uses Python's `cryptography` package, not cotype's code, so that the values pinned in
src/crypto/tests.rs are checked against a second implementation of HKDF-SHA256 and AES-256-GCM.
"""
import hashlib
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def hkdf(salt, ikm, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


secret = bytes(range(32))
session = bytes(0xA0 + i for i in range(16))
content = hkdf(session, secret, b"cotype v1 content key")
token = hkdf(session, secret, b"cotype v1 relay admission token")
verification = hkdf(session, secret, b"cotype v1 verification code")
code_host_public = bytes(0x50 + i for i in range(32))
code_digest = hashlib.sha256(b"cotype v2 verification code\0" + verification + code_host_public).digest()
number = int.from_bytes(code_digest[:8], "big") % 10**15
code_digits = f"{number:015}"
code = " ".join(code_digits[i:i + 3] for i in range(0, 15, 3))
print("content ", content.hex())
print("token   ", token.hex())
print("verifier", hashlib.sha256(token).digest().hex())
print("code    ", code)
instance = bytes([0x11] * 16)
# The sender key is bound to the sender's participant id (7, big-endian) as well.
sender_key = hkdf(instance, content, b"cotype v2 sender key" + (7).to_bytes(4, "big"))
nonce = bytes(4) + (1).to_bytes(8, "big")
print("sealed  ", AESGCM(sender_key).encrypt(nonce, b"hello, cotype", b"header").hex())

# The host's own user (src/crypto/ OwnerKey): participant id 7, big-endian.
owner = bytes(0x30 + i for i in range(32))
owner_proof = hkdf(session, owner, b"cotype v1 host owner proof" + (7).to_bytes(4, "big"))
print("owner proof", owner_proof.hex())

# The SSH guest's user name (src/crypto/ssh.rs): 16 bytes, shown as hex.
ssh_guest_user = hkdf(session, secret, b"cotype v1 ssh guest user")[:16]

# The host's signature on a frame (src/crypto/ HostIdentity): a label, the header, and
# SHA-256 of the plaintext.
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

host_signing = Ed25519PrivateKey.from_private_bytes(bytes(0x70 + i for i in range(32)))
host_key = host_signing.public_key().public_bytes_raw()
host_signature = host_signing.sign(
    b"cotype v1 host frame\0" + b"header" + hashlib.sha256(b"hello, cotype").digest()
)
print("host key      ", host_key.hex())
print("host signature", host_signature.hex())

# Removal with rekey (src/rekey.rs): a new epoch secret wrapped for one member.
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey


def x25519_pair(first_byte):
    private = X25519PrivateKey.from_private_bytes(bytes(first_byte + i for i in range(32)))
    return private, private.public_key().public_bytes_raw()


host, host_public = x25519_pair(0x40)
recipient, recipient_public = x25519_pair(0x60)
ephemeral, ephemeral_public = x25519_pair(0x20)
new_secret = bytes(0xC0 + i for i in range(32))
epoch = (2).to_bytes(4, "big")
shared = ephemeral.exchange(recipient.public_key()) + host.exchange(recipient.public_key())
info = b"cotype v1 epoch secret wrap" + epoch + ephemeral_public + host_public + recipient_public
wrapping_key = hkdf(session, shared, info)
aad = session + epoch + recipient_public
print("wrap host public     ", host_public.hex())
print("wrap recipient public", recipient_public.hex())
print("wrap ephemeral public", ephemeral_public.hex())
print("wrapped secret       ", AESGCM(wrapping_key).encrypt(bytes(12), new_secret, aad).hex())

# Rejoining (src/rekey.rs): the member (0x60...) was id 7, its new connection is id 12 with
# the key pair whose private bytes are all 0x33.
rejoin_new_public = X25519PrivateKey.from_private_bytes(bytes([0x33] * 32)).public_key().public_bytes_raw()
rejoin_info = b"cotype v1 rejoin" + (7).to_bytes(4, "big") + (12).to_bytes(4, "big") + rejoin_new_public
rejoin_proof = hkdf(session, recipient.exchange(host.public_key()), rejoin_info)
print("rejoin proof         ", rejoin_proof.hex())

def pinned(name, source="src/crypto/tests.rs"):
    import re
    text = open(source, encoding="utf-8").read()
    match = re.search(r'const %s: &str =\s*"([^"]*)";' % name, text)
    if not match:
        raise SystemExit(f"{name} not found in {source}")
    return match.group(1)


if __name__ == "__main__":
    import sys
    if "--check" in sys.argv:
        computed = {
            "KAT_CONTENT": content.hex(),
            "KAT_TOKEN": token.hex(),
            "KAT_VERIFIER": hashlib.sha256(token).digest().hex(),
            "KAT_CODE": code,
            "KAT_SEALED": AESGCM(sender_key).encrypt(nonce, b"hello, cotype", b"header").hex(),
            "KAT_OWNER_PROOF": owner_proof.hex(),
            "KAT_HOST_KEY": host_key.hex(),
            "KAT_HOST_SIGNATURE": host_signature.hex(),
        }
        computed_rekey = {
            "KAT_HOST_PUBLIC": host_public.hex(),
            "KAT_RECIPIENT_PUBLIC": recipient_public.hex(),
            "KAT_EPHEMERAL_PUBLIC": ephemeral_public.hex(),
            "KAT_WRAPPED": AESGCM(wrapping_key).encrypt(bytes(12), new_secret, aad).hex(),
            "KAT_REJOIN_PROOF": rejoin_proof.hex(),
        }
        computed_ssh = {"KAT_SSH_GUEST_USER": ssh_guest_user.hex()}
        for source, values in (
            ("src/crypto/tests.rs", computed),
            ("src/rekey.rs", computed_rekey),
            ("src/crypto/ssh.rs", computed_ssh),
        ):
            for name, value in values.items():
                if pinned(name, source) != value:
                    raise SystemExit(f"{name}: {source} pins {pinned(name, source)}, Python computes {value}")
        print("crypto known answers agree with Python's cryptography")
