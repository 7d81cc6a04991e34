"""SQLite: devices, labels, event history, and the publishing writes.

A publish is ONE write job that, inside one group-committed transaction, 1. merges the event into
the device's `reported` (in SQL, so concurrent publishes to one device lose nothing), 2. inserts the
history row, and 3. adds one queue row per matching ACTIVE connector — so an event and its pushes
commit together or not at all. Server-emitted `labelsChanged` events take the same route.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import orjson

from conduit.clock import Clock
from conduit.domain.devices import Device, DeviceRef
from conduit.domain.errors import NotFound
from conduit.domain.labels import LabelChange
from conduit.domain.pushes import fan_out
from conduit.store.label_changes import decide
from conduit.store.records import Delivery, LabelFailure, Recorded, StoredEvent
from conduit.store.rows import DEVICE_COLUMNS, device_from_row, new_device
from conduit.store.sqlite.database import Database
from conduit.store.sqlite.queue import active_filters, insert_pushes

# A device's type, product number and emulated flag never change and its id is never reused, so
# the publish path may remember them; a device deleted or moved since is caught by the write itself
# (`set_reported` matches on project and id): a stale entry can cost a 404, never a wrong write.
MAX_CACHED_REFS = 65_536


class SqliteDevices:
    db: Database
    clock: Clock
    _refs: dict[tuple[str, str], DeviceRef] | None = None

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

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO devices({DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, '{{}}', ?, ?)",
                (
                    device.id,
                    project_id,
                    device_type,
                    product_number,
                    orjson.dumps(labels).decode(),
                    int(emulated),
                    now,
                ),
            )

        await self.db.write(insert)
        return device

    async def device_ref(self, project_id: str, device_id: str) -> DeviceRef | None:
        """What publishing needs to know of a device: remembered, else one indexed read."""
        refs = self._refs
        if refs is None:
            refs = self._refs = {}
        ref = refs.get((project_id, device_id))
        if ref is not None:
            return ref
        row = self.db.read(
            lambda c: c.execute(
                "SELECT type, product_number, emulated FROM devices"
                " WHERE id = ? AND project_id = ?",
                (device_id, project_id),
            ).fetchone()
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
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ? AND project_id = ?",
                (device_id, project_id),
            ).fetchone()
        )
        return device_from_row(row) if row else None

    async def find_device(self, device_id: str) -> Device | None:
        """A device in whichever project holds it (for the wildcard project `-`)."""
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?", (device_id,)
            ).fetchone()
        )
        return device_from_row(row) if row else None

    async def list_devices(
        self,
        project_ids: list[str],
        device_ids: list[str] | None = None,
        device_types: list[str] | None = None,
    ) -> list[Device]:
        """Devices of these projects, ordered by id; the indexed filters are applied here in SQL."""
        sql = (
            f"SELECT {DEVICE_COLUMNS} FROM devices"
            " WHERE project_id IN (SELECT value FROM json_each(?))"
        )
        args: list[Any] = [orjson.dumps(project_ids).decode()]
        if device_ids:
            sql += " AND id IN (SELECT value FROM json_each(?))"
            args.append(orjson.dumps(device_ids).decode())
        if device_types:
            sql += " AND type IN (SELECT value FROM json_each(?))"
            args.append(orjson.dumps(device_types).decode())
        rows = self.db.read(lambda c: c.execute(sql + " ORDER BY id", args).fetchall())
        return [device_from_row(r) for r in rows]

    async def delete_device(self, project_id: str, device_id: str) -> bool:
        """Delete a device and its history (its queued pushes stay: they were accepted before)."""

        def delete(conn: sqlite3.Connection) -> bool:
            gone = conn.execute(
                "DELETE FROM devices WHERE id = ? AND project_id = ?", (device_id, project_id)
            ).rowcount
            if gone:
                conn.execute("DELETE FROM events WHERE device_id = ?", (device_id,))
            return bool(gone)

        self._forget_ref(project_id, device_id)
        return await self.db.write(delete)

    async def move_devices(
        self, moves: list[tuple[str, str]], target_project_id: str
    ) -> list[bool]:
        """Move each (source project, device) to the target in one transaction; True if moved."""

        def move(conn: sqlite3.Connection) -> list[bool]:
            return [
                conn.execute(
                    "UPDATE devices SET project_id = ? WHERE id = ? AND project_id = ?",
                    (target_project_id, device_id, source),
                ).rowcount
                == 1
                for source, device_id in moves
            ]

        for source, device_id in moves:
            self._forget_ref(source, device_id)
        return await self.db.write(move)

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
        if after is not None:
            # the position is also the index range's lower bound, so a deep page costs what the
            # first one does (an OR alone would make SQLite scan from `start` every time)
            start = max(start, after[0])
        sql = "SELECT ts, seq, body FROM events WHERE device_id = ? AND ts >= ? AND ts <= ?"
        args: list[Any] = [device_id, start, end]
        if event_types:
            sql += " AND event_type IN (SELECT value FROM json_each(?))"
            args.append(orjson.dumps(event_types).decode())
        if after is not None:
            sql += " AND (ts > ? OR seq > ?)"
            args.extend([after[0], after[1]])
        sql += " ORDER BY ts, seq LIMIT ?"
        args.append(limit)
        rows = self.db.read(lambda c: c.execute(sql, args).fetchall())
        return [(r[0], r[1], bytes(r[2])) for r in rows]

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
        event_type = envelope["eventType"]

        def write(conn: sqlite3.Connection) -> Recorded:
            labels_json = _set_reported(conn, device.project_id, device.id, event_type, data_json)
            if labels_json is None:
                raise NotFound(f"device {device.id} not found")
            labels: dict[str, str] = orjson.loads(labels_json)
            born = _record(conn, device, envelope, body, labels, ts, now, born_claimed_until)
            event = StoredEvent(device.project_id, device.id, device.type, event_type, labels, body)
            return Recorded([event], born)

        return await self.db.write(write)

    async def record_label_change(
        self,
        targets: list[tuple[str, str]],
        compute: Callable[[dict[str, str]], LabelChange],
        timestamp: str,
        ts: float,
        now: float,
        born_claimed_until: float,
    ) -> Recorded:
        def write(conn: sqlite3.Connection) -> Recorded:
            recorded = Recorded([], [])
            for project_id, device_id in dict.fromkeys(targets):
                row = conn.execute(
                    f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ? AND project_id = ?",
                    (device_id, project_id),
                ).fetchone()
                device = device_from_row(row) if row else None
                outcome = decide(project_id, device_id, device, compute, timestamp, now)
                if isinstance(outcome, LabelFailure):
                    recorded.failures.append(outcome)
                elif outcome is not None:
                    conn.execute(
                        "UPDATE devices SET labels = ? WHERE id = ?",
                        (outcome.labels_json, device_id),
                    )
                    recorded.deliveries.extend(
                        _record(
                            conn,
                            outcome.device,
                            outcome.envelope,
                            outcome.body,
                            outcome.labels,
                            ts,
                            now,
                            born_claimed_until,
                        )
                    )
                    recorded.events.append(outcome.stored())
            return recorded

        return await self.db.write(write)

    async def events_by_id(self, event_ids: list[str]) -> list[StoredEvent]:
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT e.project_id, e.device_id, d.type, e.event_type, d.labels, e.body"
                " FROM events e JOIN devices d"
                " ON d.id = e.device_id AND d.project_id = e.project_id"
                " WHERE e.id IN (SELECT value FROM json_each(?)) ORDER BY e.seq",
                (orjson.dumps(event_ids).decode(),),
            ).fetchall()
        )
        return [StoredEvent(r[0], r[1], r[2], r[3], orjson.loads(r[4]), bytes(r[5])) for r in rows]

    async def prune_events(self, before: float, limit: int) -> int:
        """Delete up to `limit` of the oldest events older than `before`; returns how many went."""
        return await self.db.write(
            lambda c: int(
                c.execute(
                    "DELETE FROM events WHERE seq IN"
                    " (SELECT seq FROM events WHERE ts < ? ORDER BY ts LIMIT ?)",
                    (before, limit),
                ).rowcount
            )
        )


# ---- steps inside the publishing job -------------------------------------------------------------


def _record(
    conn: sqlite3.Connection,
    device: DeviceRef,
    event: dict[str, Any],
    body: bytes,
    labels: dict[str, str],
    ts: float,
    now: float,
    born_claimed_until: float,
) -> list[Delivery]:
    """History row plus queued pushes for one event, inside the caller's transaction."""
    conn.execute(
        "INSERT INTO events(id, project_id, device_id, event_type, ts, body)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (event["eventId"], device.project_id, device.id, event["eventType"], ts, body),
    )
    filters = active_filters(conn, device.project_id)
    if not filters:
        return []
    metadata = {
        "deviceId": device.id,
        "projectId": device.project_id,
        "deviceType": device.type,
        "productNumber": device.product_number,
    }
    pushes = fan_out(filters, event, labels, metadata)
    return insert_pushes(conn, pushes, event["eventId"], now, now, born_claimed_until)


def _set_reported(
    conn: sqlite3.Connection, project_id: str, device_id: str, event_type: str, data: str
) -> str | None:
    """Make `data` the device's latest `event_type` data; returns its labels JSON (None: gone).

    The merge happens in SQL inside the writer's transaction, so concurrent publishes to one device
    serialise on the row and none overwrites another's event type.
    """
    row = conn.execute(
        "UPDATE devices SET reported = json_set(reported, ?, json(?))"
        " WHERE id = ? AND project_id = ? RETURNING labels",
        (f"$.{event_type}", data, device_id, project_id),
    ).fetchone()
    return None if row is None else str(row[0])
