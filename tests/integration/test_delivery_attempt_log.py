"""The attempt log behind `:metrics` and `/attempts`: what is counted, in what order, and for how
long."""

from __future__ import annotations

from pathlib import Path

from conduit.store.records import Settlement
from tests.harness.engine import running_engine
from tests.harness.receivers import Receiver, eventually, statuses

HOUR = 3600.0


async def test_metrics_count_attempts_of_the_last_three_hours(tmp_path: Path) -> None:
    with Receiver(statuses([500, 503])) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await engine.advance_until_attempts(cid, 3, step=2.0)  # 503, then 200
            await eventually(lambda: engine.queued(cid) == 0)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 4)
            store = engine.ctx.store
            success, errors, p99 = await store.dataconnector_metrics(cid, engine.clock.now())
            assert (success, errors) == (2, 2)
            assert 0 < p99 < 1.0
            page = await store.list_delivery_attempts(cid, 3)
            assert [a.attempt for a in page] == [1, 3, 2]  # newest first
            assert [a.success for a in page] == [True, True, False]
            assert page[2].status_code == 503 and page[2].error == "http_503"
            after = (page[2].at, page[2].id)
            assert [a.attempt for a in await store.list_delivery_attempts(cid, 3, after)] == [1]
            engine.clock.advance(3 * HOUR)  # outside the window, still in the log
            assert await store.dataconnector_metrics(cid, engine.clock.now()) == (0, 0, 0.0)
            assert len(engine.attempts(cid)) == 4
            engine.clock.advance(21.5 * HOUR)  # older than 24 hours: pruned in the background
            await eventually(lambda: engine.attempts(cid) == [])


async def test_p99_is_the_nearest_rank_of_successful_latencies(tmp_path: Path) -> None:
    async with running_engine(tmp_path, started=False) as engine:
        cid = await engine.connector("https://example.com/")
        now = engine.clock.now()
        rows = [(cid, f"e{i}", 1, now - 1, 1, 200, None, (i + 1) / 1000) for i in range(200)]
        rows.append((cid, "slow-failure", 1, now - 1, 0, None, "timeout", 10.0))
        await engine.ctx.store.settle(Settlement(attempts=rows), now)
        result = await engine.ctx.store.dataconnector_metrics(cid, now)
    assert result == (200, 1, 0.198)  # ceil(0.99 * 200) = 198th fastest; the timeout is an error
