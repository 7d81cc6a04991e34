"""Event types: which device type reports which events, the data shape of each, and the envelope.

Why a server-side shape at all: the official client's parser (`disruptive.events.Event`) reads every
field of an event without defaults, while the same client publishes minimal bodies (`{"touch": {}}`,
`{"temperature": {"value": 4.0}}`). So every published body is checked field by field (wrong type,
unknown field, missing required field: 400) and then completed with what the publisher left out
(SPEC §11 "Full shapes out"), and every event Conduit emits (history, stream, pushes, `reported`)
has the full shape.

The field order of each shape is the order DT Cloud emits (SPEC §1 captures, §6.2 fixtures), because
pushes are compact JSON whose exact bytes receivers hash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from conduit.domain.errors import BadRequest

TOUCH = "touch"
TEMPERATURE = "temperature"
OBJECT_PRESENT = "objectPresent"
HUMIDITY = "humidity"
OBJECT_PRESENT_COUNT = "objectPresentCount"
TOUCH_COUNT = "touchCount"
WATER_PRESENT = "waterPresent"
NETWORK_STATUS = "networkStatus"
BATTERY_STATUS = "batteryStatus"
LABELS_CHANGED = "labelsChanged"
CONNECTION_STATUS = "connectionStatus"
ETHERNET_STATUS = "ethernetStatus"
CELLULAR_STATUS = "cellularStatus"
CO2 = "co2"
PRESSURE = "pressure"
MOTION = "motion"
DESK_OCCUPANCY = "deskOccupancy"
CONTACT = "contact"
PROBE_WIRE_STATUS = "probeWireStatus"
PING = "ping"  # stream keep-alive only; never stored or pushed

_SENSOR_COMMON = (TOUCH, NETWORK_STATUS, BATTERY_STATUS)

# SPEC §11: which event types each device type reports; publishing any other type to it is a 400.
DEVICE_TYPE_EVENTS: dict[str, tuple[str, ...]] = {
    "temperature": (TEMPERATURE, *_SENSOR_COMMON, PROBE_WIRE_STATUS),
    "touch": _SENSOR_COMMON,
    "proximity": (OBJECT_PRESENT, *_SENSOR_COMMON),
    "humidity": (HUMIDITY, *_SENSOR_COMMON),
    "proximityCounter": (OBJECT_PRESENT_COUNT, *_SENSOR_COMMON),
    "touchCounter": (TOUCH_COUNT, *_SENSOR_COMMON),
    "waterDetector": (WATER_PRESENT, *_SENSOR_COMMON),
    "co2": (CO2, PRESSURE, TEMPERATURE, HUMIDITY, *_SENSOR_COMMON),
    "motion": (MOTION, *_SENSOR_COMMON),
    "deskOccupancy": (DESK_OCCUPANCY, *_SENSOR_COMMON),
    "contact": (CONTACT, *_SENSOR_COMMON),
    "ccon": (CONNECTION_STATUS, ETHERNET_STATUS, CELLULAR_STATUS),
}
DEVICE_TYPES: tuple[str, ...] = tuple(DEVICE_TYPE_EVENTS)

MAX_TEXT = 1024

# ---- RFC 3339 with exact microseconds ------------------------------------------------------------
# Times are carried as integer microseconds so a timestamp rendered into an event and parsed back
# from a query (`startTime=<that timestamp>`) compare equal; float seconds may differ by a bit.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def format_micros(micros: int) -> str:
    """RFC 3339 as DT Cloud writes it: UTC, six fractional digits, `Z` (runs once per event)."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{fraction:06d}Z"


def parse_micros(value: str, what: str) -> int:
    """An RFC 3339 timestamp as integer microseconds since the epoch; anything else is a 400."""
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        raise BadRequest(f"{what} must be an RFC 3339 timestamp")
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{what} must be an RFC 3339 timestamp, got {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MICRO


# ---- field checkers ------------------------------------------------------------------------------
# A checker takes (path, value, fields filled so far) and returns the value to emit, or raises 400.

Checker = Callable[[str, Any, dict[str, Any]], Any]
Default = Callable[[dict[str, Any], str], Any]


def _fail(path: str, expected: str, value: Any) -> BadRequest:
    return BadRequest(f"{path} must be {expected}, got {_describe(value)}")


def _describe_value(value: Any) -> str:
    """A scalar as it was written; anything else by its kind (never a whole structure)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return repr(value)
    return _describe(value)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# The JSON Schema of each checker, registered where the checker is made, so the OpenAPI document
# (`data_schema`) is read from the very description the validator runs.
_SCHEMA_OF: dict[Checker, dict[str, Any]] = {}


def _described(check: Checker, schema: dict[str, Any]) -> Checker:
    _SCHEMA_OF[check] = schema
    return check


def _bounds(low: float | None, high: float | None) -> dict[str, Any]:
    return {
        **({"minimum": low} if low is not None else {}),
        **({"maximum": high} if high is not None else {}),
    }


def _number(low: float | None = None, high: float | None = None) -> Checker:
    def check(path: str, value: Any, _: dict[str, Any]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(path, "a number", value)
        if (low is not None and value < low) or (high is not None and value > high):
            raise BadRequest(f"{path} must be between {low} and {high}, got {value}")
        return value

    return _described(check, {"type": "number", **_bounds(low, high)})


def _integer(low: int | None = None, high: int | None = None) -> Checker:
    def check(path: str, value: Any, _: dict[str, Any]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, "an integer", value)
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise BadRequest(f"{path} must be {bounds}, got {value}")
        return value

    return _described(check, {"type": "integer", **_bounds(low, high)})


def _boolean(path: str, value: Any, _: dict[str, Any]) -> Any:
    if not isinstance(value, bool):
        raise _fail(path, "a boolean", value)
    return value


def _text(path: str, value: Any, _: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        raise _fail(path, "a string", value)
    if len(value) > MAX_TEXT:
        raise BadRequest(f"{path} must be at most {MAX_TEXT} characters")
    return value


# An event time must render as RFC 3339 with a four-digit year, in UTC, or the official client's
# parser rejects the event (and with it the device whose `reported` holds it); sensors did not
# exist before 1970 either.
MIN_EVENT_MICROS = 0  # 1970-01-01T00:00:00Z
MAX_EVENT_MICROS = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


def _timestamp(path: str, value: Any, _: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        raise _fail(path, "an RFC 3339 timestamp string", value)
    micros = parse_micros(value, path)
    if not MIN_EVENT_MICROS <= micros <= MAX_EVENT_MICROS:
        raise BadRequest(f"{path} must be between 1970-01-01 and 9999-12-31 in UTC, got {value!r}")
    return format_micros(micros)


def _one_of(*choices: str) -> Checker:
    allowed = frozenset(choices)

    def check(path: str, value: Any, _: dict[str, Any]) -> Any:
        # A string first: a list or an object cannot even be looked up in a set (TypeError).
        if not isinstance(value, str) or value not in allowed:
            raise BadRequest(
                f"{path} must be one of {', '.join(choices)}, got {_describe_value(value)}"
            )
        return value

    return _described(check, {"type": "string", "enum": list(choices)})


def _list_of(item: Checker) -> Checker:
    def check(path: str, value: Any, filled: dict[str, Any]) -> Any:
        if not isinstance(value, list):
            raise _fail(path, "a list", value)
        return [item(f"{path}[{i}]", v, filled) for i, v in enumerate(value)]

    return _described(check, {"type": "array", "items": _SCHEMA_OF[item]})


def _object(*fields: Field) -> Checker:
    """A nested object with exactly these fields (unknown ones are a 400), in this order."""

    def check(path: str, value: Any, filled: dict[str, Any]) -> Any:
        if not isinstance(value, dict):
            raise _fail(path, "an object", value)
        return _fill(path, fields, {}, value, filled.get("updateTime", ""), outer=filled)

    return _described(check, fields_schema(fields))


@dataclass(frozen=True)
class Field:
    name: str
    check: Checker
    # None: required. Else called with (fields filled so far, updateTime) when the field is omitted.
    default: Default | None = None
    aliases: tuple[str, ...] = ()


def fields_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    """An object with exactly these fields (aliases accepted), the ones without a default
    required."""
    required = [f.name for f in fields if f.default is None]
    return {
        "type": "object",
        "properties": {n: _SCHEMA_OF[f.check] for f in fields for n in (f.name, *f.aliases)},
        **({"required": required} if required else {}),
        "additionalProperties": False,
    }


def _fill(
    path: str,
    fields: tuple[Field, ...],
    accepted: Mapping[str, str],
    raw: dict[str, Any],
    update_time: str,
    outer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    names = accepted or {n: f.name for f in fields for n in (f.name, *f.aliases)}
    unknown = [k for k in raw if k not in names]
    if unknown:
        raise BadRequest(f"unknown field {path}.{unknown[0]}")
    out: dict[str, Any] = {}
    context = out if outer is None else {**outer, **out}
    for f in fields:
        present = [n for n in (f.name, *f.aliases) if n in raw]
        if len(present) > 1:
            raise BadRequest(f"{path}.{f.name} is given twice (as {' and '.join(present)})")
        if present:
            out[f.name] = f.check(f"{path}.{f.name}", raw[present[0]], context)
        elif f.default is not None:
            out[f.name] = f.default(context, update_time)
        else:
            raise BadRequest(f"{path}.{f.name} is required")
        if outer is not None:
            context[f.name] = out[f.name]
    return out


def _receipt_time(_: dict[str, Any], update_time: str) -> str:
    return update_time


def _empty_list(_: dict[str, Any], __: str) -> list[Any]:
    return []


def _false(_: dict[str, Any], __: str) -> bool:
    return False


def _constant(value: str) -> Default:
    return lambda _, __: value


def _outer_rssi(filled: dict[str, Any], _: str) -> Any:
    return filled["rssi"]


def _temperature_samples(filled: dict[str, Any], _: str) -> list[dict[str, Any]]:
    return [{"value": filled["value"], "sampleTime": filled["updateTime"]}]


def _humidity_samples(filled: dict[str, Any], _: str) -> list[dict[str, Any]]:
    return [
        {
            "temperature": filled["temperature"],
            "relativeHumidity": filled["relativeHumidity"],
            "sampleTime": filled["updateTime"],
        }
    ]


_described(_boolean, {"type": "boolean"})
_described(_text, {"type": "string", "maxLength": MAX_TEXT})
_described(_timestamp, {"type": "string", "format": "date-time"})
_UPDATE_TIME = Field("updateTime", _timestamp, _receipt_time)
_STATE_TYPES: dict[str, tuple[str, ...]] = {
    OBJECT_PRESENT: ("PRESENT", "NOT_PRESENT"),
    WATER_PRESENT: ("PRESENT", "NOT_PRESENT"),
    MOTION: ("MOTION_DETECTED", "NO_MOTION_DETECTED"),
    CONTACT: ("OPEN", "CLOSED"),
    PROBE_WIRE_STATUS: (
        "INVALID_WIRE_CONFIGURATION",
        "INVALID_COEFFICIENT_CONFIGURATION",
        "TWO_WIRE",
        "THREE_WIRE",
        "FOUR_WIRE",
    ),
}
_ERRORS = Field(
    "errors",
    _list_of(_object(Field("code", _integer()), Field("message", _text))),
    _empty_list,
)

# The data shape of every publishable event type, fields in DT Cloud's emitted order.
SHAPES: dict[str, tuple[Field, ...]] = {
    TOUCH: (_UPDATE_TIME,),
    TEMPERATURE: (
        Field("value", _number()),
        _UPDATE_TIME,
        Field(
            "samples",
            _list_of(_object(Field("value", _number()), Field("sampleTime", _timestamp))),
            _temperature_samples,
        ),
        Field("isBackfilled", _boolean, _false),
    ),
    HUMIDITY: (
        Field("temperature", _number()),
        Field("relativeHumidity", _number(0, 100)),
        _UPDATE_TIME,
        Field(
            "samples",
            _list_of(
                _object(
                    Field("temperature", _number()),
                    Field("relativeHumidity", _number(0, 100)),
                    Field("sampleTime", _timestamp),
                )
            ),
            _humidity_samples,
        ),
        Field("isBackfilled", _boolean, _false),
    ),
    **{
        event_type: (Field("state", _one_of(*states)), _UPDATE_TIME)
        for event_type, states in _STATE_TYPES.items()
    },
    OBJECT_PRESENT_COUNT: (Field("total", _integer(0)), _UPDATE_TIME),
    TOUCH_COUNT: (Field("total", _integer(0)), _UPDATE_TIME),
    CO2: (Field("ppm", _integer(0)), _UPDATE_TIME),
    PRESSURE: (Field("pascal", _number(0)), _UPDATE_TIME),
    DESK_OCCUPANCY: (
        Field("state", _one_of("OCCUPIED", "NOT_OCCUPIED")),
        Field("remarks", _list_of(_text), _empty_list),
        _UPDATE_TIME,
    ),
    NETWORK_STATUS: (
        Field("signalStrength", _integer(0, 100)),
        Field("rssi", _integer()),
        _UPDATE_TIME,
        Field(
            "cloudConnectors",
            _list_of(
                _object(
                    Field("id", _text),
                    Field("signalStrength", _integer(0, 100)),
                    Field("rssi", _integer(), _outer_rssi),
                )
            ),
            _empty_list,
            # disruptive 1.7.3's NetworkStatus serialises the list under this snake_case name.
            aliases=("cloud_connectors",),
        ),
        Field(
            "transmissionMode",
            _one_of("LOW_POWER_STANDARD_MODE", "HIGH_POWER_BOOST_MODE"),
            _constant("LOW_POWER_STANDARD_MODE"),
        ),
    ),
    BATTERY_STATUS: (Field("percentage", _integer(0, 100)), _UPDATE_TIME),
    CONNECTION_STATUS: (
        Field("connection", _one_of("SDS", "ETHERNET", "CELLULAR", "OFFLINE")),
        Field("available", _list_of(_one_of("ETHERNET", "CELLULAR")), _empty_list),
        _UPDATE_TIME,
    ),
    ETHERNET_STATUS: (
        Field("macAddress", _text),
        Field("ipAddress", _text),
        _ERRORS,
        _UPDATE_TIME,
    ),
    CELLULAR_STATUS: (Field("signalStrength", _integer(0, 100)), _ERRORS, _UPDATE_TIME),
}

PUBLISHABLE_EVENT_TYPES: frozenset[str] = frozenset(SHAPES)
# Every event type a client may filter on (history, stream, connector filters).
EVENT_TYPES: tuple[str, ...] = (*SHAPES, LABELS_CHANGED)
_ACCEPTED: dict[str, dict[str, str]] = {
    event_type: {n: f.name for f in fields for n in (f.name, *f.aliases)}
    for event_type, fields in SHAPES.items()
}


def publish_schema(event_types: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The JSON Schema of a `:publish` body: exactly one `{"<eventType>": {...}}`."""
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {event_type: fields_schema(SHAPES[event_type])},
                "required": [event_type],
                "additionalProperties": False,
            }
            for event_type in (event_types or tuple(SHAPES))
        ]
    }


@dataclass(frozen=True)
class PublishedData:
    event_type: str
    data: dict[str, Any] = field(default_factory=dict)


def check_event_types(values: list[str], what: str = "eventTypes") -> list[str]:
    """Event-type filters must name known types (a typo would otherwise silently match nothing)."""
    for value in values:
        if not isinstance(value, str) or value not in EVENT_TYPES:
            raise BadRequest(f"{what}: unknown event type {value!r}")
    return values


def check_device_type(value: Any, what: str = "type") -> str:
    if not isinstance(value, str) or value not in DEVICE_TYPE_EVENTS:
        raise BadRequest(f"{what} must be one of {', '.join(DEVICE_TYPES)}, got {value!r}")
    return value


def normalize_published(device_type: str, body: dict[str, Any], update_time: str) -> PublishedData:
    """Validate a `:publish` body (`{"<eventType>": {...}}`) and complete it into the full shape.

    `update_time` (the time of receipt, RFC 3339) fills `updateTime` and default sample times.
    """
    if len(body) != 1:
        raise BadRequest('the body must hold exactly one event, e.g. {"touch": {}}')
    ((event_type, raw),) = body.items()
    if event_type == LABELS_CHANGED:
        raise BadRequest(
            "labelsChanged is emitted by Conduit when labels change; it cannot be published"
        )
    fields = SHAPES.get(event_type)
    if fields is None:
        raise BadRequest(f"unknown event type {event_type!r}")
    if event_type not in DEVICE_TYPE_EVENTS[device_type]:
        raise BadRequest(f"a {device_type} device does not report {event_type} events")
    if not isinstance(raw, dict):
        raise _fail(event_type, "an object", raw)
    return PublishedData(
        event_type, _fill(event_type, fields, _ACCEPTED[event_type], raw, update_time)
    )


def envelope(
    event_id: str,
    project_id: str,
    device_id: str,
    event_type: str,
    data: dict[str, Any],
    timestamp: str,
) -> dict[str, Any]:
    """The event envelope, keys in DT Cloud's order; `labelsChanged` data is not keyed by type."""
    return {
        "eventId": event_id,
        "targetName": f"projects/{project_id}/devices/{device_id}",
        "eventType": event_type,
        "data": data if event_type == LABELS_CHANGED else {event_type: data},
        "timestamp": timestamp,
    }


def ping_envelope(event_id: str, project_id: str, timestamp: str) -> dict[str, Any]:
    """A stream keep-alive: `data` is null and the target is the project (SPEC §7.3)."""
    return {
        "eventId": event_id,
        "targetName": f"projects/{project_id}",
        "eventType": PING,
        "data": None,
        "timestamp": timestamp,
    }
