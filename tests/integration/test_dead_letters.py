"""Issue 9, item 1: every delivery that leaves the queue without a 2xx is a dead letter — expired at
12 hours, dropped by a user's disable, dropped by SYSTEM_DISABLED — with its attempts and last
error, kept as long as event history."""

from __future__ import annotations

from pathlib import Path

from conduit.retention import prune_dead_letters
from conduit.store.records import DeadLetter
from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import Answer, Receiver, Switch, eventually

HOUR = 3600.0
DAY = 24 * HOUR


async def _letters(engine: Engine, cid: str, **filters: object) -> list[DeadLetter]:
    return await engine.ctx.store.list_dead_letters(cid, 100, **filters)  # type: ignore[arg-type]


async def test_an_expired_event_is_a_dead_letter_with_its_last_error(tmp_path: Path) -> None:
    with Receiver(Switch(503)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            envelope = await engine.publish()
            received_at = engine.clock.now()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            await engine.advance(12 * HOUR + 1)
            await eventually(lambda: engine.queued(cid) == 0)
            [letter] = await _letters(engine, cid)
    assert (letter.event_id, letter.reason) == (envelope["eventId"], "EXPIRED")
    assert letter.attempts >= 1 and letter.last_error == "http_503"
    assert letter.event_time == received_at
    assert letter.at >= received_at + 12 * HOUR


async def test_a_disable_keeps_what_it_dropped(tmp_path: Path) -> None:
    with Receiver(Switch(500)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            for _ in range(2):  # queued behind the failing connector's probe, never attempted
                await engine.publish()
            await eventually(lambda: engine.queued(cid) == 3)
            await engine.patch_connector(cid, {"status": "USER_DISABLED"})
            assert engine.queued(cid) == 0
            letters = await _letters(engine, cid)
    assert {letter.reason for letter in letters} == {"USER_DISABLED"}
    assert sorted((letter.attempts, letter.last_error or "") for letter in letters) == [
        (0, ""),
        (0, ""),
        (1, "http_500"),
    ]


async def test_a_system_disable_keeps_what_it_dropped(tmp_path: Path) -> None:
    with Receiver(lambda _r, _i: Answer(410)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url, disable_on_gone=True)
            await engine.publish()
            await eventually(lambda: engine.status(cid) == "SYSTEM_DISABLED")
            [letter] = await _letters(engine, cid)
    assert (letter.reason, letter.attempts, letter.last_error) == ("SYSTEM_DISABLED", 1, "http_410")


async def test_listing_filters_pages_and_retention(tmp_path: Path) -> None:
    with Receiver(Switch(500)) as receiver:
        async with running_engine(tmp_path, started=False) as engine:
            cid = await engine.connector(receiver.url)
            for _ in range(3):
                await engine.publish(notify=False)
            first = engine.clock.now()
            expired = await engine.ctx.store.expire_old(first, 100, first + 12 * HOUR)
            assert expired[cid] == 3
            await engine.publish(notify=False)
            engine.clock.advance(DAY)
            await engine.ctx.store.expire_old(engine.clock.now(), 100, engine.clock.now())

            everything = await _letters(engine, cid)
            assert [d.at for d in everything] == sorted((d.at for d in everything), reverse=True)
            assert len(everything) == 4
            assert len(await _letters(engine, cid, end=first + 12 * HOUR + 1)) == 3
            assert len(await _letters(engine, cid, start=first + 12 * HOUR + 1)) == 1
            assert await _letters(engine, cid, reason="USER_DISABLED") == []
            page = await engine.ctx.store.list_dead_letters(cid, 2)
            rest = await engine.ctx.store.list_dead_letters(
                cid, 10, before=(page[-1].at, page[-1].id)
            )
            assert [d.id for d in page + rest] == [d.id for d in everything]

            # Kept as long as event history (31 days), then pruned.
            now = engine.clock.now()
            assert await prune_dead_letters(engine.ctx.store, now + 30 * DAY, 31) == 0
            assert await prune_dead_letters(engine.ctx.store, now + 32 * DAY, 31) == 4
            assert await _letters(engine, cid) == []
