"""A server's database, seen the way the server sees it.

Tests assert through the store's public reads (`read_stored`), never with raw SQL, so one test
judges every backend. A few tests must first arrange a state no API can produce (attempts hours old,
a connector five days into failing); `arrange` runs that one statement in the backend's dialect, and
is the only SQL the suite writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from conduit.clock import SystemClock
from conduit.store import is_postgres, make_store
from conduit.store.contract import Store
from tests.harness.server import ServerProcess

T = TypeVar("T")


def database_of(server: ServerProcess) -> str:
    return server.database or str(server.data_dir / "conduit.db")


def read_stored(server: ServerProcess, read: Callable[[Store], Coroutine[Any, Any, T]]) -> T:
    """Run one public read against the server's database (running or not) from a store of the
    test's own (on SQLite a read-only one: the running server owns the file)."""
    return read_database(database_of(server), read)


def read_database(database: str, read: Callable[[Store], Coroutine[Any, Any, T]]) -> T:
    async def run() -> T:
        store = make_store(database, SystemClock(), read_only=True)
        await store.open()
        try:
            return await read(store)
        finally:
            await store.close()

    return asyncio.run(run())


def arrange(server: ServerProcess, sqlite_sql: str, postgres_sql: str, *args: Any) -> None:
    """Write a state into the server's database that no API can produce (one statement, given
    in each dialect)."""
    database = database_of(server)
    if is_postgres(database):

        async def run() -> None:
            conn = await asyncpg.connect(database)
            try:
                await conn.execute(postgres_sql, *args)
            finally:
                await conn.close()

        asyncio.run(run())
        return
    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        conn.execute(sqlite_sql, args)
    finally:
        conn.close()


def insert_attempts(server: ServerProcess, rows: list[tuple[Any, ...]]) -> None:
    """Attempt-log rows as the dispatcher writes them: (connector_id, event_id, attempt, at,
    success, status_code, error, latency)."""
    for row in rows:
        arrange(
            server,
            "INSERT INTO delivery_attempts(connector_id, event_id, attempt, at, success,"
            " status_code, error, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            "INSERT INTO delivery_attempts(connector_id, event_id, attempt, at, success,"
            " status_code, error, latency) VALUES ($1, $2, $3, $4, $5::int::boolean, $6, $7, $8)",
            *row,
        )


def raw_bytes(server: ServerProcess) -> bytes:
    """Everything the database holds, as bytes at rest: the SQLite files, or a dump of the
    PostgreSQL database (to prove what is never stored in the clear)."""
    database = database_of(server)
    if is_postgres(database):
        return subprocess.run(
            ["pg_dump", "--data-only", database], check=True, capture_output=True
        ).stdout
    return b"".join(p.read_bytes() for p in Path(database).parent.glob(Path(database).name + "*"))
