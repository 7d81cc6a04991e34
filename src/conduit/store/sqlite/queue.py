"""SQLite: the delivery queue — enqueue, claim due rows, settle attempts, expire old ones.

Writes are jobs of the group-committed writer, so a burst of acks and reschedules shares one
transaction; reads run inline on the caller's read connection (point reads take microseconds). The
dispatcher never loads the queue: it claims due rows per connector in bounded pages, so a million
rows queued for a dead receiver cost memory only for the handful in flight.

A row may be claimed when `max(next_attempt, lease_until)` has passed (the `deliveries_due` index);
a claim moves `lease_until` past the attempt's timeout, so after a crash un-acked rows are simply
due again. Rows are born claimed by the dispatcher of the process that enqueued them: it is handed
them right after the commit and sends them without a claim write.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from conduit.domain import token_bucket
from conduit.domain.dataconnectors import ACTIVE, STATUSES, SYSTEM_DISABLED
from conduit.domain.pushes import ConnectorFilter, Push
from conduit.store.queries import CONNECTOR_ROW_SELECT
from conduit.store.records import ConnectorRow, Delivery, Notice, Settled, Settlement
from conduit.store.rows import connector_row_from_row
from conduit.store.sqlite.attempts import record_attempts
from conduit.store.sqlite.database import Database

_COLUMNS = "id, connector_id, event_id, event_time, body, attempts, lease_until, replay IS NOT NULL"
_DUE = "max(next_attempt, lease_until)"
_INSERT = (
    "INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts, next_attempt,"
    " lease_until) VALUES (?, ?, ?, ?, 0, ?, ?) RETURNING id"
)
_ACTIVE_FILTERS = (
    "SELECT id, events, labels FROM dataconnectors WHERE project_id = ? AND status = 'ACTIVE'"
)
_COUNT = (
    "INSERT INTO delivery_counters(connector_id, name, value) VALUES (?, ?, ?)"
    " ON CONFLICT(connector_id, name) DO UPDATE SET value = value + excluded.value"
)


def _delivery(row: sqlite3.Row | tuple[Any, ...]) -> Delivery:
    return Delivery(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))


# ---- steps inside a caller's write job ------------------------------------------------------


def active_filters(conn: sqlite3.Connection, project_id: str) -> list[ConnectorFilter]:
    """The project's ACTIVE connectors as fan-out sees them (read inside the publish transaction,
    so a connector created, changed or disabled a moment ago applies to the very next event)."""
    return [ConnectorFilter(r[0], r[1], r[2]) for r in conn.execute(_ACTIVE_FILTERS, (project_id,))]


def insert_pushes(
    conn: sqlite3.Connection,
    pushes: Iterable[Push],
    event_id: str,
    event_time: float,
    now: float,
    born_claimed_until: float,
) -> list[Delivery]:
    """Queue rows for one event, returned as born (for the local dispatcher to start at once)."""
    born = []
    for push in pushes:
        row_id = conn.execute(
            _INSERT, (push.connector_id, event_id, event_time, push.body, now, born_claimed_until)
        ).fetchone()[0]
        born.append(
            Delivery(
                row_id, push.connector_id, event_id, event_time, push.body, 0, born_claimed_until
            )
        )
    return born


# What a row that leaves the queue undelivered keeps (`bury`).
_GONE = "connector_id, event_id, event_time, attempts, last_error"


def bury(conn: sqlite3.Connection, gone: Sequence[Sequence[object]], now: float) -> None:
    """Keep rows (`_GONE` columns) that expired as dead letters."""
    conn.executemany(
        "INSERT INTO dead_letters(connector_id, event_id, event_time, attempts, last_error,"
        " at, reason) VALUES (?, ?, ?, ?, ?, ?, 'EXPIRED')",
        [(*row, now) for row in gone],
    )


def count(conn: sqlite3.Connection, name: str, by_connector: Counter[str]) -> None:
    conn.executemany(_COUNT, [(cid, name, n) for cid, n in by_connector.items() if n])


def set_connector_status(
    conn: sqlite3.Connection,
    connector_id: str,
    status: str,
    now: float,
    reason: str | None = None,
) -> int:
    """The one code path that changes a connector's status, inside the caller's transaction.

    Disabling (by a user or by the system) empties the connector's queue in the same transaction,
    so nothing queued before is sent later and re-enabling never backfills (seeds: "Re-enabling
    the Data Connector will not backfill"). Enabling resets the delivery-health record, so a
    re-enabled connector starts healthy. Returns how many queued deliveries were dropped.
    `reason` (`STATUS_REASONS`) is kept only with SYSTEM_DISABLED; any other status clears it.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown connector status {status}")
    if status == ACTIVE:
        conn.execute(
            "UPDATE dataconnectors SET status = ?, update_time = ?, failing_since = NULL,"
            " consecutive_failures = 0, probe_until = 0, status_reason = NULL"
            " WHERE id = ? AND status != ?",
            (status, now, connector_id, ACTIVE),
        )
        return 0
    conn.execute(
        "UPDATE dataconnectors SET status = ?, update_time = ?, status_reason = ? WHERE id = ?",
        (status, now, reason if status == SYSTEM_DISABLED else None, connector_id),
    )
    conn.execute(
        "INSERT INTO dead_letters(connector_id, event_id, event_time, at, reason, attempts,"
        " last_error) SELECT connector_id, event_id, event_time, ?, ?, attempts, last_error"
        " FROM deliveries WHERE connector_id = ?",
        (now, status, connector_id),
    )
    dropped = int(
        conn.execute("DELETE FROM deliveries WHERE connector_id = ?", (connector_id,)).rowcount
    )
    count(conn, "dropped", Counter({connector_id: dropped}))
    return dropped


# ---- the queue part of the store ----------------------------------------------------------------


class SqliteQueue:
    db: Database

    async def connector_row(self, connector_id: str) -> ConnectorRow | None:
        row = self.db.read(
            lambda c: c.execute(
                CONNECTOR_ROW_SELECT + " WHERE id = ?",
                (connector_id,),
            ).fetchone()
        )
        return connector_row_from_row(row) if row is not None else None

    async def active_connector_ids(self) -> list[str]:
        return self.db.read(
            lambda c: [
                r[0] for r in c.execute("SELECT id FROM dataconnectors WHERE status = ?", (ACTIVE,))
            ]
        )

    async def count_due(
        self, connector_id: str, now: float, limit: int, first_only: bool = False
    ) -> int:
        """How many of the connector's rows are claimable now, counting no further than `limit`."""
        only_first = " AND attempts = 0 AND replay IS NULL" if first_only else ""
        row = self.db.read(
            lambda c: c.execute(
                "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE connector_id = ?"
                f" AND {_DUE} <= ?{only_first} LIMIT ?)",
                (connector_id, now, limit),
            ).fetchone()
        )
        return int(row[0])

    async def next_due(self, connector_id: str) -> float | None:
        """When the connector's earliest row becomes claimable; None when its queue is empty."""
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT min({_DUE}) FROM deliveries WHERE connector_id = ?", (connector_id,)
            ).fetchone()
        )
        return None if row[0] is None else float(row[0])

    async def claim_due(
        self,
        connector_id: str,
        now: float,
        lease_until: float,
        limit: int,
        *,
        first_attempts_only: bool = False,
    ) -> list[Delivery]:
        """Claim up to `limit` of the connector's due rows, earliest first, until `lease_until`."""
        only_first = " AND attempts = 0 AND replay IS NULL" if first_attempts_only else ""

        def claim(conn: sqlite3.Connection) -> list[Delivery]:
            rows = conn.execute(
                f"UPDATE deliveries SET lease_until = ? WHERE id IN (SELECT id FROM deliveries"
                f" WHERE connector_id = ? AND {_DUE} <= ?{only_first} ORDER BY {_DUE} LIMIT ?)"
                f" RETURNING {_COLUMNS}",
                (lease_until, connector_id, now, limit),
            ).fetchall()
            return sorted((_delivery(r) for r in rows), key=lambda d: d.id)

        return await self.db.write(claim)

    async def release_orphaned_claims(self) -> int:
        """Forget every claim: this process holds the database's exclusive lock, so no other
        dispatcher can be sending, and a crashed predecessor's claims need not be waited out."""
        return await self.db.write(
            lambda c: int(
                c.execute("UPDATE deliveries SET lease_until = 0 WHERE lease_until > 0").rowcount
            )
        )

    async def take_tokens(self, connector_id: str, wanted: int, now: float) -> int:
        def take(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT rate_limit, rate_tokens, rate_at FROM dataconnectors WHERE id = ?",
                (connector_id,),
            ).fetchone()
            if row is None or row[0] <= 0:
                return wanted
            granted, left = token_bucket.take(row[0], row[1], row[2], now, wanted)
            conn.execute(
                "UPDATE dataconnectors SET rate_tokens = ?, rate_at = ? WHERE id = ?",
                (left, now, connector_id),
            )
            return granted

        return await self.db.write(take)

    async def extend_leases(self, delivery_ids: list[int], lease_until: float) -> int:
        def extend(conn: sqlite3.Connection) -> int:
            return sum(
                conn.execute(
                    "UPDATE deliveries SET lease_until = ? WHERE id = ?", (lease_until, i)
                ).rowcount
                for i in delivery_ids
            )

        return await self.db.write(extend) if delivery_ids else 0

    async def settle(self, batch: Settlement, now: float) -> Settled:
        """Write a batch of outcomes in one transaction.

        Rows a disable or a delete has removed meanwhile are simply not there to update. Health is
        written only to connectors still ACTIVE, so a connector a user just re-enabled keeps its
        fresh record.
        """
        return await self.db.write(lambda c: _settle(c, batch, now))

    async def expire_old(self, received_by: float, limit: int, now: float) -> Counter[str]:
        """Delete up to `limit` rows that entered the queue at or before `received_by` (the policy's
        12-hour cut-off), keep them as dead letters and count them per connector. Bounded, so one
        sweep never holds the writer for long; call again while it returns `limit` rows."""

        def expire(conn: sqlite3.Connection) -> Counter[str]:
            rows = conn.execute(
                "DELETE FROM deliveries WHERE id IN"
                " (SELECT id FROM deliveries WHERE event_time <= ? ORDER BY event_time LIMIT ?)"
                f" RETURNING {_GONE}",
                (received_by, limit),
            ).fetchall()
            bury(conn, rows, now)
            expired: Counter[str] = Counter(r[0] for r in rows)
            count(conn, "expired", expired)
            return expired

        return await self.db.write(expire)

    async def queue_depths(self) -> dict[str, int]:
        """Queued deliveries per connector: an index scan, for scrapes, not for the hot path, so it
        runs on a worker thread (with that thread's own read connection)."""
        return await asyncio.to_thread(
            self.db.read,
            lambda c: {
                r[0]: int(r[1])
                for r in c.execute(
                    "SELECT connector_id, count(*) FROM deliveries GROUP BY connector_id"
                )
            },
        )

    async def try_probe(self, connector_id: str, now: float, until: float) -> bool:
        def take(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "UPDATE dataconnectors SET probe_until = ? WHERE id = ? AND status = ?"
                " AND probe_until <= ? RETURNING id",
                (until, connector_id, ACTIVE, now),
            ).fetchone()
            return row is not None

        return await self.db.write(take)

    def on_notice(self, listener: Callable[[Notice], None]) -> None:
        """Nothing to listen to: this process is the only one on its database."""

    async def claimed_count(self, connector_id: str, now: float) -> int:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT count(*) FROM deliveries WHERE connector_id = ? AND lease_until > ?",
                (connector_id, now),
            ).fetchone()
        )
        return int(row[0])

    async def queued_events(self, connector_id: str, limit: int) -> list[str]:
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT event_id FROM deliveries WHERE connector_id = ? ORDER BY id LIMIT ?",
                (connector_id, limit),
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def queued_count(self, connector_id: str) -> int:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT count(*) FROM deliveries WHERE connector_id = ?", (connector_id,)
            ).fetchone()
        )
        return int(row[0])


def _settle(conn: sqlite3.Connection, batch: Settlement, now: float) -> Settled:
    if batch.acked:
        conn.executemany("DELETE FROM deliveries WHERE id = ?", _ids(batch.acked))
    if batch.rescheduled:
        conn.executemany(
            "UPDATE deliveries SET attempts = ?, next_attempt = ?, lease_until = 0,"
            " last_error = ? WHERE id = ?",
            [(attempts, at, error, i) for attempts, at, i, error in batch.rescheduled],
        )
    if batch.released:
        conn.executemany("UPDATE deliveries SET lease_until = 0 WHERE id = ?", _ids(batch.released))
    expired: Counter[str] = Counter()
    gone: list[Sequence[object]] = []
    for row_id, connector_id in batch.expired:
        rows = conn.execute(
            f"DELETE FROM deliveries WHERE id = ? RETURNING {_GONE}", (row_id,)
        ).fetchall()
        expired[connector_id] += len(rows)
        gone += rows
    bury(conn, gone, now)
    count(conn, "expired", expired)
    if batch.attempts:
        record_attempts(conn, batch.attempts)
    if batch.health:
        conn.executemany(
            "UPDATE dataconnectors SET failing_since = ?, last_success = ?,"
            " consecutive_failures = ? WHERE id = ? AND status = ?",
            [(*health, cid, ACTIVE) for cid, health in batch.health.items()],
        )
    if batch.probes:
        conn.executemany(
            "UPDATE dataconnectors SET probe_until = ? WHERE id = ?",
            [(until, cid) for cid, until in batch.probes.items()],
        )
    dropped = 0
    for connector_id, reason in batch.disable.items():
        row = conn.execute(
            "SELECT status FROM dataconnectors WHERE id = ?", (connector_id,)
        ).fetchone()
        if row is not None and row[0] == ACTIVE:
            dropped += set_connector_status(conn, connector_id, SYSTEM_DISABLED, now, reason)
    return Settled(expired, dropped)


def _ids(ids: Sequence[int]) -> list[tuple[int]]:
    return [(i,) for i in ids]
