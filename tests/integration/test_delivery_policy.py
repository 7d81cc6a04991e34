"""Retry policy on a ManualClock: probing a failing connector, isolation, reserved slots, 12-hour
expiry, 5-day disable."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conduit.delivery import metrics
from conduit.domain.dataconnectors import SYSTEM_DISABLED
from conduit.store.records import Settlement
from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import (
    Receiver,
    Switch,
    eventually,
    refused_url,
    slow,
)

HOUR = 3600.0
DAY = 24 * HOUR


def _released(engine: Engine, cid: str) -> int:
    """Queued rows of `cid` nobody holds a claim on (rescheduled, or handed back unsent)."""
    return engine.queued(cid) - engine.claimed(cid)


async def test_failing_connector_is_probed_one_event_at_a_time(tmp_path: Path) -> None:
    switch = Switch(500)
    with Receiver(switch) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            for _ in range(9):  # while failing, new events are queued, not sent
                await engine.publish()
            await eventually(lambda: _released(engine, cid) == 10)  # 9 + the rescheduled one
            assert receiver.count() == 1
            await engine.advance_until_attempts(cid, 3, step=1.0)  # probes, one at a time
            assert receiver.count() == 3 and receiver.max_active == 1
            switch.status = 200
            await engine.advance_until_attempts(cid, 4, step=1.0)  # this probe succeeds ...
            await eventually(lambda: engine.queued(cid) == 0)  # ... and the backlog follows at once
            attempts = engine.attempts(cid)
    assert [a["success"] for a in attempts[:3]] == [0, 0, 0]
    assert sum(a["success"] for a in attempts) == 10
    assert len({a["event_id"] for a in attempts if a["success"]}) == 10


async def test_slow_connector_does_not_delay_a_healthy_one(tmp_path: Path) -> None:
    with Receiver(slow(5.0)) as sluggish, Receiver() as healthy:
        async with running_engine(tmp_path, delivery_timeout=10.0) as engine:
            slow_id = await engine.connector(sluggish.url)
            fast_id = await engine.connector(healthy.url)
            started = time.monotonic()
            for _ in range(20):
                await engine.publish()
            await healthy.wait(20, within=3)
            elapsed = time.monotonic() - started
            await eventually(lambda: len(engine.attempts(fast_id)) == 20)
            fast = engine.attempts(fast_id)
            assert sluggish.count() == 20 and sluggish.active == 20  # all in flight, in parallel
            assert engine.attempts(slow_id) == []  # none of them has finished
    assert elapsed < 2.0
    assert all(a["success"] == 1 for a in fast)
    assert max(a["latency"] for a in fast) < 0.5


async def test_events_expire_after_twelve_hours(tmp_path: Path) -> None:
    expired_before = metrics.EXPIRED._value.get()
    with Receiver(Switch(503)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()  # attempted and failing
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await engine.publish()  # never attempted: queued while the connector fails
            await eventually(lambda: _released(engine, cid) == 2)
            engine.clock.advance(11.9 * HOUR)
            await eventually(lambda: len(engine.attempts(cid)) == 2)  # one probe, still queued
            assert engine.queued(cid) == 2
            engine.clock.advance(0.1 * HOUR)  # 12 h after both events
            await eventually(lambda: engine.queued(cid) == 0)
            assert engine.counter(cid, "expired") == 2
            attempts = len(engine.attempts(cid))
            await engine.advance(HOUR)  # the dispatcher looks an hour later: nothing left to try
            assert len(engine.attempts(cid)) == attempts
        assert receiver.count() == attempts
    assert metrics.EXPIRED._value.get() - expired_before == 2


async def _fail_for(engine: Engine, cid: str, days: float, step: float = 6 * HOUR) -> None:
    """Keep events flowing to a failing connector for `days`: a new one every `step`, so its queue
    is never empty and its attempts keep failing (failing, not idle)."""
    end = engine.clock.now() + days * DAY
    while engine.clock.now() + step <= end and engine.status(cid) == "ACTIVE":
        await engine.publish()
        last = engine.last_attempt(cid)
        engine.clock.advance(step)
        await eventually(lambda n=last: engine.last_attempt(cid) > n)


async def test_system_disabled_after_five_days_of_failures_only(tmp_path: Path) -> None:
    dropped_before = metrics.DROPPED._value.get()
    async with running_engine(tmp_path) as engine:
        cid = await engine.connector(refused_url())
        await engine.publish()
        await eventually(lambda: len(engine.attempts(cid)) == 1)
        failing_since = engine.clock.now()
        await _fail_for(engine, cid, days=4.9)
        assert engine.status(cid) == "ACTIVE"  # not before 5 days
        await _fail_for(engine, cid, days=0.5)
        assert engine.status(cid) == SYSTEM_DISABLED
        assert 5 * DAY <= engine.clock.now() - failing_since <= 5 * DAY + 6 * HOUR
        assert engine.queued(cid) == 0  # the queue is emptied
        dropped = engine.counter(cid, "dropped")
        assert dropped > 0
        await engine.publish()  # a disabled connector gets nothing new
        assert engine.queued(cid) == 0
    assert metrics.DROPPED._value.get() - dropped_before == dropped


async def test_one_success_resets_the_five_day_count(tmp_path: Path) -> None:
    switch = Switch(500)
    with Receiver(switch) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await _fail_for(engine, cid, days=4)
            switch.status = 200
            await _fail_for(engine, cid, days=0.25)  # the next probe succeeds
            await eventually(lambda: engine.queued(cid) == 0)
            switch.status = 500
            await _fail_for(engine, cid, days=4)
            assert engine.status(cid) == "ACTIVE"


async def test_idle_connector_is_never_disabled(tmp_path: Path) -> None:
    """Eight days without a single event, the dispatcher looking all along, then an event that
    fails: the connector is failing since that failure, not since its creation, so it stays
    ACTIVE and keeps its event."""
    async with running_engine(tmp_path) as engine:
        cid = await engine.connector(refused_url())
        for _ in range(4):
            await engine.advance(2 * DAY)
            assert engine.status(cid) == "ACTIVE"
        await engine.publish()
        await eventually(lambda: len(engine.attempts(cid)) == 1)
        await engine.advance(1.0)
        assert engine.status(cid) == "ACTIVE" and engine.queued(cid) == 1
        assert engine.stored_connector(cid).failing_since == pytest.approx(
            engine.clock.now() - 1.0, abs=0.01
        )


async def test_retry_backlog_cannot_take_the_slots_kept_for_first_attempts(tmp_path: Path) -> None:
    # One connector alone may hold 16 // 2 // 2 = 4 slots (`slot_shares`), retries 3 of them.
    settings = {"max_in_flight": 16, "max_in_flight_per_connector": 4, "delivery_timeout": 10.0}
    with Receiver(slow(3.0)) as backlogged, Receiver() as fresh:
        async with running_engine(tmp_path, started=False, **settings) as engine:
            await engine.connector(backlogged.url, events=["touch"])
            await engine.connector(fresh.url, events=["temperature"])
            born = []
            for _ in range(20):  # twenty events that have failed twice, all due
                await engine.publish("touch", notify=False)
                born += engine.last_deliveries
            now = engine.clock.now()
            await engine.ctx.store.settle(
                Settlement(rescheduled=[(2, now, d.id, "http_500") for d in born]), now
            )
            await engine.dispatcher.start()
            await eventually(lambda: backlogged.active == 3)  # retries hold 3 of its 4 slots ...
            assert engine.dispatcher.in_flight_retries == 3
            published = time.monotonic()
            await engine.publish("temperature", {"value": 1.0})
            await fresh.wait(1, within=2)  # ... and another connector's fresh event starts at once
            assert time.monotonic() - published < 1.0
            await engine.publish("touch")  # the busy connector's own fresh events too
            await eventually(lambda: backlogged.active == 4)
            assert engine.dispatcher.in_flight_retries == 3
            assert backlogged.max_active == 4


async def test_requests_failing_together_count_as_one_connector_failure(tmp_path: Path) -> None:
    """A receiver going down under load fails every request in flight; the connector's backoff
    must start at 1 s, not at the 5-minute cap."""
    with Receiver(slow(1.0, status=502)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()  # the device, made once
            await asyncio.gather(*(engine.publish() for _ in range(29)))  # the rest at once

            await eventually(lambda: len(engine.attempts(cid)) == 30)
            assert receiver.max_active == 30  # they were all in flight together
            state = engine.dispatcher.connectors[cid]
            assert state.consecutive_failures == 1
            assert state.probe_at - engine.clock.now() <= 1.2
