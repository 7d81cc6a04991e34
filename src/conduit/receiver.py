"""For users' endpoints: verify a push and parse it, the way `dtintegrations.HttpPush` does.

A receiver must check a push before trusting it (SPEC §2): find `X-Dt-Signature` whatever the case
of its name (some platforms lower-case headers), verify the HS256 JWT with the shared secret, reject
it past `exp`, and compare the SHA-256 of the *raw* body bytes with the `checksum_sha256` claim (the
SHA-1 `checksum` for tokens from before that claim existed) — only then parse the JSON. Each way a
push can be wrong has its own exception class, so an endpoint can answer and log precisely.

A connector may sign the Standard Webhooks way instead, or as well (`signatureScheme`): then the
`webhook-signature` header is checked too — HMAC-SHA256 over `id.timestamp.body`, compared in
constant time, with `webhook-timestamp` within `tolerance` seconds of now (5 minutes, as the
Standard Webhooks libraries do) so a captured push cannot be replayed later. A push is authentic
when a signature it carries verifies; during a secret rotation the Standard Webhooks header
carries one signature per valid secret, so a receiver holding either secret accepts it.

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

from conduit.delivery import standard_webhooks

SIGNATURE_HEADER = "x-dt-signature"
TIMESTAMP_TOLERANCE = 300.0  # seconds a Standard Webhooks timestamp may be off from now


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
    claims: dict[str, Any] | None  # the verified X-Dt-Signature's claims, if that one was checked
    body: bytes
    verified_by: str | None = None  # "X-Dt-Signature", "webhook-signature", or None (no secret)

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


def find_header(headers: Headers, wanted: str) -> str | None:
    """A header's value, its name matched case-insensitively."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = wanted.lower()
    for name, value in items:
        if name.lower() == wanted:
            return value
    return None


def find_signature(headers: Headers) -> str | None:
    """The `X-Dt-Signature` value, matched case-insensitively."""
    return find_header(headers, SIGNATURE_HEADER)


def verify_standard_webhook(
    headers: Headers,
    body: bytes,
    secret: str,
    *,
    now: float | None = None,
    tolerance: float = TIMESTAMP_TOLERANCE,
) -> None:
    """Check the Standard Webhooks headers of a push against `secret` (see the module's doc)."""
    message_id = find_header(headers, standard_webhooks.ID_HEADER)
    timestamp = find_header(headers, standard_webhooks.TIMESTAMP_HEADER)
    signatures = find_header(headers, standard_webhooks.SIGNATURE_HEADER)
    if not (message_id and timestamp and signatures):
        raise MissingSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise InvalidSignature("invalid signature: webhook-timestamp is not a number") from exc
    moment = time.time() if now is None else now
    if abs(moment - sent) > tolerance:
        raise ExpiredSignature("signature timestamp is outside the tolerance")
    key = standard_webhooks.signing_key(secret.encode())
    if not standard_webhooks.verify(key, message_id, sent, body, signatures):
        raise InvalidSignature("invalid signature: no webhook-signature matches the secret")


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
    verified_by = None
    if secret is not None:
        token = find_signature(headers)
        has_webhook_signature = find_header(headers, standard_webhooks.SIGNATURE_HEADER)
        if token is None and not has_webhook_signature:
            raise MissingSignature("missing header X-Dt-Signature (or webhook-signature)")
        failure: PushVerificationError | None = None
        if has_webhook_signature:
            try:
                verify_standard_webhook(headers, body, secret, now=now)
                verified_by = standard_webhooks.SIGNATURE_HEADER
            except PushVerificationError as exc:
                failure = exc
        if verified_by is None and token is not None:
            claims = verify_signature(token, body, secret, now=now)
            verified_by = "X-Dt-Signature"
        if verified_by is None:
            assert failure is not None
            raise failure
    event, labels, metadata = parse_push(body)
    return Push(
        event=event,
        labels=labels,
        metadata=metadata,
        claims=claims,
        body=body,
        verified_by=verified_by,
    )
