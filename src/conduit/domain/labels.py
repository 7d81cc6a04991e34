"""Device labels: the rules (SPEC §11), how a batch of changes applies, and label filters.

Labels are how integrations name and group devices (`name` is the display name everywhere), so the
rules are strict and checked before anything is written: a key is 1-128 characters of
`[A-Za-z0-9_.-]`, a value is a string of at most 1024 characters (`""` is a valid value: emulated
devices carry `virtual-sensor: ""`), and a device holds at most 100 labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conduit.domain.errors import BadRequest

MAX_KEY = 128
MAX_VALUE = 1024
MAX_LABELS = 100
VIRTUAL_SENSOR = "virtual-sensor"
_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


class TooManyLabels(BadRequest):
    """A device would hold more than `MAX_LABELS` labels (per device in a batch, else a 400)."""

    def __init__(self) -> None:
        super().__init__("Max labels reached for device.")


def check_key(key: Any, what: str = "label key") -> str:
    if not isinstance(key, str):
        raise BadRequest(f"{what} must be a string")
    if not _KEY.fullmatch(key):
        raise BadRequest(
            f"{what} {key[:140]!r} is invalid: use 1-{MAX_KEY} characters of A-Z a-z 0-9 _ . -"
        )
    return key


def check_value(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"label {key!r} must have a string value")
    if len(value) > MAX_VALUE:
        raise BadRequest(f"label {key!r} value exceeds {MAX_VALUE} characters")
    return value


def check_labels(raw: Any, what: str = "labels") -> dict[str, str]:
    """A `{key: value}` object of valid labels, within the per-device limit."""
    if not isinstance(raw, dict):
        raise BadRequest(f"{what} must be an object of string keys and values")
    labels = {check_key(k): check_value(k, v) for k, v in raw.items()}
    if len(labels) > MAX_LABELS:
        raise TooManyLabels()
    return labels


def check_label_keys(raw: Any, what: str = "removeLabels") -> list[str]:
    if not isinstance(raw, list):
        raise BadRequest(f"{what} must be a list of label keys")
    return [check_key(k, f"{what} entry") for k in raw]


@dataclass(frozen=True)
class LabelChange:
    """The outcome of applying additions and removals to one device's labels."""

    labels: dict[str, str]
    added: dict[str, str] = field(default_factory=dict)
    modified: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.removed)

    def event_data(self) -> dict[str, Any]:
        """The `labelsChanged` event's data (not keyed by the type, SPEC §6.1)."""
        return {"added": self.added, "modified": self.modified, "removed": self.removed}


def apply_changes(current: dict[str, str], add: dict[str, str], remove: list[str]) -> LabelChange:
    """Remove, then add or overwrite; raises `TooManyLabels` if the result exceeds the limit.

    Removing an absent key or setting a label to the value it has is not a change, so it emits
    nothing.
    """
    labels = dict(current)
    removed = []
    for key in remove:
        if key in labels:
            del labels[key]
            removed.append(key)
    added: dict[str, str] = {}
    modified: dict[str, str] = {}
    for key, value in add.items():
        if key not in labels:
            added[key] = value
        elif labels[key] != value:
            modified[key] = value
        labels[key] = value
    if len(labels) > MAX_LABELS and len(labels) > len(current):
        raise TooManyLabels()
    return LabelChange(labels, added, modified, removed)


def replace_labels(current: dict[str, str], new: dict[str, str]) -> LabelChange:
    """The change that turns `current` into exactly `new` (a full replacement, as PUT does)."""
    remove = [k for k in current if k not in new]
    return apply_changes(current, new, remove)


@dataclass(frozen=True)
class LabelFilter:
    """`key=value` matches that value; `key` (or `key=`, as disruptive sends it) matches any."""

    key: str
    value: str | None

    def matches(self, labels: dict[str, str]) -> bool:
        if self.value is None:
            return self.key in labels
        return labels.get(self.key) == self.value


def parse_label_filters(values: list[str]) -> list[LabelFilter]:
    filters = []
    for raw in values:
        key, sep, value = raw.partition("=")
        check_key(key, "label_filters key")
        filters.append(LabelFilter(key, value if sep and value != "" else None))
    return filters


def matches_all(labels: dict[str, str], filters: list[LabelFilter]) -> bool:
    """Every filter must match (filters narrow; they never widen)."""
    return all(f.matches(labels) for f in filters)
