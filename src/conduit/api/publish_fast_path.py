"""`POST …/devices/{device}:publish` straight to its handler, around Starlette's middleware and
router.

Publishing is the one route that runs thousands of times a second, and a profile of it (py-spy,
issue 10) put about a sixth of the event loop's time in the layers between uvicorn and the handler:
three middlewares wrapping every `send`, and the router trying routes in order. This wrapper
recognises the publish path with one regular expression and calls the same handler with the same
error handling (`ApiError` → its error body, anything else → the JSON 500), so the answer is the
one the full stack gives — which `tests/integration/test_publish_fast_path.py` checks, byte for
byte, against the stack. Every other request (and the lifespan) goes to the Starlette app
unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from conduit.api.errors import holds_nul, on_api_error, on_unexpected
from conduit.domain.errors import ApiError

log = logging.getLogger("conduit.api")

_PUBLISH = re.compile(r"/v2/projects/([^/:]+)/devices/([^/:]+):publish")


class PublishFastPath:
    def __init__(self, app: Starlette) -> None:
        # The handler module needs the router's `seg` convertor, registered once routes exist.
        from conduit.api.emulator import publish

        self.app = app
        self.handler = publish
        # A `--role delivery` node serves no API, so no publish either.
        self.enabled: bool = app.state.ctx.settings.runs_api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and scope["method"] == "POST":
            found = _PUBLISH.fullmatch(scope["path"])
            if found is not None and not holds_nul(scope):
                scope["app"] = self.app
                scope["path_params"] = {"project": found[1], "device": found[2]}
                await _publish(self.handler, scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _publish(
    handler: Callable[[Request], Awaitable[Response]], scope: Scope, receive: Receive, send: Send
) -> None:
    request = Request(scope, receive)
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = await on_api_error(request, exc)
        await response(scope, receive, tracking_send)
    except Exception as exc:
        if started:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return
        await (await on_unexpected(request, exc))(scope, receive, send)
