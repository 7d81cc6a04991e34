"""Devices as plain records, their resource names, and the list rules (search, filter, order)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conduit.domain.errors import BadRequest
from conduit.domain.event_types import DEVICE_TYPE_EVENTS
from conduit.domain.labels import LabelFilter, matches_all


@dataclass(frozen=True)
class Device:
    id: str
    project_id: str
    type: str
    product_number: str
    labels: dict[str, str]
    # event type -> the latest full data of that type, for the types the device has reported so far
    reported: dict[str, Any] = field(default_factory=dict)
    emulated: bool = False
    create_time: float = 0.0

    @property
    def name(self) -> str:
        return device_name(self.project_id, self.id)


@dataclass(frozen=True)
class DeviceRef:
    """What the publish path needs to know about a device before it writes (one indexed read)."""

    id: str
    project_id: str
    type: str
    product_number: str
    emulated: bool


def device_name(project_id: str, device_id: str) -> str:
    return f"projects/{project_id}/devices/{device_id}"


def parse_device_name(value: Any, what: str = "devices") -> tuple[str, str]:
    """`projects/{p}/devices/{d}` as (project id, device id); anything else is a 400."""
    parts = value.split("/") if isinstance(value, str) else []
    if (
        len(parts) != 4
        or parts[0] != "projects"
        or parts[2] != "devices"
        or not parts[1]
        or not parts[3]
    ):
        raise BadRequest(f"{what}: {value!r} is not a device name like projects/<p>/devices/<d>")
    return parts[1], parts[3]


def reported_view(device_type: str, reported: dict[str, Any]) -> dict[str, Any]:
    """`reported` as the API shows it: a key per event type of its type, null until seen."""
    return {event_type: reported.get(event_type) for event_type in DEVICE_TYPE_EVENTS[device_type]}


@dataclass(frozen=True)
class DeviceQuery:
    """The filters of `GET /projects/{p}/devices` (SPEC §6.3); empty matches all."""

    text: str = ""
    device_ids: frozenset[str] = frozenset()
    device_types: frozenset[str] = frozenset()
    product_numbers: frozenset[str] = frozenset()
    label_filters: tuple[LabelFilter, ...] = ()

    def matches(self, device: Device) -> bool:
        if self.device_ids and device.id not in self.device_ids:
            return False
        if self.device_types and device.type not in self.device_types:
            return False
        if self.product_numbers and device.product_number not in self.product_numbers:
            return False
        if self.label_filters and not matches_all(device.labels, list(self.label_filters)):
            return False
        return not self.text or _matches_text(device, self.text)


def _matches_text(device: Device, text: str) -> bool:
    """Keyword search: each word occurs (any case) in the id, type, a label key or value."""
    haystack = " ".join(
        [
            device.id,
            device.type,
            device.product_number,
            *device.labels.keys(),
            *device.labels.values(),
        ]
    ).lower()
    return all(word in haystack for word in text.lower().split())


_ORDER_ROOTS = {"reported", "labels", "type", "name", "id", "productNumber"}


@dataclass(frozen=True)
class DeviceOrder:
    """`order_by` in dot notation (`reported.temperature.value`); `-` = descending."""

    path: tuple[str, ...]
    descending: bool

    @classmethod
    def parse(cls, raw: str | None) -> DeviceOrder | None:
        if not raw:
            return None
        descending = raw.startswith("-")
        path = tuple(raw.removeprefix("-").split("."))
        if path[0] not in _ORDER_ROOTS or any(not part for part in path):
            raise BadRequest(
                f"order_by {raw!r} is not supported: use reported.<eventType>.<field>, "
                "labels.<key>, type, name or productNumber"
            )
        if path[0] in ("reported", "labels") and len(path) < 2:
            raise BadRequest(f"order_by {raw!r} needs a field after {path[0]}")
        return cls(path, descending)

    def value_of(self, device: Device) -> Any:
        root, rest = self.path[0], self.path[1:]
        value: Any
        if root == "reported":
            value = device.reported
        elif root == "labels":
            return device.labels.get(".".join(rest))
        elif root in ("name", "id"):
            return device.id
        elif root == "type":
            return device.type
        else:
            return device.product_number
        for part in rest:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def sort(self, devices: list[Device]) -> list[Device]:
        """Stable: by the value (numbers before strings), devices lacking it last, then by id."""
        present: list[tuple[tuple[int, Any], Device]] = []
        missing: list[Device] = []
        for device in devices:
            value = self.value_of(device)
            if value is None or isinstance(value, dict | list):
                missing.append(device)
            elif isinstance(value, bool | int | float):
                present.append(((0, value), device))
            else:
                present.append(((1, str(value)), device))
        present.sort(key=lambda item: item[1].id)
        present.sort(key=lambda item: item[0], reverse=self.descending)
        return [d for _, d in present] + sorted(missing, key=lambda d: d.id)
