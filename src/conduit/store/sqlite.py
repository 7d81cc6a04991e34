"""The SQLite implementation of Conduit's store: one database file, group-committed writes.

The store's contract is the set of public async methods of its parts (one class per domain); a
PostgreSQL implementation provides the same methods with the same semantics, and the integration
suite is the judge.
"""

from __future__ import annotations

from pathlib import Path

from conduit.clock import Clock, SystemClock
from conduit.store.database import Database
from conduit.store.dataconnectors import DataConnectorStore
from conduit.store.devices import DeviceStore
from conduit.store.platform import PlatformStore


class SqliteStore(PlatformStore, DeviceStore, DataConnectorStore):
    def __init__(self, path: Path | str, clock: Clock | None = None) -> None:
        self.db = Database(path)
        self.clock = clock or SystemClock()

    def open(self) -> None:
        self.db.open()

    def close(self) -> None:
        self.db.close()
