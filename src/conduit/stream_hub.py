"""Fan-out of freshly committed events to open `:stream` connections (in-process).

Publishing must never wait for a stream reader, so every subscriber has a bounded queue and
`publish` only appends to it; a subscriber whose queue is full is too slow to keep up and is dropped
(its stream ends with an in-stream error, and DT's clients reconnect — missed events are not
replayed, as in DT Cloud).

Shutdown: uvicorn waits for open responses before it runs the lifespan shutdown, and a stream never
ends on its own, so SIGTERM would hang for the whole graceful-shutdown timeout. The hub therefore
chains itself onto the process's SIGTERM/SIGINT handlers: the moment a shutdown signal arrives every
stream ends cleanly, and new subscriptions are refused with 503.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from conduit.context import Context
from conduit.domain.errors import ServiceUnavailable, TooManyRequests
from conduit.domain.labels import LabelFilter, matches_all
from conduit.store.records import Notice, StoredEvent

log = logging.getLogger("conduit.stream")

DEFAULT_CAPACITY = 1000
SHUTDOWN = "shutdown"
TOO_SLOW = "too slow"


# A committed event as the hub needs it: what filters read, and the envelope's bytes.
StreamEvent = StoredEvent


@dataclass(frozen=True)
class StreamFilter:
    """A stream's filters; each given one must match (empty = any)."""

    device_ids: frozenset[str] = frozenset()
    device_types: frozenset[str] = frozenset()
    event_types: frozenset[str] = frozenset()
    label_filters: tuple[LabelFilter, ...] = ()

    def matches(self, event: StreamEvent) -> bool:
        return (
            (not self.device_ids or event.device_id in self.device_ids)
            and (not self.device_types or event.device_type in self.device_types)
            and (not self.event_types or event.event_type in self.event_types)
            and (not self.label_filters or matches_all(event.labels, list(self.label_filters)))
        )


class StreamClosed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    """One open stream's queue of envelope bytes."""

    def __init__(
        self, project_id: str, filter: StreamFilter, capacity: int, account_id: str = ""
    ) -> None:
        self.project_id = project_id
        self.filter = filter
        self.capacity = capacity
        self.account_id = account_id
        self.closed: str | None = None
        # Set when someone's access changed on this node: the stream re-checks its own at once.
        self.recheck = False
        self._items: deque[bytes] = deque()
        self._wake = asyncio.Event()

    def offer(self, body: bytes) -> bool:
        """Queue an event; False (and the subscription closes) if the reader fell too far behind."""
        if self.closed is not None:
            return False
        if len(self._items) >= self.capacity:
            self.close(TOO_SLOW)
            return False
        self._items.append(body)
        self._wake.set()
        return True

    def request_recheck(self) -> None:
        self.recheck = True
        self._wake.set()

    def take_recheck(self) -> bool:
        requested, self.recheck = self.recheck, False
        return requested

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
            self._items.clear()
            self._wake.set()

    async def next_batch(self, wait: float | None) -> list[bytes]:
        """Everything queued (waiting up to `wait` s; [] if none, or a recheck was requested);
        `StreamClosed` once closed."""
        if not self._items and self.closed is None and not self.recheck:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                return []
        if self.closed is not None:
            raise StreamClosed(self.closed)
        batch = list(self._items)
        self._items.clear()
        return batch


class StreamHub:
    name = "stream_hub"

    def __init__(self, ctx: Context, capacity: int = DEFAULT_CAPACITY) -> None:
        self.ctx = ctx
        self.capacity = capacity
        self.closing = False
        self._by_project: dict[str, set[Subscription]] = {}
        self._per_account: dict[str, int] = {}
        self._restore: list[tuple[int, Any, Callable[[int, FrameType | None], None]]] = []
        # Event ids other nodes committed, in commit order, for the local subscribers.
        self._remote: asyncio.Queue[list[str]] = asyncio.Queue()
        self._relay: asyncio.Task[None] | None = None
        ctx.workers[self.name] = self

    # ---- subscribers -----------------------------------------------------------------------------

    def subscribe(
        self,
        project_id: str,
        filter: StreamFilter,
        account_id: str = "",
        max_per_account: int | None = None,
    ) -> Subscription:
        """A new subscriber; 429 when the account already holds `max_per_account` open streams (one
        account must not be able to hold every connection the server has)."""
        if self.closing:
            raise ServiceUnavailable("the server is shutting down; reconnect shortly")
        held = self._per_account.get(account_id, 0)
        if max_per_account is not None and held >= max_per_account:
            raise TooManyRequests(
                f"this account already holds {held} open streams, the most allowed; close one",
                headers={"Retry-After": "5"},
            )
        sub = Subscription(project_id, filter, self.capacity, account_id)
        self._by_project.setdefault(project_id, set()).add(sub)
        self._per_account[account_id] = held + 1
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._by_project.get(sub.project_id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self._by_project[sub.project_id]
        held = self._per_account.get(sub.account_id, 0) - 1
        if held > 0:
            self._per_account[sub.account_id] = held
        else:
            self._per_account.pop(sub.account_id, None)

    def streams_of(self, account_id: str) -> int:
        return self._per_account.get(account_id, 0)

    def access_changed(self) -> None:
        """Someone's roles, keys or account changed: every stream re-checks its own access now."""
        for subs in self._by_project.values():
            for sub in subs:
                sub.request_recheck()

    def subscriber_count(self, project_id: str | None = None) -> int:
        if project_id is not None:
            return len(self._by_project.get(project_id, ()))
        return sum(len(s) for s in self._by_project.values())

    # ---- fan-out ---------------------------------------------------------------------------------

    def publish(self, event: StreamEvent) -> None:
        """Offer a committed event to every matching subscriber of its project; never blocks."""
        subs = self._by_project.get(event.project_id)
        if not subs:
            return
        for sub in list(subs):
            if sub.filter.matches(event) and not sub.offer(event.body):
                log.warning("dropped a stream subscriber of project %s: too slow", event.project_id)
                self.unsubscribe(sub)

    def close_all(self, reason: str = SHUTDOWN) -> None:
        self.closing = True
        for subs in list(self._by_project.values()):
            for sub in list(subs):
                sub.close(reason)
        self._by_project.clear()
        self._per_account.clear()

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.closing = False
        self._chain_shutdown_signals(asyncio.get_running_loop())
        self._remote = asyncio.Queue()
        self._relay = asyncio.create_task(self._relay_remote(), name="conduit-stream-relay")
        self.ctx.store.on_notice(self._on_notice)

    def _on_notice(self, notice: Notice) -> None:
        """Events committed on another node: fetch and show them to local subscribers (only
        while anyone here listens: a node without streams never reads them)."""
        if notice.events and self._by_project:
            self._remote.put_nowait(notice.events)

    async def _relay_remote(self) -> None:
        while True:
            ids = await self._remote.get()
            try:
                for event in await self.ctx.store.events_by_id(ids):
                    self.publish(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not relay %d events from another node", len(ids))

    async def stop(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            await asyncio.gather(self._relay, return_exceptions=True)
            self._relay = None
        self.close_all()
        for sig, previous, ours in reversed(self._restore):
            if signal.getsignal(sig) is ours:
                signal.signal(sig, previous)
        self._restore.clear()

    def _chain_shutdown_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        """End every stream as soon as SIGTERM/SIGINT arrives, then let the previous handler run."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)

            def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.close_all)
                if callable(previous):
                    previous(signum, frame)
                else:  # the default action: restore it and let the signal take effect
                    signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
                    signal.raise_signal(signum)

            signal.signal(sig, handler)
            self._restore.append((sig, previous, handler))
