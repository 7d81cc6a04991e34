"""`X-Dt-Signature`: the HS256 JWT that lets a receiver prove a push came from us, unaltered.

The token is the one DT Cloud sends (SPEC §2): header `{"alg":"HS256","typ":"JWT"}`, claims in
sorted order, compact JSON — `checksum` (SHA-1 hex of the raw body, for receivers written against
the old docs), `checksum_sha256` (what `dtintegrations` checks), `exp = iat + 3600`, `iat`, and a
`jti` unique to the attempt. Every attempt is signed anew: a receiver using a JWT library rejects a
token past `exp`, so a retry sent hours later must carry a fresh one, while the body bytes it covers
stay identical.

PyJWT is the reference encoder. The dispatcher signs up to thousands of pushes a second, and PyJWT
spends most of its ~60 µs on generic JSON and header handling, so `sign_push` builds the same bytes
by hand (hashlib + hmac + base64); `tests/unit/test_signing.py` proves the two byte-identical,
including on DT's captured tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import jwt
import orjson

TOKEN_LIFETIME = 3600  # seconds; exp - iat in every captured DT token
SIGNATURE_HEADER = "X-Dt-Signature"

# base64url('{"alg":"HS256","typ":"JWT"}'): fixed, so computed once.
_HEADER_SEGMENT = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


def push_claims(body: bytes, *, iat: int, jti: str) -> dict[str, Any]:
    """The claims of a push signature, in the (sorted) order DT writes them."""
    return {
        "checksum": hashlib.sha1(body).hexdigest(),
        "checksum_sha256": hashlib.sha256(body).hexdigest(),
        "exp": iat + TOKEN_LIFETIME,
        "iat": iat,
        "jti": jti,
    }


def sign_push_reference(body: bytes, secret: str, *, iat: int, jti: str) -> str:
    """The signature as PyJWT makes it: the definition `sign_push` must match byte for byte."""
    return jwt.encode(push_claims(body, iat=iat, jti=jti), secret, algorithm="HS256")


def _b64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def sign_push(body: bytes, secret: str | bytes, *, iat: int, jti: str) -> str:
    """The `X-Dt-Signature` value for one attempt to send `body` (fast path, same bytes as PyJWT).

    `secret` may be given pre-encoded (UTF-8 bytes) so a hot loop encodes it once per connector.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    payload = orjson.dumps(push_claims(body, iat=iat, jti=jti))
    signing_input = _HEADER_SEGMENT + b"." + _b64url(payload)
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64url(signature)).decode("ascii")
