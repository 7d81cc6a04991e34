"""PostgreSQL: the connection pool, versioned migrations under an advisory lock, and wake-ups.

Nodes are identical and leaderless; PostgreSQL is the only thing they share. Migrations are the
numbered files in `migrations/`, applied in order inside one transaction each, under a
session-level advisory lock so that nodes starting together apply each file exactly once (the
others wait, then find it recorded).

Wake-ups: a commit that leaves work for other nodes (queue rows nobody claimed, events for their
streams) sends `NOTIFY` on one channel in the same transaction — delivered on commit, never for a
rolled-back write — and every node `LISTEN`s on a dedicated connection. Polling remains only as a
safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from conduit.store.migration_files import pending

log = logging.getLogger("conduit.store")

MIGRATION_LOCK = 0x436F6E64  # "Cond": the advisory lock key of schema migrations
CHANNEL = "conduit"
POOL_MIN, POOL_MAX = 2, 10


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached right now (the API answers 503; the dispatcher retries)."""


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


async def apply_migrations(conn: asyncpg.Connection) -> list[str]:
    """Apply every `migrations/NNNN_*.sql` not yet recorded, under the migration lock."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in pending("conduit.store.postgres", done):
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations(version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied.append(migration.name)
            log.info("applied migration %s", migration.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


class Database:
    """The pool every store part uses, and the listener connection behind `on_notify`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[str], None]] = []

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def open(self) -> None:
        conn = await connect(self.url)
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(self.url, min_size=POOL_MIN, max_size=POOL_MAX)
        self._listen_task = asyncio.create_task(self._listen(), name="conduit-pg-listen")

    async def close(self) -> None:
        if self._listen_task is not None:
            self._listen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listen_task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        if self._pool is not None:
            await self._pool.close()

    async def _listen(self) -> None:
        """Keep one connection LISTENing, reconnecting after a database restart; after each
        (re)connect every listener is told "*" (anything may have happened meanwhile)."""
        while True:
            try:
                conn = await connect(self.url)
                self._listener = conn
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._dispatch("*")
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", exc)
            await asyncio.sleep(1.0)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._dispatch(payload)

    def _dispatch(self, payload: str) -> None:
        for listener in self.listeners:
            try:
                listener(payload)
            except Exception:
                log.exception("notification listener failed")
