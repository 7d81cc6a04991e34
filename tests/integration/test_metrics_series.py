"""The `:metrics` time series: 18 clock-aligned 10-minute buckets of the attempt log, oldest first,
empty ones included, inside the counts' 3-hour window (docs/dataconnectors.md)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import requests

from conduit.domain.attempt_series import SeriesBucket
from conduit.domain.times import parse_rfc3339
from conduit.store.records import Settlement
from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import Receiver, eventually, statuses
from tests.harness.server import ServerProcess
from tests.harness.stored import insert_attempts

BUCKET = 600.0
WINDOW = 3 * 3600.0


def set_clock(engine: Engine, at: float) -> None:
    """Move the engine's clock to exactly `at` (never backwards)."""
    engine.clock.advance(at - engine.clock.now())
    assert engine.clock.now() == at


def counts(series: list[SeriesBucket]) -> dict[float, tuple[int, int]]:
    """The non-empty buckets, by start time."""
    return {b.start: (b.successes, b.errors) for b in series if b.successes or b.errors}


async def series_at(engine: Engine, connector_id: str) -> list[SeriesBucket]:
    series = await engine.ctx.store.dataconnector_series(connector_id, engine.clock.now())
    assert len(series) == 18
    assert [b.start for b in series] == [series[0].start + i * BUCKET for i in range(18)]
    assert series[-1].start <= engine.clock.now() < series[-1].start + BUCKET
    return series


async def test_buckets_have_exact_edges_and_slide_with_the_clock(tmp_path: Path) -> None:
    """Rows at the very edges of buckets and of the window, then the clock moved across them."""
    newest = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a bucket's start
    oldest = newest - 17 * BUCKET
    now = newest + 5
    async with running_engine(tmp_path, start=now, started=False) as engine:
        cid = await engine.connector("https://example.com/")
        other = await engine.connector("https://example.com/other")

        def row(event: str, at: float, ok: bool) -> tuple[Any, ...]:
            return (cid, event, 1, at, int(ok), 200 if ok else 500, None if ok else "http_500", 0.1)

        rows = [
            row("now", now, True),  # the window's end is inside it
            row("newest-start", newest, False),
            row("just-before-newest", newest - 0.001, True),
            row("oldest-start", oldest, True),
            row("oldest-end", oldest + BUCKET - 0.001, False),
            row("before-oldest", oldest - 0.001, True),  # in the counts' window, in no bucket
            row("window-edge", now - WINDOW, True),  # the window is (now - 3 h, now]
            row("future", now + 0.001, False),
            (other, "other-connector", 1, now - 1, 1, 200, None, 0.1),
        ]
        await engine.ctx.store.settle(Settlement(attempts=rows), now)

        series = await series_at(engine, cid)
        assert series[0].start == oldest and series[-1].start == newest
        assert counts(series) == {
            oldest: (1, 1),
            newest - BUCKET: (1, 0),
            newest: (1, 1),
        }
        metrics = await engine.ctx.store.dataconnector_metrics(cid, now)
        assert metrics[:2] == (4, 2)  # + before-oldest; window-edge and future are outside

        # The clock reaches the next bucket: a new empty newest one, the oldest leaves.
        set_clock(engine, newest + BUCKET)
        series = await series_at(engine, cid)
        assert series[0].start == oldest + BUCKET and series[-1].start == newest + BUCKET
        assert counts(series) == {newest - BUCKET: (1, 0), newest: (1, 2)}  # + future

        # The bucket before `newest` is the oldest until 17 buckets after `newest` began.
        set_clock(engine, newest + 17 * BUCKET - 0.001)
        series = await series_at(engine, cid)
        assert series[0].start == newest - BUCKET
        assert counts(series) == {newest - BUCKET: (1, 0), newest: (1, 2)}
        set_clock(engine, newest + 17 * BUCKET)
        assert counts(await series_at(engine, cid)) == {newest: (1, 2)}
        # 18 buckets on, `newest` has left the series; the window (now - 3 h, now] still holds
        # the rows made after its first instant, which no bucket shows any more.
        set_clock(engine, newest + 18 * BUCKET)
        assert counts(await series_at(engine, cid)) == {}
        metrics = await engine.ctx.store.dataconnector_metrics(cid, engine.clock.now())
        assert metrics[:2] == (1, 1)  # "now" and "future"; "newest-start" is at the edge


async def test_delivered_attempts_fill_their_buckets_until_three_hours_pass(
    tmp_path: Path,
) -> None:
    """Real pushes (a failure, its retries, a later success) counted where they happened."""
    start = math.floor((time.time() - 1800) / BUCKET) * BUCKET + 1  # room for the retries
    with Receiver(statuses([500, 503])) as receiver:
        async with running_engine(tmp_path, start=start) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await engine.advance_until_attempts(cid, 3, step=2.0)  # 503, then 200
            await eventually(lambda: engine.queued(cid) == 0)
            first = [a["at"] for a in engine.attempts(cid)]
            assert start <= min(first) and max(first) < start - 1 + BUCKET  # one bucket
            set_clock(engine, start + BUCKET)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 4)

            bucket = start - 1
            series = await series_at(engine, cid)
            assert series[-1].start == bucket + BUCKET
            assert counts(series) == {bucket: (1, 2), bucket + BUCKET: (1, 0)}
            assert all(b.successes == b.errors == 0 for b in series[:-2])

            # The first bucket is the oldest until 18 buckets after it began, then it leaves the
            # series; its attempts stay in the counts until exactly 3 hours after they were made.
            set_clock(engine, bucket + 18 * BUCKET - 0.001)
            series = await series_at(engine, cid)
            assert series[0].start == bucket
            assert counts(series) == {bucket: (1, 2), bucket + BUCKET: (1, 0)}
            set_clock(engine, bucket + 18 * BUCKET)
            assert counts(await series_at(engine, cid)) == {bucket + BUCKET: (1, 0)}
            metrics = engine.ctx.store.dataconnector_metrics
            assert (await metrics(cid, engine.clock.now()))[:2] == (2, 2)
            set_clock(engine, min(first) + WINDOW)
            assert (await metrics(cid, engine.clock.now()))[:2] == (2, 1)  # the 500 left
            set_clock(engine, max(first) + WINDOW)
            assert (await metrics(cid, engine.clock.now()))[:2] == (1, 0)


def test_metrics_answer_the_series_beside_dt_s_counts(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    created = api.post(
        f"{server.api}/projects/{project_id}/dataconnectors",
        json={"type": "HTTP_PUSH", "httpConfig": {"url": "https://127.0.0.1:9/hook"}},
    )
    assert created.status_code == 200, created.text
    dc = created.json()["name"].split("/")[-1]
    url = f"{server.api}/projects/{project_id}/dataconnectors/{dc}:metrics"

    empty = api.get(url).json()
    assert empty["metrics"] == {"successCount": 0, "errorCount": 0, "latency99p": "0s"}
    assert [(b["successCount"], b["errorCount"]) for b in empty["series"]] == [(0, 0)] * 18

    now = time.time()
    made = [now - 1, now - 1, now - 700, now - 2 * 3600]
    insert_attempts(
        server,
        [
            (dc, "a", 1, made[0], 1, 200, None, 0.01),
            (dc, "b", 1, made[1], 0, None, "timeout", 10.0),
            (dc, "c", 1, made[2], 0, 503, "http_503", 0.02),
            (dc, "d", 1, made[3], 1, 204, None, 0.03),
        ],
    )
    before = time.time()
    body = api.get(url).json()
    after = time.time()
    assert set(body) == {"metrics", "series"}
    assert (body["metrics"]["successCount"], body["metrics"]["errorCount"]) == (2, 2)
    starts = [parse_rfc3339(b["startTime"]) for b in body["series"]]
    assert len(starts) == 18 and all(s % BUCKET == 0 for s in starts)
    assert starts == [starts[0] + i * BUCKET for i in range(18)]
    assert starts[-1] <= after and before < starts[-1] + BUCKET  # the newest holds "now"
    expected = [[0, 0] for _ in starts]
    for at, ok in zip(made, (True, False, False, True), strict=True):
        index = int((at - starts[0]) // BUCKET)
        expected[index][0 if ok else 1] += 1
    assert [[b["successCount"], b["errorCount"]] for b in body["series"]] == expected

    # The official client reads DT's part and ignores the extension.
    metric = dt.DataConnector.get_metrics(dc, project_id)
    assert (metric.success_count, metric.error_count) == (2, 2)
