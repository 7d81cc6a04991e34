"""Storage of devices, labels, published events and event history (SQLite)."""

from __future__ import annotations

from conduit.clock import Clock
from conduit.store.database import Database


class DeviceStore:
    db: Database
    clock: Clock
