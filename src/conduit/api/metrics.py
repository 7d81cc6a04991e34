"""`GET /metrics`: Prometheus text exposition of the delivery engine and the process.

Open by default, as Prometheus scrapers expect; it reveals every tenant's connector ids and counts
(never payloads, URLs or secrets), so an operator can require a bearer token (`--metrics-token`,
Prometheus' `authorization` setting sends it).
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conduit.context import context_of
from conduit.delivery.metrics import exposition
from conduit.domain.errors import Unauthorized


async def metrics(request: Request) -> Response:
    """Prometheus metrics, with the queue depth of every connector as the store counts it."""
    ctx = context_of(request)
    expected = ctx.settings.metrics_token
    if expected is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            raise Unauthorized("/metrics requires the operator's metrics bearer token")
    depths = await ctx.store.queue_depths()
    text = exposition(lambda: depths)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics, methods=["GET"])]
