"""Issue 9, item 4: a connector's rate limit (a token bucket: `rate` pushes per second, bursts of
one second's worth) spaces its pushes on the clock and drops nothing; on PostgreSQL the bucket
lives in the connector's row, one for every node. (Throughput under a real burst is measured by
`bench/rate_limit.py`, not here.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from conduit.store import make_store
from tests.harness.backends import POSTGRESQL
from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import Receiver, eventually


async def _stays_at(engine: Engine, receiver: Receiver, count: int) -> None:
    """A few passes of the dispatcher on the clock, short of the next token: nothing more goes."""
    for _ in range(3):
        await engine.advance(0.1)
    assert receiver.count() == count


async def test_pushes_are_spaced_by_the_rate_and_none_is_dropped(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url, rate_limit=2.0)
            for _ in range(7):
                await engine.publish()
            await receiver.wait(2)  # the burst: one second's worth
            await _stays_at(engine, receiver, 2)
            for expected in (4, 6, 7):
                await engine.advance(1.0)
                await receiver.wait(expected)
                if expected < 7:
                    await _stays_at(engine, receiver, expected)
            await eventually(lambda: engine.queued(cid) == 0)
    assert receiver.count() == 7


async def test_a_connector_without_a_limit_is_not_held_back(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            await engine.connector(receiver.url)
            for _ in range(20):
                await engine.publish()
            await receiver.wait(20)  # with no clock advance at all


@pytest.mark.backends(POSTGRESQL)
async def test_one_bucket_for_every_node(tmp_path: Path) -> None:
    async with running_engine(tmp_path, started=False) as engine:
        cid = await engine.connector("http://127.0.0.1:9/", rate_limit=10.0)
        database = engine.ctx.settings.database
        assert database is not None
        other = make_store(database, engine.clock)  # a second node's store
        await other.open()
        try:
            now = engine.clock.now()
            nodes = [engine.ctx.store, other]
            granted = 0
            for step in range(21):  # two nodes asking every 0.1 s for two seconds
                for store in nodes:
                    granted += await store.take_tokens(cid, 10, now + step * 0.1)
        finally:
            await other.close()
    assert granted == 10 + 2 * 10  # the burst, then the rate: not twice that
