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
import os
import signal
import socket
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson

from conduit.config import Settings
from conduit.delivery.http import PushClient, Target, parse_target
from conduit.delivery.request import attempt_headers
from conduit.delivery.sender_protocol import Frame, FrameProtocol, FrameWriter, encode_outcome
from conduit.gc_policy import tune_for_serving

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
        self.writer: FrameWriter | None = None
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
        request_id, meta, body = frame
        task = asyncio.ensure_future(self.attempt(request_id, meta, body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def attempt(self, request_id: int, meta: list[Any], body: bytes) -> None:
        url, base, secret, iat, jti, scheme, previous, event_id = meta
        headers = attempt_headers(
            base,
            body,
            secret.encode() if secret else None,
            iat=iat,
            jti=jti,
            scheme=scheme,
            previous=previous.encode() if previous else None,
            event_id=event_id,
        )
        outcome = await self.client.post(self.target(url), body, headers)
        if self.writer is not None:
            self.writer.write(encode_outcome(request_id, outcome))

    def on_lost(self, _exc: Exception | None) -> None:
        self.lost.set()


async def _orphaned(parent: int) -> None:
    """Returns when the dispatcher's process is gone, even if the socket never reported it."""
    while os.getppid() == parent:  # noqa: ASYNC110 - no event exists for "my parent died"
        await asyncio.sleep(1.0)


async def serve(fd: int, settings: Settings, parent: int) -> None:
    loop = asyncio.get_running_loop()
    client = PushClient(settings)
    await client.start()
    sender = Sender(client)
    sock = socket.socket(fileno=fd)
    transport, _ = await loop.connect_accepted_socket(
        lambda: FrameProtocol(sender.on_frame, sender.on_lost), sock
    )
    sender.writer = FrameWriter(transport)
    for sig in (signal.SIGINT, signal.SIGTERM):  # the dispatcher decides when a sender ends
        loop.add_signal_handler(sig, lambda: None)
    orphaned = asyncio.ensure_future(_orphaned(parent))
    lost = asyncio.ensure_future(sender.lost.wait())
    try:  # until the dispatcher closes the socket, or dies
        await asyncio.wait([lost, orphaned], return_when=asyncio.FIRST_COMPLETED)
    finally:
        orphaned.cancel()
        lost.cancel()
        for task in list(sender.tasks):
            task.cancel()
        await asyncio.gather(*sender.tasks, return_exceptions=True)
        await client.close()


def main(argv: list[str]) -> int:
    fd, text, parent = int(argv[1]), argv[2], os.getppid()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    tune_for_serving()
    asyncio.run(serve(fd, settings_from_json(text), parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
