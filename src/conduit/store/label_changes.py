"""What a batch label change does to one device, decided the same way by every backend.

A backend reads the device inside its transaction and asks `decide`: a failure to report, nothing
to do, or the new labels plus the `labelsChanged` event to record (history, queue rows, streams)
exactly like a published one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from conduit.domain.devices import Device, DeviceRef
from conduit.domain.event_types import LABELS_CHANGED, envelope
from conduit.domain.ids import new_id
from conduit.domain.labels import LabelChange, TooManyLabels
from conduit.store.records import LabelFailure, StoredEvent


@dataclass(frozen=True)
class Relabel:
    """A device's new labels and the event that announces them."""

    device: DeviceRef
    labels: dict[str, str]
    envelope: dict[str, Any]
    body: bytes

    @property
    def labels_json(self) -> str:
        return orjson.dumps(self.labels).decode()

    def stored(self) -> StoredEvent:
        d = self.device
        return StoredEvent(d.project_id, d.id, d.type, LABELS_CHANGED, self.labels, self.body)


def decide(
    project_id: str,
    device_id: str,
    device: Device | None,
    compute: Callable[[dict[str, str]], LabelChange],
    timestamp: str,
    now: float,
) -> LabelFailure | Relabel | None:
    if device is None:
        return LabelFailure(project_id, device_id, "NOT_FOUND", "Device not found.")
    try:
        change = compute(device.labels)
    except TooManyLabels as exc:
        return LabelFailure(project_id, device_id, "INVALID_ARGUMENT", exc.message)
    if not change.changed:
        return None
    event = envelope(
        new_id(now), project_id, device_id, LABELS_CHANGED, change.event_data(), timestamp
    )
    ref = DeviceRef(device.id, project_id, device.type, device.product_number, device.emulated)
    return Relabel(ref, change.labels, event, orjson.dumps(event))
