"""PostgreSQL: facts about the deployment itself, shared by every node."""

from __future__ import annotations

from conduit.store.postgres.database import Database


class PgServerFacts:
    db: Database

    async def put_server_fact(self, name: str, value: bytes) -> bytes:
        async with self.db.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO server_facts(name, value) VALUES ($1, $2)"
                " ON CONFLICT (name) DO NOTHING",
                name,
                value,
            )
            stored = await conn.fetchval("SELECT value FROM server_facts WHERE name = $1", name)
            return bytes(stored)

    async def any_encrypted_secret(self) -> bytes | None:
        value = await self.db.pool.fetchval(
            "SELECT secret_encrypted FROM service_account_keys UNION ALL"
            " SELECT signature_secret FROM dataconnectors WHERE signature_secret IS NOT NULL"
            " LIMIT 1"
        )
        return bytes(value) if value is not None else None
