"""A sender process: performs the HTTP attempts the dispatcher hands it, and reports each outcome.

Why a process: one Python process tops out around 2-3k HTTP requests a second, and the API server's
process already spends its core on publishing. The dispatcher keeps every decision (what to send,
when, slots, retries, the store); a sender only runs `PushClient.post` — the same SSRF-guarded,
TLS-verifying, no-redirect client as in-process delivery — concurrently, for as many requests as it
is given. It holds no state worth keeping: if it dies, the dispatcher fails its in-flight attempts
(they are retried) and starts another; if the dispatcher dies, the socket closes and the sender
exits.

Run by `SenderPool` as `python -m conduit.delivery.sender_process <fd> <settings json>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson

from conduit.config import Settings
from conduit.delivery.http import PushClient, Target, parse_target
from conduit.delivery.sender_protocol import Frame, FrameProtocol, encode_outcome

TARGET_CACHE = 4096  # parsed URLs kept (connectors rarely change; parsing is per attempt otherwise)


def settings_json(settings: Settings) -> str:
    """What a sender needs of the server's settings, for its command line."""
    return orjson.dumps(
        {
            "allow_network": [str(n) for n in settings.allow_network],
            "delivery_timeout": settings.delivery_timeout,
            "ca_bundle": settings.ca_bundle,
        }
    ).decode()


def settings_from_json(text: str) -> Settings:
    raw: dict[str, Any] = orjson.loads(text)
    return Settings(
        data_dir=Path("."),
        allow_network=[ipaddress.ip_network(n) for n in raw["allow_network"]],
        delivery_timeout=float(raw["delivery_timeout"]),
        ca_bundle=raw["ca_bundle"],
    )


class Sender:
    def __init__(self, client: PushClient) -> None:
        self.client = client
        self.targets: OrderedDict[str, Target | None] = OrderedDict()
        self.transport: asyncio.Transport | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.lost = asyncio.Event()

    def target(self, url: str) -> Target | None:
        target = self.targets.get(url)
        if target is None and url not in self.targets:
            target = parse_target(url)
            self.targets[url] = target
            if len(self.targets) > TARGET_CACHE:
                self.targets.popitem(last=False)
        return target

    def on_frame(self, frame: Frame) -> None:
        request_id, (url, headers), body = frame
        task = asyncio.ensure_future(self.attempt(request_id, url, headers, body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def attempt(
        self, request_id: int, url: str, headers: dict[str, str], body: bytes
    ) -> None:
        outcome = await self.client.post(self.target(url), body, headers)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_outcome(request_id, outcome))

    def on_lost(self, _exc: Exception | None) -> None:
        self.lost.set()


async def serve(fd: int, settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    client = PushClient(settings)
    await client.start()
    sender = Sender(client)
    sock = socket.socket(fileno=fd)
    transport, _ = await loop.connect_accepted_socket(
        lambda: FrameProtocol(sender.on_frame, sender.on_lost), sock
    )
    sender.transport = transport
    for sig in (signal.SIGINT, signal.SIGTERM):  # the dispatcher decides when a sender ends
        loop.add_signal_handler(sig, lambda: None)
    try:
        await sender.lost.wait()  # the dispatcher closed the socket, or died
    finally:
        for task in list(sender.tasks):
            task.cancel()
        await asyncio.gather(*sender.tasks, return_exceptions=True)
        await client.close()


def main(argv: list[str]) -> int:
    fd, text = int(argv[1]), argv[2]
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(serve(fd, settings_from_json(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
