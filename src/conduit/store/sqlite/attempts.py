"""SQLite: the delivery attempt log — one row per attempt, kept 24 hours, behind `:metrics` and
`/attempts`.

Attempts are written by `queue.settle`, in the same transaction as the acks and reschedules they
explain.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from typing import Any

from conduit.domain.attempt_series import BUCKET_SECONDS, SeriesBucket, fill_series, series_since
from conduit.domain.dataconnectors import METRICS_WINDOW
from conduit.store.records import Attempt, AttemptRow
from conduit.store.rows import attempt_from_row
from conduit.store.sqlite.database import Database

_INSERT = (
    "INSERT INTO delivery_attempts(connector_id, event_id, attempt, at, success, status_code,"
    " error, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def record_attempts(conn: sqlite3.Connection, rows: Iterable[AttemptRow]) -> None:
    conn.executemany(_INSERT, rows)


def _metrics(conn: sqlite3.Connection, connector_id: str, now: float) -> tuple[int, int, float]:
    since = now - METRICS_WINDOW
    successes, failures = conn.execute(
        "SELECT coalesce(sum(success != 0), 0), coalesce(sum(success = 0), 0)"
        " FROM delivery_attempts WHERE connector_id = ? AND at > ? AND at <= ?",
        (connector_id, since, now),
    ).fetchone()
    latency = 0.0
    if successes:
        # Nearest rank: the ceil(0.99 n)-th smallest is the (n - ceil(0.99 n))-th from the top.
        offset = successes - math.ceil(0.99 * successes)
        row = conn.execute(
            "SELECT latency FROM delivery_attempts"
            " WHERE connector_id = ? AND at > ? AND at <= ? AND success != 0"
            " ORDER BY latency DESC LIMIT 1 OFFSET ?",
            (connector_id, since, now, offset),
        ).fetchone()
        latency = float(row[0]) if row else 0.0
    return int(successes), int(failures), latency


def _series(conn: sqlite3.Connection, connector_id: str, now: float) -> list[SeriesBucket]:
    # `at` is positive, so truncating the quotient is rounding it down, as `bucket_number` does.
    rows = conn.execute(
        "SELECT CAST(at / ? AS INTEGER) AS bucket, sum(success != 0), sum(success = 0)"
        " FROM delivery_attempts WHERE connector_id = ? AND at >= ? AND at <= ?"
        " GROUP BY bucket",
        (BUCKET_SECONDS, connector_id, series_since(now), now),
    ).fetchall()
    return fill_series(now, rows)


def _attempts(
    conn: sqlite3.Connection, connector_id: str, limit: int, before: tuple[float, int] | None
) -> list[Attempt]:
    where = "connector_id = ?"
    args: list[Any] = [connector_id]
    if before is not None:
        where += " AND (at < ? OR (at = ? AND id < ?))"
        args += [before[0], before[0], before[1]]
    rows = conn.execute(
        "SELECT id, event_id, attempt, at, success, status_code, error, latency"
        f" FROM delivery_attempts WHERE {where} ORDER BY at DESC, id DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    return [attempt_from_row(r) for r in rows]


class SqliteAttemptLog:
    db: Database

    async def dataconnector_metrics(self, connector_id: str, now: float) -> tuple[int, int, float]:
        """`(success_count, error_count, latency99p_seconds)` over attempts in (now - 3 h, now].

        Every failed attempt is an error, timeouts and connection failures included. The p99 is the
        nearest-rank 99th percentile of successful attempts' latency; 0.0 when there were none.
        """
        return self.db.read(lambda c: _metrics(c, connector_id, now))

    async def dataconnector_series(self, connector_id: str, now: float) -> list[SeriesBucket]:
        """The same attempts per 10-minute bucket: 18 buckets, oldest first, empty ones included
        (`domain/attempt_series.py`)."""
        return self.db.read(lambda c: _series(c, connector_id, now))

    async def list_delivery_attempts(
        self, connector_id: str, limit: int, before: tuple[float, int] | None = None
    ) -> list[Attempt]:
        """Up to `limit` attempts, newest first, strictly older than the `(at, id)` keyset `before`.

        A keyset rather than an offset, so attempts recorded while a client pages never shift its
        pages.
        """
        return self.db.read(lambda c: _attempts(c, connector_id, limit, before))

    async def prune_attempts(self, before: float, limit: int) -> int:
        """Delete up to `limit` attempts made before `before`; returns how many went (bounded, so
        one prune never holds the writer for long — call again while it returns `limit`)."""
        return await self.db.write(
            lambda c: int(
                c.execute(
                    "DELETE FROM delivery_attempts WHERE id IN"
                    " (SELECT id FROM delivery_attempts WHERE at < ? ORDER BY at LIMIT ?)",
                    (before, limit),
                ).rowcount
            )
        )
