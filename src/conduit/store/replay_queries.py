"""`:replay`, for both backends: which events a replay queues, read in pages (the same queries;
only the placeholders differ), and the push each becomes.

A page is a keyset over `(ts, seq)` of the event history (every event of the window the
connector's filter matches) or over the dead letters' ids (`onlyFailed`), so each page is one
bounded job and a huge window never holds a writer for long. Bodies are built as `:sync` builds
them: the event as stored, the labels the device has now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from conduit.domain.dataconnector_rules import Replay
from conduit.domain.dataconnectors import DataConnector
from conduit.domain.pushes import Push, push_to

PAGE = 1000  # events per page (one write job or transaction each)

Cursor = tuple[float, int]  # (ts, seq) of the event history, or (0, id) of the dead letters
Placeholder = Callable[[int], str]


def page_query(
    placeholder: Placeholder,
    connector: DataConnector,
    replay: Replay,
    after: Cursor,
) -> tuple[str, list[Any]]:
    """`(sql, args)` of the next page after `after`; rows are
    `(device id, device type, product number, device labels, event body, cursor ts, cursor id)`."""
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return placeholder(len(args))

    device = "d.id, d.type, d.product_number, d.labels, e.body"
    if replay.only_failed:
        sql = (
            f"SELECT {device}, 0, l.id FROM dead_letters l"
            " JOIN events e ON e.id = l.event_id"
            " JOIN devices d ON d.id = e.device_id AND d.project_id = e.project_id"
            f" WHERE l.connector_id = {arg(connector.id)}"
            f" AND l.event_time >= {arg(replay.start)} AND l.event_time < {arg(replay.end)}"
            f" AND l.id > {arg(after[1])} ORDER BY l.id LIMIT {arg(PAGE)}"
        )
        return sql, args
    ts, seq = after
    where = (
        f"e.project_id = {arg(connector.project_id)}"
        f" AND e.ts >= {arg(replay.start)} AND e.ts < {arg(replay.end)}"
        f" AND (e.ts > {arg(ts)} OR (e.ts = {arg(ts)} AND e.seq > {arg(seq)}))"
    )
    if connector.events:
        where += f" AND e.event_type IN ({', '.join(arg(t) for t in connector.events)})"
    sql = (
        f"SELECT {device}, e.ts, e.seq FROM events e"
        " JOIN devices d ON d.id = e.device_id AND d.project_id = e.project_id"
        f" WHERE {where} ORDER BY e.ts, e.seq LIMIT {arg(PAGE)}"
    )
    return sql, args


def pushes(
    connector: DataConnector, rows: Sequence[Sequence[Any]], seen: set[str]
) -> list[tuple[str, Push]]:
    """The `(event id, push)` of each row not queued by this replay already (`seen` grows)."""
    out = []
    for row in rows:
        envelope = orjson.loads(row[4])
        event_id = envelope["eventId"]
        if event_id in seen:
            continue
        seen.add(event_id)
        metadata = {
            "deviceId": row[0],
            "projectId": connector.project_id,
            "deviceType": row[1],
            "productNumber": row[2],
        }
        body = push_to(connector.labels, envelope, orjson.loads(row[3]), metadata)
        out.append((event_id, Push(connector.id, body)))
    return out


def next_cursor(rows: Sequence[Sequence[Any]]) -> Cursor | None:
    """Where the next page starts; None after the last page."""
    if len(rows) < PAGE:
        return None
    return (float(rows[-1][5]), int(rows[-1][6]))
