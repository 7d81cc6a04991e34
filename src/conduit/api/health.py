"""Liveness: answers once the server accepts requests."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conduit.api.errors import errors_doc
from conduit.api.http import ok


async def healthz(request: Request) -> Response:
    """Health check: 200 once the server accepts requests."""
    return ok({"status": "ok"})


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/docs/errors", errors_doc, methods=["GET"]),
]
