#!/usr/bin/env python3
"""Independent computation of cotype's crypto known answers (docs/SECURITY.md).

Uses Python's `cryptography` package, not cotype's code, so that the values pinned in
src/crypto.rs are checked against a second implementation of HKDF-SHA256 and AES-256-GCM.
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
number = int.from_bytes(verification[:4], "big") % 1_000_000
print("content ", content.hex())
print("token   ", token.hex())
print("verifier", hashlib.sha256(token).digest().hex())
print("code    ", f"{number // 1000:03} {number % 1000:03}")
instance = bytes([0x11] * 16)
sender_key = hkdf(instance, content, b"cotype v1 sender key")
nonce = bytes(4) + (1).to_bytes(8, "big")
print("sealed  ", AESGCM(sender_key).encrypt(nonce, b"hello, cotype", b"header").hex())


def pinned(name, source="src/crypto.rs"):
    import re
    text = open(source, encoding="utf-8").read()
    match = re.search(r'const %s: &str = "([^"]*)";' % name, text)
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
            "KAT_CODE": f"{number // 1000:03} {number % 1000:03}",
            "KAT_SEALED": AESGCM(sender_key).encrypt(nonce, b"hello, cotype", b"header").hex(),
        }
        for name, value in computed.items():
            if pinned(name) != value:
                raise SystemExit(f"{name}: src/crypto.rs pins {pinned(name)}, Python computes {value}")
        print("crypto known answers agree with Python's cryptography")
