"""Background pruning of event history older than the retention period (31 days by default)."""

from __future__ import annotations

from conduit.context import Context


class RetentionPruner:
    name = "retention"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ctx.workers[self.name] = self

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
