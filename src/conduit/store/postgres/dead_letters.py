"""PostgreSQL: dead letters (written by `queue.py` as deliveries leave the queue undelivered)."""

from __future__ import annotations

from conduit.store.dead_letter_rows import dead_letter_from_row, listing
from conduit.store.postgres.database import Database
from conduit.store.postgres.queue import rowcount
from conduit.store.records import DeadLetter


class PgDeadLetters:
    db: Database

    async def list_dead_letters(
        self,
        connector_id: str,
        limit: int,
        *,
        start: float | None = None,
        end: float | None = None,
        reason: str | None = None,
        before: tuple[float, int] | None = None,
    ) -> list[DeadLetter]:
        sql, args = listing(
            lambda n: f"${n}",
            connector_id,
            limit,
            start=start,
            end=end,
            reason=reason,
            before=before,
        )
        return [dead_letter_from_row(r) for r in await self.db.pool.fetch(sql, *args)]

    async def prune_dead_letters(self, before: float, limit: int) -> int:
        return rowcount(
            await self.db.pool.execute(
                "DELETE FROM dead_letters WHERE id IN"
                " (SELECT id FROM dead_letters WHERE at < $1 ORDER BY at LIMIT $2)",
                before,
                limit,
            )
        )
