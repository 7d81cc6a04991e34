"""Sends every queued delivery as its own signed HTTPS POST, in parallel, the moment it is committed."""

from __future__ import annotations

from conduit.context import Context


class Dispatcher:
    name = "dispatcher"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ctx.workers[self.name] = self

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
