"""The delivery engine in the test's own process: a real store, a real Dispatcher, a ManualClock.

For the rules that depend on time (backoff, 12-hour expiry, 5-day auto-disable) the test owns the
clock and jumps it; everything else is real — the store, the group-committing writer, the aiohttp
client, and receivers listening on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from conduit.app import build_context
from conduit.clock import ManualClock, SystemClock
from conduit.config import Settings
from conduit.context import Context
from conduit.delivery.dispatcher import Dispatcher
from conduit.domain.dataconnector_rules import apply_update, parse_update
from conduit.domain.dataconnectors import ACTIVE, DT_JWT, DataConnector
from conduit.domain.devices import DeviceRef
from conduit.domain.ids import new_id
from conduit.domain.times import rfc3339
from conduit.store import make_store
from conduit.store.contract import Store
from conduit.store.records import Delivery
from tests.harness import backends
from tests.harness.receivers import eventually

T = TypeVar("T")

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]


@dataclass
class Engine:
    ctx: Context
    clock: ManualClock
    dispatcher: Dispatcher
    project_id: str
    organization_id: str
    reader: SyncReader
    last_deliveries: list[Delivery] = field(default_factory=list)  # born by the latest publish
    _devices: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], DeviceRef] = field(
        default_factory=dict
    )

    async def new_project(self) -> str:
        """Another project (another tenant) in the test's organization."""
        project = await self.ctx.store.create_project(self.organization_id, "another")
        return project.id

    async def connector(
        self,
        url: str,
        *,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        events: list[str] | None = None,
        labels: list[str] | None = None,
        status: str = ACTIVE,
        project_id: str | None = None,
        signature_scheme: str = DT_JWT,
        disable_on_gone: bool = False,
        rate_limit: float = 0.0,
    ) -> str:
        created = await self.ctx.store.create_dataconnector(
            DataConnector(
                id="",
                project_id=project_id or self.project_id,
                display_name="test",
                status=status,
                events=events or [],
                labels=labels or [],
                url=url,
                signature_secret_encrypted=self.ctx.secrets.encrypt(secret) if secret else None,
                headers_sealed=self.ctx.secrets.seal_headers(headers or {}),
                signature_scheme=signature_scheme,
                disable_on_gone=disable_on_gone,
                rate_limit=rate_limit,
            )
        )
        return created.id

    async def patch_connector(self, connector_id: str, body: dict[str, Any]) -> DataConnector:
        """Apply a PATCH body the way the API does (the same rules, in one store update)."""
        update = parse_update(body, None)
        updated, _ = await self.ctx.store.update_dataconnector(
            self.project_id,
            connector_id,
            lambda current: apply_update(
                current,
                update,
                encrypt=self.ctx.secrets.encrypt,
                seal_headers=self.ctx.secrets.seal_headers,
                now=self.clock.now(),
            ),
        )
        return updated

    async def publish(
        self,
        event_type: str = "touch",
        data: dict[str, Any] | None = None,
        *,
        device_id: str | None = None,
        labels: dict[str, str] | None = None,
        notify: bool = True,
        project_id: str | None = None,
    ) -> dict[str, Any]:
        """Record one event the way the publish path does (one store write), then hand its
        rows to the dispatcher (unless `notify` is False: the rows wait, born claimed)."""
        now = self.clock.now()
        project_id = project_id or self.project_id
        device = await self._device(project_id, device_id, labels or {"name": "sensor"})
        timestamp = rfc3339(now)
        envelope = {
            "eventId": new_id(now),
            "targetName": f"projects/{project_id}/devices/{device.id}",
            "eventType": event_type,
            "data": {event_type: data if data is not None else {"updateTime": timestamp}},
            "timestamp": timestamp,
        }
        recorded = await self.ctx.store.record_publish(
            device,
            envelope,
            orjson.dumps(envelope),
            orjson.dumps(envelope["data"][event_type]).decode(),
            now,
            now,
            now + self.ctx.settings.lease_seconds,
        )
        self.last_deliveries = recorded.deliveries
        if notify:
            self.dispatcher.offer(recorded.deliveries)
        return envelope

    async def _device(
        self, project_id: str, device_id: str | None, labels: dict[str, str]
    ) -> DeviceRef:
        """A device of the project with these labels (made once per project, id and label set)."""
        key = (project_id, device_id, tuple(sorted(labels.items())))
        ref = self._devices.get(key)
        if ref is None:
            device = await self.ctx.store.create_device(project_id, "touch", labels, emulated=True)
            ref = DeviceRef(device.id, project_id, "touch", "", True)
            self._devices[key] = ref
        return ref

    def queued(self, connector_id: str) -> int:
        return self.read(lambda store: store.queued_count(connector_id))

    def attempts(self, connector_id: str) -> list[dict[str, Any]]:
        """The connector's logged attempts, oldest first, as the store's public read gives them."""
        found = self.read(lambda store: store.list_delivery_attempts(connector_id, 1_000_000))
        return [{**asdict(a), "success": int(a.success)} for a in sorted(found, key=lambda a: a.id)]

    def last_attempt(self, connector_id: str) -> int:
        """The id of the connector's latest attempt (grows with every attempt, even when the log of
        attempts older than 24 hours is pruned); 0 before the first."""
        return max((a["id"] for a in self.attempts(connector_id)), default=0)

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
        return self.stored_connector(connector_id).status

    def stored_connector(self, connector_id: str) -> DataConnector:
        found = self.read(lambda store: store.get_dataconnector(self.project_id, connector_id))
        assert found is not None, f"connector {connector_id} not found"
        return found

    def counter(self, connector_id: str, name: str) -> int:
        return self.read(lambda store: store.delivery_counter(connector_id, name))

    async def advance(self, seconds: float) -> None:
        """Move the clock on and wait until the dispatcher has completed a pass begun after the
        move (one already under way is woken again by the notify, so it is followed by one)."""
        begun = self.dispatcher.passes_begun
        self.clock.advance(seconds)
        self.dispatcher.notify()
        await eventually(lambda: self.dispatcher.passes >= begun + 1)

    def claimed(self, connector_id: str) -> int:
        """Queued rows of the connector some dispatcher holds a claim on right now."""
        return self.read(lambda store: store.claimed_count(connector_id, self.clock.now()))

    def next_due(self, connector_id: str) -> float | None:
        return self.read(lambda store: store.next_due(connector_id))

    def read(self, read: Callable[[Store], Coroutine[Any, Any, T]]) -> T:
        """Run one of the store's public reads to completion, synchronously, so tests can poll it
        from `eventually` conditions and plain asserts."""
        return self.reader.run(read)


class SyncReader:
    """Public store reads from synchronous test code.

    SQLite's reads complete without ever suspending, so they run inline on the engine's own store.
    PostgreSQL's must await the network, which a synchronous caller on the event loop cannot, so
    they run on a second store of the same database, on a loop of its own thread.
    """

    def __init__(self, store: Store, database: str | None) -> None:
        self.store = store
        self.database = database
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._own: Store | None = None

    def run(self, read: Callable[[Store], Coroutine[Any, Any, T]]) -> T:
        if self.database is None:
            coroutine = read(self.store)
            try:
                coroutine.send(None)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            coroutine.close()
            raise AssertionError("a SQLite store read suspended")
        loop, own = self._started()
        return asyncio.run_coroutine_threadsafe(read(own), loop).result(timeout=30)

    def _started(self) -> tuple[asyncio.AbstractEventLoop, Store]:
        if self._loop is None or self._own is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, daemon=True)
            self._thread.start()
            own = make_store(self.database or "", SystemClock())
            asyncio.run_coroutine_threadsafe(own.open(), loop).result(timeout=30)
            self._loop, self._own = loop, own
        return self._loop, self._own

    def close(self) -> None:
        if self._loop is not None and self._own is not None:
            asyncio.run_coroutine_threadsafe(self._own.close(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop.close()


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
    database = backends.database_for_current_backend()
    options: dict[str, Any] = {
        "allow_network": LOOPBACK,
        "delivery_timeout": 2.0,
        "database": database,
        **settings,
    }
    clock = ManualClock(start=time.time() - 1800 if start is None else start)
    ctx = build_context(Settings(data_dir=data_dir, **options), clock=clock)
    await ctx.store.open()
    try:
        org = await ctx.store.create_organization("test")
        project = await ctx.store.create_project(org.id, "test")
        dispatcher = Dispatcher(ctx)
        reader = SyncReader(ctx.store, database)
        engine = Engine(
            ctx=ctx,
            clock=clock,
            dispatcher=dispatcher,
            project_id=project.id,
            organization_id=org.id,
            reader=reader,
        )
        if started:
            await dispatcher.start()
        try:
            yield engine
        finally:
            if dispatcher.running:
                await dispatcher.stop()
            reader.close()
    finally:
        await ctx.store.close()
