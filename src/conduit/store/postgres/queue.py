"""PostgreSQL: the delivery queue — enqueue, claim due rows, settle attempts, expire old ones.

Many nodes work one queue. A claim takes due rows with `FOR UPDATE SKIP LOCKED` and tags them with
the claiming node and a lease; rows are found by what is due, never by id order (ids of concurrent
transactions commit out of order). A node settles (acks, reschedules, releases) only rows it still
holds, so a node whose lease ran out and whose row another node took cannot undo that node's work.
A node that dies simply stops renewing its leases, and the rows become due for everyone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import asyncpg
import orjson

from conduit.domain.dataconnectors import ACTIVE, STATUSES
from conduit.domain.pushes import ConnectorFilter, Push
from conduit.store.postgres.database import CHANNEL
from conduit.store.records import Delivery

_COLUMNS = "id, connector_id, event_id, event_time, body, attempts, lease_until"
_DUE = "greatest(next_attempt, lease_until)"
_COUNT = (
    "INSERT INTO delivery_counters(connector_id, name, value) VALUES ($1, $2, $3)"
    " ON CONFLICT (connector_id, name)"
    " DO UPDATE SET value = delivery_counters.value + excluded.value"
)

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(row[0], row[1], row[2], row[3], bytes(row[4]), row[5], row[6])


# ---- steps inside a caller's transaction ---------------------------------------------------------


async def active_filters(conn: Conn, project_id: str) -> list[ConnectorFilter]:
    """The project's ACTIVE connectors as fan-out sees them, read inside the publishing
    transaction with `FOR KEY SHARE`: a status change (`set_connector_status` locks the row
    `FOR UPDATE`) waits for this transaction and then drops the rows it added, and a publish that
    starts after the change sees the new status."""
    rows = await conn.fetch(
        "SELECT id, events, labels FROM dataconnectors WHERE project_id = $1 AND status = 'ACTIVE'"
        " FOR KEY SHARE",
        project_id,
    )
    return [ConnectorFilter(r[0], r[1], r[2]) for r in rows]


async def insert_pushes(
    conn: Conn,
    pushes: Iterable[Push],
    event_id: str,
    event_time: float,
    now: float,
    born_claimed_until: float,
    node_id: str,
) -> list[Delivery]:
    """Queue rows for one event, returned as born. Rows born claimed belong to `node_id`'s
    dispatcher; rows born unclaimed (no local dispatcher) are announced to the other nodes."""
    pushes = list(pushes)
    if not pushes:
        return []
    claimed_by = node_id if born_claimed_until > 0 else None
    rows = await conn.fetch(
        "INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts, next_attempt,"
        " lease_until, claimed_by)"
        " SELECT c, $2, $3, b, 0, $4, $5, $6 FROM unnest($1::text[], $7::bytea[]) AS t(c, b)"
        " RETURNING id, connector_id, body",
        [p.connector_id for p in pushes],
        event_id,
        event_time,
        now,
        born_claimed_until,
        claimed_by,
        [p.body for p in pushes],
    )
    if claimed_by is None:
        await notify(conn, connectors=[p.connector_id for p in pushes])
    return [
        Delivery(r[0], r[1], event_id, event_time, bytes(r[2]), 0, born_claimed_until) for r in rows
    ]


async def notify(
    conn: Conn,
    *,
    connectors: Iterable[str] = (),
    events: Iterable[str] = (),
) -> None:
    """Tell every node, on commit, which connectors have claimable rows and which events exist."""
    payload = orjson.dumps({"c": sorted(set(connectors)), "e": list(events)}).decode()
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)


async def count(conn: Conn, name: str, by_connector: Counter[str]) -> None:
    rows = [(cid, name, n) for cid, n in by_connector.items() if n]
    if rows:
        await conn.executemany(_COUNT, rows)


async def set_connector_status(conn: Conn, connector_id: str, status: str, now: float) -> int:
    """The one code path that changes a connector's status, inside the caller's transaction.

    Disabling empties the connector's queue in the same transaction (no backfill on re-enable);
    enabling resets the delivery-health record. Returns how many queued deliveries were dropped.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown connector status {status}")
    await conn.execute("SELECT 1 FROM dataconnectors WHERE id = $1 FOR UPDATE", connector_id)
    if status == ACTIVE:
        await conn.execute(
            "UPDATE dataconnectors SET status = $1, update_time = $2, failing_since = NULL,"
            " consecutive_failures = 0 WHERE id = $3 AND status != $1",
            status,
            now,
            connector_id,
        )
        return 0
    await conn.execute(
        "UPDATE dataconnectors SET status = $1, update_time = $2 WHERE id = $3",
        status,
        now,
        connector_id,
    )
    dropped = _rowcount(
        await conn.execute("DELETE FROM deliveries WHERE connector_id = $1", connector_id)
    )
    await count(conn, "dropped", Counter({connector_id: dropped}))
    return dropped


def _rowcount(status: str) -> int:
    """The row count of an asyncpg command status such as 'DELETE 3' or 'UPDATE 0'."""
    return int(status.rsplit(" ", 1)[-1])
