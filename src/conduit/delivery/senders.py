"""Who performs an attempt: the server process itself, or a pool of sender processes.

The dispatcher decides what to send and when; a `Sender` only performs attempts and reports each
outcome through a callback (no task or future per attempt on the dispatcher's side when a pool does
the work). Both kinds sign the attempt where they send it, from the per-connector headers, the
connector's secret, and the `iat`/`jti` the dispatcher chose (so time stays the dispatcher's clock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from conduit.config import Settings
from conduit.delivery.http import Outcome, PushClient, Target
from conduit.delivery.request import attempt_headers

Done = Callable[[Outcome], None]


@dataclass(frozen=True, slots=True)
class AttemptRequest:
    target: Target | None
    body: bytes
    headers: Mapping[str, str]  # the connector's headers, before the signature
    secret: bytes | None
    iat: int
    jti: str
    scheme: str = "DT_JWT"
    previous: bytes | None = None  # a rotated-out secret still in its grace period
    event_id: str = ""


class Sender(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None:
        """Stop; attempts still in flight are abandoned without calling their `done`."""
        ...

    def submit(self, request: AttemptRequest, done: Done) -> None: ...


class LocalSender:
    """Attempts as tasks of the server's own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.client = PushClient(settings)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.client.start()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.close()

    def submit(self, request: AttemptRequest, done: Done) -> None:
        task = asyncio.ensure_future(self._attempt(request, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, request: AttemptRequest, done: Done) -> None:
        headers = attempt_headers(
            request.headers,
            request.body,
            request.secret,
            iat=request.iat,
            jti=request.jti,
            scheme=request.scheme,
            previous=request.previous,
            event_id=request.event_id,
        )
        done(await self.client.post(request.target, request.body, headers))
