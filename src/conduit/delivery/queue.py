"""The delivery queue in the store: read new rows, claim due ones, settle attempts, expire old ones.

Every operation is a plain function of a connection, so the dispatcher runs reads on its read
connection and writes as jobs of the group-committed writer (`db.write`): a burst of acks and
reschedules shares one transaction. The dispatcher never loads the queue: it reads new rows by id
and claims due rows per connector, both in bounded pages, so a million rows queued for a dead
receiver cost memory only for the handful in flight.

A row may be claimed when `max(next_attempt, lease_until)` has passed (the `deliveries_due` index);
a claim moves `lease_until` past the attempt's timeout. That is all a second dispatcher needs to
work the same queue safely (on PostgreSQL, with `FOR UPDATE SKIP LOCKED`), and after a crash
un-acked rows are simply due again.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from conduit.delivery.attempt_log import AttemptRow, record_attempts
from conduit.delivery.lifecycle import set_connector_status
from conduit.delivery.policy import MAX_EVENT_AGE
from conduit.domain.dataconnectors import ACTIVE, SYSTEM_DISABLED

_COLUMNS = "id, connector_id, event_id, event_time, body, attempts, lease_until"
_DUE = "max(next_attempt, lease_until)"


@dataclass(slots=True)
class Delivery:
    id: int
    connector_id: str
    event_id: str
    event_time: float
    body: bytes
    attempts: int  # attempts made before this one
    lease_until: float


# (failing_since, last_success, consecutive_failures)
Health = tuple[float | None, float | None, int]


@dataclass(frozen=True, slots=True)
class ConnectorRow:
    """What the dispatcher needs of a connector, read fresh from its row."""

    id: str
    status: str
    update_time: float
    url: str
    headers: str  # JSON
    signature_secret: bytes | None  # encrypted
    failing_since: float | None
    last_success: float | None
    consecutive_failures: int


@dataclass
class Settlement:
    """The outcome of a batch of attempts, written in one transaction."""

    acked: list[int] = field(default_factory=list)
    rescheduled: list[tuple[int, float, int]] = field(default_factory=list)  # (attempts, next, id)
    released: list[int] = field(default_factory=list)
    expired: list[tuple[int, str]] = field(default_factory=list)  # (id, connector_id)
    attempts: list[AttemptRow] = field(default_factory=list)
    # connector_id -> its latest delivery health
    health: dict[str, Health] = field(default_factory=dict)
    disable: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.acked
            or self.rescheduled
            or self.released
            or self.expired
            or self.attempts
            or self.health
            or self.disable
        )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


# ---- reads (the dispatcher's read connection) ----------------------------------------------------


def newest_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(id) FROM deliveries").fetchone()
    return int(row[0] or 0)


def read_new(conn: sqlite3.Connection, after_id: int, limit: int) -> list[Delivery]:
    """Rows enqueued after `after_id`, in commit order (ids are assigned by the single writer)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM deliveries WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
    ).fetchall()
    return [_delivery(r) for r in rows]


def has_due(conn: sqlite3.Connection, connector_id: str, now: float) -> bool:
    row = conn.execute(
        f"SELECT 1 FROM deliveries WHERE connector_id = ? AND {_DUE} <= ? LIMIT 1",
        (connector_id, now),
    ).fetchone()
    return row is not None


def count_due(
    conn: sqlite3.Connection, connector_id: str, now: float, limit: int, first_only: bool = False
) -> int:
    """How many of the connector's rows are claimable now, counting no further than `limit`."""
    only_first = " AND attempts = 0" if first_only else ""
    row = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE connector_id = ? AND {_DUE} <= ?"
        f"{only_first} LIMIT ?)",
        (connector_id, now, limit),
    ).fetchone()
    return int(row[0])


def next_due(conn: sqlite3.Connection, connector_id: str) -> float | None:
    """When the connector's earliest row becomes claimable; None when its queue is empty."""
    row = conn.execute(
        f"SELECT min({_DUE}) FROM deliveries WHERE connector_id = ?", (connector_id,)
    ).fetchone()
    return None if row[0] is None else float(row[0])


def connector_row(conn: sqlite3.Connection, connector_id: str) -> ConnectorRow | None:
    row = conn.execute(
        "SELECT id, status, update_time, url, headers, signature_secret, failing_since,"
        " last_success, consecutive_failures FROM dataconnectors WHERE id = ?",
        (connector_id,),
    ).fetchone()
    if row is None:
        return None
    secret = row[5]
    return ConnectorRow(
        id=row[0],
        status=row[1],
        update_time=row[2],
        url=row[3],
        headers=row[4],
        signature_secret=bytes(secret) if secret else None,
        failing_since=row[6],
        last_success=row[7],
        consecutive_failures=row[8],
    )


def active_connector_ids(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM dataconnectors WHERE status = ?", (ACTIVE,))]


def queue_depths(conn: sqlite3.Connection) -> dict[str, int]:
    """Queued deliveries per connector (an index scan: for scrapes, not for the hot path)."""
    rows = conn.execute("SELECT connector_id, count(*) FROM deliveries GROUP BY connector_id")
    return {r[0]: int(r[1]) for r in rows}


# ---- writes (jobs for the group-committed writer) ------------------------------------------------


def release_all_claims(conn: sqlite3.Connection) -> int:
    """Forget every claim: for a dispatcher starting as the only one on this database (SQLite), so
    the claims of a predecessor that crashed need not be waited out."""
    return int(conn.execute("UPDATE deliveries SET lease_until = 0 WHERE lease_until > 0").rowcount)


def claim_due(
    conn: sqlite3.Connection,
    connector_id: str,
    now: float,
    lease_until: float,
    limit: int,
    *,
    first_attempts_only: bool = False,
) -> list[Delivery]:
    """Claim up to `limit` of the connector's due rows, earliest first, until `lease_until`."""
    only_first = " AND attempts = 0" if first_attempts_only else ""
    rows = conn.execute(
        f"UPDATE deliveries SET lease_until = ? WHERE id IN (SELECT id FROM deliveries"
        f" WHERE connector_id = ? AND {_DUE} <= ?{only_first} ORDER BY {_DUE} LIMIT ?)"
        f" RETURNING {_COLUMNS}",
        (lease_until, connector_id, now, limit),
    ).fetchall()
    deliveries = [_delivery(r) for r in rows]
    deliveries.sort(key=lambda d: d.id)
    return deliveries


def _count(conn: sqlite3.Connection, name: str, by_connector: Counter[str]) -> None:
    conn.executemany(
        "INSERT INTO delivery_counters(connector_id, name, value) VALUES (?, ?, ?)"
        " ON CONFLICT(connector_id, name) DO UPDATE SET value = value + excluded.value",
        [(cid, name, n) for cid, n in by_connector.items() if n],
    )


def settle(conn: sqlite3.Connection, batch: Settlement, now: float) -> Counter[str]:
    """Write a batch of outcomes; returns how many rows expired per connector.

    Rows a disable or a delete has removed meanwhile are simply not there to update. Health is
    written only to connectors still ACTIVE, so a connector a user just re-enabled keeps its fresh
    record.
    """
    if batch.acked:
        conn.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in batch.acked])
    if batch.rescheduled:
        conn.executemany(
            "UPDATE deliveries SET attempts = ?, next_attempt = ?, lease_until = 0 WHERE id = ?",
            batch.rescheduled,
        )
    if batch.released:
        conn.executemany(
            "UPDATE deliveries SET lease_until = 0 WHERE id = ?", [(i,) for i in batch.released]
        )
    expired: Counter[str] = Counter()
    for row_id, connector_id in batch.expired:
        expired[connector_id] += conn.execute(
            "DELETE FROM deliveries WHERE id = ?", (row_id,)
        ).rowcount
    _count(conn, "expired", expired)
    if batch.attempts:
        record_attempts(conn, batch.attempts)
    if batch.health:
        conn.executemany(
            "UPDATE dataconnectors SET failing_since = ?, last_success = ?,"
            " consecutive_failures = ? WHERE id = ? AND status = ?",
            [(*health, cid, ACTIVE) for cid, health in batch.health.items()],
        )
    for connector_id in batch.disable:
        row = conn.execute(
            "SELECT status FROM dataconnectors WHERE id = ?", (connector_id,)
        ).fetchone()
        if row is not None and row[0] == ACTIVE:
            set_connector_status(conn, connector_id, SYSTEM_DISABLED, now)
    return expired


def expire_old(conn: sqlite3.Connection, now: float, limit: int) -> Counter[str]:
    """Delete up to `limit` rows older than 12 hours and count them per connector (bounded, so one
    sweep never holds the writer for long; call again while it returns `limit` rows)."""
    rows = conn.execute(
        "DELETE FROM deliveries WHERE id IN"
        " (SELECT id FROM deliveries WHERE event_time <= ? ORDER BY event_time LIMIT ?)"
        " RETURNING connector_id",
        (now - MAX_EVENT_AGE, limit),
    ).fetchall()
    expired: Counter[str] = Counter(r[0] for r in rows)
    _count(conn, "expired", expired)
    return expired
