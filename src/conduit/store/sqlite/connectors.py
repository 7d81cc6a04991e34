"""SQLite: Data Connector resources and their `:sync` snapshot.

Tenant scoping lives here: every query names the project, so a connector id from another project is
simply not found. Status changes go through `queue.set_connector_status`, the one code path that
may change a status (it empties the queue on disable), inside the same transaction as the rest of
the update.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from conduit.clock import Clock
from conduit.domain.dataconnectors import ACTIVE, DataConnector
from conduit.domain.errors import BadRequest, NotFound
from conduit.domain.ids import new_id
from conduit.domain.pushes import Push, push_to
from conduit.store.records import Delivery
from conduit.store.rows import connector_from_row as _connector
from conduit.store.rows import new_connector
from conduit.store.sqlite.database import Database
from conduit.store.sqlite.queue import insert_pushes, set_connector_status


def select_connector(conn: sqlite3.Connection, project_id: str, connector_id: str) -> DataConnector:
    row = conn.execute(
        "SELECT * FROM dataconnectors WHERE id = ? AND project_id = ?", (connector_id, project_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"data connector {connector_id} not found")
    return _connector(row)


SYNC_DEVICES = 100  # devices per `:sync` write job


def _sync_page(
    conn: sqlite3.Connection,
    project_id: str,
    connector_id: str,
    after: str,
    now: float,
    born_claimed_until: float,
    *,
    first: bool,
) -> tuple[list[Delivery], str | None]:
    """Queue the latest events of the project's next devices after `after` (by id); returns the
    deliveries and the last device id, or None once every device has been seen."""
    connector = select_connector(conn, project_id, connector_id)
    if connector.status != ACTIVE:
        if not first:
            return [], None
        raise BadRequest(
            f"data connector {connector_id} is {connector.status}; only an ACTIVE connector"
            " can be synchronized (enable it first)"
        )
    devices = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM devices WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?",
            (project_id, after, SYNC_DEVICES),
        )
    ]
    if not devices:
        return [], None
    where = f" AND d.id IN ({','.join('?' * len(devices))})"
    args: list[Any] = [project_id, *devices]
    if connector.events:
        where += f" AND e.event_type IN ({','.join('?' * len(connector.events))})"
        args.extend(connector.events)
    # SQLite returns the other columns of the row holding max(e.seq) in each group.
    rows = conn.execute(
        "SELECT d.id AS device_id, d.type AS device_type, d.product_number, d.labels,"
        " e.body, max(e.seq) AS seq"
        " FROM devices d JOIN events e"
        " ON e.device_id = d.id AND e.project_id = d.project_id"
        f" WHERE d.project_id = ?{where}"
        " GROUP BY e.device_id, e.event_type ORDER BY seq",
        args,
    ).fetchall()
    born: list[Delivery] = []
    for row in rows:
        envelope = orjson.loads(row[4])
        body = push_to(
            connector.labels,
            envelope,
            orjson.loads(row[3]),
            {
                "deviceId": row[0],
                "projectId": project_id,
                "deviceType": row[1],
                "productNumber": row[2],
            },
        )
        born += insert_pushes(
            conn, [Push(connector_id, body)], envelope["eventId"], now, now, born_claimed_until
        )
    return born, (devices[-1] if len(devices) == SYNC_DEVICES else None)


class SqliteConnectors:
    db: Database
    clock: Clock

    async def create_dataconnector(self, connector: DataConnector) -> DataConnector:
        """Insert `connector` under a fresh id (the id and times of the argument are ignored)."""
        now = self.clock.now()
        stored = new_connector(connector, new_id(now), now)

        def insert(conn: sqlite3.Connection) -> None:
            # The initial status is a starting value, not a change: there is no queue to empty yet.
            conn.execute(
                "INSERT INTO dataconnectors(id, project_id, display_name, type, status, events,"
                " labels, url, signature_secret, headers_sealed, create_time, update_time,"
                " signature_scheme, previous_secret, previous_secret_until, disable_on_gone,"
                " rate_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.project_id,
                    stored.display_name,
                    stored.type,
                    stored.status,
                    orjson.dumps(stored.events).decode(),
                    orjson.dumps(stored.labels).decode(),
                    stored.url,
                    stored.signature_secret_encrypted,
                    stored.headers_sealed,
                    now,
                    now,
                    stored.signature_scheme,
                    stored.previous_secret_encrypted,
                    stored.previous_secret_until,
                    stored.disable_on_gone,
                    stored.rate_limit,
                ),
            )

        await self.db.write(insert)
        return stored

    async def get_dataconnector(self, project_id: str, connector_id: str) -> DataConnector | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM dataconnectors WHERE id = ? AND project_id = ?",
                (connector_id, project_id),
            ).fetchone()
        )
        return _connector(row) if row else None

    async def list_dataconnectors(self, project_id: str) -> list[DataConnector]:
        """A project's connectors in creation order (ids sort by creation time)."""
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM dataconnectors WHERE project_id = ? ORDER BY id", (project_id,)
            ).fetchall()
        )
        return [_connector(r) for r in rows]

    async def update_dataconnector(
        self,
        project_id: str,
        connector_id: str,
        change: Callable[[DataConnector], DataConnector],
    ) -> tuple[DataConnector, int]:
        """Apply `change` to the stored connector in one transaction; returns the result and how
        many queued deliveries a disable dropped.

        `change` runs on the writer thread against the current row, so concurrent PATCHes never lose
        each other's fields. A status change goes through `set_connector_status` in the same
        transaction.
        Raises `NotFound` (nothing written) if the connector is not in the project.
        """
        now = self.clock.now()

        def update(conn: sqlite3.Connection) -> tuple[DataConnector, int]:
            current = select_connector(conn, project_id, connector_id)
            new = change(current)
            if new is current:
                return current, 0
            conn.execute(
                "UPDATE dataconnectors SET display_name = ?, events = ?, labels = ?, url = ?,"
                " signature_secret = ?, headers_sealed = ?, update_time = ?,"
                " signature_scheme = ?, previous_secret = ?, previous_secret_until = ?,"
                " disable_on_gone = ?, rate_limit = ? WHERE id = ?",
                (
                    new.display_name,
                    orjson.dumps(new.events).decode(),
                    orjson.dumps(new.labels).decode(),
                    new.url,
                    new.signature_secret_encrypted,
                    new.headers_sealed,
                    now,
                    new.signature_scheme,
                    new.previous_secret_encrypted,
                    new.previous_secret_until,
                    new.disable_on_gone,
                    new.rate_limit,
                    connector_id,
                ),
            )
            dropped = 0
            if new.status != current.status:
                dropped = set_connector_status(conn, connector_id, new.status, now)
            return select_connector(conn, project_id, connector_id), dropped

        return await self.db.write(update)

    async def seal_clear_headers(self, seal: Callable[[dict[str, str]], bytes | None]) -> int:
        def upgrade(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                "SELECT id, headers FROM dataconnectors WHERE headers <> '{}'"
            ).fetchall()
            for connector_id, headers in rows:
                conn.execute(
                    "UPDATE dataconnectors SET headers_sealed = ?, headers = '{}' WHERE id = ?",
                    (seal(orjson.loads(headers)), connector_id),
                )
            return len(rows)

        return await self.db.write(upgrade)

    async def delete_dataconnector(self, project_id: str, connector_id: str) -> None:
        """Delete a connector, its queue (FK cascade), attempt log, counters and dead letters."""

        def delete(conn: sqlite3.Connection) -> None:
            gone = conn.execute(
                "DELETE FROM dataconnectors WHERE id = ? AND project_id = ?",
                (connector_id, project_id),
            ).rowcount
            if not gone:
                raise NotFound(f"data connector {connector_id} not found")
            conn.execute("DELETE FROM delivery_attempts WHERE connector_id = ?", (connector_id,))
            conn.execute("DELETE FROM delivery_counters WHERE connector_id = ?", (connector_id,))
            conn.execute("DELETE FROM dead_letters WHERE connector_id = ?", (connector_id,))

        await self.db.write(delete)

    async def sync_dataconnector(
        self, project_id: str, connector_id: str, born_claimed_until: float
    ) -> list[Delivery]:
        """Queue, to this connector only, the latest event of each type of each project device.

        The connector's event filter and label list apply as for live events. Each queued event's
        12-hour delivery window starts now (the events themselves may be older). Only ACTIVE
        connectors sync: a disabled connector has no queue. Returns the deliveries queued.

        The single writer serves every tenant, so a project with a long history is synced in
        pages of `SYNC_DEVICES` devices, one write job each, and other tenants' publishes commit
        in between. A page finds the connector no longer ACTIVE: the sync stops there.
        """
        now = self.clock.now()
        born: list[Delivery] = []
        after: str | None = ""
        first = True
        while after is not None:
            page, after = await self.db.write(
                partial(
                    _sync_page,
                    project_id=project_id,
                    connector_id=connector_id,
                    after=after,
                    now=now,
                    born_claimed_until=born_claimed_until,
                    first=first,
                )
            )
            born += page
            first = False
        return born

    async def delivery_counter(self, connector_id: str, name: str) -> int:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT value FROM delivery_counters WHERE connector_id = ? AND name = ?",
                (connector_id, name),
            ).fetchone()
        )
        return int(row[0]) if row else 0
