"""`GET /metrics`: Prometheus text exposition of the delivery engine and the process.

Unauthenticated, as Prometheus scrapers expect; it reveals connector ids and counts, never payloads,
URLs or secrets. Put it behind the reverse proxy's access rules if even that is too much.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conduit.context import context_of
from conduit.delivery.metrics import exposition


async def metrics(request: Request) -> Response:
    """Prometheus metrics, with the queue depth of every connector as the store counts it."""
    depths = await context_of(request).store.queue_depths()
    text = exposition(lambda: depths)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics, methods=["GET"])]
