"""Versioned schema migrations: applied in order at start, recorded, never applied twice, and data
written before a restart is still there after it."""

from __future__ import annotations

import contextlib
import sqlite3
from importlib import resources
from pathlib import Path

from conduit.store.sqlite.database import Database, apply_migrations, connect


def _migration_files() -> list[str]:
    folder = resources.files("conduit.store.sqlite").joinpath("migrations")
    return sorted(e.name for e in folder.iterdir() if e.name.endswith(".sql"))


def test_migration_files_are_numbered_once_each() -> None:
    names = _migration_files()
    versions = [int(name.split("_", 1)[0]) for name in names]
    assert versions == sorted(set(versions)), names
    assert versions[0] == 1 and len(versions) >= 3


def test_a_fresh_database_gets_every_migration_once(tmp_path: Path) -> None:
    with contextlib.closing(connect(tmp_path / "conduit.db")) as conn:
        assert apply_migrations(conn) == _migration_files()
        recorded = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY 1")]
        assert recorded == _migration_files()
        assert apply_migrations(conn) == [], "a second start applies nothing"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"projects", "devices", "events", "dataconnectors", "deliveries"} <= tables


def test_only_the_missing_migrations_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "conduit.db"
    with contextlib.closing(connect(path)) as conn:
        apply_migrations(conn)
        latest = [m for m in _migration_files() if _only_creates_tables(m)][-1]
        # Roll the record back as if the database predated that migration.
        conn.execute("DELETE FROM schema_migrations WHERE name = ?", (latest,))
    created = _tables_created_by(latest)
    with contextlib.closing(connect(path)) as conn:
        for table in created:
            conn.execute(f"DROP TABLE {table}")
        assert apply_migrations(conn) == [latest]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert set(created) <= names


def _only_creates_tables(migration: str) -> bool:
    """A migration that can be re-run once its tables are dropped (no ALTER of older tables)."""
    sql = resources.files("conduit.store.sqlite").joinpath("migrations", migration).read_text()
    return bool(_tables_created_by(migration)) and "ALTER TABLE" not in sql.upper()


def _tables_created_by(migration: str) -> list[str]:
    sql = resources.files("conduit.store.sqlite").joinpath("migrations", migration).read_text()
    return [line.split()[2] for line in sql.splitlines() if line.upper().startswith("CREATE TABLE")]


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "conduit.db"
    first = Database(path)
    first.open()
    await first.write(
        lambda c: c.execute(
            "INSERT INTO organizations(id, display_name, create_time) VALUES ('o', 'Org', 0)"
        )
    )
    first.close()
    second = Database(path)
    second.open()
    try:
        row = second.read(lambda c: c.execute("SELECT display_name FROM organizations").fetchone())
        assert row[0] == "Org"
    finally:
        second.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
