"""Issue 9, item 3: a receiver's `Retry-After` (429 / 503) spaces the retries, observed at the
receiver with the clock advanced; a 410 disables the connector only when it opted in."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from conduit.domain.dataconnectors import ACTIVE, RECEIVER_GONE, SYSTEM_DISABLED
from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import Answer, Behaviour, Received, Receiver, eventually


def _pause_then_ok(status: int, retry_after: str) -> Behaviour:
    def behaviour(_request: Received, index: int) -> Answer:
        return Answer(status, headers={"Retry-After": retry_after}) if index == 0 else Answer(200)

    return behaviour


async def _no_attempt_after(engine: Engine, cid: str, seconds: float, attempts: int) -> None:
    await engine.advance(seconds)
    assert len(engine.attempts(cid)) == attempts


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_in_seconds_is_waited_out(tmp_path: Path, status: int) -> None:
    with Receiver(_pause_then_ok(status, "120")) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            # The backoff alone would retry after about a second; the receiver asked for 120.
            await _no_attempt_after(engine, cid, 60.0, 1)
            await _no_attempt_after(engine, cid, 59.0, 1)
            await engine.advance(1.5)
            await receiver.wait(2)
            await eventually(lambda: engine.queued(cid) == 0)
            assert [a["status_code"] for a in engine.attempts(cid)] == [status, 200]


async def test_retry_after_as_an_http_date(tmp_path: Path) -> None:
    when = format_datetime(datetime.fromtimestamp(time.time() + 300, UTC), usegmt=True)
    with Receiver(_pause_then_ok(503, when)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await _no_attempt_after(engine, cid, 240.0, 1)
            await engine.advance(70.0)
            await receiver.wait(2)


async def test_a_pause_longer_than_an_hour_is_capped(tmp_path: Path) -> None:
    with Receiver(_pause_then_ok(429, "86400")) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await _no_attempt_after(engine, cid, 3500.0, 1)
            await engine.advance(101.0)
            await receiver.wait(2)


async def test_retry_after_on_other_statuses_is_ignored(tmp_path: Path) -> None:
    with Receiver(_pause_then_ok(500, "3600")) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await engine.advance(1.5)  # the first backoff (1 s ± 20 %)
            await receiver.wait(2)


@pytest.mark.parametrize(("opted_in", "status"), [(True, SYSTEM_DISABLED), (False, ACTIVE)])
async def test_410_disables_only_a_connector_that_opted_in(
    tmp_path: Path, opted_in: bool, status: str
) -> None:
    with Receiver(lambda _r, _i: Answer(410)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url, disable_on_gone=opted_in)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await eventually(lambda: engine.status(cid) == status)
            assert engine.queued(cid) == (0 if opted_in else 1)
            reason = engine.stored_connector(cid).status_reason
            assert reason == (RECEIVER_GONE if opted_in else None)
