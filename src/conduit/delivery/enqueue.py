"""Enqueue an event to every matching ACTIVE connector, inside the publishing transaction.

This runs once per published event, on the hot path, inside the publish transaction: so an event and
its queue rows commit together or not at all, and a connector created, changed or disabled a moment
ago applies to the very next event (nothing about connectors is cached; reading a project's
connectors is one indexed query). The body is built here, once: every attempt sends exactly these
bytes.

Rows are born claimed (`lease_until`, see `policy.BIRTH_CLAIM_SECONDS`): the local dispatcher, woken
right after the commit, picks them up by id without a second write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import orjson

from conduit.delivery.policy import BIRTH_CLAIM_SECONDS
from conduit.delivery.request import forwarded_labels, push_body

_ACTIVE_CONNECTORS = (
    "SELECT id, events, labels FROM dataconnectors WHERE project_id = ? AND status = 'ACTIVE'"
)
_INSERT = (
    "INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts, next_attempt,"
    " lease_until) VALUES (?, ?, ?, ?, 0, ?, ?)"
)
_EMPTY = "[]"


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

    A connector matches when it is ACTIVE and its `events` filter is empty or names the event's
    type. Runs inside the publish transaction, so an event and its queue rows commit together or not
    at all. Returns how many rows were added.
    """
    connectors = conn.execute(_ACTIVE_CONNECTORS, (project_id,)).fetchall()
    if not connectors:
        return 0
    event_type = envelope["eventType"]
    event_id = envelope["eventId"]
    event_json = orjson.dumps(envelope)
    metadata_json = orjson.dumps(metadata)
    claimed_until = now + BIRTH_CLAIM_SECONDS
    rows = []
    for connector_id, events_json, labels_json in connectors:
        if events_json != _EMPTY and event_type not in orjson.loads(events_json):
            continue
        labels = orjson.loads(labels_json) if labels_json != _EMPTY else ()
        body = push_body(event_json, forwarded_labels(labels, device_labels), metadata_json)
        rows.append((connector_id, event_id, now, body, now, claimed_until))
    if rows:
        conn.executemany(_INSERT, rows)
    return len(rows)


def enqueue_to_connector(
    conn: sqlite3.Connection,
    *,
    connector_id: str,
    connector_labels: list[str],
    envelope: dict[str, Any],
    device_labels: dict[str, str],
    metadata: Mapping[str, str],
    event_time: float,
    now: float,
) -> None:
    """Add one queue row for one connector (used by `:sync`, which bypasses the event-type fan-out).

    `event_time` starts the event's 12-hour delivery window (`:sync` passes the time of the sync).
    """
    body = push_body(
        orjson.dumps(envelope),
        forwarded_labels(connector_labels, device_labels),
        orjson.dumps(metadata),
    )
    conn.execute(
        _INSERT,
        (connector_id, envelope["eventId"], event_time, body, now, now + BIRTH_CLAIM_SECONDS),
    )
