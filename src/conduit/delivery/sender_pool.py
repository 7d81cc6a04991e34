"""The dispatcher's side of its sender processes: a `Sender` whose attempts run in other processes.

`settings.delivery_workers` sender processes each get a socketpair; `submit` writes the attempt to
the least busy one, and its outcome calls `done` when it comes back. The dispatcher's decisions,
slots and store work stay in the server process; only the HTTP work moves out, so publishing and
delivering no longer share one core.

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
from dataclasses import dataclass, field

from conduit.config import Settings
from conduit.delivery.http import Outcome
from conduit.delivery.sender_process import settings_json
from conduit.delivery.sender_protocol import (
    Frame,
    FrameProtocol,
    FrameWriter,
    decode_outcome,
    encode_request,
)
from conduit.delivery.senders import AttemptRequest, Done

log = logging.getLogger("conduit.delivery")

LOST = Outcome(False, None, "sender_lost", 0.0)
WATCHDOG_EVERY = 5.0  # seconds
STALL_MARGIN = 30.0  # seconds past the request timeout before a silent sender is replaced


@dataclass
class _Worker:
    index: int
    proc: asyncio.subprocess.Process
    transport: asyncio.Transport
    writer: FrameWriter
    pending: dict[int, tuple[Done, float]] = field(default_factory=dict)  # id -> (done, since)
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
                self._retire(worker, fail_pending=False)  # abandoned: the dispatcher is stopping
        for worker in self._workers:
            if worker is not None:
                await _reap(worker.proc)

    def submit(self, request: AttemptRequest, done: Done) -> None:
        if request.target is None:
            done(Outcome(False, None, "invalid_url", 0.0))
            return
        worker = self._least_busy()
        if worker is None:
            done(LOST)
            return
        request_id = next(self._ids)
        worker.pending[request_id] = (done, time.monotonic())
        worker.writer.write(
            encode_request(
                request_id,
                request.target.text,
                request.headers,
                request.secret,
                request.iat,
                request.jti,
                request.body,
                request.scheme,
                request.previous,
                request.event_id,
            )
        )

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
            entry = holder["worker"].pending.pop(request_id, None)
            if entry is not None:
                entry[0](decode_outcome(meta))

        def on_lost(_exc: Exception | None) -> None:
            worker = holder.get("worker")
            if worker is not None:
                self._lost(worker)

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(
            lambda: FrameProtocol(on_frame, on_lost), sock=parent
        )
        worker = _Worker(index=index, proc=proc, transport=transport, writer=FrameWriter(transport))
        holder["worker"] = worker
        self._workers[index] = worker

    def _retire(self, worker: _Worker, *, fail_pending: bool = True) -> None:
        worker.alive = False
        worker.transport.close()
        pending, worker.pending = worker.pending, {}
        if fail_pending:
            for done, _ in pending.values():
                done(LOST)

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
