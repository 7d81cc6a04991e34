"""Conduit's storage: the contract (`contract.py`) and its two backends, chosen by the database
setting — a `postgresql://` URL means PostgreSQL, anything else is a SQLite file path."""

from __future__ import annotations

from pathlib import Path

from conduit.clock import Clock
from conduit.store.contract import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: str | Path) -> bool:
    return str(database).startswith(POSTGRES_SCHEMES)


def make_store(
    database: str | Path,
    clock: Clock,
    *,
    read_only: bool = False,
    beside_server: bool = False,
    node_id: str | None = None,
) -> Store:
    """The backend for `database` (not yet opened). `read_only` opens a SQLite file beside the
    server that owns it, for reads only, and `beside_server` for an operator command's few writes
    (PostgreSQL needs neither mode); `node_id` is the stable name a PostgreSQL node tags its claims
    with (a fresh one if not given)."""
    if is_postgres(database):
        from conduit.store.postgres import PostgresStore

        return PostgresStore(str(database), clock, node_id=node_id)
    from conduit.store.sqlite import SqliteStore

    return SqliteStore(database, clock, read_only=read_only, beside_server=beside_server)


async def apply_migrations(database: str | Path) -> list[str]:
    """Bring the database's schema up to date; returns the migrations applied."""
    if is_postgres(database):
        from conduit.store.postgres.database import apply_migrations as apply_pg
        from conduit.store.postgres.database import connect

        conn = await connect(str(database))
        try:
            return await apply_pg(conn)
        finally:
            await conn.close()
    from conduit.store.sqlite.database import apply_migrations as apply_sqlite
    from conduit.store.sqlite.database import connect as connect_sqlite

    sqlite = connect_sqlite(Path(str(database).removeprefix("sqlite:///")))
    try:
        return apply_sqlite(sqlite)
    finally:
        sqlite.close()
