"""The stream hub's fan-out rules: filters, bounded queues, dropping a slow reader, shutdown."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from conduit.domain.errors import ServiceUnavailable, TooManyRequests
from conduit.domain.labels import LabelFilter
from conduit.stream_hub import (
    SHUTDOWN,
    TOO_SLOW,
    StreamClosed,
    StreamEvent,
    StreamFilter,
    StreamHub,
)


def event(n: int, **overrides: Any) -> StreamEvent:
    fields: dict[str, Any] = {
        "project_id": "p1",
        "device_id": "d1",
        "device_type": "touch",
        "event_type": "touch",
        "labels": {"room": "1"},
        "body": f'{{"n":{n}}}'.encode(),
    }
    fields.update(overrides)
    return StreamEvent(**fields)


def make_hub(capacity: int = 10) -> StreamHub:
    ctx: Any = SimpleNamespace(workers={})
    return StreamHub(ctx, capacity=capacity)


async def test_subscribers_get_matching_events_of_their_project_in_order() -> None:
    hub = make_hub()
    everything = hub.subscribe("p1", StreamFilter())
    touches_in_room_2 = hub.subscribe(
        "p1",
        StreamFilter(event_types=frozenset({"touch"}), label_filters=(LabelFilter("room", "2"),)),
    )
    other_project = hub.subscribe("p2", StreamFilter())
    hub.publish(event(1))
    hub.publish(event(2, labels={"room": "2"}))
    hub.publish(event(3, labels={"room": "2"}, event_type="networkStatus"))
    assert await everything.next_batch(0.1) == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert await touches_in_room_2.next_batch(0.1) == [b'{"n":2}']
    assert await other_project.next_batch(0.01) == []


async def test_filters_on_device_ids_and_types() -> None:
    f = StreamFilter(device_ids=frozenset({"d2"}), device_types=frozenset({"touch"}))
    assert f.matches(event(1, device_id="d2"))
    assert not f.matches(event(1, device_id="d1"))
    assert not f.matches(event(1, device_id="d2", device_type="temperature"))


async def test_a_waiting_reader_wakes_on_publish() -> None:
    hub = make_hub()
    sub = hub.subscribe("p1", StreamFilter())
    waiting = asyncio.create_task(sub.next_batch(5))
    await asyncio.sleep(0)
    hub.publish(event(1))
    assert await asyncio.wait_for(waiting, 1) == [b'{"n":1}']


async def test_a_reader_that_falls_behind_is_dropped_without_blocking_publish() -> None:
    hub = make_hub(capacity=3)
    slow = hub.subscribe("p1", StreamFilter())
    fast = hub.subscribe("p1", StreamFilter())
    for n in range(3):
        hub.publish(event(n))
    assert len(await fast.next_batch(0)) == 3
    hub.publish(event(3))  # the slow one's queue is full: it is dropped, the fast one is not
    assert hub.subscriber_count("p1") == 1
    with pytest.raises(StreamClosed) as closed:
        await slow.next_batch(0.1)
    assert closed.value.reason == TOO_SLOW
    assert await fast.next_batch(0.1) == [b'{"n":3}']


async def test_shutdown_ends_every_stream_and_refuses_new_ones() -> None:
    hub = make_hub()
    sub = hub.subscribe("p1", StreamFilter())
    waiting = asyncio.create_task(sub.next_batch(None))
    await asyncio.sleep(0)
    hub.close_all()
    with pytest.raises(StreamClosed) as closed:
        await asyncio.wait_for(waiting, 1)
    assert closed.value.reason == SHUTDOWN
    with pytest.raises(ServiceUnavailable):
        hub.subscribe("p1", StreamFilter())
    assert hub.subscriber_count() == 0


async def test_an_account_holds_at_most_its_share_of_subscriptions() -> None:
    hub = make_hub()
    first = hub.subscribe("p1", StreamFilter(), "acct", max_per_account=2)
    hub.subscribe("p2", StreamFilter(), "acct", max_per_account=2)
    with pytest.raises(TooManyRequests):
        hub.subscribe("p1", StreamFilter(), "acct", max_per_account=2)
    hub.subscribe("p1", StreamFilter(), "other", max_per_account=2)
    hub.unsubscribe(first)
    hub.unsubscribe(first)  # twice (dropped, then the stream's own cleanup) counts once
    hub.subscribe("p1", StreamFilter(), "acct", max_per_account=2)
    assert hub.streams_of("acct") == 2


async def test_an_access_change_wakes_every_waiting_stream_to_recheck() -> None:
    hub = make_hub()
    sub = hub.subscribe("p1", StreamFilter(), "acct")
    waiting = asyncio.create_task(sub.next_batch(None))
    await asyncio.sleep(0)
    hub.access_changed()
    assert await asyncio.wait_for(waiting, 1) == []
    assert sub.take_recheck() and not sub.take_recheck()


async def test_a_stream_ends_when_its_token_expires() -> None:
    from conduit.api.stream_access import StreamAccess
    from conduit.domain.errors import Unauthorized

    class Unreachable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError("an expired token needs no lookup")

    principal: Any = SimpleNamespace(expires=100.0, ctx=SimpleNamespace(store=Unreachable()))
    refused = await StreamAccess(principal, "p1", "device.read").revoked(now=100.0)
    assert isinstance(refused, Unauthorized) and "expired" in refused.message
