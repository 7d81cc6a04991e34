"""Enqueue an event to every matching ACTIVE connector, inside the publishing transaction."""

from __future__ import annotations

import sqlite3
from typing import Any


def enqueue_event(
    conn: sqlite3.Connection,
    *,
    project_id: str,
    envelope: dict[str, Any],
    device_labels: dict[str, str],
    metadata: dict[str, str],
    now: float,
) -> int:
    """Add one queue row per matching connector, with the exact body bytes every attempt will send.

    Runs inside the publish transaction, so an event and its queue rows commit together or not at all.
    Returns how many rows were added.
    """
    return 0


def enqueue_to_connector(
    conn: sqlite3.Connection,
    *,
    connector_id: str,
    connector_labels: list[str],
    envelope: dict[str, Any],
    device_labels: dict[str, str],
    metadata: dict[str, str],
    event_time: float,
    now: float,
) -> None:
    """Add one queue row for one connector (used by `:sync`, which bypasses the event-type fan-out)."""
    raise NotImplementedError
