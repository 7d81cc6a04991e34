"""PostgreSQL group commit for publishes: concurrent `:publish` calls share one transaction.

One transaction per publish costs seven round trips and a commit (a WAL flush) each; under load
that, not the work, is the limit. So, as on SQLite, publishes queue up and one writer task commits
everything queued in one transaction of five round trips, whatever its size: the devices' `reported`
merges (one `UPDATE ... FROM unnest`), the project's connectors (read `FOR KEY SHARE`, see
`queue.active_filters`), and one statement that inserts the history rows and the queue rows and
notifies the other nodes. Every caller is answered after that commit, and only then.

A publish whose device is gone gets `NotFound`; the others in its batch still commit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import orjson

from conduit.domain.devices import DeviceRef
from conduit.domain.errors import NotFound
from conduit.domain.pushes import ConnectorFilter, fan_out
from conduit.store.postgres.database import CHANNEL, Database
from conduit.store.postgres.queue import MAX_NOTICE
from conduit.store.records import Delivery, Recorded, StoredEvent

log = logging.getLogger("conduit.store")

MAX_BATCH = 512


@dataclass
class Publish:
    device: DeviceRef
    envelope: dict[str, Any]
    body: bytes
    data_json: str
    ts: float
    now: float
    born_claimed_until: float
    done: asyncio.Future[Recorded]


# The devices of a batch are locked in id order first (the sort sits below the row locks), so two
# nodes' batches over the same devices queue for each other instead of deadlocking, whatever order
# their publishes arrived in.
_DEVICES = """
WITH u AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS u(id, project_id, patch)
), locked AS (
    SELECT d.id FROM devices d JOIN u ON d.id = u.id AND d.project_id = u.project_id
    ORDER BY d.id FOR UPDATE OF d
)
UPDATE devices d SET reported = d.reported || u.patch
FROM u WHERE d.id = u.id AND d.project_id = u.project_id AND d.id IN (SELECT id FROM locked)
RETURNING d.id, d.project_id, d.labels
"""

_CONNECTORS = """
SELECT project_id, id, events, labels FROM dataconnectors
WHERE project_id = ANY($1::text[]) AND status = 'ACTIVE' ORDER BY id FOR KEY SHARE
"""

_RECORD = """
WITH notices AS (
    SELECT count(pg_notify($1, p)) AS sent FROM unnest($2::text[]) AS p
), history AS (
    INSERT INTO events(id, project_id, device_id, event_type, ts, body)
    SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[],
                         $7::double precision[], $8::bytea[])
), queued AS (
    INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts, next_attempt,
                           lease_until, claimed_by)
    SELECT c, e, t, b, 0, t, l, o FROM unnest($9::text[], $10::text[], $11::double precision[],
                                             $12::bytea[], $13::double precision[], $14::text[])
        AS q(c, e, t, b, l, o)
    RETURNING id, connector_id, event_id
)
SELECT queued.id, queued.connector_id, queued.event_id FROM notices LEFT JOIN queued ON true
"""


class PublishBatcher:
    """Queues publishes and commits them in batches, one transaction at a time per node."""

    def __init__(self, db: Database, node_id: str) -> None:
        self.db = db
        self.node_id = node_id
        self._queue: list[Publish] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(
        self,
        device: DeviceRef,
        envelope: dict[str, Any],
        body: bytes,
        data_json: str,
        ts: float,
        now: float,
        born_claimed_until: float,
    ) -> Recorded:
        done: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._queue.append(
            Publish(device, envelope, body, data_json, ts, now, born_claimed_until, done)
        )
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="conduit-pg-publish")
        return await done

    async def _write_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                results = await self._write(batch)
            except BaseException as exc:  # nothing of the batch committed: every caller hears it
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for item, result in zip(batch, results, strict=True):
                if item.done.done():
                    continue
                if isinstance(result, Exception):
                    item.done.set_exception(result)
                else:
                    item.done.set_result(result)

    async def _write(self, batch: list[Publish]) -> list[Recorded | Exception]:
        # One `reported` patch per device: later events of a type replace earlier ones.
        patches: dict[tuple[str, str], dict[str, Any]] = {}
        for item in batch:
            key = (item.device.id, item.device.project_id)
            patches.setdefault(key, {})[item.envelope["eventType"]] = orjson.Fragment(
                item.data_json
            )
        async with self.db.pool.acquire() as conn, conn.transaction():
            found = await conn.fetch(
                _DEVICES,
                [k[0] for k in patches],
                [k[1] for k in patches],
                [orjson.dumps(p).decode() for p in patches.values()],
            )
            labels = {(r[0], r[1]): orjson.loads(r[2]) for r in found}
            projects = sorted({project for _, project in labels})
            filters: dict[str, list[ConnectorFilter]] = {}
            for row in await conn.fetch(_CONNECTORS, projects) if projects else []:
                filters.setdefault(row[0], []).append(ConnectorFilter(row[1], row[2], row[3]))
            results: list[Recorded | Exception] = []
            events: list[tuple[Any, ...]] = []
            queue: list[tuple[Any, ...]] = []
            for item in batch:
                device = item.device
                device_labels = labels.get((device.id, device.project_id))
                if device_labels is None:
                    results.append(NotFound(f"device {device.id} not found"))
                    continue
                event_id = item.envelope["eventId"]
                events.append(
                    (event_id, device.project_id, device.id, item.envelope["eventType"], item.ts,
                     item.body)
                )  # fmt: skip
                metadata = {
                    "deviceId": device.id,
                    "projectId": device.project_id,
                    "deviceType": device.type,
                    "productNumber": device.product_number,
                }
                owner = self.node_id if item.born_claimed_until > 0 else None
                for push in fan_out(
                    filters.get(device.project_id, ()), item.envelope, device_labels, metadata
                ):
                    queue.append(
                        (push.connector_id, event_id, item.now, push.body,
                         item.born_claimed_until, owner)
                    )  # fmt: skip
                stored = StoredEvent(
                    device.project_id,
                    device.id,
                    device.type,
                    item.envelope["eventType"],
                    device_labels,
                    item.body,
                )
                results.append(Recorded([stored], []))
            notices = _notices(
                self.node_id,
                [e[0] for e in events],
                sorted({q[0] for q in queue if q[5] is None}),
            )
            rows = await conn.fetch(
                _RECORD,
                CHANNEL,
                notices,
                *(list(column) for column in _columns(events, 6)),
                *(list(column) for column in _columns(queue, 6)),
            )
        by_key = {(r[1], r[2]): r[0] for r in rows if r[0] is not None}
        born: dict[str, list[Delivery]] = {}
        for connector_id, event_id, now, body, until, _owner in queue:
            row_id = by_key[(connector_id, event_id)]
            born.setdefault(event_id, []).append(
                Delivery(row_id, connector_id, event_id, now, body, 0, until)
            )
        for item, result in zip(batch, results, strict=True):
            if isinstance(result, Recorded):
                result.deliveries.extend(born.get(item.envelope["eventId"], []))
        return results


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def _notices(origin: str, events: list[str], connectors: list[str]) -> list[str]:
    """The batch's notices (events for other nodes' streams, connectors with unclaimed rows),
    each under PostgreSQL's payload limit."""
    notices: list[str] = []
    chunk: dict[str, Any] = {"n": origin, "c": connectors, "e": []}
    for event_id in events:
        chunk["e"].append(event_id)
        if len(orjson.dumps(chunk)) > MAX_NOTICE:
            chunk["e"].pop()
            notices.append(orjson.dumps(chunk).decode())
            chunk = {"n": origin, "c": [], "e": [event_id]}
    if chunk["e"] or chunk["c"]:
        notices.append(orjson.dumps(chunk).decode())
    return notices
