"""The server key: access tokens are signed with a key derived from the Fernet key's signing half,
read from the key itself (the Fernet spec), not from the cryptography package's private attributes —
cryptography 51 made `Fernet` a Rust object without them, and every server start failed."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet

from conduit.auth.secrets import SecretBox


def test_the_signing_half_is_the_one_fernet_signs_with() -> None:
    key = Fernet.generate_key()
    box = SecretBox(key)
    token = base64.urlsafe_b64decode(box.encrypt("a secret"))
    half = base64.urlsafe_b64decode(key)[:16]
    # Fernet: HMAC-SHA256 with the key's first 16 bytes over everything before the HMAC.
    assert hmac.new(half, token[:-32], hashlib.sha256).digest() == token[-32:]
    assert box.signing_key() == hashlib.sha256(b"conduit-access-token:" + half).digest()


def test_the_access_token_key_is_stable_and_distinct_per_server_key() -> None:
    key = Fernet.generate_key()
    assert SecretBox(key).signing_key() == SecretBox(key).signing_key()
    assert SecretBox(key).signing_key() != SecretBox(Fernet.generate_key()).signing_key()
    assert SecretBox(key).decrypt(SecretBox(key).encrypt("x")) == "x"
