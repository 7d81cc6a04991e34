"""PostgreSQL: Data Connector resources and their `:sync` snapshot.

Every query names the project, so a connector id from another project is simply not found. An
update locks the connector row for its transaction, so concurrent PATCHes (from any node) apply one
after the other and never lose each other's fields; a status change goes through
`queue.set_connector_status`, the one code path that may change a status.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from conduit.clock import Clock
from conduit.domain.dataconnectors import ACTIVE, DataConnector
from conduit.domain.errors import BadRequest, NotFound
from conduit.domain.ids import new_id
from conduit.domain.pushes import Push, push_to
from conduit.store.postgres.database import Database
from conduit.store.postgres.queue import Conn, insert_pushes, set_connector_status
from conduit.store.records import Delivery
from conduit.store.rows import connector_from_row, new_connector


async def select_connector(
    conn: Conn, project_id: str, connector_id: str, *, lock: bool = False
) -> DataConnector:
    row = await conn.fetchrow(
        "SELECT * FROM dataconnectors WHERE id = $1 AND project_id = $2"
        + (" FOR UPDATE" if lock else ""),
        connector_id,
        project_id,
    )
    if row is None:
        raise NotFound(f"data connector {connector_id} not found")
    return connector_from_row(row)


class PgConnectors:
    db: Database
    clock: Clock
    node_id: str

    async def create_dataconnector(self, connector: DataConnector) -> DataConnector:
        """Insert `connector` under a fresh id (the id and times of the argument are ignored)."""
        now = self.clock.now()
        stored = new_connector(connector, new_id(now), now)
        await self.db.pool.execute(
            "INSERT INTO dataconnectors(id, project_id, display_name, type, status, events,"
            " labels, url, signature_secret, headers_sealed, create_time, update_time,"
            " signature_scheme, previous_secret, previous_secret_until, disable_on_gone,"
            " rate_limit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13,"
            " $14, $15, $16)",
            stored.id,
            stored.project_id,
            stored.display_name,
            stored.type,
            stored.status,
            orjson.dumps(stored.events).decode(),
            orjson.dumps(stored.labels).decode(),
            stored.url,
            stored.signature_secret_encrypted,
            stored.headers_sealed,
            now,
            stored.signature_scheme,
            stored.previous_secret_encrypted,
            stored.previous_secret_until,
            stored.disable_on_gone,
            stored.rate_limit,
        )
        return stored

    async def get_dataconnector(self, project_id: str, connector_id: str) -> DataConnector | None:
        row = await self.db.pool.fetchrow(
            "SELECT * FROM dataconnectors WHERE id = $1 AND project_id = $2",
            connector_id,
            project_id,
        )
        return connector_from_row(row) if row else None

    async def list_dataconnectors(self, project_id: str) -> list[DataConnector]:
        """A project's connectors in creation order (ids sort by creation time)."""
        rows = await self.db.pool.fetch(
            "SELECT * FROM dataconnectors WHERE project_id = $1 ORDER BY id", project_id
        )
        return [connector_from_row(r) for r in rows]

    async def update_dataconnector(
        self,
        project_id: str,
        connector_id: str,
        change: Callable[[DataConnector], DataConnector],
    ) -> tuple[DataConnector, int]:
        now = self.clock.now()
        async with self.db.pool.acquire() as conn, conn.transaction():
            current = await select_connector(conn, project_id, connector_id, lock=True)
            new = change(current)
            if new is current:
                return current, 0
            await conn.execute(
                "UPDATE dataconnectors SET display_name = $1, events = $2, labels = $3,"
                " url = $4, signature_secret = $5, headers_sealed = $6, update_time = $7,"
                " signature_scheme = $9, previous_secret = $10, previous_secret_until = $11,"
                " disable_on_gone = $12, rate_limit = $13 WHERE id = $8",
                new.display_name,
                orjson.dumps(new.events).decode(),
                orjson.dumps(new.labels).decode(),
                new.url,
                new.signature_secret_encrypted,
                new.headers_sealed,
                now,
                connector_id,
                new.signature_scheme,
                new.previous_secret_encrypted,
                new.previous_secret_until,
                new.disable_on_gone,
                new.rate_limit,
            )
            dropped = 0
            if new.status != current.status:
                dropped = await set_connector_status(conn, connector_id, new.status, now)
            return await select_connector(conn, project_id, connector_id), dropped

    async def seal_clear_headers(self, seal: Callable[[dict[str, str]], bytes | None]) -> int:
        async with self.db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, headers FROM dataconnectors WHERE headers <> '{}' FOR UPDATE"
            )
            for row in rows:
                await conn.execute(
                    "UPDATE dataconnectors SET headers_sealed = $1, headers = '{}' WHERE id = $2",
                    seal(orjson.loads(row["headers"])),
                    row["id"],
                )
            return len(rows)

    async def delete_dataconnector(self, project_id: str, connector_id: str) -> None:
        """Delete a connector, its queue (FK cascade) and its attempt log and counters."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            gone = await conn.fetchval(
                "DELETE FROM dataconnectors WHERE id = $1 AND project_id = $2 RETURNING id",
                connector_id,
                project_id,
            )
            if gone is None:
                raise NotFound(f"data connector {connector_id} not found")
            await conn.execute(
                "DELETE FROM delivery_attempts WHERE connector_id = $1", connector_id
            )
            await conn.execute(
                "DELETE FROM delivery_counters WHERE connector_id = $1", connector_id
            )
            await conn.execute("DELETE FROM dead_letters WHERE connector_id = $1", connector_id)

    async def sync_dataconnector(
        self, project_id: str, connector_id: str, born_claimed_until: float
    ) -> list[Delivery]:
        """Queue, to this connector only, the latest event of each type of each project device
        (its filter and labels apply as for live events; each window starts now)."""
        now = self.clock.now()
        async with self.db.pool.acquire() as conn, conn.transaction():
            connector = await select_connector(conn, project_id, connector_id, lock=True)
            if connector.status != ACTIVE:
                raise BadRequest(
                    f"data connector {connector_id} is {connector.status}; only an ACTIVE connector"
                    " can be synchronized (enable it first)"
                )
            rows = await conn.fetch(
                "SELECT DISTINCT ON (e.device_id, e.event_type)"
                " d.id, d.type, d.product_number, d.labels, e.body, e.seq"
                " FROM devices d JOIN events e"
                " ON e.device_id = d.id AND e.project_id = d.project_id"
                " WHERE d.project_id = $1 AND (cardinality($2::text[]) = 0"
                " OR e.event_type = ANY($2::text[]))"
                " ORDER BY e.device_id, e.event_type, e.seq DESC",
                project_id,
                connector.events,
            )
            born: list[Delivery] = []
            for row in sorted(rows, key=lambda r: r[5]):
                envelope = orjson.loads(row[4])
                metadata = {
                    "deviceId": row[0],
                    "projectId": project_id,
                    "deviceType": row[1],
                    "productNumber": row[2],
                }
                body = push_to(connector.labels, envelope, orjson.loads(row[3]), metadata)
                born += await insert_pushes(
                    conn,
                    [Push(connector_id, body)],
                    envelope["eventId"],
                    now,
                    now,
                    born_claimed_until,
                    self.node_id,
                )
            return born

    async def delivery_counter(self, connector_id: str, name: str) -> int:
        value = await self.db.pool.fetchval(
            "SELECT value FROM delivery_counters WHERE connector_id = $1 AND name = $2",
            connector_id,
            name,
        )
        return int(value) if value is not None else 0
