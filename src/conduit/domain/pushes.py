"""Which connectors an event goes to, and the exact bytes each of them is sent (SPEC §1).

Pure rules, shared by every store backend: a backend reads a project's ACTIVE connectors inside the
publishing transaction and asks `fan_out` what to queue, so both backends decide identically.

The body is DT Cloud's: compact JSON with exactly `event`, `labels`, `metadata`, in that order.
`labels` holds only the label keys the connector forwards that the device has, with the values the
device had when the event was received. The body is built once, at enqueue, so every retry of an
event sends identical bytes and the checksum in its (fresh) signature covers exactly those bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_EMPTY = "[]"


@dataclass(frozen=True, slots=True)
class ConnectorFilter:
    """What fan-out needs of an ACTIVE connector, as stored (JSON arrays, "[]" = none)."""

    id: str
    events_json: str
    labels_json: str


@dataclass(frozen=True, slots=True)
class Push:
    """One queue row to add: the connector and the body every attempt of it will send."""

    connector_id: str
    body: bytes


def forwarded_labels(
    connector_labels: Iterable[str], device_labels: Mapping[str, str]
) -> dict[str, str]:
    """The device labels a connector forwards: the keys it lists that the device has, in order."""
    return {key: device_labels[key] for key in connector_labels if key in device_labels}


def push_body(event_json: bytes, labels: Mapping[str, str], metadata_json: bytes) -> bytes:
    """Assemble the body from pre-serialised parts (the event and metadata are shared by every
    connector an event fans out to, so they are serialised once per event, not once per connector).
    """
    return (
        b'{"event":'
        + event_json
        + b',"labels":'
        + orjson.dumps(labels)
        + b',"metadata":'
        + metadata_json
        + b"}"
    )


def fan_out(
    connectors: Iterable[ConnectorFilter],
    envelope: Mapping[str, Any],
    device_labels: Mapping[str, str],
    metadata: Mapping[str, str],
) -> list[Push]:
    """The pushes an event makes: one per connector whose `events` filter is empty or names the
    event's type (the connectors given are the project's ACTIVE ones)."""
    event_type = envelope["eventType"]
    event_json = b""
    metadata_json = b""
    pushes: list[Push] = []
    for connector in connectors:
        if connector.events_json != _EMPTY and event_type not in orjson.loads(
            connector.events_json
        ):
            continue
        if not event_json:
            event_json = orjson.dumps(envelope)
            metadata_json = orjson.dumps(metadata)
        labels = orjson.loads(connector.labels_json) if connector.labels_json != _EMPTY else ()
        pushes.append(
            Push(
                connector.id,
                push_body(event_json, forwarded_labels(labels, device_labels), metadata_json),
            )
        )
    return pushes


def push_to(
    connector_labels: Iterable[str],
    envelope: Mapping[str, Any],
    device_labels: Mapping[str, str],
    metadata: Mapping[str, str],
) -> bytes:
    """The body of one push to one connector, whatever its event filter (`:sync`, replay)."""
    return push_body(
        orjson.dumps(envelope),
        forwarded_labels(connector_labels, device_labels),
        orjson.dumps(metadata),
    )
