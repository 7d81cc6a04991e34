"""The one code path that changes a connector's status.

Disabling (by a user or by the system) empties the connector's queue in the same transaction, so
nothing queued before is sent later and re-enabling never backfills (seeds: "Re-enabling the Data
Connector will not backfill"). Enabling resets the delivery-health record, so a re-enabled connector
starts healthy.
"""

from __future__ import annotations

import sqlite3

from conduit.delivery.metrics import DROPPED
from conduit.domain.dataconnectors import ACTIVE, STATUSES


def set_connector_status(
    conn: sqlite3.Connection, connector_id: str, status: str, now: float
) -> int:
    """Set `status` inside the caller's transaction; returns how many queued deliveries were
    dropped."""
    if status not in STATUSES:
        raise ValueError(f"unknown connector status {status}")
    if status == ACTIVE:
        conn.execute(
            "UPDATE dataconnectors SET status = ?, update_time = ?, failing_since = NULL,"
            " consecutive_failures = 0 WHERE id = ? AND status != ?",
            (status, now, connector_id, ACTIVE),
        )
        return 0
    conn.execute(
        "UPDATE dataconnectors SET status = ?, update_time = ? WHERE id = ?",
        (status, now, connector_id),
    )
    dropped = conn.execute(
        "DELETE FROM deliveries WHERE connector_id = ?", (connector_id,)
    ).rowcount
    if dropped:
        conn.execute(
            "INSERT INTO delivery_counters(connector_id, name, value) VALUES (?, 'dropped', ?)"
            " ON CONFLICT(connector_id, name) DO UPDATE SET value = value + excluded.value",
            (connector_id, dropped),
        )
        DROPPED.inc(dropped)
    return int(dropped)
