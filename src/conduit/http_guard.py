"""Connection limits uvicorn lacks: a cap on open connections, a deadline for request heads.

uvicorn's `limit_concurrency` answers 503 only once a request head has been parsed, so idle or slow
connections still pile up, and it starts no timer until the first response is complete: a client
that connects and sends a header line every few seconds (slowloris) holds its connection for ever.
This protocol (uvicorn's httptools one, plus two rules) closes a connection beyond
`--max-connections` at once with a 503, and one whose request head (request line and headers) is
not complete within `--request-head-timeout` seconds with a 408. Its own errors, and the 400 for a
malformed request, are in the API's error format rather than uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from conduit.config import Settings

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 503: b"Service Unavailable"}


def raw_error(status: int, message: str, base_url: str) -> bytes:
    """A whole `Connection: close` response carrying `{"error","code","help"}`."""
    body = orjson.dumps(
        {"error": message, "code": status, "help": f"{base_url}/docs/errors#{status}"}
    )
    head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
    headers = b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n" % (
        len(body)
    )
    return head + headers + b"\r\n" + body


def guarded_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """uvicorn's `http=` protocol class with this server's limits."""
    max_connections = settings.max_connections
    head_timeout = settings.request_head_timeout
    base_url = settings.base_url

    class GuardedHttpProtocol(HttpToolsProtocol):  # type: ignore[misc]
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self._refuse(503, "too many open connections; retry shortly")
                return
            self._start_head_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_timer is None:
                self._start_head_timer()

        def on_headers_complete(self) -> None:
            self._cancel_head_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            self._refuse(400, f"malformed HTTP request: {msg}")

        def _start_head_timer(self) -> None:
            self._head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            self._refuse(408, f"the request head took longer than {head_timeout:g} s")

        def _refuse(self, status: int, message: str) -> None:
            self._cancel_head_timer()
            if not self.transport.is_closing():
                self.transport.write(raw_error(status, message, base_url))
                self.transport.close()

    return GuardedHttpProtocol
