"""Fan-out of freshly committed events to open `:stream` connections (in-process)."""

from __future__ import annotations

from conduit.context import Context


class StreamHub:
    name = "stream_hub"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ctx.workers[self.name] = self

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
