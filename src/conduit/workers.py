"""Background workers share one shape so the app can start and stop them with the server."""

from __future__ import annotations

from typing import Protocol


class Worker(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
