"""PostgreSQL: `:replay` — queue a window of a connector's events again, page by page.

Each page is its own transaction holding the connector's row lock, so two identical replays
started together are serialized: the second sees the first one's rows and queues nothing. Every
page tells all nodes (`NOTIFY`) that the connector has claimable rows.
"""

from __future__ import annotations

from conduit.domain.dataconnector_rules import Replay
from conduit.domain.dataconnectors import ACTIVE
from conduit.domain.errors import BadRequest
from conduit.store.postgres.connectors import select_connector
from conduit.store.postgres.database import Database
from conduit.store.postgres.queue import notify
from conduit.store.replay_queries import Cursor, next_cursor, page_query, pushes

_INSERT = (
    "INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts, next_attempt,"
    " lease_until, replay) SELECT $1, e, $2, b, 0, $2, 0, $3"
    " FROM unnest($4::text[], $5::bytea[]) AS u(e, b)"
)


class PgReplays:
    db: Database
    node_id: str

    async def replay(
        self, project_id: str, connector_id: str, replay: Replay, now: float
    ) -> tuple[int, bool]:
        seen: set[str] = set()
        total = 0
        after: Cursor | None = (replay.start, -1)
        first = True
        while after is not None:
            async with self.db.pool.acquire() as conn, conn.transaction():
                connector = await select_connector(conn, project_id, connector_id, lock=True)
                if connector.status != ACTIVE:
                    if not first:
                        break  # disabled meanwhile: the replay stops here
                    raise BadRequest(
                        f"data connector {connector_id} is {connector.status}; only an ACTIVE"
                        " connector can replay (enable it first)"
                    )
                if first:
                    queued = await conn.fetchval(
                        "SELECT count(*) FROM deliveries WHERE connector_id = $1 AND replay = $2",
                        connector_id,
                        replay.key,
                    )
                    if queued:
                        return int(queued), True
                    first = False
                sql, args = page_query(lambda n: f"${n}", connector, replay, after)
                rows = await conn.fetch(sql, *args)
                queue = pushes(connector, rows, seen)
                if queue:
                    await conn.execute(
                        _INSERT,
                        connector_id,
                        now,
                        replay.key,
                        [event_id for event_id, _ in queue],
                        [p.body for _, p in queue],
                    )
                    await notify(conn, origin=self.node_id, connectors=[connector_id])
                total += len(queue)
                after = next_cursor(rows)
        return total, False
