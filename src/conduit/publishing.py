"""The publish path: from a validated event to history, `reported`, queued pushes and streams.

This is the hot path (thousands of publishes per second), so it is deliberately plain: orjson, no
models, one indexed read of the device before, and exactly ONE write job that, inside one
group-committed transaction,

1. updates the device's `reported` (merged in SQL, so concurrent publishes to one device lose
nothing), 2. inserts the event row (history), and 3. enqueues one delivery row per matching Data
Connector (`delivery.enqueue.enqueue_event`),

so the event and its pushes commit together or not at all. Only after that commit is durable does
the caller get its 200, the stream hub see the event and the dispatcher get woken. Server-emitted
`labelsChanged` events take the same route (`change_labels`), so they reach history, streams and
connectors like any other event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from conduit.context import Context
from conduit.delivery.enqueue import enqueue_event
from conduit.domain.devices import Device, DeviceRef
from conduit.domain.errors import NotFound
from conduit.domain.event_types import (
    LABELS_CHANGED,
    envelope,
    format_micros,
    normalize_published,
    to_micros,
)
from conduit.domain.ids import new_id
from conduit.domain.labels import LabelChange, TooManyLabels
from conduit.store.devices import insert_event, labels_for_update, set_labels, set_reported
from conduit.stream_hub import StreamEvent


@dataclass(frozen=True)
class Moment:
    """The time of receipt, in the three forms an event needs (one clock read per event)."""

    now: float  # clock seconds, for queue scheduling
    ts: float  # exact microsecond, as stored in events.ts
    timestamp: str  # RFC 3339, as written into the envelope

    @classmethod
    def of(cls, now: float) -> Moment:
        micros = to_micros(now)
        return cls(now, micros / 1_000_000, format_micros(micros))


@dataclass(frozen=True)
class LabelFailure:
    """One device a label batch could not change (SPEC §9 batch errors), e.g. NOT_FOUND."""

    project_id: str
    device_id: str
    code: str
    message: str


def _metadata(device: DeviceRef | Device) -> dict[str, str]:
    return {
        "deviceId": device.id,
        "projectId": device.project_id,
        "deviceType": device.type,
        "productNumber": device.product_number,
    }


def _record(
    conn: sqlite3.Connection,
    device: DeviceRef | Device,
    event: dict[str, Any],
    body: bytes,
    labels: dict[str, str],
    moment: Moment,
) -> int:
    """History row plus queued pushes for one event, inside the caller's transaction."""
    insert_event(
        conn,
        event_id=event["eventId"],
        project_id=device.project_id,
        device_id=device.id,
        event_type=event["eventType"],
        ts=moment.ts,
        body=body,
    )
    return enqueue_event(
        conn,
        project_id=device.project_id,
        envelope=event,
        device_labels=labels,
        metadata=_metadata(device),
        now=moment.now,
    )


def _after_commit(ctx: Context, events: list[StreamEvent], enqueued: int) -> None:
    """Now durable: show the events to open streams and wake the dispatcher if there is work."""
    hub = ctx.workers.get("stream_hub")
    if hub is not None:
        for event in events:
            hub.publish(event)
    if enqueued > 0:
        ctx.wake_dispatcher()


async def publish_event(ctx: Context, device: DeviceRef, body: dict[str, Any]) -> dict[str, Any]:
    """Validate and complete a `:publish` body, commit it, and return the emitted envelope.

    Raises `BadRequest` (nothing written) for a body that is not a valid event of a type this device
    type reports, and `NotFound` if the device was deleted or moved before the write.
    """
    moment = Moment.of(ctx.clock.now())
    published = normalize_published(device.type, body, moment.timestamp)
    event_type = published.event_type
    event = envelope(
        new_id(moment.now),
        device.project_id,
        device.id,
        event_type,
        published.data,
        moment.timestamp,
    )
    event_body = orjson.dumps(event)
    data_json = orjson.dumps(published.data).decode()

    def write(conn: sqlite3.Connection) -> tuple[dict[str, str], int]:
        labels_json = set_reported(conn, device.project_id, device.id, event_type, data_json)
        if labels_json is None:
            raise NotFound(f"device {device.id} not found")
        labels: dict[str, str] = orjson.loads(labels_json)
        return labels, _record(conn, device, event, event_body, labels, moment)

    labels, enqueued = await ctx.store.db.write(write)
    stream_event = StreamEvent(
        device.project_id, device.id, device.type, event_type, labels, event_body
    )
    _after_commit(ctx, [stream_event], enqueued)
    return event


async def change_labels(
    ctx: Context,
    targets: list[tuple[str, str]],
    compute: Callable[[dict[str, str]], LabelChange],
) -> list[LabelFailure]:
    """Apply a label change to each (project, device), emitting `labelsChanged` for each change.

    All devices change in one transaction; a device that is missing or would exceed the label limit
    is reported back as a failure and left as it was, while the others still change.
    """
    moment = Moment.of(ctx.clock.now())

    def write(conn: sqlite3.Connection) -> tuple[list[LabelFailure], list[StreamEvent], int]:
        failures: list[LabelFailure] = []
        emitted: list[StreamEvent] = []
        enqueued = 0
        for project_id, device_id in dict.fromkeys(targets):
            device = labels_for_update(conn, project_id, device_id)
            if device is None:
                failures.append(
                    LabelFailure(project_id, device_id, "NOT_FOUND", "Device not found.")
                )
                continue
            try:
                change = compute(device.labels)
            except TooManyLabels as exc:
                failures.append(
                    LabelFailure(project_id, device_id, "INVALID_ARGUMENT", exc.message)
                )
                continue
            if not change.changed:
                continue
            set_labels(conn, device_id, change.labels)
            event = envelope(
                new_id(moment.now),
                project_id,
                device_id,
                LABELS_CHANGED,
                change.event_data(),
                moment.timestamp,
            )
            body = orjson.dumps(event)
            enqueued += _record(conn, device, event, body, change.labels, moment)
            emitted.append(
                StreamEvent(project_id, device_id, device.type, LABELS_CHANGED, change.labels, body)
            )
        return failures, emitted, enqueued

    failures, emitted, enqueued = await ctx.store.db.write(write)
    _after_commit(ctx, emitted, enqueued)
    return failures
