"""Storage of Data Connector resources (SQLite)."""

from __future__ import annotations

from conduit.clock import Clock
from conduit.store.database import Database


class DataConnectorStore:
    db: Database
    clock: Clock
