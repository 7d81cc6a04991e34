"""PostgreSQL: the delivery queue — enqueue, claim due rows, settle attempts, expire old ones.

Many nodes work one queue. A claim takes due rows with `FOR UPDATE SKIP LOCKED` and tags them with
the claiming node and a lease; rows are found by what is due, never by id order (ids of concurrent
transactions commit out of order). A node settles (acks, reschedules, releases) only rows it still
holds, so a node whose lease ran out and whose row another node took cannot undo that node's work.
A node that dies simply stops renewing its leases, and the rows become due for everyone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

import asyncpg
import orjson

from conduit.domain import token_bucket
from conduit.domain.dataconnectors import ACTIVE, STATUSES, SYSTEM_DISABLED
from conduit.domain.pushes import ConnectorFilter, Push
from conduit.store.postgres.database import CHANNEL, Database
from conduit.store.queries import CONNECTOR_ROW_SELECT
from conduit.store.records import ConnectorRow, Delivery, Notice, Settled, Settlement
from conduit.store.rows import connector_row_from_row

_DUE = "greatest(next_attempt, lease_until)"
_COUNT = (
    "INSERT INTO delivery_counters(connector_id, name, value) VALUES ($1, $2, $3)"
    " ON CONFLICT (connector_id, name)"
    " DO UPDATE SET value = delivery_counters.value + excluded.value"
)

Conn: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(row[0], row[1], row[2], row[3], bytes(row[4]), row[5], row[6], bool(row[7]))


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
        await notify(conn, origin=node_id, connectors=[p.connector_id for p in pushes])
    return [
        Delivery(r[0], r[1], event_id, event_time, bytes(r[2]), 0, born_claimed_until) for r in rows
    ]


MAX_NOTICE = 7000  # bytes: PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more


async def notify(
    conn: Conn,
    *,
    origin: str = "",
    connectors: Iterable[str] = (),
    events: Iterable[str] = (),
) -> None:
    """Tell every node, on commit, which connectors have claimable rows and which events exist
    (in as many notices as the payload limit needs)."""
    connector_ids, event_ids = sorted(set(connectors)), list(events)
    while True:
        notice = {"n": origin, "c": connector_ids, "e": event_ids}
        payload = orjson.dumps(notice).decode()
        if len(payload) <= MAX_NOTICE or len(connector_ids) + len(event_ids) <= 1:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            return
        half_c, half_e = len(connector_ids) // 2, len(event_ids) // 2
        await notify(
            conn, origin=origin, connectors=connector_ids[:half_c], events=event_ids[:half_e]
        )
        connector_ids, event_ids = connector_ids[half_c:], event_ids[half_e:]


async def count(conn: Conn, name: str, by_connector: Counter[str]) -> None:
    rows = [(cid, name, n) for cid, n in by_connector.items() if n]
    if rows:
        await conn.executemany(_COUNT, rows)


async def set_connector_status(
    conn: Conn, connector_id: str, status: str, now: float, reason: str | None = None
) -> int:
    """The one code path that changes a connector's status, inside the caller's transaction.

    Disabling empties the connector's queue in the same transaction (no backfill on re-enable);
    enabling resets the delivery-health record. Returns how many queued deliveries were dropped.
    `reason` (`STATUS_REASONS`) is kept only with SYSTEM_DISABLED; any other status clears it.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown connector status {status}")
    await conn.execute("SELECT 1 FROM dataconnectors WHERE id = $1 FOR UPDATE", connector_id)
    if status == ACTIVE:
        await conn.execute(
            "UPDATE dataconnectors SET status = $1, update_time = $2, failing_since = NULL,"
            " consecutive_failures = 0, probe_until = 0, status_reason = NULL"
            " WHERE id = $3 AND status != $1",
            status,
            now,
            connector_id,
        )
        return 0
    await conn.execute(
        "UPDATE dataconnectors SET status = $1, update_time = $2, status_reason = $4 WHERE id = $3",
        status,
        now,
        connector_id,
        reason if status == SYSTEM_DISABLED else None,
    )
    dropped = rowcount(
        await conn.execute(
            "WITH gone AS (DELETE FROM deliveries WHERE connector_id = $1"
            " RETURNING connector_id, event_id, event_time, attempts, last_error)"
            " INSERT INTO dead_letters(connector_id, event_id, event_time, at, reason, attempts,"
            " last_error) SELECT connector_id, event_id, event_time, $2::double precision,"
            " $3::text, attempts, last_error FROM gone",
            connector_id,
            now,
            status,
        )
    )
    await count(conn, "dropped", Counter({connector_id: dropped}))
    return dropped


def rowcount(status: str) -> int:
    """The row count of an asyncpg command status such as 'DELETE 3' or 'UPDATE 0'."""
    return int(status.rsplit(" ", 1)[-1])


# ---- the queue part of the store ----------------------------------------------------------------


class PgQueue:
    db: Database
    node_id: str

    async def connector_row(self, connector_id: str) -> ConnectorRow | None:
        row = await self.db.pool.fetchrow(
            CONNECTOR_ROW_SELECT + " WHERE id = $1",
            connector_id,
        )
        return connector_row_from_row(row) if row is not None else None

    async def active_connector_ids(self) -> list[str]:
        rows = await self.db.pool.fetch("SELECT id FROM dataconnectors WHERE status = $1", ACTIVE)
        return [r[0] for r in rows]

    async def count_due(
        self, connector_id: str, now: float, limit: int, first_only: bool = False
    ) -> int:
        only_first = " AND attempts = 0 AND replay IS NULL" if first_only else ""
        value = await self.db.pool.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE connector_id = $1"
            f" AND {_DUE} <= $2{only_first} LIMIT $3) AS due",
            connector_id,
            now,
            limit,
        )
        return int(value)

    async def next_due(self, connector_id: str) -> float | None:
        value = await self.db.pool.fetchval(
            f"SELECT min({_DUE}) FROM deliveries WHERE connector_id = $1", connector_id
        )
        return None if value is None else float(value)

    async def claim_due(
        self,
        connector_id: str,
        now: float,
        lease_until: float,
        limit: int,
        *,
        first_attempts_only: bool = False,
    ) -> list[Delivery]:
        """Claim up to `limit` of the connector's due rows for this node, earliest first. Rows
        another node is claiming at this moment are skipped, not waited for."""
        only_first = " AND attempts = 0 AND replay IS NULL" if first_attempts_only else ""
        rows = await self.db.pool.fetch(
            "UPDATE deliveries d SET lease_until = $3, claimed_by = $4 FROM ("
            " SELECT id FROM deliveries"
            f" WHERE connector_id = $1 AND {_DUE} <= $2{only_first}"
            f" ORDER BY {_DUE} LIMIT $5 FOR UPDATE SKIP LOCKED) AS due"
            " WHERE d.id = due.id"
            " RETURNING d.id, d.connector_id, d.event_id, d.event_time, d.body, d.attempts,"
            " d.lease_until, d.replay IS NOT NULL",
            connector_id,
            now,
            lease_until,
            self.node_id,
            limit,
        )
        return sorted((_delivery(r) for r in rows), key=lambda d: d.id)

    async def release_orphaned_claims(self) -> int:
        """Release the claims of this node's previous life (its id is stable and its data
        directory locked, so no live process holds them). Other nodes' claims are never touched:
        a dead node's claims lapse on their own."""
        return rowcount(
            await self.db.pool.execute(
                "UPDATE deliveries SET lease_until = 0, claimed_by = NULL WHERE claimed_by = $1",
                self.node_id,
            )
        )

    async def take_tokens(self, connector_id: str, wanted: int, now: float) -> int:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT rate_limit, rate_tokens, rate_at FROM dataconnectors WHERE id = $1"
                " FOR UPDATE",
                connector_id,
            )
            if row is None or row[0] <= 0:
                return wanted
            granted, left = token_bucket.take(row[0], row[1], row[2], now, wanted)
            await conn.execute(
                "UPDATE dataconnectors SET rate_tokens = $1, rate_at = $2 WHERE id = $3",
                left,
                now,
                connector_id,
            )
            return granted

    async def extend_leases(self, delivery_ids: list[int], lease_until: float) -> int:
        if not delivery_ids:
            return 0
        return rowcount(
            await self.db.pool.execute(
                "UPDATE deliveries SET lease_until = $2 WHERE id = ANY($1::bigint[])"
                " AND claimed_by = $3",
                delivery_ids,
                lease_until,
                self.node_id,
            )
        )

    async def settle(self, batch: Settlement, now: float) -> Settled:
        """Write a batch of outcomes, touching only rows this node holds: one statement (so one
        round trip and one commit, whatever the batch holds), inside a transaction with the
        disables for the rare batch that disables a connector."""
        health = sorted(set(batch.health) | set(batch.probes))
        args = (
            self.node_id,
            batch.acked,
            [r[0] for r in batch.rescheduled],
            [r[1] for r in batch.rescheduled],
            [r[2] for r in batch.rescheduled],
            [r[3] for r in batch.rescheduled],
            batch.released,
            [i for i, _ in batch.expired],
            *_attempt_columns(batch),
            health,
            [c in batch.health for c in health],
            [batch.health[c][0] if c in batch.health else None for c in health],
            [batch.health[c][1] if c in batch.health else None for c in health],
            [batch.health[c][2] if c in batch.health else 0 for c in health],
            [c in batch.probes for c in health],
            [batch.probes.get(c, 0.0) for c in health],
            CHANNEL,
            now,
        )
        if not batch.disable:
            row = await self.db.pool.fetchrow(_SETTLE, *args)
            return Settled(Counter(row[0] or []))
        dropped = 0
        async with self.db.pool.acquire() as conn, conn.transaction():
            # A disable commits with the outcome that caused it: nobody sees the failure logged
            # while the connector still looks ACTIVE.
            row = await conn.fetchrow(_SETTLE, *args)
            for connector_id, reason in batch.disable.items():
                status = await conn.fetchval(
                    "SELECT status FROM dataconnectors WHERE id = $1 FOR UPDATE", connector_id
                )
                if status == ACTIVE:
                    dropped += await set_connector_status(
                        conn, connector_id, SYSTEM_DISABLED, now, reason
                    )
        return Settled(Counter(row[0] or []), dropped)

    async def expire_old(self, received_by: float, limit: int, now: float) -> Counter[str]:
        async with self.db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "WITH gone AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
                " WHERE event_time <= $1 ORDER BY event_time LIMIT $2 FOR UPDATE SKIP LOCKED)"
                " RETURNING connector_id, event_id, event_time, attempts, last_error),"
                " buried AS (INSERT INTO dead_letters(connector_id, event_id, event_time, at,"
                " reason, attempts, last_error) SELECT connector_id, event_id, event_time,"
                " $3::double precision,"
                " 'EXPIRED', attempts, last_error FROM gone)"
                " SELECT connector_id FROM gone",
                received_by,
                limit,
                now,
            )
            expired: Counter[str] = Counter(r[0] for r in rows)
            await count(conn, "expired", expired)
            return expired

    async def queue_depths(self) -> dict[str, int]:
        rows = await self.db.pool.fetch(
            "SELECT connector_id, count(*) FROM deliveries GROUP BY connector_id"
        )
        return {r[0]: int(r[1]) for r in rows}

    async def try_probe(self, connector_id: str, now: float, until: float) -> bool:
        taken = await self.db.pool.fetchval(
            "UPDATE dataconnectors SET probe_until = $3 WHERE id = $1 AND status = 'ACTIVE'"
            " AND probe_until <= $2 RETURNING id",
            connector_id,
            now,
            until,
        )
        return taken is not None

    def on_notice(self, listener: Callable[[Notice], None]) -> None:
        """Call `listener` with every other node's notice (and with `everything` after the
        listening connection was re-established, since notices may have been missed)."""

        def parse(payload: str) -> None:
            if payload == "*":
                listener(Notice(origin="", everything=True))
                return
            data = orjson.loads(payload)
            if data.get("n") == self.node_id:
                return
            listener(Notice(data.get("n", ""), data.get("c", []), data.get("e", [])))

        self.db.listeners.append(parse)

    async def claimed_count(self, connector_id: str, now: float) -> int:
        value = await self.db.pool.fetchval(
            "SELECT count(*) FROM deliveries WHERE connector_id = $1 AND lease_until > $2",
            connector_id,
            now,
        )
        return int(value)

    async def queued_events(self, connector_id: str, limit: int) -> list[str]:
        rows = await self.db.pool.fetch(
            "SELECT event_id FROM deliveries WHERE connector_id = $1 ORDER BY id LIMIT $2",
            connector_id,
            limit,
        )
        return [r[0] for r in rows]

    async def queued_count(self, connector_id: str) -> int:
        value = await self.db.pool.fetchval(
            "SELECT count(*) FROM deliveries WHERE connector_id = $1", connector_id
        )
        return int(value)


def _attempt_columns(batch: Settlement) -> list[list[Any]]:
    if not batch.attempts:
        return [[] for _ in range(8)]
    columns = [list(c) for c in zip(*batch.attempts, strict=True)]
    columns[4] = [bool(v) for v in columns[4]]
    return columns


# Every outcome of a batch in one statement. Data-modifying CTEs all run, once, atomically; the
# health and probe changes of a connector are one UPDATE (a row may be changed once per statement).
_SETTLE = """
WITH acked AS (
    DELETE FROM deliveries WHERE id = ANY($2::bigint[]) AND claimed_by = $1
), rescheduled AS (
    UPDATE deliveries d SET attempts = u.attempts, next_attempt = u.next_attempt,
           lease_until = 0, claimed_by = NULL, last_error = u.error
    FROM unnest($3::integer[], $4::double precision[], $5::bigint[], $6::text[])
        AS u(attempts, next_attempt, id, error)
    WHERE d.id = u.id AND d.claimed_by = $1
), released AS (
    UPDATE deliveries SET lease_until = 0, claimed_by = NULL
    WHERE id = ANY($7::bigint[]) AND claimed_by = $1 RETURNING connector_id
), expired AS (
    DELETE FROM deliveries WHERE id = ANY($8::bigint[])
    RETURNING connector_id, event_id, event_time, attempts, last_error
), buried AS (
    INSERT INTO dead_letters(connector_id, event_id, event_time, at, reason, attempts, last_error)
    SELECT connector_id, event_id, event_time, $25::double precision, 'EXPIRED', attempts,
           last_error
    FROM expired
), counted AS (
    INSERT INTO delivery_counters(connector_id, name, value)
    SELECT connector_id, 'expired', count(*) FROM expired GROUP BY connector_id
    ON CONFLICT (connector_id, name)
    DO UPDATE SET value = delivery_counters.value + excluded.value
), logged AS (
    INSERT INTO delivery_attempts(connector_id, event_id, attempt, at, success, status_code,
                                  error, latency)
    SELECT * FROM unnest($9::text[], $10::text[], $11::integer[], $12::double precision[],
                         $13::boolean[], $14::integer[], $15::text[], $16::double precision[])
), health AS (
    UPDATE dataconnectors c SET
        failing_since = CASE WHEN h.has_health THEN h.failing_since ELSE c.failing_since END,
        last_success = CASE WHEN h.has_health THEN h.last_success ELSE c.last_success END,
        consecutive_failures = CASE WHEN h.has_health THEN h.failures
                                    ELSE c.consecutive_failures END,
        probe_until = CASE WHEN h.has_probe THEN h.probe_until ELSE c.probe_until END
    FROM unnest($17::text[], $18::boolean[], $19::double precision[], $20::double precision[],
                $21::integer[], $22::boolean[], $23::double precision[])
        AS h(id, has_health, failing_since, last_success, failures, has_probe, probe_until)
    WHERE c.id = h.id AND c.status = 'ACTIVE'
), announced AS (
    SELECT pg_notify($24, json_build_object('n', $1::text, 'c', r.ids, 'e', '[]'::json)::text)
        AS sent
    FROM (SELECT json_agg(DISTINCT connector_id) AS ids FROM released) AS r
    WHERE r.ids IS NOT NULL
)
SELECT (SELECT array_agg(connector_id) FROM expired), (SELECT sent FROM announced)
"""
