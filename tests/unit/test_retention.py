"""Event retention: history older than the retention period is pruned, as of an injected `now`."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conduit.clock import ManualClock
from conduit.config import Settings
from conduit.retention import DAY, RetentionPruner, prune_expired
from conduit.store.database import Database
from conduit.store.devices import insert_event

NOW = 1_800_000_000.0
_ids = itertools.count()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "conduit.db")
    database.open()
    yield database
    database.close()


async def add_events(db: Database, ages_in_days: list[float], now: float = NOW) -> None:
    def insert(conn: sqlite3.Connection) -> None:
        for age in ages_in_days:
            insert_event(
                conn,
                event_id=f"e{next(_ids)}",
                project_id="p",
                device_id="d",
                event_type="touch",
                ts=now - age * DAY,
                body=b"{}",
            )

    await db.write(insert)


def remaining_ages(db: Database, now: float = NOW) -> list[float]:
    rows = db.read(lambda c: c.execute("SELECT ts FROM events ORDER BY ts DESC").fetchall())
    return [round((now - r[0]) / DAY, 3) for r in rows]


def test_the_default_retention_is_31_days() -> None:
    assert Settings().retention_days == 31


async def test_prunes_exactly_what_is_older_than_the_retention_period(db: Database) -> None:
    await add_events(db, [0, 1, 30.9, 31.001, 40, 400])
    deleted = await prune_expired(db, NOW, retention_days=31, batch=2)  # several batches
    assert deleted == 3
    assert remaining_ages(db) == [0, 1, 30.9]
    assert await prune_expired(db, NOW, retention_days=31) == 0


async def test_the_cut_off_follows_now_and_the_configured_days(db: Database) -> None:
    await add_events(db, [0, 5, 10])
    assert await prune_expired(db, NOW, retention_days=7) == 1
    assert await prune_expired(db, NOW + 3 * DAY, retention_days=7) == 1
    assert remaining_ages(db) == [0]


async def test_the_background_pruner_runs_on_the_injected_clock(db: Database) -> None:
    clock = ManualClock(NOW)
    ctx: Any = SimpleNamespace(
        store=SimpleNamespace(db=db), clock=clock, settings=Settings(retention_days=31), workers={}
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
