"""For users' endpoints: verify a push and parse it, the way `dtintegrations.HttpPush` does.

A receiver must check a push before trusting it (SPEC §2): find `X-Dt-Signature` whatever the case
of its name (some platforms lower-case headers), verify the HS256 JWT with the shared secret, reject
it past `exp`, and compare the SHA-256 of the *raw* body bytes with the `checksum_sha256` claim (the
SHA-1 `checksum` for tokens from before that claim existed) — only then parse the JSON. Each way a
push can be wrong has its own exception class, so an endpoint can answer and log precisely.

Usable without the rest of Conduit (it needs PyJWT only); `conduit receive` is built on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

SIGNATURE_HEADER = "x-dt-signature"


class PushVerificationError(Exception):
    """A request that is not a valid, authentic push."""


class MissingSignature(PushVerificationError):
    """The request has no `X-Dt-Signature` header (the connector has no secret, or it is forged)."""


class InvalidSignature(PushVerificationError):
    """The token is malformed, not HS256, or not signed with this secret."""


class ExpiredSignature(PushVerificationError):
    """The token is past its `exp` (one hour after signing)."""


class ChecksumMismatch(PushVerificationError):
    """The body is not the one the token was signed for."""


class MalformedPush(PushVerificationError):
    """The (authentic) body is not a push: not JSON, or without an `event` object."""


@dataclass(frozen=True)
class Push:
    """A verified push: the event envelope, the forwarded labels, and the device metadata."""

    event: dict[str, Any]
    labels: dict[str, str]
    metadata: dict[str, Any] | None  # None for events not published by a device (SPEC §1)
    claims: dict[str, Any] | None  # the verified token's claims; None when verification was off
    body: bytes

    @property
    def event_id(self) -> str:
        return str(self.event.get("eventId", ""))

    @property
    def event_type(self) -> str:
        return str(self.event.get("eventType", ""))

    @property
    def device_id(self) -> str | None:
        if self.metadata and "deviceId" in self.metadata:
            return str(self.metadata["deviceId"])
        target = str(self.event.get("targetName", ""))
        parts = target.split("/")
        return parts[3] if len(parts) == 4 and parts[2] == "devices" else None


Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def find_signature(headers: Headers) -> str | None:
    """The `X-Dt-Signature` value, matched case-insensitively."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.lower() == SIGNATURE_HEADER:
            return value
    return None


def verify_signature(
    token: str, body: bytes, secret: str, *, now: float | None = None
) -> dict[str, Any]:
    """The claims of `token` if it is a valid signature of `body` with `secret` at `now`."""
    if not isinstance(secret, str) or not secret:
        raise ValueError("the signature secret must be a non-empty string")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["exp"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidSignature(f"invalid signature: {exc}") from exc
    moment = time.time() if now is None else now
    try:
        expired = moment >= float(claims["exp"])
    except (TypeError, ValueError) as exc:
        raise InvalidSignature("invalid signature: exp is not a number") from exc
    if expired:
        raise ExpiredSignature("signature has expired")
    if "checksum_sha256" in claims:
        expected, actual = str(claims["checksum_sha256"]), hashlib.sha256(body).hexdigest()
    elif "checksum" in claims:
        expected, actual = str(claims["checksum"]), hashlib.sha1(body).hexdigest()
    else:
        raise InvalidSignature("invalid signature: no checksum claim")
    if not hmac.compare_digest(expected.lower(), actual):
        raise ChecksumMismatch("checksum mismatch: the body is not the one that was signed")
    return claims


def parse_push(body: bytes) -> tuple[dict[str, Any], dict[str, str], dict[str, Any] | None]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPush(f"body is not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("event"), dict):
        raise MalformedPush("body has no event object")
    labels = document.get("labels", {})
    metadata = document.get("metadata")
    if not isinstance(labels, dict) or not (metadata is None or isinstance(metadata, dict)):
        raise MalformedPush("labels and metadata must be objects")
    if metadata is not None and "deviceId" not in metadata:
        metadata = None
    return document["event"], labels, metadata


def verify_push(
    headers: Headers, body: bytes, secret: str | None, *, now: float | None = None
) -> Push:
    """Verify and parse one push.

    `secret` is the connector's signature secret. Pass `None` only for a connector without one: then
    nothing is verified (anyone who knows the URL can post), and a request that carries a signature
    anyway is still parsed.
    """
    claims = None
    if secret is not None:
        token = find_signature(headers)
        if token is None:
            raise MissingSignature("missing header X-Dt-Signature")
        claims = verify_signature(token, body, secret, now=now)
    event, labels, metadata = parse_push(body)
    return Push(event=event, labels=labels, metadata=metadata, claims=claims, body=body)
