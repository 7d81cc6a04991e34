"""Issue 9, item 2: `:replay` queues a window of a connector's events again — all its filter
matches, or only its dead letters — delivered like any other, never ahead of fresh events."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from conduit.domain.dataconnector_rules import Replay
from conduit.domain.errors import BadRequest
from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import Answer, Received, Receiver, Switch, eventually

HOUR = 3600.0


def _event_ids(receiver: Receiver) -> Counter[str]:
    return Counter(orjson.loads(r.body)["event"]["eventId"] for r in receiver.requests)


async def _replay(
    engine: Engine, cid: str, start: float, end: float, failed: bool
) -> tuple[int, bool]:
    return await engine.ctx.store.replay(
        engine.project_id, cid, Replay(start, end, failed), engine.clock.now()
    )


async def test_an_expired_event_is_delivered_once_by_an_only_failed_replay(tmp_path: Path) -> None:
    switch = Switch(503)
    with Receiver(switch) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            start = engine.clock.now()
            lost = await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await engine.advance(12 * HOUR + 1)  # it expires: a dead letter
            await eventually(lambda: engine.queued(cid) == 0)
            switch.status = 200
            delivered_before = receiver.count()

            assert await _replay(engine, cid, start, start + 60, True) == (1, False)
            engine.ctx.look_at([cid])
            await receiver.wait(delivered_before + 1)
            await eventually(lambda: engine.queued(cid) == 0)
            replayed = receiver.requests[-1]
    assert orjson.loads(replayed.body)["event"]["eventId"] == lost["eventId"]
    assert _event_ids(receiver)[lost["eventId"]] == delivered_before + 1  # once more, no more


async def test_a_window_replay_delivers_exactly_the_matching_events(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url, events=["temperature"])
            before = await engine.publish("temperature", {"value": 1.0})
            engine.clock.advance(10)
            start = engine.clock.now()
            inside = [
                await engine.publish("temperature", {"value": 2.0}),
                await engine.publish("temperature", {"value": 3.0}),
            ]
            await engine.publish("touch")  # in the window, but not the connector's filter
            engine.clock.advance(10)
            end = engine.clock.now()
            after = await engine.publish("temperature", {"value": 4.0})
            await receiver.wait(4)
            await eventually(lambda: engine.queued(cid) == 0)

            assert await _replay(engine, cid, start, end, False) == (2, False)
            engine.ctx.look_at([cid])
            await receiver.wait(6)
            await eventually(lambda: engine.queued(cid) == 0)
            seen = _event_ids(receiver)
    assert seen == Counter(
        {
            before["eventId"]: 1,
            inside[0]["eventId"]: 2,
            inside[1]["eventId"]: 2,
            after["eventId"]: 1,
        }
    )


async def test_replays_take_only_retry_slots(tmp_path: Path) -> None:
    """One connector alone holds 16 // 2 // 2 = 4 slots, retries (and replays) 3 of them: a
    replay of a long window to a stalled receiver leaves a fresh event its slot at once."""

    def behaviour(request: Received, _index: int) -> Answer:
        replayed = orjson.loads(request.body)["event"]["data"]["temperature"]["value"] < 100
        return Answer(hang=True) if replayed else Answer(200)

    with Receiver(behaviour) as receiver:
        async with running_engine(tmp_path, max_in_flight=16, delivery_timeout=30.0) as engine:
            cid = await engine.connector(receiver.url, events=["temperature"])
            start = engine.clock.now()
            for value in range(10):
                await engine.publish("temperature", {"value": float(value)}, notify=False)
            # Those rows were born claimed but never offered; let the claims lapse and drop
            # them, so only the replay's rows are queued.
            await engine.ctx.store.expire_old(engine.clock.now(), 100, engine.clock.now())
            engine.clock.advance(1)
            assert await _replay(engine, cid, start, engine.clock.now(), False) == (10, False)
            engine.ctx.look_at([cid])
            await eventually(lambda: receiver.active == 3)
            assert engine.dispatcher.in_flight_retries == 3

            await engine.publish("temperature", {"value": 500.0})
            await receiver.wait(4, within=5)  # not after a stalled replay's 30 s timeout
            assert receiver.active == 3


async def test_a_replay_is_idempotent_while_it_is_queued(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path, started=False) as engine:
            cid = await engine.connector(receiver.url)
            start = engine.clock.now()
            for _ in range(3):
                await engine.publish(notify=False)
            end = engine.clock.now() + 1
            assert await _replay(engine, cid, start, end, False) == (3, False)
            assert await _replay(engine, cid, start, end, False) == (3, True)
            assert engine.queued(cid) == 6  # the three live rows and one replay of them
            # Another window (or kind) is another replay.
            assert await _replay(engine, cid, start, end + 1, False) == (3, False)
            assert await _replay(engine, cid, start, end, True) == (0, False)

            await engine.dispatcher.start()
            await receiver.wait(9)
            await eventually(lambda: engine.queued(cid) == 0)
            assert await _replay(engine, cid, start, end, False) == (3, False)


async def test_a_disabled_connector_cannot_replay(tmp_path: Path) -> None:
    async with running_engine(tmp_path, started=False) as engine:
        cid = await engine.connector("http://127.0.0.1:9/", status="USER_DISABLED")
        with pytest.raises(BadRequest, match="only an ACTIVE connector"):
            await _replay(engine, cid, 0, engine.clock.now(), False)
