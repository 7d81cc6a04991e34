"""The delivery engine in the test's own process: a real SQLite file, a real Dispatcher, a
ManualClock.

For the rules that depend on time (backoff, 12-hour expiry, 5-day auto-disable) the test owns the
clock and jumps it; everything else is real — the store, the group-committing writer, the aiohttp
client, and receivers listening on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conduit.app import build_context
from conduit.clock import ManualClock
from conduit.config import Settings
from conduit.context import Context
from conduit.delivery.dispatcher import Dispatcher
from conduit.delivery.enqueue import enqueue_event
from conduit.domain.dataconnectors import ACTIVE, DataConnector
from conduit.domain.ids import new_emulated_device_id, new_id
from conduit.domain.times import rfc3339
from tests.harness.receivers import eventually

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]


@dataclass
class Engine:
    ctx: Context
    clock: ManualClock
    dispatcher: Dispatcher
    project_id: str

    async def connector(
        self,
        url: str,
        *,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        events: list[str] | None = None,
        labels: list[str] | None = None,
        status: str = ACTIVE,
    ) -> str:
        created = await self.ctx.store.create_dataconnector(
            DataConnector(
                id="",
                project_id=self.project_id,
                display_name="test",
                status=status,
                events=events or [],
                labels=labels or [],
                url=url,
                signature_secret_encrypted=self.ctx.secrets.encrypt(secret) if secret else None,
                headers=headers or {},
            )
        )
        return created.id

    async def publish(
        self,
        event_type: str = "touch",
        data: dict[str, Any] | None = None,
        *,
        device_id: str | None = None,
        labels: dict[str, str] | None = None,
        notify: bool = True,
    ) -> dict[str, Any]:
        """Enqueue one event the way the publish path does (inside a write job), then notify."""
        now = self.clock.now()
        device = device_id or new_emulated_device_id(now)
        timestamp = rfc3339(now)
        envelope = {
            "eventId": new_id(now),
            "targetName": f"projects/{self.project_id}/devices/{device}",
            "eventType": event_type,
            "data": {event_type: data if data is not None else {"updateTime": timestamp}},
            "timestamp": timestamp,
        }
        metadata = {
            "deviceId": device,
            "projectId": self.project_id,
            "deviceType": "touch",
            "productNumber": "",
        }
        await self.ctx.store.db.write(
            lambda c: enqueue_event(
                c,
                project_id=self.project_id,
                envelope=envelope,
                device_labels=labels or {"name": "sensor"},
                metadata=metadata,
                now=now,
            )
        )
        if notify:
            self.dispatcher.notify()
        return envelope

    def query(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return self.ctx.store.db.read(lambda c: c.execute(sql, args).fetchall())

    def queued(self, connector_id: str) -> int:
        return int(
            self.query("SELECT count(*) FROM deliveries WHERE connector_id = ?", connector_id)[0][0]
        )

    def attempts(self, connector_id: str) -> list[sqlite3.Row]:
        return self.query(
            "SELECT * FROM delivery_attempts WHERE connector_id = ? ORDER BY id", connector_id
        )

    def last_attempt(self, connector_id: str) -> int:
        """The id of the connector's latest attempt (grows with every attempt, even when the log of
        attempts older than 24 hours is pruned); 0 before the first."""
        rows = self.query(
            "SELECT max(id) FROM delivery_attempts WHERE connector_id = ?", connector_id
        )
        return int(rows[0][0] or 0)

    async def advance_until_attempts(self, connector_id: str, count: int, step: float) -> None:
        """Jump the clock by `step` until the connector has made `count` attempts (a retry is due
        only after its backoff, so some jumps find nothing to do yet)."""
        while len(self.attempts(connector_id)) < count:
            before = len(self.attempts(connector_id))
            self.clock.advance(step)
            try:
                await eventually(lambda b=before: len(self.attempts(connector_id)) > b, within=0.5)
            except AssertionError:
                continue

    def status(self, connector_id: str) -> str:
        return str(self.query("SELECT status FROM dataconnectors WHERE id = ?", connector_id)[0][0])

    def counter(self, connector_id: str, name: str) -> int:
        rows = self.query(
            "SELECT value FROM delivery_counters WHERE connector_id = ? AND name = ?",
            connector_id,
            name,
        )
        return int(rows[0][0]) if rows else 0


@asynccontextmanager
async def running_engine(
    data_dir: Path,
    *,
    start: float | None = None,
    started: bool = True,
    **settings: Any,
) -> AsyncIterator[Engine]:
    """A context with its own database in `data_dir` and a started Dispatcher.

    The clock starts half an hour in the past, so tokens signed at "now" are valid for real-time
    verifiers (dtintegrations checks `iat` and `exp` against the wall clock) even after the test
    moves the clock forward a few minutes.
    """
    options: dict[str, Any] = {"allow_network": LOOPBACK, "delivery_timeout": 2.0, **settings}
    clock = ManualClock(start=time.time() - 1800 if start is None else start)
    ctx = build_context(Settings(data_dir=data_dir, **options), clock=clock)
    ctx.store.open()
    try:
        org = await ctx.store.create_organization("test")
        project = await ctx.store.create_project(org.id, "test")
        dispatcher = Dispatcher(ctx)
        engine = Engine(ctx=ctx, clock=clock, dispatcher=dispatcher, project_id=project.id)
        if started:
            await dispatcher.start()
        try:
            yield engine
        finally:
            if dispatcher.running:
                await dispatcher.stop()
    finally:
        ctx.store.close()
