"""The dispatcher's side of its sender processes: same `post` as `PushClient`, other processes.

`settings.delivery_workers` sender processes each get a socketpair; `post` writes the attempt to the
least busy one and awaits its outcome. The dispatcher's decisions, slots and store work stay in the
server process; only the HTTP work moves out, so publishing and delivering no longer share one core.

Failure policy: a sender that dies (or stops answering for longer than any attempt may take) fails
every attempt it held — they are retried like any failed attempt, so a push may arrive twice but is
never lost — and is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from conduit.config import Settings
from conduit.delivery.http import Outcome, Target
from conduit.delivery.sender_process import settings_json
from conduit.delivery.sender_protocol import Frame, FrameProtocol, decode_outcome, encode_request

log = logging.getLogger("conduit.delivery")

LOST = Outcome(False, None, "sender_lost", 0.0)
WATCHDOG_EVERY = 5.0  # seconds
STALL_MARGIN = 30.0  # seconds past the request timeout before a silent sender is replaced


@dataclass
class _Worker:
    index: int
    proc: asyncio.subprocess.Process
    transport: asyncio.Transport
    pending: dict[int, tuple[asyncio.Future[Outcome], float]] = field(default_factory=dict)
    alive: bool = True


class SenderPool:
    def __init__(self, settings: Settings, workers: int) -> None:
        self._settings = settings
        self._count = max(1, workers)
        self._workers: list[_Worker | None] = [None] * self._count
        self._ids = itertools.count(1)
        self._closing = False
        self._watchdog: asyncio.Task[None] | None = None
        self._stall = settings.delivery_timeout + STALL_MARGIN

    async def start(self) -> None:
        for index in range(self._count):
            await self._spawn(index)
        self._watchdog = asyncio.create_task(self._watch())

    async def close(self) -> None:
        self._closing = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
        for worker in self._workers:
            if worker is not None:
                self._retire(worker)
        for worker in self._workers:
            if worker is not None:
                await _reap(worker.proc)

    async def post(self, target: Target | None, body: bytes, headers: Mapping[str, str]) -> Outcome:
        if target is None:
            return Outcome(False, None, "invalid_url", 0.0)
        worker = self._least_busy()
        if worker is None:
            return LOST
        request_id = next(self._ids)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        worker.pending[request_id] = (future, time.monotonic())
        worker.transport.write(encode_request(request_id, str(target.url), headers, body))
        try:
            return await future
        finally:
            worker.pending.pop(request_id, None)

    # ---- workers --------------------------------------------------------------------------------

    def _least_busy(self) -> _Worker | None:
        best: _Worker | None = None
        for worker in self._workers:
            if (
                worker is not None
                and worker.alive
                and (best is None or len(worker.pending) < len(best.pending))
            ):
                best = worker
        return best

    async def _spawn(self, index: int) -> None:
        parent, child = socket.socketpair()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "conduit.delivery.sender_process",
                str(child.fileno()),
                settings_json(self._settings),
                pass_fds=(child.fileno(),),
            )
        finally:
            child.close()
        holder: dict[str, _Worker] = {}

        def on_frame(frame: Frame) -> None:
            request_id, meta, _ = frame
            entry = holder["worker"].pending.get(request_id)
            if entry is not None and not entry[0].done():
                entry[0].set_result(decode_outcome(meta))

        def on_lost(_exc: Exception | None) -> None:
            worker = holder.get("worker")
            if worker is not None:
                self._lost(worker)

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(
            lambda: FrameProtocol(on_frame, on_lost), sock=parent
        )
        worker = _Worker(index=index, proc=proc, transport=transport)
        holder["worker"] = worker
        self._workers[index] = worker

    def _retire(self, worker: _Worker) -> None:
        worker.alive = False
        worker.transport.close()
        for future, _ in worker.pending.values():
            if not future.done():
                future.set_result(LOST)

    def _lost(self, worker: _Worker) -> None:
        was_alive = worker.alive
        self._retire(worker)
        if was_alive and not self._closing:
            log.warning("delivery sender process %d exited; starting another", worker.proc.pid)
            asyncio.get_running_loop().create_task(self._replace(worker))

    async def _replace(self, worker: _Worker) -> None:
        await _reap(worker.proc)
        while not self._closing:
            try:
                await self._spawn(worker.index)
                return
            except OSError:
                log.exception("could not start a delivery sender process; retrying in 1 s")
                await asyncio.sleep(1.0)

    async def _watch(self) -> None:
        """Replace a sender that holds an attempt far longer than any attempt may take."""
        while True:
            await asyncio.sleep(WATCHDOG_EVERY)
            now = time.monotonic()
            for worker in self._workers:
                if worker is None or not worker.alive:
                    continue
                oldest = min((since for _, since in worker.pending.values()), default=now)
                if now - oldest > self._stall:
                    log.error("delivery sender process %d stalled; replacing it", worker.proc.pid)
                    with contextlib.suppress(ProcessLookupError):
                        worker.proc.kill()
                    self._lost(worker)


async def _reap(proc: asyncio.subprocess.Process) -> None:
    """Wait for a sender to exit (it does once its socket closes); kill it if it will not."""
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
