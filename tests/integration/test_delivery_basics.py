"""The dispatcher against real receivers: what arrives, how it is signed, how failures retry."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

import disruptive
import jwt
import orjson
import pytest
from dtintegrations import data_connector

from conduit import __version__
from tests.harness.engine import running_engine
from tests.harness.receivers import Receiver, eventually, statuses

HOUR = 3600.0

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


async def test_an_event_arrives_once_signed_with_dt_headers(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(
                receiver.url,
                secret="s3cret",
                labels=["name", "room"],
                headers={"Authorization": "Bearer abc", "X-Custom": "v1"},
            )
            event = await engine.publish(labels={"name": "fridge", "room": "7", "other": "x"})
            [got] = await receiver.wait(1)
            await eventually(lambda: engine.queued(cid) == 0)
            assert receiver.count() == 1
    assert got.method == "POST"
    assert got.header("Content-Type") == "application/json"
    assert got.header("User-Agent") == f"Conduit/{__version__}"
    assert got.header("Authorization") == "Bearer abc" and got.header("X-Custom") == "v1"
    body = orjson.loads(got.body)
    assert list(body) == ["event", "labels", "metadata"]
    assert body["event"] == event
    assert body["labels"] == {"name": "fridge", "room": "7"}
    assert body["metadata"]["projectId"] == engine.project_id
    token = got.header("X-Dt-Signature")
    assert token is not None
    claims = jwt.decode(token, "s3cret", algorithms=["HS256"])
    assert claims["checksum_sha256"] == hashlib.sha256(got.body).hexdigest()
    assert claims["checksum"] == hashlib.sha1(got.body).hexdigest()
    assert claims["exp"] - claims["iat"] == 3600 and len(claims["jti"]) == 20
    push = data_connector.HttpPush(headers=got.header_dict, body=got.body, secret="s3cret")
    assert push.event.event_id == event["eventId"] and push.labels == body["labels"]


async def test_unsigned_connector_sends_no_signature_and_attempt_is_logged(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            event = await engine.publish()
            [got] = await receiver.wait(1)
            await eventually(lambda: len(engine.attempts(cid)) == 1 and engine.queued(cid) == 0)
            [attempt] = engine.attempts(cid)
    assert got.header("X-Dt-Signature") is None
    assert attempt["event_id"] == event["eventId"] and attempt["attempt"] == 1
    assert attempt["success"] == 1 and attempt["status_code"] == 200 and attempt["error"] is None
    assert 0 < attempt["latency"] < 1


async def test_500_then_200_retries_with_identical_bytes_and_fresh_signatures(
    tmp_path: Path,
) -> None:
    with Receiver(statuses([500])) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url, secret="k")
            await engine.publish()
            await receiver.wait(1)
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            assert engine.queued(cid) == 1  # not acked: still queued
            state = engine.dispatcher.connectors[cid]
            assert state.failing and state.probe_at >= engine.clock.now() + 0.8  # 1 s ± 20 %
            first_at = engine.clock.now()
            engine.clock.advance(1.25)
            retry_at = engine.clock.now()
            first, retry = await receiver.wait(2)
            await eventually(lambda: engine.queued(cid) == 0)
            attempts = engine.attempts(cid)
    assert first.body == retry.body
    t1, t2 = first.header("X-Dt-Signature"), retry.header("X-Dt-Signature")
    assert t1 and t2 and t1 != t2
    c1 = jwt.decode(t1, "k", algorithms=["HS256"])
    c2 = jwt.decode(t2, "k", algorithms=["HS256"])
    assert c1["jti"] != c2["jti"]
    # each attempt is signed at its own moment: iat is the clock at the attempt, exp an hour on
    assert (c1["iat"], c1["exp"]) == (int(first_at), int(first_at) + 3600)
    assert (c2["iat"], c2["exp"]) == (int(retry_at), int(retry_at) + 3600)
    assert c1["checksum_sha256"] == c2["checksum_sha256"]
    for got in (first, retry):
        data_connector.HttpPush(headers=got.header_dict, body=got.body, secret="k")
    assert [(a["attempt"], a["success"], a["status_code"], a["error"]) for a in attempts] == [
        (1, 0, 500, "http_500"),
        (2, 1, 200, None),
    ]


async def test_connector_changes_apply_to_the_next_attempt(tmp_path: Path) -> None:
    with Receiver() as old, Receiver() as new:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(old.url, secret="one", headers={"X-V": "1"})
            await engine.publish()
            await old.wait(1)
            await engine.ctx.store.update_dataconnector(
                engine.project_id,
                cid,
                lambda c: replace(
                    c,
                    url=new.url,
                    headers_sealed=engine.ctx.secrets.seal_headers({"X-V": "2"}),
                    signature_secret_encrypted=engine.ctx.secrets.encrypt("two"),
                ),
            )
            await engine.publish()
            [got] = await new.wait(1)
            assert old.count() == 1
    assert got.header("X-V") == "2"
    jwt.decode(got.header("X-Dt-Signature") or "", "two", algorithms=["HS256"])


async def test_deleted_connector_sends_nothing_more(tmp_path: Path) -> None:
    with Receiver(statuses([500])) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await engine.ctx.store.delete_dataconnector(engine.project_id, cid)
            assert engine.queued(cid) == 0  # the queue went with it (cascade)
            engine.clock.advance(10.0)
            engine.dispatcher.notify()
            await engine.publish()
            await eventually(lambda: cid not in engine.dispatcher.connectors)
            assert receiver.count() == 1


async def test_a_retry_hours_later_is_signed_then_and_verifies(tmp_path: Path) -> None:
    """The retry of an event received five hours ago carries a token issued at the retry: it
    verifies with `dtintegrations` now (a token kept from the first attempt expired 4 hours ago)."""
    with Receiver(statuses([500])) as receiver:
        async with running_engine(tmp_path, start=time.time() - 5 * HOUR) as engine:
            cid = await engine.connector(receiver.url, secret="k" * 32)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            engine.clock.advance(4.5 * HOUR)
            first, retry = await receiver.wait(2)
            retried_at = engine.clock.now()
            await eventually(lambda: engine.queued(cid) == 0)
    claims = jwt.decode(retry.header("X-Dt-Signature") or "", "k" * 32, algorithms=["HS256"])
    assert claims["iat"] == int(retried_at) and claims["exp"] == int(retried_at) + 3600
    data_connector.HttpPush(headers=retry.header_dict, body=retry.body, secret="k" * 32)
    # the first attempt's token, kept: long expired
    with pytest.raises(disruptive.errors.ConfigurationError, match="expired"):
        data_connector.HttpPush(headers=first.header_dict, body=first.body, secret="k" * 32)
