"""Reading a server's database through the store's public reads, as the server itself would —
never with raw SQL, so one test judges every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from conduit.clock import SystemClock
from conduit.store import make_store
from conduit.store.contract import Store
from tests.harness.server import ServerProcess

T = TypeVar("T")


def database_of(server: ServerProcess) -> str:
    return server.database or str(server.data_dir / "conduit.db")


def read_stored(server: ServerProcess, read: Callable[[Store], Coroutine[Any, Any, T]]) -> T:
    """Run one public read against the server's database from a store of the test's own. On
    SQLite only while the server is stopped (the file admits one server at a time)."""

    async def run() -> T:
        store = make_store(database_of(server), SystemClock())
        await store.open()
        try:
            return await read(store)
        finally:
            await store.close()

    return asyncio.run(run())
