"""Group commit: concurrent writes share one transaction, each caller is answered only after that
transaction is durable, and one job's failure rolls back only that job.

These are the promises the publish path is built on (issue 2, item 5): a publish is answered after
its commit, and a burst of N publishes costs one commit, not N.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conduit.store.sqlite.database import Database, connect
from tests.harness.receivers import eventually

BURST = 50


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "conduit.db")
    database.open()
    yield database
    database.close()


def _create_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)")


def _committed_rows(path: Path) -> int:
    """What another connection sees: only committed rows."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return int(other.execute("SELECT count(*) FROM t").fetchone()[0])


async def _hold_the_writer(db: Database) -> tuple[asyncio.Future[None], threading.Event]:
    """A job that keeps the writer busy until released, so later jobs queue up behind it."""
    started, release = threading.Event(), threading.Event()

    def block(_: sqlite3.Connection) -> None:
        started.set()
        assert release.wait(5)

    blocker = asyncio.ensure_future(db.write(block))
    assert await asyncio.to_thread(started.wait, 5)
    return blocker, release


async def test_a_burst_of_writes_shares_one_commit(db: Database) -> None:
    await db.write(_create_table)
    blocker, release = await _hold_the_writer(db)
    commits: list[int] = []  # rows committed as each later commit's after-commit hooks see it
    three = threading.Event()

    def count_commit() -> None:
        commits.append(_committed_rows(db.path))
        if len(commits) >= 3:
            three.set()

    db.after_commit.append(count_commit)

    def insert(n: int) -> Callable[[sqlite3.Connection], int]:
        def job(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO t(n) VALUES (?)", (n,))
            return n

        return job

    writes = [asyncio.ensure_future(db.write(insert(n))) for n in range(BURST)]
    await eventually(lambda: db.queued_jobs == BURST)  # every write queued behind the blocker
    assert not any(w.done() for w in writes)
    release.set()
    first = next(asyncio.as_completed(writes))
    await first
    # The first caller answered already sees the whole burst committed: one transaction.
    assert _committed_rows(db.path) == BURST
    assert sorted(await asyncio.gather(*writes)) == list(range(BURST))
    await blocker
    # After-commit hooks run on the writer thread once the callers have been answered; a last,
    # empty write marks the end (its hook runs after every earlier commit's).
    await db.write(lambda conn: None)
    assert await asyncio.to_thread(three.wait, 5)
    assert commits == [0, BURST, BURST], "the blocker, the whole burst in one, the end mark"


async def test_a_failing_job_rolls_back_alone(db: Database) -> None:
    await db.write(_create_table)
    blocker, release = await _hold_the_writer(db)

    def insert(n: int, fail: bool = False) -> Callable[[sqlite3.Connection], None]:
        def job(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t(n) VALUES (?)", (n,))
            if fail:
                raise ValueError("this job's rule says no")

        return job

    good = [asyncio.ensure_future(db.write(insert(n))) for n in (1, 2)]
    bad = asyncio.ensure_future(db.write(insert(3, fail=True)))
    after = asyncio.ensure_future(db.write(insert(4)))
    await eventually(lambda: db.queued_jobs == 4)  # all four in one batch behind the blocker
    release.set()
    await blocker
    await asyncio.gather(*good, after)
    with pytest.raises(ValueError, match="says no"):
        await bad
    with contextlib.closing(sqlite3.connect(db.path)) as other:
        assert [r[0] for r in other.execute("SELECT n FROM t ORDER BY n")] == [1, 2, 4]


async def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    database = Database(tmp_path / "conduit.db")
    database.open()
    database.close()
    with pytest.raises(RuntimeError, match="closed"):
        await database.write(_create_table)


def test_every_connection_is_wal_with_durable_commits(tmp_path: Path) -> None:
    with contextlib.closing(connect(tmp_path / "conduit.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2, "FULL: fsync per commit"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


async def test_a_big_failing_job_rolls_back_alone_from_a_journal_in_memory(db: Database) -> None:
    """The writer keeps each job's savepoint journal in memory (`temp_store=MEMORY`): no write
    syscalls for it. A job touching far more than SQLite's 64 KiB spill size still rolls back
    exactly, and the jobs before and after it in the same transaction still commit."""
    await db.write(_create_table)
    await db.write(lambda c: c.execute("CREATE TABLE blobs (n INTEGER PRIMARY KEY, b BLOB)"))
    assert await db.write(lambda c: c.execute("PRAGMA temp_store").fetchone()[0]) == 2  # MEMORY
    await db.write(lambda c: c.executemany("INSERT INTO blobs VALUES (?, ?)", _blobs(0, 200)))
    blocker, release = await _hold_the_writer(db)

    def rewrite_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE blobs SET b = zeroblob(3000)")  # every page of the table: ~600 KB
        conn.executemany("INSERT INTO blobs VALUES (?, ?)", _blobs(200, 400))
        raise ValueError("no")

    before = asyncio.ensure_future(db.write(lambda c: c.execute("INSERT INTO t(n) VALUES (1)")))
    bad = asyncio.ensure_future(db.write(rewrite_then_fail))
    after = asyncio.ensure_future(db.write(lambda c: c.execute("INSERT INTO t(n) VALUES (2)")))
    await eventually(lambda: db.queued_jobs == 3)
    release.set()
    await asyncio.gather(blocker, before, after)
    with pytest.raises(ValueError):
        await bad
    with contextlib.closing(sqlite3.connect(db.path)) as other:
        assert [r[0] for r in other.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
        rows = other.execute("SELECT count(*), sum(length(b)), min(hex(b) LIKE '00%') FROM blobs")
        assert rows.fetchone() == (200, 200 * 3000, 0)


def _blobs(start: int, stop: int) -> list[tuple[int, bytes]]:
    return [(n, bytes([n % 250 + 1]) * 3000) for n in range(start, stop)]
