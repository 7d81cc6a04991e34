"""Turn every failure into DT Cloud's error body; never a stack trace or HTML."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.api.http import JSON
from conduit.domain.errors import ApiError
from conduit.store.unavailable import database_unavailable

log = logging.getLogger("conduit.api")

_SUMMARIES = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "already exists",
    413: "request body too large",
    415: "unsupported media type",
    429: "too many requests",
    500: "internal error",
    503: "service unavailable",
}


def error_body(
    request: Request, status: int, message: str, field: str | None = None
) -> dict[str, object]:
    help_url = f"{str(request.base_url).rstrip('/')}/docs/errors#{status}"
    body: dict[str, object] = {"error": message, "code": status, "help": help_url}
    if field:
        body["field"] = field
    return body


def error_response(
    request: Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    field: str | None = None,
) -> Response:
    return JSON(error_body(request, status, message, field), status_code=status, headers=headers)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request, exc.status, exc.message, exc.headers, exc.field)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _SUMMARIES.get(exc.status_code, "error")
    if exc.status_code == 404:
        message = f"no such resource: {request.url.path}"
    return error_response(request, exc.status_code, message, dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    if database_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_response(request, 503, "the database is unavailable; retry shortly")
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "internal error")


ERROR_DOC = """# Conduit error codes

Every error body is `{"error": <summary>, "code": <HTTP status>, "help": <this page>}`. A 400 about
one input also names it, as a JSON path: `"field": "httpConfig.url"` (a Conduit extension; DT's
clients ignore it, Studio shows the error beside that control).

- 400 Bad Request: an invalid argument in the path, query or body. Nothing was changed.
- 401 Unauthorized: missing, malformed or expired credentials. Access tokens live one hour.
- 403 Forbidden: your role in this project lacks the permission, or a Studio session's write lacks
  its `X-CSRF-Token`.
- 404 Not Found: no such resource, or a project you are not a member of.
- 405 Method Not Allowed: the path exists but not with this method.
- 409 Conflict: the resource already exists.
- 413 Payload Too Large: request bodies are limited to 64 KiB.
- 415 Unsupported Media Type: send `application/json`.
- 429 Too Many Requests: the rate limit is on, or too many failed sign-ins; retry after
  `Retry-After` seconds.
- 500 Internal Server Error / 503 Service Unavailable: retry with exponential backoff of at least
  1 s.
"""


async def errors_doc(request: Request) -> Response:
    """What each error status means (every error body's `help` links here)."""
    return Response(ERROR_DOC, media_type="text/markdown; charset=utf-8")


def holds_nul(scope: Scope) -> bool:
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode()
    query: bytes = scope.get("query_string", b"")
    return b"%00" in raw_path or b"\x00" in raw_path or b"%00" in query or b"\x00" in query


class CatchUnexpected:
    """Answer an unexpected exception with the JSON 500 body, and keep the connection usable.

    Starlette's outermost error middleware also renders a 500, but then re-raises, and uvicorn drops
    the keep-alive connection — so the client's next request on it fails too. Catching here, inside
    that middleware, ends the request normally.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if holds_nul(scope):
            # No id or query value holds a NUL (and PostgreSQL's text cannot): a clear 400 here.
            request = Request(scope)
            response = error_response(request, 400, "the path and query must not contain NUL")
            await response(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request = Request(scope)
            if started:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return  # the status line is out; all that is left is ending the body
            response = await on_unexpected(request, exc)
            await response(scope, receive, send)
