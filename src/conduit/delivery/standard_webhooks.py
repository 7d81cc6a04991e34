"""The Standard Webhooks signature (standardwebhooks.com), a connector's alternative or addition to
DT's `X-Dt-Signature`.

Three headers: `webhook-id` (the event id, so a receiver deduplicates retries on it),
`webhook-timestamp` (Unix seconds of the attempt: every attempt is signed anew, like DT's token)
and `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` over
`{id}.{timestamp}.{body}`. While a rotated-out secret is still valid the list carries one
signature per secret, new first, so receivers holding either verify.

The HMAC key: a secret written the Standard Webhooks way (`whsec_` + base64) is the base64-decoded
key, exactly as every Standard Webhooks library reads it; any other secret is used as its UTF-8
bytes (`Webhook(secret.encode())` in the official package). The official `standardwebhooks` package
is the reference verifier (`tests/unit/test_standard_webhooks.py`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
HEADERS = frozenset({ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER})
SECRET_PREFIX = "whsec_"


def signing_key(secret: bytes) -> bytes:
    """The HMAC key a connector's secret (UTF-8 bytes) stands for."""
    if secret.startswith(SECRET_PREFIX.encode()):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :] + b"==", validate=False)
        except (binascii.Error, ValueError):
            return secret
        if key:
            return key
    return secret


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(message_id: str, timestamp: int, body: bytes, secrets: list[bytes]) -> dict[str, str]:
    """The three headers of one attempt; no `webhook-signature` when there is no secret."""
    out = {ID_HEADER: message_id, TIMESTAMP_HEADER: str(timestamp)}
    if secrets:
        out[SIGNATURE_HEADER] = " ".join(
            signature(signing_key(s), message_id, timestamp, body) for s in secrets
        )
    return out


def verify(key: bytes, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether any `v1` signature in `header` is ours, compared in constant time."""
    expected = signature(key, message_id, timestamp, body).encode()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in header.split())
