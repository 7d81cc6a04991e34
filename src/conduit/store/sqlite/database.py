"""SQLite with group commit: one writer thread, many cheap readers.

Why a writer thread: SQLite allows one writer at a time and a durable commit costs an fsync
(~0.4 ms here). Funnelling every write through one thread lets concurrent callers share a
transaction: while one commit is being synced, new jobs queue up and go into the next one together,
so a burst of N publishes costs one fsync, not N, and each caller is answered only once its own work
is durable.

Each job runs inside a SAVEPOINT, so one job's failure (a constraint, a rule raising `ApiError`)
rolls back only that job; the others in the batch still commit.

Reads run on the calling thread with a per-thread connection. In WAL mode they never block the
writer and see every commit that has been acknowledged, because an acknowledged write has already
committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from conduit import lifetime_lock
from conduit.store.migration_files import pending

T = TypeVar("T")
log = logging.getLogger("conduit.store")

MAX_BATCH = 512
Job = tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]


class DatabaseLocked(Exception):
    """Another process serves this SQLite file (the message says what to do instead)."""


def lock_exclusively(path: Path) -> None:
    """Hold `<database>.lock` for the life of this process, or refuse: two servers on one SQLite
    file would each take the other's claims for orphans and deliver everything twice. Taking it
    again in the same process is a no-op."""
    try:
        lifetime_lock.hold(Path(f"{path.resolve()}.lock"))
    except lifetime_lock.Locked:
        raise DatabaseLocked(
            f"another Conduit server is using {path.resolve()}; one SQLite database serves one"
            " server. To run several nodes, give them all one PostgreSQL database"
            " (--database postgresql://...)."
        ) from None


def release_lock(path: Path) -> None:
    lifetime_lock.release(Path(f"{path.resolve()}.lock"))


def create_private(path: Path) -> None:
    """Make the database file (and so, through SQLite, its -wal and -shm files) readable by its
    owner only: it holds every tenant's events and the encrypted secrets."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", 0o600)


def connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=True, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Database:
    def __init__(
        self, path: Path | str, *, read_only: bool = False, beside_server: bool = False
    ) -> None:
        self.path = Path(path)
        # Read-only: reads beside the server that owns the file (inspection, tests), without its
        # lock, its migrations or a writer.
        self.read_only = read_only
        # Beside the server: an operator's command (`conduit user add`) writing a few rows while a
        # server owns the file: no lock and no migrations (the server ran them); SQLite's own
        # file locking orders its writes with the server's.
        self.beside_server = beside_server
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._closed = False
        self.after_commit: list[Callable[[], None]] = []

    # ---- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        if self.read_only:
            return
        if not self.beside_server:
            lock_exclusively(self.path)
            create_private(self.path)
            conn = connect(self.path)
            try:
                apply_migrations(conn)
            finally:
                conn.close()
        self._writer = threading.Thread(
            target=self._write_loop, name="conduit-sqlite-writer", daemon=True
        )
        self._writer.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        if self._writer is not None:
            self._writer.join(timeout=30)
        with self._reader_lock:
            for conn in self._reader_conns:
                # one made by a thread that has gone cannot be closed here; the OS reclaims it
                with contextlib.suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._reader_conns.clear()
        if not self.read_only and not self.beside_server:
            release_lock(self.path)

    # ---- reads -----------------------------------------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = connect(self.path)
            conn.row_factory = sqlite3.Row
            self._readers.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        return conn

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on this thread's read connection (point reads take microseconds: no hop)."""
        return fn(self.reader())

    @property
    def queued_jobs(self) -> int:
        """Write jobs waiting for the writer (for tests and introspection)."""
        return self._jobs.qsize()

    # ---- writes ----------------------------------------------------------------------------------

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in the next group transaction; returns once that transaction is durable."""
        if self._closed or self.read_only:
            raise RuntimeError("database is closed" if self._closed else "database is read-only")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, fut))
        return await fut

    def _write_loop(self) -> None:
        conn = connect(self.path)
        conn.row_factory = sqlite3.Row
        # Each job runs inside a SAVEPOINT, so SQLite copies every page a job first touches into a
        # sub-journal; in a temp file that was 12 write syscalls and 38 KB per published event
        # (docs/performance.md). In memory it costs a memcpy, and no tenant data lands in /var/tmp.
        conn.execute("PRAGMA temp_store=MEMORY")
        try:
            while True:
                first = self._jobs.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                self._run_batch(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _ in batch:
                conn.execute("SAVEPOINT job")
                try:
                    result = fn(conn)
                except BaseException as exc:  # delivered to the caller, not swallowed
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((True, result))
            conn.execute("COMMIT")
        except BaseException as exc:  # the commit itself failed: nobody's work is durable
            log.exception("group commit failed")
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            outcomes = [(False, exc) for _ in batch]
        self._settle(batch, outcomes)
        for hook in self.after_commit:
            try:
                hook()
            except Exception:
                log.exception("after-commit hook failed")

    @staticmethod
    def _settle(batch: list[Job], outcomes: list[tuple[bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, fut), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(fut.get_loop(), []).append((fut, ok, value))
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed; its callers are gone
                loop.call_soon_threadsafe(_resolve, items)


def _resolve(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for fut, ok, value in items:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every `migrations/NNNN_*.sql` not yet recorded, each in its own transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL"
        " DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    for migration in pending("conduit.store.sqlite", done):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations(version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(migration.name)
        log.info("applied migration %s", migration.name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (ours hold no semicolons inside literals or triggers)."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in code.split(";") if s.strip()]
