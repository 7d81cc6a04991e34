"""The PostgreSQL backend: any number of identical nodes on one database, no leader, no broker.

Every node runs the same code; PostgreSQL is what they share: claims (`FOR UPDATE SKIP LOCKED`,
leases tagged by node), wake-ups (`LISTEN/NOTIFY`), and every rule's state. See docs/scaling.md.
"""

from __future__ import annotations

import uuid

from conduit.clock import Clock, SystemClock
from conduit.store.postgres.accounts import PgAccounts
from conduit.store.postgres.attempts import PgAttemptLog
from conduit.store.postgres.connectors import PgConnectors
from conduit.store.postgres.database import Database
from conduit.store.postgres.dead_letters import PgDeadLetters
from conduit.store.postgres.devices import PgDevices
from conduit.store.postgres.facts import PgServerFacts
from conduit.store.postgres.queue import PgQueue
from conduit.store.postgres.replays import PgReplays
from conduit.store.postgres.users import PgUsers


class PostgresStore(
    PgAccounts,
    PgDevices,
    PgConnectors,
    PgQueue,
    PgAttemptLog,
    PgDeadLetters,
    PgReplays,
    PgServerFacts,
    PgUsers,
):
    def __init__(self, url: str, clock: Clock | None = None, node_id: str | None = None) -> None:
        self.db = Database(url)
        self.clock = clock or SystemClock()
        self.node_id = node_id or uuid.uuid4().hex[:12]

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()
