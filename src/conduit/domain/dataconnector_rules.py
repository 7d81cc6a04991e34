"""What a client may write into a Data Connector, and how a PATCH combines with what is stored.

Pure: no I/O, no web framework, no store. The API parses a request body with these functions and
hands the result to the store; every rule here raises `BadRequest` before anything is written, so a
rejected request changes nothing. The URL's *address* rule (SSRF) needs DNS and lives in
`conduit.delivery.addresses`.

PATCH (SPEC §4.4, §11) has to satisfy three official clients at once:
- python `disruptive` sends only the fields it sets, no mask, and `"httpConfig": {}` when nothing in
  it is set (the CLI always does) — so absent means unchanged, and `httpConfig` merges per sub-key;
- Swift sends the fields it sets plus `update_mask=<paths>` (empty when nothing is set);
- terraform sends the whole resource, `name` included, without a mask.
So: with a non-empty mask, exactly the masked paths change (a masked path missing from the body
takes its empty value, as in Google AIP-134; `url` and `status` have none, so that is a 400);
without one, every field present changes. The body is fully validated either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from conduit.domain.dataconnectors import (
    CLIENT_SETTABLE_STATUSES,
    DT_JWT,
    HTTP_PUSH,
    SIGNATURE_SCHEMES,
    SYSTEM_DISABLED,
    DataConnector,
)
from conduit.domain.errors import BadRequest, about_field
from conduit.domain.event_types import EVENT_TYPES
from conduit.domain.labels import MAX_LABELS, check_key
from conduit.domain.times import parse_rfc3339

V = TypeVar("V")

# Headers Conduit sets itself, or that would break HTTP framing, cannot be overridden (SPEC §11).
FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "user-agent",
        "x-dt-signature",
    }
)
MAX_HEADERS = 32
MAX_HEADER_BYTES = 8 * 1024  # sum of len(name) + len(value) over all custom headers
MAX_URL_LENGTH = 2048

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 7230 token
_HEADER_VALUE = re.compile(
    r"[\t\x20-\x7e]*"
)  # printable ASCII and tab: no CR, LF or other controls

# DT's fields, then Conduit's extensions (issue 9; a connector without them behaves as DT's).
CONNECTOR_FIELDS = (
    "displayName",
    "type",
    "status",
    "events",
    "labels",
    "httpConfig",
    "signatureScheme",
    "disableOnGone",
    "rateLimit",
)
_TOP_LEVEL = frozenset(CONNECTOR_FIELDS)
# Ignored: clients such as terraform send the whole resource back.
_OUTPUT_ONLY = frozenset({"name", "previousSecretExpireTime", "statusReason"})
_OTHER_TYPES_CONFIG = frozenset(
    {"azureServiceBusConfig", "azureEventHubConfig", "pubsubConfig", "awsSqsConfig"}
)
_HTTP_CONFIG_KEYS = frozenset({"url", "signatureSecret", "headers"})

UPDATE_PATHS: tuple[str, ...] = (
    "displayName",
    "status",
    "events",
    "labels",
    "httpConfig",
    "httpConfig.url",
    "httpConfig.signatureSecret",
    "httpConfig.headers",
    "type",
    "signatureScheme",
    "disableOnGone",
    "rateLimit",
)
MAX_RATE_LIMIT = 10_000.0  # pushes per second
DEFAULT_ROTATION_GRACE = 24 * 3600.0  # seconds a rotated-out secret keeps signing
MAX_ROTATION_GRACE = 30 * 86400.0


@dataclass(frozen=True)
class HttpConfigInput:
    """The `httpConfig` object of a request; `None` = the key was absent."""

    url: str | None = None
    signature_secret: str | None = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class ConnectorInput:
    """A validated request body; `None` = the key was absent."""

    display_name: str | None = None
    status: str | None = None
    events: list[str] | None = None
    labels: list[str] | None = None
    http_config: HttpConfigInput | None = None
    signature_scheme: str | None = None
    disable_on_gone: bool | None = None
    rate_limit: float | None = None


@dataclass(frozen=True)
class NewConnector:
    """Everything a create stores, with defaults: ACTIVE, no filter, no labels, unsigned."""

    display_name: str
    status: str
    events: list[str]
    labels: list[str]
    url: str
    signature_secret: str  # "" = unsigned
    headers: dict[str, str]
    signature_scheme: str = DT_JWT
    disable_on_gone: bool = False
    rate_limit: float = 0.0


@dataclass(frozen=True)
class ConnectorUpdate:
    """What a PATCH assigns; `None` leaves the stored value as it is."""

    display_name: str | None = None
    status: str | None = None
    events: list[str] | None = None
    labels: list[str] | None = None
    url: str | None = None
    signature_secret: str | None = None  # "" = remove the secret
    headers: dict[str, str] | None = None
    signature_scheme: str | None = None
    disable_on_gone: bool | None = None
    rate_limit: float | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


# ---- field rules ---------------------------------------------------------------------------------


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    return value


def _string_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{field} must be an array of strings")
    return list(dict.fromkeys(value))  # duplicates are harmless; keep the first of each, in order


def validate_display_name(value: Any) -> str:
    return _string(value, "displayName")


def validate_type(value: Any) -> str:
    if value != HTTP_PUSH:
        raise BadRequest(f"type must be {HTTP_PUSH!r} (the only connector type Conduit supports)")
    return HTTP_PUSH


def validate_status(value: Any) -> str:
    status = _string(value, "status")
    if status == SYSTEM_DISABLED:
        raise BadRequest(
            "status SYSTEM_DISABLED is set only by Conduit; clients may set ACTIVE or USER_DISABLED"
        )
    if status not in CLIENT_SETTABLE_STATUSES:
        raise BadRequest(f"status must be ACTIVE or USER_DISABLED, not {status!r}")
    return status


def validate_events(value: Any) -> list[str]:
    events = _string_list(value, "events")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise BadRequest(
            f"events: unknown event type {unknown[0]!r}; known types: {', '.join(EVENT_TYPES)}"
        )
    return events


def validate_labels(value: Any) -> list[str]:
    labels = _string_list(value, "labels")
    for key in labels:
        check_key(key, "labels: label key")
    if len(labels) > MAX_LABELS:
        raise BadRequest(f"labels: at most {MAX_LABELS} label keys")
    return labels


def validate_url(value: Any) -> str:
    """The URL as a value; whether its host may be reached is `delivery.addresses.check_url`."""
    url = _string(value, "httpConfig.url")
    if not url:
        raise BadRequest("httpConfig.url must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise BadRequest(f"httpConfig.url must be at most {MAX_URL_LENGTH} characters")
    return url


def validate_signature_secret(value: Any) -> str:
    return _string(value, "httpConfig.signatureSecret")


def validate_signature_scheme(value: Any) -> str:
    if not isinstance(value, str) or value not in SIGNATURE_SCHEMES:
        raise BadRequest(f"signatureScheme must be one of {', '.join(SIGNATURE_SCHEMES)}")
    return value


def validate_rate_limit(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest("rateLimit must be a number of pushes per second (0: no limit)")
    if not 0 <= value <= MAX_RATE_LIMIT:
        raise BadRequest(f"rateLimit must be between 0 and {int(MAX_RATE_LIMIT)} pushes per second")
    return float(value)


def validate_disable_on_gone(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest("disableOnGone must be true or false")
    return value


def validate_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadRequest("httpConfig.headers must be an object of header names to string values")
    if len(value) > MAX_HEADERS:
        raise BadRequest(f"httpConfig.headers: at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    total = 0
    for name, header_value in value.items():
        if not _TOKEN.fullmatch(name):
            raise BadRequest(
                f"httpConfig.headers: {name!r} is not a valid header name (RFC 7230 token)"
            )
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS:
            raise BadRequest(
                f"httpConfig.headers: {name!r} is set by Conduit and cannot be overridden"
            )
        if lowered in seen:
            raise BadRequest(
                f"httpConfig.headers: {name!r} appears twice (header names ignore case)"
            )
        seen.add(lowered)
        if not isinstance(header_value, str):
            raise BadRequest(f"httpConfig.headers: the value of {name!r} must be a string")
        if not _HEADER_VALUE.fullmatch(header_value):
            raise BadRequest(
                f"httpConfig.headers: the value of {name!r} must be printable ASCII"
                " without CR or LF"
            )
        total += len(name) + len(header_value)
    if total > MAX_HEADER_BYTES:
        raise BadRequest(f"httpConfig.headers: at most {MAX_HEADER_BYTES // 1024} KiB in all")
    return dict(value)


def parse_http_config(value: Any) -> HttpConfigInput:
    if not isinstance(value, dict):
        raise BadRequest("httpConfig must be an object")
    unknown = sorted(set(value) - _HTTP_CONFIG_KEYS)
    if unknown:
        raise BadRequest(
            f"httpConfig: unknown field {unknown[0]!r}; allowed: url, signatureSecret, headers"
        )
    with about_field("httpConfig.url"):
        url = validate_url(value["url"]) if "url" in value else None
    with about_field("httpConfig.signatureSecret"):
        secret = (
            validate_signature_secret(value["signatureSecret"])
            if "signatureSecret" in value
            else None
        )
    with about_field("httpConfig.headers"):
        headers = validate_headers(value["headers"]) if "headers" in value else None
    return HttpConfigInput(url=url, signature_secret=secret, headers=headers)


def parse_body(body: Mapping[str, Any]) -> ConnectorInput:
    """Validate every field present; unknown fields are a 400, output-only `name` is ignored."""
    for key in body:
        if key in _TOP_LEVEL or key in _OUTPUT_ONLY:
            continue
        if key in _OTHER_TYPES_CONFIG:
            raise BadRequest(f"{key}: only {HTTP_PUSH} connectors (httpConfig) are supported")
        raise BadRequest(f"unknown field {key!r}")
    if "name" in body and not isinstance(body["name"], str):
        raise BadRequest("name must be a string")
    if "type" in body:
        validate_type(body["type"])
    return ConnectorInput(
        display_name=_field(body, "displayName", validate_display_name),
        status=_field(body, "status", validate_status),
        events=_field(body, "events", validate_events),
        labels=_field(body, "labels", validate_labels),
        http_config=_field(body, "httpConfig", parse_http_config),
        signature_scheme=_field(body, "signatureScheme", validate_signature_scheme),
        disable_on_gone=_field(body, "disableOnGone", validate_disable_on_gone),
        rate_limit=_field(body, "rateLimit", validate_rate_limit),
    )


def _field(body: Mapping[str, Any], key: str, validate: Callable[[Any], V]) -> V | None:
    """The validated value of `body[key]`, None when absent; a 400 names the field."""
    if key not in body:
        return None
    with about_field(key):
        return validate(body[key])


# ---- create --------------------------------------------------------------------------------------


def parse_create(body: Mapping[str, Any]) -> NewConnector:
    """A create body: `httpConfig.url` is required, everything else has a default. `type` may be
    omitted (HTTP_PUSH is the only type)."""
    parsed = parse_body(body)
    config = parsed.http_config
    if config is None or config.url is None:
        raise BadRequest("httpConfig.url is required", field="httpConfig.url")
    return NewConnector(
        display_name=parsed.display_name or "",
        status=parsed.status or "ACTIVE",
        events=parsed.events or [],
        labels=parsed.labels or [],
        url=config.url,
        signature_secret=config.signature_secret or "",
        headers=config.headers or {},
        signature_scheme=parsed.signature_scheme or DT_JWT,
        disable_on_gone=bool(parsed.disable_on_gone),
        rate_limit=parsed.rate_limit or 0.0,
    )


# ---- update --------------------------------------------------------------------------------------


def _camel(segment: str) -> str:
    head, *rest = segment.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse_update_mask(values: Sequence[str]) -> list[str] | None:
    """The field mask from `update_mask` / `updateMask` (comma-separated or repeated; snake_case or
    camelCase paths). `None` when absent or empty, which means "every field present in the body"."""
    paths: list[str] = []
    for raw in values:
        for piece in raw.split(","):
            piece = piece.strip()
            if not piece:
                continue
            path = ".".join(_camel(segment) for segment in piece.split("."))
            if path not in UPDATE_PATHS:
                raise BadRequest(
                    f"update_mask: unknown field path {piece!r}; allowed: {', '.join(UPDATE_PATHS)}"
                )
            if path not in paths:
                paths.append(path)
    return paths or None


def parse_update(body: Mapping[str, Any], mask: Sequence[str] | None) -> ConnectorUpdate:
    """Turn a PATCH body (and optional mask) into the assignments it makes."""
    parsed = parse_body(body)
    config = parsed.http_config or HttpConfigInput()
    if not mask:
        return ConnectorUpdate(
            display_name=parsed.display_name,
            status=parsed.status,
            events=parsed.events,
            labels=parsed.labels,
            url=config.url,
            signature_secret=config.signature_secret,
            headers=config.headers,
            signature_scheme=parsed.signature_scheme,
            disable_on_gone=parsed.disable_on_gone,
            rate_limit=parsed.rate_limit,
        )
    fields: dict[str, Any] = {}
    for path in mask:
        if path == "displayName":
            fields["display_name"] = parsed.display_name or ""
        elif path == "status":
            if parsed.status is None:
                raise BadRequest("update_mask names status, but the body has no status")
            fields["status"] = parsed.status
        elif path == "events":
            fields["events"] = parsed.events or []
        elif path == "labels":
            fields["labels"] = parsed.labels or []
        elif path in ("httpConfig", "httpConfig.url"):
            if config.url is None:
                raise BadRequest(f"update_mask names {path}, but the body has no httpConfig.url")
            fields["url"] = config.url
        if path in ("httpConfig", "httpConfig.signatureSecret"):
            fields["signature_secret"] = config.signature_secret or ""
        if path in ("httpConfig", "httpConfig.headers"):
            fields["headers"] = config.headers or {}
        elif path == "signatureScheme":
            fields["signature_scheme"] = parsed.signature_scheme or DT_JWT
        elif path == "disableOnGone":
            fields["disable_on_gone"] = bool(parsed.disable_on_gone)
        elif path == "rateLimit":
            fields["rate_limit"] = parsed.rate_limit or 0.0
        # "type" is immutable: naming it is allowed (the body's type was checked to be HTTP_PUSH).
    return ConnectorUpdate(**fields)


def apply_update(
    current: DataConnector,
    update: ConnectorUpdate,
    *,
    encrypt: Callable[[str], bytes],
    seal_headers: Callable[[Mapping[str, str]], bytes | None],
    now: float,
) -> DataConnector:
    """The connector after `update`. An empty update returns `current` itself (nothing to write).

    Secrets are stored encrypted: the signature secret with `encrypt`, the custom headers (where
    users keep their receivers' API keys) with `seal_headers`.
    """
    if update.is_empty:
        return current
    secret = current.signature_secret_encrypted
    previous, previous_until = current.previous_secret_encrypted, current.previous_secret_until
    if update.signature_secret is not None:
        # A secret set directly replaces the old one at once (as in DT); `:rotateSecret` is the
        # way to keep the old one valid for a while.
        secret = encrypt(update.signature_secret) if update.signature_secret else None
        previous, previous_until = None, 0.0
    return replace(
        current,
        display_name=current.display_name if update.display_name is None else update.display_name,
        status=current.status if update.status is None else update.status,
        events=current.events if update.events is None else list(update.events),
        labels=current.labels if update.labels is None else list(update.labels),
        url=current.url if update.url is None else update.url,
        signature_secret_encrypted=secret,
        headers_sealed=(
            current.headers_sealed if update.headers is None else seal_headers(update.headers)
        ),
        previous_secret_encrypted=previous,
        previous_secret_until=previous_until,
        signature_scheme=(
            current.signature_scheme if update.signature_scheme is None else update.signature_scheme
        ),
        disable_on_gone=(
            current.disable_on_gone if update.disable_on_gone is None else update.disable_on_gone
        ),
        rate_limit=current.rate_limit if update.rate_limit is None else update.rate_limit,
        update_time=now,
    )


# ---- :rotateSecret -------------------------------------------------------------------------------


_DURATION = re.compile(r"(\d{1,9})(?:\.(\d{1,9}))?s")


def parse_duration(value: Any, field: str) -> float:
    """A protobuf Duration as JSON (`"86400s"`, `"1.5s"`) or a number of seconds."""
    if isinstance(value, bool):
        raise BadRequest(f'{field} must be a duration such as "86400s"')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value)):
        seconds = float(f"{match[1]}.{match[2] or 0}")
    else:
        raise BadRequest(f'{field} must be a duration such as "86400s"')
    if not 0 <= seconds <= MAX_ROTATION_GRACE:
        raise BadRequest(f"{field} must be between 0s and {int(MAX_ROTATION_GRACE)}s")
    return seconds


@dataclass(frozen=True)
class Rotation:
    signature_secret: str
    grace_period: float  # seconds the current secret keeps signing beside the new one


def parse_rotation(body: Mapping[str, Any]) -> Rotation:
    unknown = sorted(set(body) - {"signatureSecret", "gracePeriod"})
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; allowed: signatureSecret, gracePeriod")
    if "signatureSecret" not in body:
        raise BadRequest("signatureSecret is required")
    secret = validate_signature_secret(body["signatureSecret"])
    if not secret:
        raise BadRequest('signatureSecret must not be empty (set it to "" with PATCH to unsign)')
    grace = (
        parse_duration(body["gracePeriod"], "gracePeriod")
        if "gracePeriod" in body
        else DEFAULT_ROTATION_GRACE
    )
    return Rotation(secret, grace)


def apply_rotation(
    current: DataConnector, rotation: Rotation, *, encrypt: Callable[[str], bytes], now: float
) -> DataConnector:
    """The new secret signs from now on; the current one (if any) keeps signing beside it for
    the grace period, so receivers can switch at their own pace. A rotation during a grace period
    ends that one: only the two newest secrets are ever valid."""
    previous = current.signature_secret_encrypted
    return replace(
        current,
        signature_secret_encrypted=encrypt(rotation.signature_secret),
        previous_secret_encrypted=previous if rotation.grace_period > 0 else None,
        previous_secret_until=now + rotation.grace_period if previous else 0.0,
        update_time=now,
    )


# ---- :replay -------------------------------------------------------------------------------------


MAX_REPLAY_WINDOW = 31 * 86400.0  # seconds: event history is kept 31 days


@dataclass(frozen=True)
class Replay:
    start: float
    end: float
    only_failed: bool

    @property
    def key(self) -> str:
        """What makes two replays the same: the window and the kind."""
        return f"{self.start!r}-{self.end!r}-{'failed' if self.only_failed else 'all'}"


def parse_replay(body: Mapping[str, Any]) -> Replay:
    unknown = sorted(set(body) - {"startTime", "endTime", "onlyFailed"})
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; allowed: startTime, endTime, onlyFailed")
    for name in ("startTime", "endTime"):
        if name not in body:
            raise BadRequest(f"{name} is required (RFC 3339)")
        if not isinstance(body[name], str):
            raise BadRequest(f"{name} must be an RFC 3339 timestamp")
    start = parse_rfc3339(body["startTime"], "startTime")
    end = parse_rfc3339(body["endTime"], "endTime")
    if start >= end:
        raise BadRequest("startTime must be before endTime")
    if end - start > MAX_REPLAY_WINDOW:
        raise BadRequest("the window from startTime to endTime is at most 31 days")
    only_failed = body.get("onlyFailed", False)
    if not isinstance(only_failed, bool):
        raise BadRequest("onlyFailed must be true or false")
    return Replay(start, end, only_failed)
