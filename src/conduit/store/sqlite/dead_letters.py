"""SQLite: dead letters (written by `queue.py` as deliveries leave the queue undelivered)."""

from __future__ import annotations

from conduit.store.dead_letter_rows import dead_letter_from_row, listing
from conduit.store.records import DeadLetter
from conduit.store.sqlite.database import Database


class SqliteDeadLetters:
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
            lambda _n: "?", connector_id, limit, start=start, end=end, reason=reason, before=before
        )
        rows = self.db.read(lambda c: c.execute(sql, args).fetchall())
        return [dead_letter_from_row(r) for r in rows]

    async def prune_dead_letters(self, before: float, limit: int) -> int:
        """Delete up to `limit` dead letters older than `before` (bounded: call again while it
        returns `limit`)."""
        return await self.db.write(
            lambda c: int(
                c.execute(
                    "DELETE FROM dead_letters WHERE id IN"
                    " (SELECT id FROM dead_letters WHERE at < ? ORDER BY at LIMIT ?)",
                    (before, limit),
                ).rowcount
            )
        )
