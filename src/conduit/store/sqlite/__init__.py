"""The SQLite backend: one database file, one node, group-committed writes.

The default: `conduit serve` with no other service. One process owns the file (an exclusive lock
taken at open), so its single dispatcher may treat every claim it finds at start as orphaned.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from conduit.clock import Clock, SystemClock
from conduit.store.sqlite.accounts import SqliteAccounts
from conduit.store.sqlite.attempts import SqliteAttemptLog
from conduit.store.sqlite.connectors import SqliteConnectors
from conduit.store.sqlite.database import Database
from conduit.store.sqlite.dead_letters import SqliteDeadLetters
from conduit.store.sqlite.devices import SqliteDevices
from conduit.store.sqlite.queue import SqliteQueue
from conduit.store.sqlite.replays import SqliteReplays
from conduit.store.sqlite.users import SqliteUsers


class SqliteStore(
    SqliteAccounts,
    SqliteDevices,
    SqliteConnectors,
    SqliteQueue,
    SqliteAttemptLog,
    SqliteDeadLetters,
    SqliteReplays,
    SqliteUsers,
):
    def __init__(
        self,
        path: Path | str,
        clock: Clock | None = None,
        *,
        read_only: bool = False,
        beside_server: bool = False,
    ) -> None:
        self.db = Database(path, read_only=read_only, beside_server=beside_server)
        self.clock = clock or SystemClock()
        self.node_id = uuid.uuid4().hex[:12]

    async def open(self) -> None:
        self.db.open()

    async def close(self) -> None:
        self.db.close()
