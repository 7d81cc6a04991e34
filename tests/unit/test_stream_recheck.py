"""A stream whose access cannot be re-checked (the database is down) ends; it never goes on
unchecked, and never dies with a traceback mid-response."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
from starlette.requests import Request

import conduit.api.routing  # noqa: F401  (registers the `seg` path convertor the routes use)
from conduit.api.stream import _open
from conduit.api.stream_access import StreamAccess
from conduit.clock import SystemClock
from conduit.config import Settings
from conduit.domain.errors import ApiError
from conduit.stream_hub import StreamFilter, StreamHub


class Unreachable(StreamAccess):
    async def revoked(self, now: float) -> ApiError | None:
        raise OSError("the database is unavailable")


async def test_a_stream_that_cannot_be_rechecked_ends_with_a_503_line() -> None:
    ctx: Any = SimpleNamespace(workers={}, settings=Settings(), clock=SystemClock())
    hub = StreamHub(ctx)
    app = SimpleNamespace(state=SimpleNamespace(ctx=ctx))
    request = Request({"type": "http", "app": app, "query_string": b"", "headers": []})
    principal: Any = SimpleNamespace(id="acct", expires=None)
    response: Any = _open(request, Unreachable(principal, "p1", "device.read"), StreamFilter())
    hub.access_changed()
    lines = [chunk async for chunk in response.body_iterator]
    assert len(lines) == 1
    assert orjson.loads(lines[0])["error"]["code"] == 503
    assert hub.subscriber_count() == 0 and hub.streams_of("acct") == 0
