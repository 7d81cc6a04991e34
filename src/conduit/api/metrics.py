"""`GET /metrics`: Prometheus text exposition of the delivery engine and the process.

Unauthenticated, as Prometheus scrapers expect; it reveals connector ids and counts, never payloads,
URLs or secrets. Put it behind the reverse proxy's access rules if even that is too much.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conduit.context import context_of
from conduit.delivery.metrics import exposition
from conduit.delivery.queue import queue_depths


async def metrics(request: Request) -> Response:
    """Prometheus metrics; counting the queue takes a scan, so it runs off the event loop."""
    db = context_of(request).store.db
    text = await asyncio.to_thread(exposition, lambda: db.read(queue_depths))
    return Response(text, media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics, methods=["GET"])]
