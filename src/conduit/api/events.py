"""Event history: `GET /v2/projects/{p}/devices/{d}/events`, oldest first, keyset-paginated.

Keyset pagination (the token is the position of the last event returned) keeps pages stable while
new events arrive and costs one index range scan per page however deep the client pages. Event
bodies are returned as stored, byte for byte the envelopes that streams and pushes carried.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.devices import load_device
from conduit.api.http import (
    decode_keyset_token,
    encode_keyset_token,
    page_size,
    query_list,
    query_param,
)
from conduit.auth.principal import authenticate
from conduit.context import context_of
from conduit.domain.errors import BadRequest
from conduit.domain.event_types import check_event_types, parse_micros, to_micros

DEFAULT_WINDOW_MICROS = 24 * 3600 * 1_000_000


async def list_events(request: Request) -> Response:
    """A device's event history, oldest first.

    Query: `eventTypes` (repeated or comma-separated), `startTime` and `endTime` (RFC 3339,
    inclusive; default the last 24 hours), `pageSize` (max 100), `pageToken`.
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    device = await load_device(request, principal, "device.read")
    event_types = check_event_types(query_list(request, "eventTypes", "event_types"))
    now = to_micros(ctx.clock.now())
    start_raw = query_param(request, "startTime", "start_time")
    end_raw = query_param(request, "endTime", "end_time")
    start = parse_micros(start_raw, "startTime") if start_raw else now - DEFAULT_WINDOW_MICROS
    end = parse_micros(end_raw, "endTime") if end_raw else now
    if start > end and start_raw and end_raw:
        raise BadRequest("startTime must not be after endTime")
    size = page_size(request)
    token = query_param(request, "pageToken", "page_token")
    rows = await ctx.store.list_events(
        device.id,
        start=start / 1_000_000,
        end=end / 1_000_000,
        event_types=event_types,
        after=decode_keyset_token(token) if token else None,
        limit=size + 1,
    )
    page = rows[:size]
    next_token = encode_keyset_token(page[-1][0], page[-1][1]) if len(rows) > size else ""
    body = b'{"events":[' + b",".join(r[2] for r in page) + b'],"nextPageToken":"'
    return Response(body + next_token.encode() + b'"}', media_type="application/json")


routes: list[BaseRoute] = [
    Route("/v2/projects/{project:seg}/devices/{device:seg}/events", list_events, methods=["GET"]),
]
