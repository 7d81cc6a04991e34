"""The `:metrics` time series (a Conduit extension): the attempt counts of the 3-hour window, per
10 minutes, so a chart can show when a connector failed and not only how often.

Buckets are aligned to the clock (bucket = floor(attempt time / 600 s)), not to the moment of the
request, so a chart refreshed a minute later shows the same bars with the same edges, only the
newest one grown. There are always 18 of them, oldest first, the newest being the one `now` falls
in, each present even when empty, so a client draws them without filling gaps. All 18 lie inside
the counts' window (now - 3 h, now]; the few minutes of that window before the oldest bucket's
start (less than one bucket) are in the counts but in no bucket.

Both store backends count with the same division in SQL (`at / 600`, rounded down), and this
module turns their `(bucket number, successes, errors)` rows into the full list.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from conduit.domain.dataconnectors import METRICS_WINDOW

BUCKET_SECONDS = 600.0
BUCKETS = round(METRICS_WINDOW / BUCKET_SECONDS)  # 18


@dataclass(frozen=True)
class SeriesBucket:
    start: float  # Unix seconds, a multiple of BUCKET_SECONDS
    successes: int
    errors: int


def bucket_number(at: float) -> int:
    """The bucket an attempt made at `at` falls in (the SQL of both backends computes the same)."""
    return math.floor(at / BUCKET_SECONDS)


def first_bucket(now: float) -> int:
    """The number of the oldest of the 18 buckets shown at `now`."""
    return bucket_number(now) - BUCKETS + 1


def series_since(now: float) -> float:
    """The start of the oldest bucket: the stores count attempts made in [this, now]."""
    return first_bucket(now) * BUCKET_SECONDS


def fill_series(now: float, counted: Iterable[tuple[int, int, int]]) -> list[SeriesBucket]:
    """All 18 buckets at `now`, oldest first, from a store's `(bucket number, successes, errors)`
    rows (buckets without attempts have no row; a row outside the 18 is ignored)."""
    first = first_bucket(now)
    counts = {int(number): (int(ok), int(failed)) for number, ok, failed in counted}
    return [
        SeriesBucket(
            start=number * BUCKET_SECONDS,
            successes=counts.get(number, (0, 0))[0],
            errors=counts.get(number, (0, 0))[1],
        )
        for number in range(first, first + BUCKETS)
    ]
