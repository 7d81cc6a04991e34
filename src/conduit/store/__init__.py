"""Conduit's storage: the contract (`contract.py`) and its two backends, chosen by the database
setting — a `postgresql://` URL means PostgreSQL, anything else is a SQLite file path."""

from __future__ import annotations

from pathlib import Path

from conduit.clock import Clock
from conduit.store.contract import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: str | Path) -> bool:
    return str(database).startswith(POSTGRES_SCHEMES)


def make_store(database: str | Path, clock: Clock) -> Store:
    """The backend for `database` (not yet opened)."""
    if is_postgres(database):
        from conduit.store.postgres import PostgresStore

        return PostgresStore(str(database), clock)
    from conduit.store.sqlite import SqliteStore

    return SqliteStore(database, clock)
