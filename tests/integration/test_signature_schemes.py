"""Issue 9, item 5: Standard Webhooks signatures beside DT's, and secret rotation without downtime,
verified at real receivers by the official libraries (`standardwebhooks`, `dtintegrations`)."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from dtintegrations import data_connector
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conduit.domain.dataconnector_rules import Rotation, apply_rotation
from conduit.domain.dataconnectors import BOTH, STANDARD_WEBHOOKS
from conduit.receiver import InvalidSignature, verify_push
from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import Received, Receiver

OLD, NEW = "the-old-secret-0123456789abcdef", "the-new-secret-fedcba9876543210"
WEBHOOK_HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature"}

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _names(got: Received) -> set[str]:
    return {name.lower() for name, _ in got.headers}


async def _one_push(engine: Engine, receiver: Receiver) -> tuple[Received, dict[str, object]]:
    count = receiver.count() + 1
    envelope = await engine.publish()
    return (await receiver.wait(count))[-1], envelope


async def test_a_connector_without_the_new_fields_signs_as_dt_does(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            await engine.connector(receiver.url, secret=NEW)
            got, _ = await _one_push(engine, receiver)
    assert not _names(got) & WEBHOOK_HEADERS
    data_connector.HttpPush(headers=got.header_dict, body=got.body, secret=NEW)


async def test_standard_webhooks_pushes_verify_with_the_official_package(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path, start=time.time()) as engine:
            await engine.connector(receiver.url, secret=NEW, signature_scheme=STANDARD_WEBHOOKS)
            got, envelope = await _one_push(engine, receiver)
            attempted_at = int(engine.clock.now())
    assert "x-dt-signature" not in _names(got)
    assert got.header("webhook-id") == envelope["eventId"]  # receivers dedupe retries on it
    assert int(got.header("webhook-timestamp") or 0) == attempted_at
    payload = Webhook(NEW.encode()).verify(got.body, got.header_dict)
    assert payload["event"]["eventId"] == envelope["eventId"]
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD.encode()).verify(got.body, got.header_dict)


async def test_both_schemes_at_once(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path, start=time.time()) as engine:
            await engine.connector(receiver.url, secret=NEW, signature_scheme=BOTH)
            got, _ = await _one_push(engine, receiver)
    Webhook(NEW.encode()).verify(got.body, got.header_dict)
    data_connector.HttpPush(headers=got.header_dict, body=got.body, secret=NEW)
    assert verify_push(got.headers, got.body, NEW).verified_by == "webhook-signature"


async def test_a_rotation_keeps_the_old_secret_valid_for_its_grace_period(tmp_path: Path) -> None:
    """A receiver holding only the old secret and one holding only the new both verify during the
    grace period; after it only the new one does. X-Dt-Signature holds one signature: the new."""
    with Receiver() as receiver:
        async with running_engine(tmp_path, start=time.time()) as engine:
            cid = await engine.connector(receiver.url, secret=OLD, signature_scheme=BOTH)
            await engine.ctx.store.update_dataconnector(
                engine.project_id,
                cid,
                lambda c: apply_rotation(
                    c,
                    Rotation(NEW, 60.0),
                    encrypt=engine.ctx.secrets.encrypt,
                    now=engine.clock.now(),
                ),
            )
            during, _ = await _one_push(engine, receiver)
            await engine.advance(61.0)
            after, _ = await _one_push(engine, receiver)
            now = engine.clock.now()

    assert len((during.header("webhook-signature") or "").split()) == 2
    for secret in (OLD, NEW):
        Webhook(secret.encode()).verify(during.body, during.header_dict)
        verify_push(during.headers, during.body, secret)
    data_connector.HttpPush(headers=during.header_dict, body=during.body, secret=NEW)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(during.header("X-Dt-Signature") or "", OLD, algorithms=["HS256"])

    assert len((after.header("webhook-signature") or "").split()) == 1
    verify_push(after.headers, after.body, NEW, now=now)
    with pytest.raises(InvalidSignature):
        verify_push(after.headers, after.body, OLD, now=now)
