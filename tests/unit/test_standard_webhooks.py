"""Standard Webhooks headers, checked by the official `standardwebhooks` package (the reference)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conduit.delivery import standard_webhooks

BODY = b'{"event":{"eventId":"c0ffee"},"labels":{},"metadata":{}}'


def _signed(secrets: list[bytes], body: bytes = BODY) -> dict[str, str]:
    return standard_webhooks.headers("evt-1", int(time.time()), body, secrets)


def test_a_plain_secret_verifies_with_its_utf8_bytes() -> None:
    headers = _signed([b"a-plain-connector-secret"])
    assert headers["webhook-id"] == "evt-1"
    assert Webhook(b"a-plain-connector-secret").verify(BODY, headers) == {
        "event": {"eventId": "c0ffee"},
        "labels": {},
        "metadata": {},
    }


def test_a_whsec_secret_is_the_base64_key_as_every_library_reads_it() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    headers = _signed([secret.encode()])
    Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret.encode()).verify(BODY, headers)  # not the raw bytes


def test_during_a_rotation_both_secrets_verify_and_nothing_else_does() -> None:
    headers = _signed([b"the-new-secret", b"the-old-secret"])
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(b"the-new-secret").verify(BODY, headers)
    Webhook(b"the-old-secret").verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another-secret").verify(BODY, headers)


def test_a_changed_body_or_id_does_not_verify() -> None:
    headers = _signed([b"s3cret"])
    with pytest.raises(WebhookVerificationError):
        Webhook(b"s3cret").verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(b"s3cret").verify(BODY, {**headers, "webhook-id": "evt-2"})
    timestamp = int(headers["webhook-timestamp"])
    assert standard_webhooks.verify(
        b"s3cret", "evt-1", timestamp, BODY, headers["webhook-signature"]
    )
    assert not standard_webhooks.verify(
        b"s3cret", "evt-1", timestamp + 1, BODY, headers["webhook-signature"]
    )


def test_without_a_secret_there_is_an_id_and_a_timestamp_but_no_signature() -> None:
    headers = _signed([])
    assert set(headers) == {"webhook-id", "webhook-timestamp"}
