"""The store backends the suite runs against, and a fresh PostgreSQL database per server.

Every integration test runs once per backend in `CONDUIT_TEST_BACKENDS` (default: both). A server
or engine started while the PostgreSQL variant runs gets a database of its own, created on the
local PostgreSQL (`CONDUIT_TEST_POSTGRES`, trust auth) and dropped when the test run ends. If
PostgreSQL cannot be reached, the PostgreSQL variants fail with a message saying so: nothing is
skipped silently.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = [
    b.strip() for b in os.environ.get("CONDUIT_TEST_BACKENDS", f"{SQLITE},{POSTGRESQL}").split(",")
]
ADMIN_URL = os.environ.get("CONDUIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

_run = uuid.uuid4().hex[:8]
_numbers = itertools.count()
_created: list[str] = []
current = SQLITE  # the backend of the test now running (set by an autouse fixture)


def database_url(name: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def _admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(ADMIN_URL)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL at {ADMIN_URL} cannot be reached ({exc}); start it, or run only SQLite"
            " with CONDUIT_TEST_BACKENDS=sqlite"
        ) from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def new_database() -> str:
    """A new, empty PostgreSQL database for one server or engine; returns its URL."""
    name = f"conduit_test_{_run}_{next(_numbers)}"
    _run_admin(f"CREATE DATABASE {name}")
    _created.append(name)
    return database_url(name)


def drop_databases() -> None:
    while _created:
        _run_admin(f"DROP DATABASE IF EXISTS {_created.pop()} WITH (FORCE)")


def _run_admin(sql: str) -> None:
    """Run one admin statement from sync code or from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_admin(sql))
        return
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_admin(sql))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def database_for_current_backend() -> str | None:
    """The `--database` a new server or engine should use: None (its SQLite file) or a fresh
    PostgreSQL database."""
    return new_database() if current == POSTGRESQL else None
