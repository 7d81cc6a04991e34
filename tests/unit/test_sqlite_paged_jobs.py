"""Issue 7, hole 9: on SQLite one writer serves every tenant, so `:sync` and project delete run as
bounded write jobs (pages), never as one job over a project's whole history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conduit.store.sqlite import accounts as sqlite_accounts
from conduit.store.sqlite import connectors as sqlite_connectors
from conduit.store.sqlite.database import Database
from tests.harness.engine import Engine, running_engine

DEVICES = 10


def _count_write_jobs(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every write job from here on appends 1 to the returned list."""
    db: Database = engine.ctx.store.db  # type: ignore[attr-defined]
    jobs: list[int] = []
    write = db.write

    async def counted(fn: Callable[..., Any]) -> Any:
        jobs.append(1)
        return await write(fn)

    monkeypatch.setattr(db, "write", counted)
    return jobs


async def _fleet(engine: Engine) -> list[str]:
    """DEVICES devices with a touch and a temperature event each; the event ids."""
    ids = []
    for n in range(DEVICES):
        ids.append((await engine.publish("touch", device_id=str(n)))["eventId"])
        ids.append((await engine.publish("temperature", {"value": n}, device_id=str(n)))["eventId"])
    return ids


async def test_sync_queues_every_device_in_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_connectors, "SYNC_DEVICES", 4)
    async with running_engine(tmp_path, started=False) as engine:
        await _fleet(engine)
        cid = await engine.connector("https://receiver.example/hook")
        jobs = _count_write_jobs(engine, monkeypatch)
        born = await engine.ctx.store.sync_dataconnector(
            engine.project_id, cid, engine.clock.now() + 30
        )
        assert len(jobs) == 3  # 10 devices, 4 per job
        assert len(born) == 2 * DEVICES  # the latest touch and temperature of every device
        assert len({d.event_id for d in born}) == 2 * DEVICES
        assert engine.queued(cid) == 2 * DEVICES


async def test_deleting_a_project_purges_its_history_in_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_accounts, "PURGE_PAGE", 5)
    async with running_engine(tmp_path, started=False) as engine:
        cid = await engine.connector("https://receiver.example/hook")
        await _fleet(engine)
        assert engine.queued(cid) == 2 * DEVICES
        device = engine.last_deliveries[0]
        jobs = _count_write_jobs(engine, monkeypatch)

        assert await engine.ctx.store.delete_project(engine.project_id)

        # 20 events and 20 queued rows, 5 per job, each ended by a short page; then one job each
        # for the (empty) attempt log and dead letters, and the final transaction.
        assert len(jobs) == 5 + 5 + 1 + 1 + 1
        assert engine.queued(cid) == 0
        assert await engine.ctx.store.get_project(engine.project_id) is None
        assert await engine.ctx.store.events_by_id([device.event_id]) == []
