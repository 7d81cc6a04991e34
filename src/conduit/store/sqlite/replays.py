"""SQLite: `:replay` — queue a window of a connector's events again, page by page."""

from __future__ import annotations

import sqlite3
from functools import partial

from conduit.domain.dataconnector_rules import Replay
from conduit.domain.dataconnectors import ACTIVE
from conduit.domain.errors import BadRequest
from conduit.store.replay_queries import Cursor, next_cursor, page_query, pushes
from conduit.store.sqlite.connectors import select_connector
from conduit.store.sqlite.database import Database

# Unclaimed (any dispatcher claims them as backlog), due now, a fresh 12-hour window from now.
_INSERT = (
    "INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts, next_attempt,"
    " lease_until, replay) VALUES (?, ?, ?, ?, 0, ?, 0, ?)"
)


def _page(
    project_id: str,
    connector_id: str,
    replay: Replay,
    now: float,
    after: Cursor,
    seen: set[str],
    conn: sqlite3.Connection,
) -> tuple[int, Cursor | None, bool]:
    """Queue one page; `(rows queued, next cursor, already queued by an identical replay)`."""
    connector = select_connector(conn, project_id, connector_id)
    first = not seen and after == (replay.start, -1)
    if connector.status != ACTIVE:
        if not first:
            return 0, None, False  # disabled meanwhile: the replay stops here
        raise BadRequest(
            f"data connector {connector_id} is {connector.status}; only an ACTIVE connector"
            " can replay (enable it first)"
        )
    if first:
        queued = conn.execute(
            "SELECT count(*) FROM deliveries WHERE connector_id = ? AND replay = ?",
            (connector_id, replay.key),
        ).fetchone()[0]
        if queued:
            return int(queued), None, True
    sql, args = page_query(lambda _n: "?", connector, replay, after)
    rows = conn.execute(sql, args).fetchall()
    queue = pushes(connector, rows, seen)
    conn.executemany(
        _INSERT, [(connector_id, event_id, now, p.body, now, replay.key) for event_id, p in queue]
    )
    return len(queue), next_cursor(rows), False


class SqliteReplays:
    db: Database

    async def replay(
        self, project_id: str, connector_id: str, replay: Replay, now: float
    ) -> tuple[int, bool]:
        """Queue the replay's events; `(how many, already queued)`. One write job per page, so
        other tenants' publishes commit in between."""
        seen: set[str] = set()
        total = 0
        after: Cursor | None = (replay.start, -1)
        while after is not None:
            count, after, already = await self.db.write(
                partial(_page, project_id, connector_id, replay, now, after, seen)
            )
            if already:
                return count, True
            total += count
        return total, False
