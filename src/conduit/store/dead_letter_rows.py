"""The dead-letter listing, for both backends: the same query, only the placeholders differ."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conduit.store.records import DeadLetter

COLUMNS = "id, connector_id, event_id, event_time, at, reason, attempts, last_error"


def listing(
    placeholder: Callable[[int], str],
    connector_id: str,
    limit: int,
    *,
    start: float | None,
    end: float | None,
    reason: str | None,
    before: tuple[float, int] | None,
) -> tuple[str, list[Any]]:
    """`(sql, args)`; `placeholder(n)` is the n-th (1-based) parameter: `?` or `$n`."""
    args: list[Any] = [connector_id]

    def arg(value: Any) -> str:
        args.append(value)
        return placeholder(len(args))

    where = f"connector_id = {placeholder(1)}"
    if start is not None:
        where += f" AND at >= {arg(start)}"
    if end is not None:
        where += f" AND at < {arg(end)}"
    if reason is not None:
        where += f" AND reason = {arg(reason)}"
    if before is not None:
        at = arg(before[0])
        where += f" AND (at < {at} OR (at = {arg(before[0])} AND id < {arg(before[1])}))"
    sql = (
        f"SELECT {COLUMNS} FROM dead_letters WHERE {where}"
        f" ORDER BY at DESC, id DESC LIMIT {arg(limit)}"
    )
    return sql, args


def dead_letter_from_row(row: Sequence[Any]) -> DeadLetter:
    return DeadLetter(
        id=int(row[0]),
        connector_id=row[1],
        event_id=row[2],
        event_time=float(row[3]),
        at=float(row[4]),
        reason=row[5],
        attempts=int(row[6]),
        last_error=row[7],
    )
