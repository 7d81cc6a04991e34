"""The delivery attempt log: one row per attempt, kept 24 hours, behind `:metrics` and `/attempts`.

Plain functions of a connection, so the dispatcher can write attempts in the same transaction as the
acks and reschedules they explain, and the REST resource can read them with its own connection.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

METRICS_WINDOW = 3 * 3600.0  # `:metrics` covers the last 3 hours (SPEC §4.5)
RETENTION = 24 * 3600.0  # attempts older than this are pruned

# (connector_id, event_id, attempt, at, success, status_code, error, latency)
AttemptRow = tuple[str, str, int, float, int, int | None, str | None, float]

_INSERT = (
    "INSERT INTO delivery_attempts(connector_id, event_id, attempt, at, success, status_code,"
    " error, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Attempt:
    id: int
    event_id: str
    attempt: int
    at: float
    success: bool
    status_code: int | None
    error: str | None
    latency: float  # seconds


def record_attempts(conn: sqlite3.Connection, rows: Iterable[AttemptRow]) -> None:
    conn.executemany(_INSERT, rows)


def metrics_for(conn: sqlite3.Connection, connector_id: str, now: float) -> tuple[int, int, float]:
    """`(success_count, error_count, latency99p_seconds)` over attempts in (now - 3 h, now].

    Every failed attempt is an error, timeouts and connection failures included. The p99 is the
    nearest-rank 99th percentile of successful attempts' latency; 0.0 when there were none.
    """
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


def list_attempts(
    conn: sqlite3.Connection,
    connector_id: str,
    limit: int,
    before: tuple[float, int] | None = None,
) -> list[Attempt]:
    """Up to `limit` attempts, newest first, strictly older than the `(at, id)` keyset `before`.

    A keyset rather than an offset, so attempts recorded while a client pages never shift its pages.
    """
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
    return [
        Attempt(
            id=r[0],
            event_id=r[1],
            attempt=r[2],
            at=r[3],
            success=bool(r[4]),
            status_code=r[5],
            error=r[6],
            latency=float(r[7]),
        )
        for r in rows
    ]


def prune_attempts(conn: sqlite3.Connection, now: float, limit: int) -> int:
    """Delete up to `limit` attempts older than 24 hours; returns how many went (bounded, so one
    prune never holds the writer for long — call again while it returns `limit`)."""
    return int(
        conn.execute(
            "DELETE FROM delivery_attempts WHERE id IN"
            " (SELECT id FROM delivery_attempts WHERE at < ? ORDER BY at LIMIT ?)",
            (now - RETENTION, limit),
        ).rowcount
    )
