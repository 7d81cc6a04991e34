"""One reqwest client per host name, pinned to the address the SSRF guard approved.

Why pinning: pushes go out through pyreqwest (Rust's reqwest and hyper), which costs about half of
aiohttp's CPU per request (docs/performance.md). reqwest resolves names itself, so the rule "judge
the address actually connected to" cannot live in its resolver as it did in aiohttp's. Instead this
module resolves the name through `GuardedResolver` (which refuses an answer holding any disallowed
address) and builds a client whose only DNS entry for that name is the approved address
(`ClientBuilder.resolve`). The check and the connect use the same address, reqwest never asks DNS
itself, and redirects are off, so a client never talks to another host.

A pin lasts `ttl` seconds; then the name is resolved again. The same address keeps its client and
that client's keep-alive connections; a new address gets a new client. After a connection failure
the name is resolved again at the next attempt, which moves on to the answer's next address, as a
client tries a name's addresses in turn.

A client costs about 145 KB and 5-13 ms of CPU to build (measured here), so at most `PIN_LIMIT`
names are pinned, the least recently used going first, and clients are built on a worker thread:
the sender's event loop keeps answering the pushes in flight meanwhile.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver
from pyreqwest.client import Client

PIN_LIMIT = 512  # host names pinned at once (≈ 75 MB of clients at most)

Build = Callable[[str | None, str | None], Client]  # (host, address) -> a client pinned to it


@dataclass(slots=True)
class Pin:
    addresses: list[str]  # the approved answer, in the resolver's order
    index: int  # the address connected to
    client: Client
    expires: float
    failed: bool = False  # a connection to `address` failed: move on at the next resolution

    @property
    def address(self) -> str:
        return self.addresses[self.index]


class PinnedHosts:
    """Clients for one scheme's host names; `resolver` is that scheme's guarded resolver."""

    def __init__(
        self,
        resolver: AbstractResolver,
        build: Build,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._build = build
        self._ttl = ttl
        self._clock = clock
        self._pins: OrderedDict[str, Pin] = OrderedDict()
        self._resolving: dict[str, asyncio.Future[Pin]] = {}

    async def client(self, host: str) -> Client:
        """The client for `host`; raises what resolution raises (`BlockedAddress`, `OSError`)."""
        pin = self._pins.get(host)
        if pin is not None and pin.expires > self._clock():
            self._pins.move_to_end(host)
            return pin.client
        pending = self._resolving.get(host)
        if pending is None:  # one lookup per name, however many attempts wait for it
            pending = asyncio.ensure_future(self._repin(host, pin))
            self._resolving[host] = pending
            pending.add_done_callback(lambda _f: self._resolving.pop(host, None))
        return (await asyncio.shield(pending)).client

    def failed(self, host: str) -> None:
        """A connection to `host` failed: the next attempt resolves it again and connects to the
        answer's next address."""
        pin = self._pins.get(host)
        if pin is not None:
            pin.failed = True
            pin.expires = 0.0

    def pinned(self, host: str) -> str | None:
        """The address `host` is pinned to now, if any."""
        pin = self._pins.get(host)
        return pin.address if pin is not None else None

    async def close(self) -> None:
        pins, self._pins = self._pins, OrderedDict()
        for pin in pins.values():
            await pin.client.close()

    async def _repin(self, host: str, old: Pin | None) -> Pin:
        results = await self._resolver.resolve(host, 0, socket.AF_UNSPEC)
        addresses = list(dict.fromkeys(str(r["host"]) for r in results))
        if not addresses:
            raise OSError(f"{host} has no addresses")
        expires = self._clock() + self._ttl
        index = addresses.index(old.address) if old is not None and old.address in addresses else -1
        if old is not None and index >= 0 and not (old.failed and len(addresses) > 1):
            pin = Pin(addresses, index, old.client, expires)
        else:
            index = (index + 1) % len(addresses)  # 0 for a new answer, else the next address
            client = await asyncio.to_thread(self._build, host, addresses[index])
            pin = Pin(addresses, index, client, expires)
        self._pins[host] = pin
        self._pins.move_to_end(host)
        while len(self._pins) > PIN_LIMIT:
            self._pins.popitem(last=False)
        return pin
