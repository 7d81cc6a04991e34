"""Real push receivers for tests: aiohttp servers on 127.0.0.1, each in a thread with its own loop.

A receiver records every request it gets (headers, raw body, arrival time) and answers according to
a `Behaviour`: always 200, a status sequence (500 then 200), slow, hanging, redirecting, or serving
TLS with a certificate from a throw-away CA. Tests wait for requests with `wait_for` (sync) or
`await receiver.wait(n)` (async, for tests that run the dispatcher in their own loop).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    at: float  # time.time() when the request was complete
    peer: object = None  # the client's (address, port): which connection it came on

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # never answer (until the receiver stops)


# (the request, its 0-based index among all requests this receiver got) -> the answer
Behaviour = Callable[[Received, int], Answer]


def always(status: int = 200) -> Behaviour:
    return lambda _request, _index: Answer(status)


def statuses(sequence: Sequence[int], then: int = 200) -> Behaviour:
    """Answer the n-th request with `sequence[n]`, and every later one with `then`."""
    return lambda _r, i: Answer(sequence[i] if i < len(sequence) else then)


def slow(seconds: float, status: int = 200) -> Behaviour:
    return lambda _r, _i: Answer(status, delay=seconds)


def hanging() -> Behaviour:
    return lambda _r, _i: Answer(hang=True)


class Switch:
    """A behaviour whose status the test flips: a receiver that goes down and comes back."""

    def __init__(self, status: int = 200) -> None:
        self.status = status

    def __call__(self, _request: Received, _index: int) -> Answer:
        return Answer(self.status)


def redirect(location: str, status: int = 302) -> Behaviour:
    return lambda _r, _i: Answer(status, headers={"Location": location}, body=b"")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}/"


class Receiver:
    """One receiving endpoint. Use as a context manager, or `start()` / `stop()`."""

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.behaviour = behaviour or always(200)
        self.tls = tls
        self.host = host
        self.port = free_port()
        self.requests: list[Received] = []
        self.active = 0  # requests being answered right now
        self.max_active = 0  # the most ever answered at once
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/push"

    def start(self) -> Receiver:
        self._thread = threading.Thread(
            target=self._serve, name=f"receiver-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("receiver did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=15)
        self._loop = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- waiting --------------------------------------------------------------------------------

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least `count` requests arrived; the requests so far."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver got {len(self.requests)} requests, expected {count}"
                    )
                self._cond.wait(left)
            return list(self.requests)

    async def wait(self, count: int, within: float = 10.0) -> list[Received]:
        """`wait_for` for async tests: does not block their event loop."""
        return await asyncio.to_thread(self.wait_for, count, within)

    def count(self) -> int:
        with self._cond:
            return len(self.requests)

    # ---- serving --------------------------------------------------------------------------------

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._setup())
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _setup(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.tls)
        await site.start()

    async def _shutdown(self) -> None:
        assert self._release is not None and self._runner is not None
        self._release.set()
        await self._runner.cleanup()
        current = asyncio.current_task()
        stragglers = [t for t in asyncio.all_tasks() if t is not current]
        for task in stragglers:  # handlers still sleeping for a slow answer
            task.cancel()
        await asyncio.gather(*stragglers, return_exceptions=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        received = Received(
            method=request.method,
            path=request.path,
            headers=list(request.headers.items()),
            body=body,
            at=time.time(),
            peer=request.transport.get_extra_info("peername") if request.transport else None,
        )
        with self._cond:
            index = len(self.requests)
            self.requests.append(received)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self._cond.notify_all()
        try:
            answer = self.behaviour(received, index)
            if answer.hang:
                assert self._release is not None
                await self._release.wait()
                raise ConnectionResetError("receiver stopped")
            if answer.delay:
                await asyncio.sleep(answer.delay)
            return web.Response(status=answer.status, headers=answer.headers, body=answer.body)
        finally:
            with self._cond:
                self.active -= 1


@dataclass
class TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost (trustme)."""

    ca_path: Path
    server: ssl.SSLContext


def tls_files(directory: Path) -> TlsFiles:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    ca_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return TlsFiles(ca_path=ca_path, server=server)


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = 10.0, interval: float = 0.01
) -> None:
    """Poll an observable condition until it holds (a deadline, not a sleep-and-hope)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], bool], within: float = 10.0, interval: float = 0.02
) -> None:
    """`eventually` for tests that are not coroutines (the official client is synchronous)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
