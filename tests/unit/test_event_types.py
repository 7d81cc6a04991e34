"""Event shapes: every body the official client publishes is completed into what its parser reads.

Each emitted event is parsed with `disruptive.events.Event`, the parser every DT integration uses,
which reads every field without defaults; a missing field would raise KeyError there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import disruptive as dt
import orjson
import pytest

from conduit.domain.errors import BadRequest
from conduit.domain.event_types import (
    DEVICE_TYPE_EVENTS,
    EVENT_TYPES,
    LABELS_CHANGED,
    PUBLISHABLE_EVENT_TYPES,
    check_event_types,
    envelope,
    format_micros,
    normalize_published,
    parse_micros,
    ping_envelope,
)
from tests.harness.events import CLIENT_EVENTS

NOW = "2026-11-22T10:00:00.123456Z"
EARLIER = "2026-11-22T09:59:00.000001Z"


def device_type_for(event_type: str) -> str:
    return next(d for d, types in DEVICE_TYPE_EVENTS.items() if event_type in types)


def emit(event_type: str, raw: dict[str, Any], device_type: str | None = None) -> dict[str, Any]:
    """Normalise like the publish path does, render compact JSON, and read it back."""
    published = normalize_published(
        device_type or device_type_for(event_type), {event_type: raw}, NOW
    )
    event = envelope("c82gg9catj3vmh4248og", "p1", "emu1", event_type, published.data, NOW)
    parsed: dict[str, Any] = orjson.loads(orjson.dumps(event))
    return parsed


def test_every_publishable_type_has_a_client_example() -> None:
    assert set(CLIENT_EVENTS) == PUBLISHABLE_EVENT_TYPES
    assert set(EVENT_TYPES) == PUBLISHABLE_EVENT_TYPES | {LABELS_CHANGED}
    assert set(EVENT_TYPES) == set(dt.events.EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(CLIENT_EVENTS))
def test_minimal_client_body_parses_with_the_official_event_parser(event_type: str) -> None:
    data = CLIENT_EVENTS[event_type]
    emitted = emit(event_type, dict(data._raw))
    assert list(emitted) == ["eventId", "targetName", "eventType", "data", "timestamp"]
    assert emitted["timestamp"] == NOW
    assert emitted["data"][event_type]["updateTime"] == NOW, "updateTime is the receipt time"
    event = dt.events.Event(emitted)
    assert event.event_type == event_type
    assert event.device_id == "emu1" and event.project_id == "p1"
    assert type(event.data) is type(data)
    assert event.data.timestamp == datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)


def test_temperature_is_completed_with_a_sample_and_backfill_flag() -> None:
    emitted = emit("temperature", {"value": 27})
    # The exact shape and key order of DT's own captured push (SPEC §1).
    assert orjson.dumps(emitted["data"]) == (
        b'{"temperature":{"value":27,"updateTime":"' + NOW.encode() + b'","samples":[{"value":27,'
        b'"sampleTime":"' + NOW.encode() + b'"}],"isBackfilled":false}}'
    )
    event = dt.events.Event(emitted)
    assert event.data.celsius == 27 and event.data.is_backfilled is False
    assert [s.celsius for s in event.data.samples] == [27]


def test_temperature_keeps_what_the_publisher_gave() -> None:
    sample = dt.events.TemperatureSample(celsius=3.0, timestamp=EARLIER)
    data = dt.events.Temperature(
        celsius=3.5, samples=[sample], is_backfilled=True, timestamp=EARLIER
    )
    emitted = emit("temperature", dict(data._raw))["data"]["temperature"]
    assert emitted == {
        "value": 3.5,
        "updateTime": EARLIER,
        "samples": [{"value": 3.0, "sampleTime": EARLIER}],
        "isBackfilled": True,
    }


def test_humidity_samples_default_to_the_reading() -> None:
    emitted = emit("humidity", {"temperature": 22, "relativeHumidity": 55.5})["data"]["humidity"]
    assert emitted["samples"] == [{"temperature": 22, "relativeHumidity": 55.5, "sampleTime": NOW}]
    assert emitted["isBackfilled"] is False
    event = dt.events.Event(emit("humidity", {"temperature": 22, "relativeHumidity": 55.5}))
    assert event.data.samples[0].relative_humidity == 55.5


def test_network_status_accepts_the_clients_snake_case_cloud_connectors() -> None:
    emitted = emit("networkStatus", dict(CLIENT_EVENTS["networkStatus"]._raw))
    status = emitted["data"]["networkStatus"]
    assert list(status) == [
        "signalStrength",
        "rssi",
        "updateTime",
        "cloudConnectors",
        "transmissionMode",
    ]
    # the client sends no per-connector rssi: it inherits the device's
    assert status["cloudConnectors"] == [
        {"id": "bdkjbo2v0000uk377c4g", "signalStrength": 75, "rssi": -70}
    ]
    assert status["transmissionMode"] == "LOW_POWER_STANDARD_MODE"


def test_optional_lists_default_to_empty() -> None:
    assert (
        emit("deskOccupancy", {"state": "NOT_OCCUPIED"})["data"]["deskOccupancy"]["remarks"] == []
    )
    assert (
        emit("ethernetStatus", {"macAddress": "m", "ipAddress": "i"})["data"]["ethernetStatus"][
            "errors"
        ]
        == []
    )
    assert (
        emit("connectionStatus", {"connection": "OFFLINE"})["data"]["connectionStatus"]["available"]
        == []
    )


def test_update_time_given_by_the_publisher_is_normalised() -> None:
    emitted = emit("touch", {"updateTime": "2026-11-22T09:59:00.000001+00:00"})
    assert emitted["data"]["touch"]["updateTime"] == EARLIER
    assert emitted["timestamp"] == NOW, "the envelope timestamp is always the receipt time"


def test_labels_changed_envelope_is_not_keyed_and_parses() -> None:
    data = {"added": {"a": "1"}, "modified": {"b": "2"}, "removed": ["c"]}
    event = envelope("e1", "p1", "d1", LABELS_CHANGED, data, NOW)
    assert event["data"] == data
    parsed = dt.events.Event(orjson.loads(orjson.dumps(event)))
    assert parsed.data.added == {"a": "1"} and parsed.data.removed == ["c"]


def test_ping_envelope() -> None:
    ping = ping_envelope("e1", "p1", NOW)
    assert ping == {
        "eventId": "e1",
        "targetName": "projects/p1",
        "eventType": "ping",
        "data": None,
        "timestamp": NOW,
    }


@pytest.mark.parametrize(
    ("device_type", "body", "message"),
    [
        ("touch", {}, "exactly one event"),
        ("touch", {"touch": {}, "networkStatus": {}}, "exactly one event"),
        ("touch", {"labelsChanged": {"added": {}}}, "cannot be published"),
        ("touch", {"sneeze": {}}, "unknown event type"),
        ("touch", {"temperature": {"value": 1}}, "does not report temperature"),
        ("ccon", {"touch": {}}, "does not report touch"),
        ("touch", {"touch": []}, "touch must be an object"),
        ("touch", {"touch": {"foo": 1}}, "unknown field touch.foo"),
        ("temperature", {"temperature": {}}, "temperature.value is required"),
        ("temperature", {"temperature": {"value": "4"}}, "must be a number"),
        ("temperature", {"temperature": {"value": True}}, "must be a number"),
        ("temperature", {"temperature": {"value": 1, "isBackfilled": "no"}}, "must be a boolean"),
        ("temperature", {"temperature": {"value": 1, "samples": {}}}, "must be a list"),
        ("temperature", {"temperature": {"value": 1, "samples": [{"value": 1}]}}, "sampleTime"),
        (
            "temperature",
            {"temperature": {"value": 1, "samples": [{"value": 1, "sampleTime": NOW, "x": 1}]}},
            "unknown field",
        ),
        ("temperature", {"temperature": {"value": 1, "updateTime": "yesterday"}}, "RFC 3339"),
        ("temperature", {"temperature": {"value": 1, "updateTime": 5}}, "RFC 3339"),
        # times the official client could not parse back (years outside 1970-9999 in UTC)
        ("touch", {"touch": {"updateTime": "0001-01-01T00:00:00+14:00"}}, "between 1970"),
        ("touch", {"touch": {"updateTime": "9999-12-31T23:59:59-14:00"}}, "between 1970"),
        ("touch", {"touch": {"updateTime": "1969-12-31T23:59:59Z"}}, "between 1970"),
        (
            "temperature",
            {"temperature": {"value": 1, "samples": [{"value": 1, "sampleTime": "0999-01-01"}]}},
            "between 1970",
        ),
        ("proximity", {"objectPresent": {"state": "MAYBE"}}, "must be one of PRESENT"),
        # an enum given something that is not even a string (once a TypeError, so a 500)
        ("contact", {"contact": {"state": []}}, "contact.state must be one of"),
        ("contact", {"contact": {"state": {}}}, "contact.state must be one of"),
        ("contact", {"contact": {"state": None}}, "contact.state must be one of"),
        ("touchCounter", {"touchCount": {"total": -1}}, "at least 0"),
        ("touchCounter", {"touchCount": {"total": 1.5}}, "must be an integer"),
        ("touch", {"batteryStatus": {"percentage": 101}}, "between 0 and 100"),
        ("touch", {"networkStatus": {"signalStrength": 5}}, "networkStatus.rssi is required"),
        (
            "touch",
            {"networkStatus": {"signalStrength": 5, "rssi": -9, "transmissionMode": "TURBO"}},
            "must be one of",
        ),
        (
            "touch",
            {
                "networkStatus": {
                    "signalStrength": 5,
                    "rssi": -9,
                    "cloudConnectors": [],
                    "cloud_connectors": [],
                }
            },
            "given twice",
        ),
        ("humidity", {"humidity": {"temperature": 1, "relativeHumidity": 120}}, "between 0"),
        ("deskOccupancy", {"deskOccupancy": {"state": "OCCUPIED", "remarks": [1]}}, "string"),
        ("ccon", {"ethernetStatus": {"macAddress": "m"}}, "ipAddress is required"),
        ("ccon", {"connectionStatus": {"connection": "SDS", "available": ["WIFI"]}}, "one of"),
    ],
)
def test_invalid_bodies_are_rejected_with_a_clear_message(
    device_type: str, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        normalize_published(device_type, body, NOW)
    assert message in raised.value.message


def test_each_device_type_reports_the_decided_event_types() -> None:
    assert DEVICE_TYPE_EVENTS["temperature"] == (
        "temperature",
        "touch",
        "networkStatus",
        "batteryStatus",
        "probeWireStatus",
    )
    assert set(DEVICE_TYPE_EVENTS["co2"]) == {
        "co2",
        "pressure",
        "temperature",
        "humidity",
        "touch",
        "networkStatus",
        "batteryStatus",
    }
    assert DEVICE_TYPE_EVENTS["ccon"] == ("connectionStatus", "ethernetStatus", "cellularStatus")
    assert set(DEVICE_TYPE_EVENTS) == set(dt.Device.DEVICE_TYPES)
    for types in DEVICE_TYPE_EVENTS.values():
        assert LABELS_CHANGED not in types


def test_timestamps_round_trip_exactly() -> None:
    micros = parse_micros(NOW, "t")
    assert format_micros(micros) == NOW
    assert parse_micros("2026-11-22T11:00:00.123456+01:00", "t") == micros
    for bad in ("", "2026-13-01T00:00:00Z", "now", "2026-11-22T10:00:00.123456Zjunk"):
        with pytest.raises(BadRequest):
            parse_micros(bad, "startTime")


def test_event_type_filters_must_be_known() -> None:
    assert check_event_types(["touch", "labelsChanged"]) == ["touch", "labelsChanged"]
    with pytest.raises(BadRequest):
        check_event_types(["touch", "tuch"])


@pytest.mark.parametrize("stamp", ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"])
def test_the_extreme_event_times_still_parse_with_the_official_client(stamp: str) -> None:
    data = normalize_published("touch", {"touch": {"updateTime": stamp}}, NOW).data
    event = dt.events.Event(envelope("e", "p", "d", "touch", data, NOW))
    assert event.data.raw["updateTime"] == data["updateTime"]
    assert len(data["updateTime"].split("-")[0]) == 4


# Every JSON kind, to put where another belongs.
_KINDS: dict[str, Any] = {
    "list": [],
    "object": {},
    "null": None,
    "number": 1.5,
    "string": "x",
    "boolean": True,
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every field of a completed event body, nested ones and the first item of lists included."""
    found: list[tuple[tuple[Any, ...], Any]] = [(path, value)] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        found += _leaves(value[0], (*path, 0))
    return found


def _replaced(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = orjson.loads(orjson.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def _wrong_shapes() -> list[tuple[str, str, tuple[Any, ...], Any]]:
    cases = []
    for event_type in sorted(CLIENT_EVENTS):
        device_type = device_type_for(event_type)
        full = normalize_published(
            device_type, {event_type: dict(CLIENT_EVENTS[event_type]._raw)}, NOW
        ).data
        for path, value in _leaves(full):
            for kind, wrong in _KINDS.items():
                if kind != _kind(value) and not (kind == "string" and path[-1] == "updateTime"):
                    cases.append((device_type, event_type, path, wrong))
    return cases


@pytest.mark.parametrize(("device_type", "event_type", "path", "wrong"), _wrong_shapes())
def test_every_field_given_the_wrong_kind_is_a_400_naming_it(
    device_type: str, event_type: str, path: tuple[Any, ...], wrong: Any
) -> None:
    """Every typed field and every enum, given a list, an object, null, a number, a string or a
    boolean where it does not belong: a `BadRequest` that names the field (never a TypeError)."""
    full = normalize_published(
        device_type, {event_type: dict(CLIENT_EVENTS[event_type]._raw)}, NOW
    ).data
    body = {event_type: _replaced(full, path, wrong)}
    with pytest.raises(BadRequest) as raised:
        normalize_published(device_type, body, NOW)
    named = next(step for step in reversed(path) if isinstance(step, str))
    assert named in raised.value.message
