"""What a push looks like on the wire: the body bytes (fixed at enqueue) and the headers (per
attempt).

The body is DT Cloud's (SPEC §1): compact JSON with exactly `event`, `labels`, `metadata`, in that
order. `labels` holds only the label keys the connector forwards that the device has, with the
values the device had when the event was received — the body is built once, at enqueue, so every
retry of an event sends identical bytes and the checksum in its (fresh) signature covers exactly
those bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from conduit import __version__
from conduit.delivery import standard_webhooks
from conduit.delivery.signing import SIGNATURE_HEADER, sign_push
from conduit.domain.dataconnectors import DT_JWT, STANDARD_WEBHOOKS
from conduit.domain.pushes import push_body

USER_AGENT = f"Conduit/{__version__}"
CONTENT_TYPE = "application/json"

# Headers the server owns; a connector's custom headers can never replace them (the API refuses them
# at create/update time, and the dispatcher drops them again here in case a row predates that rule).
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "Host",
        "Content-Length",
        "Content-Type",
        "Transfer-Encoding",
        "Connection",
        "User-Agent",
        SIGNATURE_HEADER,
    )
)


def build_body(
    envelope: Mapping[str, Any], labels: Mapping[str, str], metadata: Mapping[str, str]
) -> bytes:
    """The body of one push: `{"event":…,"labels":…,"metadata":…}`, compact."""
    return push_body(orjson.dumps(envelope), labels, orjson.dumps(metadata))


def base_headers(custom: Mapping[str, str]) -> dict[str, str]:
    """The headers every attempt of a connector sends, before its signature."""
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT}
    for name, value in custom.items():
        if name.lower() not in RESERVED_HEADERS:
            headers[name] = value
    return headers


def attempt_headers(
    base: Mapping[str, str],
    body: bytes,
    secret: bytes | None,
    *,
    iat: int,
    jti: str,
    scheme: str = DT_JWT,
    previous: bytes | None = None,
    event_id: str = "",
) -> dict[str, str]:
    """The headers of one attempt: `base`, plus its signatures, made at the attempt.

    DT's scheme: a fresh `X-Dt-Signature` when the connector has a secret (an empty or missing
    secret means unsigned, as in DT Cloud); it holds one signature, so during a rotation it is
    made with the new secret. Standard Webhooks: `webhook-id` (the event id), `webhook-timestamp`
    (= `iat`) and, with a secret, `webhook-signature` with one signature per valid secret. `BOTH`
    sends both sets.
    """
    headers = dict(base)
    if scheme != STANDARD_WEBHOOKS and secret:
        headers[SIGNATURE_HEADER] = sign_push(body, secret, iat=iat, jti=jti)
    if scheme != DT_JWT:
        for name in [n for n in headers if n.lower() in standard_webhooks.HEADERS]:
            del headers[name]  # a custom header may not pose as a signature
        secrets = [s for s in (secret, previous) if s]
        headers.update(standard_webhooks.headers(event_id, iat, body, secrets))
    return headers
