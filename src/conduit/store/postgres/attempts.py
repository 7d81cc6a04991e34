"""PostgreSQL: the delivery attempt log — one row per attempt, kept 24 hours, behind `:metrics`
and `/attempts`. Attempts are written by `queue.settle`, in the transaction of their outcomes."""

from __future__ import annotations

import math

from conduit.domain.attempt_series import BUCKET_SECONDS, SeriesBucket, fill_series, series_since
from conduit.domain.dataconnectors import METRICS_WINDOW
from conduit.store.postgres.database import Database
from conduit.store.postgres.queue import rowcount
from conduit.store.records import Attempt
from conduit.store.rows import attempt_from_row


class PgAttemptLog:
    db: Database

    async def dataconnector_metrics(self, connector_id: str, now: float) -> tuple[int, int, float]:
        """`(success_count, error_count, latency99p_seconds)` over attempts in (now - 3 h, now]:
        every failed attempt is an error; the p99 is the nearest-rank 99th percentile of the
        successes' latency (0.0 without any), as on SQLite."""
        since = now - METRICS_WINDOW
        row = await self.db.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)"
            " FROM delivery_attempts WHERE connector_id = $1 AND at > $2 AND at <= $3",
            connector_id,
            since,
            now,
        )
        successes, failures = int(row[0]), int(row[1])
        latency = 0.0
        if successes:
            offset = successes - math.ceil(0.99 * successes)
            value = await self.db.pool.fetchval(
                "SELECT latency FROM delivery_attempts"
                " WHERE connector_id = $1 AND at > $2 AND at <= $3 AND success"
                " ORDER BY latency DESC LIMIT 1 OFFSET $4",
                connector_id,
                since,
                now,
                offset,
            )
            latency = float(value) if value is not None else 0.0
        return successes, failures, latency

    async def dataconnector_series(self, connector_id: str, now: float) -> list[SeriesBucket]:
        """The same attempts per 10-minute bucket: 18 buckets, oldest first, empty ones included
        (`domain/attempt_series.py`); the bucket is the quotient rounded down, as on SQLite."""
        rows = await self.db.pool.fetch(
            "SELECT floor(at / $1)::bigint AS bucket, count(*) FILTER (WHERE success),"
            " count(*) FILTER (WHERE NOT success)"
            " FROM delivery_attempts WHERE connector_id = $2 AND at >= $3 AND at <= $4"
            " GROUP BY bucket",
            BUCKET_SECONDS,
            connector_id,
            series_since(now),
            now,
        )
        return fill_series(now, ((r[0], r[1], r[2]) for r in rows))

    async def list_delivery_attempts(
        self, connector_id: str, limit: int, before: tuple[float, int] | None = None
    ) -> list[Attempt]:
        """Up to `limit` attempts, newest first, strictly older than the `(at, id)` keyset."""
        if before is None:
            rows = await self.db.pool.fetch(
                "SELECT id, event_id, attempt, at, success, status_code, error, latency"
                " FROM delivery_attempts WHERE connector_id = $1"
                " ORDER BY at DESC, id DESC LIMIT $2",
                connector_id,
                limit,
            )
        else:
            rows = await self.db.pool.fetch(
                "SELECT id, event_id, attempt, at, success, status_code, error, latency"
                " FROM delivery_attempts WHERE connector_id = $1 AND (at, id) < ($2, $3)"
                " ORDER BY at DESC, id DESC LIMIT $4",
                connector_id,
                before[0],
                before[1],
                limit,
            )
        return [attempt_from_row(r) for r in rows]

    async def prune_attempts(self, before: float, limit: int) -> int:
        return rowcount(
            await self.db.pool.execute(
                "DELETE FROM delivery_attempts WHERE id IN (SELECT id FROM delivery_attempts"
                " WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                before,
                limit,
            )
        )
