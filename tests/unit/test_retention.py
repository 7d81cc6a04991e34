"""Event retention: history older than the retention period is pruned, as of an injected `now`."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conduit.clock import ManualClock
from conduit.config import Settings
from conduit.domain.devices import DeviceRef
from conduit.retention import DAY, RetentionPruner, prune_expired
from conduit.store.sqlite import SqliteStore

NOW = 1_800_000_000.0
_ids = itertools.count()


@dataclass
class History:
    """A real store with one device whose event history the tests fill and read back."""

    store: SqliteStore
    device: DeviceRef


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[History]:
    store = SqliteStore(tmp_path / "conduit.db", ManualClock(NOW))
    await store.open()
    org = await store.create_organization("o")
    project = await store.create_project(org.id, "p")
    device = await store.create_device(project.id, "touch", {}, emulated=True)
    yield History(store, DeviceRef(device.id, project.id, "touch", "", True))
    await store.close()


async def add_events(db: History, ages_in_days: list[float], now: float = NOW) -> None:
    for age in ages_in_days:
        event = {"eventId": f"e{next(_ids)}", "eventType": "touch", "data": {"touch": {}}}
        await db.store.record_publish(db.device, event, b"{}", "{}", now - age * DAY, now, 0.0)


def remaining_ages(db: History, now: float = NOW) -> list[float]:
    read = db.store.list_events(
        db.device.id, start=0, end=now + 1e9, event_types=[], after=None, limit=1000
    )
    try:
        read.send(None)
    except StopIteration as done:
        rows: list[tuple[float, int, bytes]] = done.value
    return sorted(round((now - r[0]) / DAY, 3) for r in rows)


def test_the_default_retention_is_31_days() -> None:
    assert Settings().retention_days == 31


async def test_prunes_exactly_what_is_older_than_the_retention_period(db: History) -> None:
    await add_events(db, [0, 1, 30.9, 31.001, 40, 400])
    deleted = await prune_expired(db.store, NOW, retention_days=31, batch=2)  # several batches
    assert deleted == 3
    assert remaining_ages(db) == [0, 1, 30.9]
    assert await prune_expired(db.store, NOW, retention_days=31) == 0


async def test_the_cut_off_follows_now_and_the_configured_days(db: History) -> None:
    await add_events(db, [0, 5, 10])
    assert await prune_expired(db.store, NOW, retention_days=7) == 1
    assert await prune_expired(db.store, NOW + 3 * DAY, retention_days=7) == 1
    assert remaining_ages(db) == [0]


async def test_the_background_pruner_runs_on_the_injected_clock(db: History) -> None:
    clock = ManualClock(NOW)
    ctx: Any = SimpleNamespace(
        store=db.store, clock=clock, settings=Settings(retention_days=31), workers={}
    )
    await add_events(db, [1, 32])
    pruner = RetentionPruner(ctx, interval=3600)
    assert ctx.workers["retention"] is pruner
    await pruner.start()
    try:
        await wait_for(lambda: remaining_ages(db) == [1])
        # an event of 30.5 days passes retention once the clock moves a day on (one pass later)
        await add_events(db, [30.5])
        clock.advance(DAY)
        await wait_for(lambda: remaining_ages(db, NOW + DAY) == [2])
    finally:
        await pruner.stop()


async def wait_for(condition: Any, deadline: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.01)
