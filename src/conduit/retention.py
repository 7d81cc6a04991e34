"""Background pruning of event history older than the retention period (31 days by default).

DT Cloud keeps event history for 31 days; so does Conduit (`--retention-days`), and dead letters
(deliveries that left the queue undelivered) are kept as long, so a failed event can be replayed
for as long as it is stored. Pruning runs in
small batches, each its own write job, so a large backlog (a first run after a long downtime) never
holds the writer long enough to delay publishes. The cut-off is computed from the injected clock, so
tests prune with any `now` they like.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from conduit.context import Context
from conduit.store.contract import DeadLetterLog, DeviceStore

log = logging.getLogger("conduit.retention")

DAY = 86_400.0
BATCH = 2_000
INTERVAL = 600.0  # seconds between passes; expiry is to the day, so this is plenty


def cutoff(now: float, retention_days: float) -> float:
    """Events with a timestamp before this are past retention."""
    return now - retention_days * DAY


async def _in_batches(
    prune: Callable[[float, int], Awaitable[int]], before: float, batch: int
) -> int:
    """Call a bounded prune until it deletes less than a full batch; how many went in all."""
    total = 0
    while True:
        deleted = await prune(before, batch)
        total += deleted
        if deleted < batch:
            return total


async def prune_expired(
    store: DeviceStore, now: float, retention_days: float, batch: int = BATCH
) -> int:
    """Delete every event older than the retention period as of `now`; returns how many went."""
    return await _in_batches(store.prune_events, cutoff(now, retention_days), batch)


async def prune_dead_letters(
    store: DeadLetterLog, now: float, retention_days: float, batch: int = BATCH
) -> int:
    """Delete every dead letter older than the retention period as of `now`."""
    return await _in_batches(store.prune_dead_letters, cutoff(now, retention_days), batch)


class RetentionPruner:
    name = "retention"

    def __init__(self, ctx: Context, interval: float = INTERVAL) -> None:
        self.ctx = ctx
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        ctx.workers[self.name] = self

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="conduit-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def prune_once(self) -> int:
        now, days = self.ctx.clock.now(), self.ctx.settings.retention_days
        await prune_dead_letters(self.ctx.store, now, days)
        return await prune_expired(self.ctx.store, now, days)

    async def _run(self) -> None:
        while True:
            try:
                deleted = await self.prune_once()
                if deleted:
                    log.info(
                        "pruned %d events older than %g days",
                        deleted,
                        self.ctx.settings.retention_days,
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention pass failed; retrying next interval")
            await self.ctx.clock.sleep(self.interval)
