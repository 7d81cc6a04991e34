"""Sender processes: pushes go out through them, and losing one loses no event."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.harness.engine import running_engine
from tests.harness.receivers import Receiver, eventually, hanging


async def test_pushes_go_through_a_sender_process(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path, delivery_workers=2) as engine:
            cid = await engine.connector(receiver.url, secret="k", headers={"X-A": "b"})
            for _ in range(50):
                await engine.publish()
            requests = await receiver.wait(50)
            await eventually(lambda: engine.queued(cid) == 0)
            workers = [w for w in engine.dispatcher.client._workers if w is not None]
            assert len(workers) == 2 and all(w.proc.returncode is None for w in workers)
    assert all(r.header("X-A") == "b" and r.header("X-Dt-Signature") for r in requests)
    assert all(w.proc.returncode is not None for w in workers)  # stopped with the dispatcher


async def test_a_dead_sender_fails_its_attempts_and_is_replaced(tmp_path: Path) -> None:
    with Receiver(hanging()) as stuck, Receiver() as healthy:
        async with running_engine(tmp_path, delivery_workers=1, delivery_timeout=30.0) as engine:
            cid = await engine.connector(stuck.url)
            await engine.publish()
            await stuck.wait(1)
            [worker] = engine.dispatcher.client._workers
            assert worker is not None
            os.kill(worker.proc.pid, signal.SIGKILL)
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            [attempt] = engine.attempts(cid)
            assert attempt["success"] == 0 and attempt["error"] == "sender_lost"
            assert engine.queued(cid) == 1  # still queued: it will be retried
            other = await engine.connector(healthy.url)
            await engine.publish()
            await healthy.wait(1)  # through the replacement sender
            await eventually(lambda: engine.queued(other) == 0)
            [replacement] = engine.dispatcher.client._workers
            assert replacement is not None and replacement.proc.pid != worker.proc.pid
