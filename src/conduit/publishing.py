"""The publish path: from a validated event to history, `reported`, queued pushes and streams.

This is the hot path (thousands of publishes per second), so it is deliberately plain: orjson, no
models, one read of the device before (remembered), and exactly ONE store write
(`record_publish`) that commits the `reported` merge, the history row and one queue row per
matching Data Connector together, or nothing. Only after that commit is durable does the caller get
its 200, the stream hub see the event and the dispatcher get the new rows. Server-emitted
`labelsChanged` events take the same route (`change_labels`), so they reach history, streams and
connectors like any other event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from conduit.context import Context
from conduit.domain.devices import DeviceRef
from conduit.domain.event_types import envelope, format_micros, normalize_published, to_micros
from conduit.domain.ids import new_id
from conduit.domain.labels import LabelChange
from conduit.store.records import LabelFailure, Recorded


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


def _after_commit(ctx: Context, recorded: Recorded) -> None:
    """Now durable: show the events to open streams and hand the new rows to the dispatcher."""
    hub = ctx.workers.get("stream_hub")
    if hub is not None:
        for event in recorded.events:
            hub.publish(event)
    ctx.offer_deliveries(recorded.deliveries)


async def publish_event(ctx: Context, device: DeviceRef, body: dict[str, Any]) -> dict[str, Any]:
    """Validate and complete a `:publish` body, commit it, and return the emitted envelope.

    Raises `BadRequest` (nothing written) for a body that is not a valid event of a type this device
    type reports, and `NotFound` if the device was deleted or moved before the write.
    """
    moment = Moment.of(ctx.clock.now())
    published = normalize_published(device.type, body, moment.timestamp)
    event = envelope(
        new_id(moment.now),
        device.project_id,
        device.id,
        published.event_type,
        published.data,
        moment.timestamp,
    )
    recorded = await ctx.store.record_publish(
        device,
        event,
        orjson.dumps(event),
        orjson.dumps(published.data).decode(),
        moment.ts,
        moment.now,
        ctx.born_claimed_until(moment.now),
    )
    _after_commit(ctx, recorded)
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
    recorded = await ctx.store.record_label_change(
        targets,
        compute,
        moment.timestamp,
        moment.ts,
        moment.now,
        ctx.born_claimed_until(moment.now),
    )
    _after_commit(ctx, recorded)
    return recorded.failures
