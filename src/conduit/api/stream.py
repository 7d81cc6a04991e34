"""Live event streams: `GET /v2/projects/{p}/devices:stream` and `.../devices/{d}:stream`.

Newline-delimited JSON by default, one `{"result":{"event":{...}}}` per line (what `disruptive`'s
`Stream.event_stream` reads); Server-Sent Events (`data: {...}` and a blank line) when the client
sends `Accept: text/event-stream`. With `ping_interval` (e.g. `10s`) an idle stream carries `ping`
events, which DT's clients use to notice a dead connection. Events are those committed after the
stream opened; nothing is replayed (history is the place for that). A stream ends with an in-stream
error when its caller's access is revoked or its token expires (`stream_access.py`), and one account
may hold at most `--max-streams-per-account` streams at once (429 beyond).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from conduit.api.devices import load_device
from conduit.api.errors import error_body
from conduit.api.http import JSON, query_list, query_param
from conduit.api.stream_access import RECHECK_SECONDS, StreamAccess
from conduit.auth.principal import authenticate
from conduit.context import context_of
from conduit.domain.errors import ApiError, BadRequest, ServiceUnavailable
from conduit.domain.event_types import (
    check_device_type,
    check_event_types,
    format_micros,
    ping_envelope,
    to_micros,
)
from conduit.domain.ids import new_id
from conduit.domain.labels import parse_label_filters
from conduit.stream_hub import TOO_SLOW, StreamClosed, StreamFilter, StreamHub

log = logging.getLogger("conduit.stream")

MIN_PING = 0.1
MAX_PING = 3600.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s)?")
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_TOO_SLOW_ERROR = orjson.dumps(
    {"error": {"code": 503, "message": "stream reader too slow: events were dropped; reconnect"}}
)


def parse_ping_interval(raw: str | None) -> float | None:
    """`10s`, `1.5s`, `500ms` or plain seconds; None when absent (no pings)."""
    if raw is None or raw == "":
        return None
    match = _DURATION.fullmatch(raw.strip())
    if match is None:
        raise BadRequest(f"ping_interval must be a duration like 10s, got {raw!r}")
    seconds = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
    if not MIN_PING <= seconds <= MAX_PING:
        raise BadRequest(f"ping_interval must be between {MIN_PING}s and {MAX_PING:g}s")
    return seconds


def _filter(request: Request, device_id: str | None = None) -> StreamFilter:
    device_types = query_list(request, "device_types", "deviceTypes")
    for device_type in device_types:
        check_device_type(device_type, "device_types")
    label_filters = [
        v for name in ("label_filters", "labelFilters") for v in request.query_params.getlist(name)
    ]
    device_ids = {d.rsplit("/", 1)[-1] for d in query_list(request, "device_ids", "deviceIds")}
    if device_id is not None:
        device_ids = {device_id}
    return StreamFilter(
        device_ids=frozenset(device_ids),
        device_types=frozenset(device_types),
        event_types=frozenset(
            check_event_types(query_list(request, "event_types", "eventTypes"), "event_types")
        ),
        label_filters=tuple(parse_label_filters(label_filters)),
    )


def _in_stream_error(code: int, message: str, sse: bool) -> bytes:
    line = orjson.dumps({"error": {"code": code, "message": message}})
    return (b"data: " + line + b"\n\n") if sse else (line + b"\n")


def _open(request: Request, access: StreamAccess, stream_filter: StreamFilter) -> Response:
    ctx = context_of(request)
    project_id = access.project_id
    ping = parse_ping_interval(query_param(request, "ping_interval", "pingInterval"))
    hub: StreamHub = ctx.workers["stream_hub"]
    sse = "text/event-stream" in request.headers.get("accept", "")
    prefix, suffix = (
        (b'data: {"result":{"event":', b"}}\n\n") if sse else (b'{"result":{"event":', b"}}\n")
    )
    # Before the response starts: nothing is missed.
    sub = hub.subscribe(
        project_id,
        stream_filter,
        access.principal.id,
        max_per_account=ctx.settings.max_streams_per_account,
    )

    async def lines() -> AsyncIterator[bytes]:
        now = ctx.clock.now()
        next_check = now + RECHECK_SECONDS
        next_ping = now + ping if ping is not None else None
        try:
            while True:
                deadlines = [next_check, next_ping, access.expires]
                wait = min(d for d in deadlines if d is not None) - now
                try:
                    batch = await sub.next_batch(max(wait, 0.0))
                except StreamClosed as closed:
                    if closed.reason == TOO_SLOW:
                        yield (
                            b"data: " + _TOO_SLOW_ERROR + b"\n\n"
                            if sse
                            else _TOO_SLOW_ERROR + b"\n"
                        )
                    return
                now = ctx.clock.now()
                due = now >= next_check or (access.expires is not None and now >= access.expires)
                if sub.take_recheck() or due:
                    try:
                        refused = await access.revoked(now)
                    except Exception:  # fail closed: a stream that cannot be re-checked ends
                        log.warning("could not re-check a stream's access", exc_info=True)
                        refused = ServiceUnavailable("access could not be re-checked; reconnect")
                    if refused is not None:
                        yield _in_stream_error(refused.status, refused.message, sse)
                        return
                    next_check = now + RECHECK_SECONDS
                if batch:
                    yield b"".join(prefix + body + suffix for body in batch)
                elif next_ping is not None and now >= next_ping:
                    ping_event = ping_envelope(
                        new_id(now), project_id, format_micros(to_micros(now))
                    )
                    yield prefix + orjson.dumps(ping_event) + suffix
                else:
                    continue
                if ping is not None:
                    next_ping = now + ping
        finally:
            hub.unsubscribe(sub)

    media_type = "text/event-stream" if sse else "application/x-ndjson"
    return StreamingResponse(lines(), media_type=media_type, headers=_HEADERS)


def _stream_error(request: Request, exc: ApiError) -> Response:
    """A failure before the stream starts, in a shape DT's stream readers and error parsers accept.

    `disruptive` reads a stream body line by line without looking at the HTTP status, and takes
    `error.code` of a line as the status of an in-stream error (SPEC §7.3); so here `error` is that
    object, while `code` and `help` are where every other Conduit error has them.
    """
    body = error_body(request, exc.status, exc.message)
    body["error"] = {"code": exc.status, "message": exc.message}
    return JSON(body, status_code=exc.status, headers=exc.headers)


async def stream_project(request: Request) -> Response:
    """Stream a project's events as they are committed (NDJSON, or SSE on request).

    Server-Sent Events with `Accept: text/event-stream`. Query: `device_ids`, `device_types`,
    `label_filters` (`key=value` or `key`), `event_types`, `ping_interval` (e.g. `10s`).
    """
    try:
        principal = await authenticate(request)
        project_id = request.path_params["project"]
        await principal.require_project(project_id, "device.read")
        access = StreamAccess(principal, project_id, "device.read")
        return _open(request, access, _filter(request))
    except ApiError as exc:
        return _stream_error(request, exc)


async def stream_device(request: Request) -> Response:
    """Stream one device's events as they are committed (same format and filters as the project)."""
    try:
        principal = await authenticate(request)
        device = await load_device(request, principal, "device.read")
        access = StreamAccess(principal, device.project_id, "device.read")
        return _open(request, access, _filter(request, device.id))
    except ApiError as exc:
        return _stream_error(request, exc)


routes: list[BaseRoute] = [
    Route("/v2/projects/{project:seg}/devices:stream", stream_project, methods=["GET"]),
    Route("/v2/projects/{project:seg}/devices/{device:seg}:stream", stream_device, methods=["GET"]),
]
