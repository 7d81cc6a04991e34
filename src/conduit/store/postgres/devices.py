"""PostgreSQL: devices, labels, event history, and the publishing writes.

A publish is one transaction that merges the event into the device's `reported` (`jsonb_set`, on the
locked device row, so concurrent publishes to one device — from any node — lose nothing), inserts
the history row, adds one queue row per matching ACTIVE connector, and notifies the other nodes of
the event (for their streams). It commits whole or not at all, before `:publish` answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from conduit.clock import Clock
from conduit.domain.devices import Device, DeviceRef
from conduit.domain.labels import LabelChange
from conduit.domain.pushes import fan_out
from conduit.store.label_changes import decide
from conduit.store.postgres.database import Database
from conduit.store.postgres.publish_batch import PublishBatcher
from conduit.store.postgres.queue import Conn, active_filters, insert_pushes, notify, rowcount
from conduit.store.records import Delivery, LabelFailure, Recorded, StoredEvent
from conduit.store.rows import DEVICE_COLUMNS, device_from_row, new_device

# See store/sqlite/devices.py: what publishing needs of a device never changes, so it is
# remembered; a device deleted or moved since is caught by the write itself.
MAX_CACHED_REFS = 65_536


async def _record(
    conn: Conn,
    device: DeviceRef,
    event: dict[str, Any],
    body: bytes,
    labels: dict[str, str],
    ts: float,
    now: float,
    born_claimed_until: float,
    node_id: str,
) -> list[Delivery]:
    """History row plus queued pushes for one event, inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO events(id, project_id, device_id, event_type, ts, body)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        event["eventId"],
        device.project_id,
        device.id,
        event["eventType"],
        ts,
        body,
    )
    filters = await active_filters(conn, device.project_id)
    if not filters:
        return []
    metadata = {
        "deviceId": device.id,
        "projectId": device.project_id,
        "deviceType": device.type,
        "productNumber": device.product_number,
    }
    pushes = fan_out(filters, event, labels, metadata)
    return await insert_pushes(
        conn, pushes, event["eventId"], now, now, born_claimed_until, node_id
    )


class PgDevices:
    db: Database
    clock: Clock
    node_id: str
    _refs: dict[tuple[str, str], DeviceRef] | None = None
    _publishes: PublishBatcher | None = None

    # ---- devices ---------------------------------------------------------------------------------

    async def create_device(
        self,
        project_id: str,
        device_type: str,
        labels: dict[str, str],
        *,
        emulated: bool,
        product_number: str = "",
    ) -> Device:
        now = self.clock.now()
        device = new_device(
            project_id,
            device_type,
            labels,
            emulated=emulated,
            product_number=product_number,
            now=now,
        )
        await self.db.pool.execute(
            f"INSERT INTO devices({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, '{{}}', $6, $7)",
            device.id,
            project_id,
            device_type,
            product_number,
            orjson.dumps(labels).decode(),
            emulated,
            now,
        )
        return device

    async def device_ref(self, project_id: str, device_id: str) -> DeviceRef | None:
        """What publishing needs to know of a device: remembered, else one indexed read."""
        refs = self._refs
        if refs is None:
            refs = self._refs = {}
        ref = refs.get((project_id, device_id))
        if ref is not None:
            return ref
        row = await self.db.pool.fetchrow(
            "SELECT type, product_number, emulated FROM devices WHERE id = $1 AND project_id = $2",
            device_id,
            project_id,
        )
        if row is None:
            return None
        if len(refs) >= MAX_CACHED_REFS:
            refs.clear()
        ref = refs[(project_id, device_id)] = DeviceRef(
            device_id, project_id, row[0], row[1], bool(row[2])
        )
        return ref

    def _forget_ref(self, project_id: str, device_id: str) -> None:
        if self._refs is not None:
            self._refs.pop((project_id, device_id), None)

    async def get_device(self, project_id: str, device_id: str) -> Device | None:
        row = await self.db.pool.fetchrow(
            f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1 AND project_id = $2",
            device_id,
            project_id,
        )
        return device_from_row(row) if row else None

    async def find_device(self, device_id: str) -> Device | None:
        """A device in whichever project holds it (for the wildcard project `-`)."""
        row = await self.db.pool.fetchrow(
            f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1", device_id
        )
        return device_from_row(row) if row else None

    async def list_devices(
        self,
        project_ids: list[str],
        device_ids: list[str] | None = None,
        device_types: list[str] | None = None,
    ) -> list[Device]:
        """Devices of these projects, ordered by id; the indexed filters are applied in SQL."""
        rows = await self.db.pool.fetch(
            f"SELECT {DEVICE_COLUMNS} FROM devices WHERE project_id = ANY($1::text[])"
            " AND ($2::text[] IS NULL OR id = ANY($2::text[]))"
            " AND ($3::text[] IS NULL OR type = ANY($3::text[])) ORDER BY id",
            project_ids,
            device_ids or None,
            device_types or None,
        )
        return [device_from_row(r) for r in rows]

    async def delete_device(self, project_id: str, device_id: str) -> bool:
        """Delete a device and its history (its queued pushes stay: they were accepted before)."""
        self._forget_ref(project_id, device_id)
        async with self.db.pool.acquire() as conn, conn.transaction():
            gone = rowcount(
                await conn.execute(
                    "DELETE FROM devices WHERE id = $1 AND project_id = $2", device_id, project_id
                )
            )
            if gone:
                await conn.execute("DELETE FROM events WHERE device_id = $1", device_id)
            return bool(gone)

    async def move_devices(
        self, moves: list[tuple[str, str]], target_project_id: str
    ) -> list[bool]:
        """Move each (source project, device) to the target in one transaction; True if moved."""
        for source, device_id in moves:
            self._forget_ref(source, device_id)
        async with self.db.pool.acquire() as conn, conn.transaction():
            return [
                rowcount(
                    await conn.execute(
                        "UPDATE devices SET project_id = $1 WHERE id = $2 AND project_id = $3",
                        target_project_id,
                        device_id,
                        source,
                    )
                )
                == 1
                for source, device_id in moves
            ]

    # ---- event history ---------------------------------------------------------------------------

    async def list_events(
        self,
        device_id: str,
        *,
        start: float,
        end: float,
        event_types: list[str],
        after: tuple[float, int] | None,
        limit: int,
    ) -> list[tuple[float, int, bytes]]:
        """(ts, seq, envelope bytes) oldest first, strictly after the `after` keyset position."""
        if after is None:
            after = (start, -1)
        rows = await self.db.pool.fetch(
            "SELECT ts, seq, body FROM events WHERE device_id = $1 AND ts >= $2 AND ts <= $3"
            " AND (ts, seq) > ($4, $5)"
            " AND (cardinality($6::text[]) = 0 OR event_type = ANY($6::text[]))"
            " ORDER BY ts, seq LIMIT $7",
            device_id,
            max(start, after[0]),
            end,
            after[0],
            after[1],
            event_types,
            limit,
        )
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    async def events_by_id(self, event_ids: list[str]) -> list[StoredEvent]:
        rows = await self.db.pool.fetch(
            "SELECT e.project_id, e.device_id, d.type, e.event_type, d.labels, e.body"
            " FROM events e JOIN devices d ON d.id = e.device_id AND d.project_id = e.project_id"
            " WHERE e.id = ANY($1::text[]) ORDER BY e.seq",
            event_ids,
        )
        return [StoredEvent(r[0], r[1], r[2], r[3], orjson.loads(r[4]), bytes(r[5])) for r in rows]

    async def prune_events(self, before: float, limit: int) -> int:
        """Delete up to `limit` of the oldest events older than `before` (rows another node is
        pruning at this moment are skipped, never counted twice)."""
        return rowcount(
            await self.db.pool.execute(
                "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < $1"
                " ORDER BY ts LIMIT $2 FOR UPDATE SKIP LOCKED)",
                before,
                limit,
            )
        )

    # ---- publishing ------------------------------------------------------------------------------

    async def record_publish(
        self,
        device: DeviceRef,
        envelope: dict[str, Any],
        body: bytes,
        data_json: str,
        ts: float,
        now: float,
        born_claimed_until: float,
    ) -> Recorded:
        batcher = self._publishes
        if batcher is None:
            batcher = self._publishes = PublishBatcher(self.db, self.node_id)
        return await batcher.submit(device, envelope, body, data_json, ts, now, born_claimed_until)

    async def record_label_change(
        self,
        targets: list[tuple[str, str]],
        compute: Callable[[dict[str, str]], LabelChange],
        timestamp: str,
        ts: float,
        now: float,
        born_claimed_until: float,
    ) -> Recorded:
        """Apply `compute` to each target's labels in one transaction (see the contract).

        Every target row is locked up front in one statement, in id order: two batches naming the
        same devices in different orders (from this node or another) then queue behind each other
        instead of deadlocking, as they would locking row by row in the order given."""
        recorded = Recorded([], [])
        unique = list(dict.fromkeys(targets))
        async with self.db.pool.acquire() as conn, conn.transaction():
            locked = await conn.fetch(
                f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ANY($1::text[])"
                " ORDER BY id FOR UPDATE",
                sorted({device_id for _, device_id in unique}),
            )
            devices = {(r["project_id"], r["id"]): device_from_row(r) for r in locked}
            for project_id, device_id in unique:
                device = devices.get((project_id, device_id))
                outcome = decide(project_id, device_id, device, compute, timestamp, now)
                if isinstance(outcome, LabelFailure):
                    recorded.failures.append(outcome)
                elif outcome is not None:
                    await conn.execute(
                        "UPDATE devices SET labels = $1 WHERE id = $2",
                        outcome.labels_json,
                        device_id,
                    )
                    recorded.deliveries.extend(
                        await _record(
                            conn,
                            outcome.device,
                            outcome.envelope,
                            outcome.body,
                            outcome.labels,
                            ts,
                            now,
                            born_claimed_until,
                            self.node_id,
                        )
                    )
                    recorded.events.append(outcome.stored())
            if recorded.events:
                await notify(
                    conn,
                    origin=self.node_id,
                    events=[e["eventId"] for e in (orjson.loads(s.body) for s in recorded.events)],
                )
        return recorded
