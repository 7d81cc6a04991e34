"""Issue 3 audit: the seed sentences and issue bullets that no other test proved.

Each test names the requirement it proves. Real parts throughout: the shared `conduit serve`
(which sends through its default sender process) with the official client and real receivers on
127.0.0.1, or — where time must jump hours or days — the real dispatcher, store and HTTP client on
a `ManualClock` (`tests/harness/engine.py`).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
import requests
from aiohttp import web
from dtintegrations import data_connector

from conduit.domain.dataconnectors import NO_SUCCESS_FOR_5_DAYS
from conduit.store.contract import Store
from tests.harness.accounts import make_account
from tests.harness.engine import Engine, running_engine
from tests.harness.events import publish
from tests.harness.receivers import (
    Answer,
    Received,
    Receiver,
    Switch,
    always,
    eventually,
    refused_url,
    slow,
    statuses,
)
from tests.harness.resources import client_connector
from tests.harness.server import ServerProcess
from tests.harness.stored import arrange, read_stored

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

HOUR = 3600.0
DAY = 24 * HOUR


# ---- helpers -------------------------------------------------------------------------------------


def _connector(dt: Any, project_id: str, url: str, **kwargs: Any) -> str:
    return str(client_connector(dt, project_id, url, **kwargs).data_connector_id)


def _queued(server: ServerProcess, *connector_ids: str) -> int:
    async def count(store: Store) -> int:
        return sum([await store.queued_count(c) for c in connector_ids])

    return read_stored(server, count)


def _wait(check: Any, within: float = 10.0, what: str = "condition") -> None:
    """Poll an observable condition until it holds (a deadline, not a sleep-and-hope)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within} s")
        time.sleep(0.02)


def _drained(server: ServerProcess, *connector_ids: str) -> None:
    """Wait until the connectors' queues are empty. Every push an event will ever cause is queued
    when its publish (or `:sync`) answers, and a row leaves only after the receiver answered, so an
    empty queue means the receivers have seen everything they are ever going to get."""
    _wait(lambda: _queued(server, *connector_ids) == 0, what="queues drained")


def _event_ids(receiver: Receiver) -> list[str]:
    return [orjson.loads(r.body)["event"]["eventId"] for r in list(receiver.requests)]


def _delete_connectors(dt: Any, project_id: str, *connector_ids: str) -> None:
    """So the shared server does not keep retrying towards a receiver that is gone."""
    for connector_id in connector_ids:
        dt.DataConnector.delete_data_connector(connector_id, project_id)


def _other_project(api: requests.Session, server: ServerProcess, organization_id: str) -> str:
    res = api.post(
        f"{server.api}/projects",
        json={"displayName": "other", "organization": f"organizations/{organization_id}"},
    )
    assert res.status_code == 200, res.text
    return str(res.json()["name"].split("/")[1])


def _metric_lines(server: ServerProcess) -> list[str]:
    res = requests.get(f"{server.url}/metrics", timeout=5)
    assert res.status_code == 200, res.text
    return res.text.splitlines()


def _metric(lines: list[str], series: str) -> float | None:
    """The value of one exact series (`name{labels}`), or None when it is not exposed."""
    for line in lines:
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


# ---- seeds: who receives what --------------------------------------------------------------------


def test_every_connector_gets_every_device_of_its_own_project_and_nothing_else(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    """Configuring, "Multiple Projects" / "Multiple Data Connectors": connectors are per project
    (one per project to share a URL), and every connector of a project receives the events of every
    device in it. "By default, no device labels will be included"."""
    other = _other_project(api, server, organization_id)
    with Receiver() as receiver:
        a1 = _connector(dt, project_id, receiver.url, headers={"X-Connector": "a1"})
        a2 = _connector(
            dt, project_id, receiver.url, headers={"X-Connector": "a2"}, labels=["name"]
        )
        b1 = _connector(dt, other, receiver.url, headers={"X-Connector": "b1"})
        thermometer = dt.Emulator.create_device(project_id, "temperature", display_name="t-a")
        button = dt.Emulator.create_device(project_id, "touch", display_name="b-a")
        elsewhere = dt.Emulator.create_device(other, "touch", display_name="b-b")
        dt.Emulator.publish_event(thermometer.device_id, project_id, dt.events.Temperature(3.0))
        dt.Emulator.publish_event(button.device_id, project_id, dt.events.Touch())
        dt.Emulator.publish_event(elsewhere.device_id, other, dt.events.Touch())
        _drained(server, a1, a2, b1)
        got: dict[str, set[tuple[str, str]]] = {}
        labels: dict[str, list[dict[str, str]]] = {}
        for request in list(receiver.requests):
            body = orjson.loads(request.body)
            sender = request.header("X-Connector") or "?"
            got.setdefault(sender, set()).add(
                (body["metadata"]["projectId"], body["metadata"]["deviceId"])
            )
            labels.setdefault(sender, []).append(body["labels"])
        assert receiver.count() == 5  # one push per (event, connector): 2 + 2 + 1
    mine = {(project_id, thermometer.device_id), (project_id, button.device_id)}
    assert got == {"a1": mine, "a2": mine, "b1": {(other, elsewhere.device_id)}}
    assert labels["a1"] == [{}, {}]  # no label keys listed: no labels forwarded
    assert sorted(lab["name"] for lab in labels["a2"]) == ["b-a", "t-a"]


def test_a_project_admin_may_also_write_connectors(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    """Configuring, "Access Control": Project Developer *or higher* (the developer and the user are
    covered in test_dataconnectors_api.py)."""
    admin = make_account(server, project_id, role=dt.Role.PROJECT_ADMIN).session()
    base = f"{server.api}/projects/{project_id}/dataconnectors"
    res = admin.post(base, json={"httpConfig": {"url": "https://127.0.0.1:9/x"}})
    assert res.status_code == 200, res.text
    item = f"{base}/{res.json()['name'].split('/')[-1]}"
    assert admin.patch(item, json={"displayName": "admin"}).json()["displayName"] == "admin"
    assert admin.post(f"{item}:sync").json() == {}
    assert admin.delete(item).json() == {}


# ---- seeds: enable, disable, re-enable -----------------------------------------------------------


def test_re_enabling_sends_nothing_from_before_or_during_the_disabled_period(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    """Configuring: "undelivered events and events generated after being disabled will not be sent.
    Re-enabling the Data Connector will not backfill data from the period it was disabled and must
    be fetched programmatically using our REST API." """
    switch = Switch(500)
    with Receiver(switch) as receiver:
        dc = _connector(dt, project_id, receiver.url, secret="k")
        device = dt.Emulator.create_device(project_id, "temperature")
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Temperature(1.0))
        receiver.wait_for(1)  # answered 500: undelivered, still queued
        assert _queued(server, dc) == 1
        dt.DataConnector.update_data_connector(dc, project_id, status="USER_DISABLED")
        assert _queued(server, dc) == 0  # the undelivered event is gone at once
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Temperature(2.0))
        assert _queued(server, dc) == 0  # nothing is queued while disabled
        seen_while_disabled = receiver.count()
        switch.status = 200
        dt.DataConnector.update_data_connector(dc, project_id, status="ACTIVE")
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Temperature(3.0))
        receiver.wait_for(seen_while_disabled + 1)
        _drained(server, dc)
        after = [orjson.loads(r.body) for r in list(receiver.requests)[seen_while_disabled:]]
        history = dt.EventHistory.list_events(
            device.device_id, project_id, event_types=["temperature"]
        )
    assert [p["event"]["data"]["temperature"]["value"] for p in after] == [3.0]
    # what was not sent is in the event history, to be fetched through the REST API
    assert [e.data.celsius for e in history] == [1.0, 2.0, 3.0]


def test_system_disabled_is_re_enabled_by_patching_status_active(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    """Issue item 6: "re-enable by PATCH `status: ACTIVE`", and the re-enabled connector starts
    with a clean failure record. Five days of failures cannot be waited out on the shared server, so
    the state the dispatcher leaves behind is written into its database (the engine test below
    reaches it for real on a ManualClock)."""
    with Receiver() as receiver:
        dc = _connector(dt, project_id, receiver.url)
        arrange(
            server,
            "UPDATE dataconnectors SET status = 'SYSTEM_DISABLED', failing_since = ?,"
            " consecutive_failures = 40 WHERE id = ?",
            "UPDATE dataconnectors SET status = 'SYSTEM_DISABLED', failing_since = $1,"
            " consecutive_failures = 40 WHERE id = $2",
            time.time() - 5 * DAY,
            dc,
        )
        assert dt.DataConnector.get_data_connector(dc, project_id).status == "SYSTEM_DISABLED"
        device = dt.Emulator.create_device(project_id, "touch")
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        assert _queued(server, dc) == 0  # a SYSTEM_DISABLED connector gets nothing new
        renamed = dt.DataConnector.update_data_connector(dc, project_id, display_name="renamed")
        assert renamed.status == "SYSTEM_DISABLED"  # only a status PATCH changes the status
        enabled = dt.DataConnector.update_data_connector(dc, project_id, status="ACTIVE")
        assert enabled.status == "ACTIVE"
        stored = read_stored(server, lambda store: store.get_dataconnector(project_id, dc))
        assert stored is not None
        assert (stored.failing_since, stored.consecutive_failures) == (None, 0)
        published = time.time()
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        [got] = receiver.wait_for(1)
        assert receiver.count() == 1  # nothing from the disabled period
    assert got.at - published < 1.0


async def test_reaching_system_disabled_then_re_enabling_starts_healthy(tmp_path: Path) -> None:
    """Issue item 6 on a ManualClock: 5 days of failures → SYSTEM_DISABLED; the PATCH rules
    (`Engine.patch_connector`: the rules and store update the PATCH handler runs) set
    ACTIVE; the connector is healthy again: its next events go out in parallel, not one probe at a
    time."""
    switch = Switch(503)
    with Receiver(switch) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            while engine.status(cid) == "ACTIVE":
                await engine.publish()
                last = engine.last_attempt(cid)
                engine.clock.advance(6 * HOUR)
                await eventually(lambda n=last: engine.last_attempt(cid) > n)
            assert engine.status(cid) == "SYSTEM_DISABLED" and engine.queued(cid) == 0
            assert engine.stored_connector(cid).status_reason == NO_SUCCESS_FOR_5_DAYS
            switch.status = 200
            receiver.behaviour = slow(0.3)
            await engine.patch_connector(cid, {"status": "ACTIVE"})
            assert engine.status(cid) == "ACTIVE"
            before = receiver.count()
            events = [await engine.publish() for _ in range(5)]
            await receiver.wait(before + 5)
            await eventually(lambda: engine.queued(cid) == 0)
            assert receiver.max_active == 5  # all five at once: no longer probed one at a time
            stored = engine.stored_connector(cid)
    sent = {orjson.loads(r.body)["event"]["eventId"] for r in receiver.requests[before:]}
    assert sent == {e["eventId"] for e in events}
    assert (stored.failing_since, stored.consecutive_failures) == (None, 0)
    assert stored.status_reason is None


# ---- issue item 2: the body is fixed at enqueue -------------------------------------------------


def test_a_retry_carries_the_labels_the_device_had_when_the_event_was_received(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    """Issue item 2: the body is built when the event is published, "only the label keys the
    connector lists, as the device had them then", so every attempt sends identical bytes; each
    attempt verifies with `dtintegrations` and with plain PyJWT."""
    with Receiver(statuses([500])) as receiver:
        dc = _connector(
            dt, project_id, receiver.url, secret="k", event_types=["touch"], labels=["name", "room"]
        )
        device = dt.Emulator.create_device(
            project_id, "touch", labels={"name": "before", "room": "1"}
        )
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        receiver.wait_for(1)  # answered 500
        dt.Device.set_label(device.device_id, project_id, "name", "after")
        dt.Device.remove_label(device.device_id, project_id, "room")
        first, retry = receiver.wait_for(2)  # the retry, about a second later
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        later = receiver.wait_for(3)[2]
        _drained(server, dc)
    assert retry.body == first.body
    assert orjson.loads(retry.body)["labels"] == {"name": "before", "room": "1"}
    assert orjson.loads(later.body)["labels"] == {"name": "after"}
    for got in (first, retry, later):
        token = got.header("X-Dt-Signature")
        assert token is not None
        claims = jwt.decode(token, "k", algorithms=["HS256"])
        assert claims["checksum_sha256"] == hashlib.sha256(got.body).hexdigest()
        assert claims["checksum"] == hashlib.sha1(got.body).hexdigest()
        push = data_connector.HttpPush(headers=got.header_dict, body=got.body, secret="k")
        assert push.event.device_id == device.device_id
    assert first.header("X-Dt-Signature") != retry.header("X-Dt-Signature")  # re-signed


# ---- issue item 3: the dispatcher, through the real server ---------------------------------------


def test_through_the_server_a_slow_connector_does_not_delay_a_healthy_one(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    """Tests bullet "Isolation" and Introduction "never wait for an event delivery to complete
    before sending the next", through `conduit serve` and its sender process (the engine test in
    test_delivery_policy.py covers the in-process sender): a receiver taking 5 s per request holds
    every one of its pushes in flight at once, and the healthy connector's pushes still arrive
    within milliseconds of each publish."""
    count = 10
    with Receiver(slow(5.0)) as sluggish, Receiver() as healthy:
        slow_dc = _connector(dt, project_id, sluggish.url)
        fast_dc = _connector(dt, project_id, healthy.url)
        device = dt.Emulator.create_device(project_id, "temperature")
        published: dict[float, float] = {}
        for i in range(count):
            published[float(i)] = time.time()
            res = publish(api, server, project_id, device.device_id, {"temperature": {"value": i}})
            assert res.status_code == 200, res.text
        arrived = healthy.wait_for(count, timeout=5)
        _wait(lambda: sluggish.count() == count, within=5, what="all slow pushes started")
        in_flight_at_once = sluggish.max_active
        _delete_connectors(dt, project_id, slow_dc, fast_dc)
    latencies = [
        r.at - published[orjson.loads(r.body)["event"]["data"]["temperature"]["value"]]
        for r in arrived
    ]
    assert in_flight_at_once == count  # none waited for another
    assert max(latencies) < 0.5, latencies
    assert statistics.median(latencies) < 0.1, latencies  # woken by the commit, no polling delay


class _PeerRecordingReceiver(Receiver):
    """A harness receiver that also notes the client address of each request (to see which
    connection it came on)."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername"))
        return await super()._handle(request)


def test_pushes_reuse_a_keep_alive_connection(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    """Issue item 3: "Keep-alive connection pools": consecutive pushes to one receiver come over
    one connection, not one connection each."""
    receiver = _PeerRecordingReceiver()
    with receiver:
        dc = _connector(dt, project_id, receiver.url)
        device = dt.Emulator.create_device(project_id, "touch")
        for n in range(1, 6):
            dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
            receiver.wait_for(n)
        _drained(server, dc)
        peers = list(receiver.peers)
    assert len(peers) == 5 and len(set(peers)) == 1, peers


# ---- issue item 8: Prometheus and the attempt log, from real failures ----------------------------


def test_prometheus_shows_the_connectors_queue_its_failures_and_what_a_disable_drops(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    """Issue item 8: `/metrics` has the queue depth *per connector*, attempts by outcome, and the
    dropped count; `/attempts` logs the real error class of a real failure."""
    dc = _connector(dt, project_id, refused_url())
    device = dt.Emulator.create_device(project_id, "touch")
    for _ in range(3):
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
    depth = f'conduit_delivery_queue_depth{{connector="{dc}"}}'
    _wait(lambda: _metric(_metric_lines(server), depth) == 3.0, what=f"{depth} == 3")
    attempts_url = f"{server.api}/projects/{project_id}/dataconnectors/{dc}/attempts"
    _wait(lambda: api.get(attempts_url).json()["attempts"] != [], what="an attempt logged")
    attempt = api.get(attempts_url).json()["attempts"][-1]
    assert attempt["attempt"] == 1 and attempt["success"] is False
    assert attempt["error"] == "connection_refused" and attempt["statusCode"] is None
    lines = _metric_lines(server)
    refused = _metric(lines, 'conduit_delivery_attempts_total{outcome="connection_refused"}')
    assert refused is not None and refused >= 1
    assert any(line.startswith("conduit_delivery_latency_seconds_bucket{") for line in lines)
    dropped_before = _metric(lines, "conduit_delivery_dropped_total")
    assert dropped_before is not None
    dt.DataConnector.update_data_connector(dc, project_id, status="USER_DISABLED")
    lines = _metric_lines(server)
    assert _metric(lines, "conduit_delivery_dropped_total") == dropped_before + 3
    assert _metric(lines, depth) in (None, 0.0)
    metric = dt.DataConnector.get_metrics(dc, project_id)
    assert metric.success_count == 0 and metric.error_count >= 1
    dt.DataConnector.delete_data_connector(dc, project_id)


# ---- issue item 7 / seeds: :sync -----------------------------------------------------------------


def test_sync_covers_only_devices_currently_in_the_project_and_goes_out_at_once(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    """Configuring: "the most recent event of each event type of each device *currently* in the
    project will be published": a device moved to another project or deleted is not synced. The
    sync's pushes leave at once (the dispatcher is woken, not found by its safety-net rescan)."""
    other = _other_project(api, server, organization_id)
    staying = dt.Emulator.create_device(project_id, "temperature")
    moved = dt.Emulator.create_device(project_id, "temperature")
    deleted = dt.Emulator.create_device(project_id, "temperature")
    for device in (staying, moved, deleted):
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Temperature(5.0))
    errors = dt.Device.transfer_devices([moved.device_id], project_id, other)
    assert errors == []
    dt.Emulator.delete_device(deleted.device_id, project_id)
    with Receiver() as receiver:
        dc = _connector(dt, project_id, receiver.url)
        synced = time.time()
        dt.DataConnector.sync_data_connector(dc, project_id)
        [first] = receiver.wait_for(1)
        _drained(server, dc)
        pushed = [orjson.loads(r.body)["metadata"]["deviceId"] for r in list(receiver.requests)]
    assert pushed == [staying.device_id]
    assert first.at - synced < 1.0


# ---- issue item 3: in-flight caps, on the engine -------------------------------------------------


async def test_in_flight_requests_are_capped_per_connector_and_per_server(tmp_path: Path) -> None:
    """Issue item 3: "In-flight requests are capped per server and per connector (configurable)":
    beyond a cap, events wait for a slot (and all are delivered), never more are in flight."""
    with Receiver(slow(0.3)) as receiver:
        async with running_engine(
            tmp_path / "per-connector", max_in_flight=100, max_in_flight_per_connector=3
        ) as engine:
            cid = await engine.connector(receiver.url)
            for _ in range(9):
                await engine.publish()
            await receiver.wait(9)
            await eventually(lambda: engine.queued(cid) == 0)
        assert receiver.max_active == 3
    with Receiver(slow(0.3)) as receiver:
        async with running_engine(
            tmp_path / "server-wide", max_in_flight=4, max_in_flight_per_connector=4
        ) as engine:
            # Six tenants with two events each: the fair shares (`slot_shares`) give each busy
            # project at least one slot, so together they would take six; the server cap stops
            # them at four.
            projects = [await engine.new_project() for _ in range(6)]
            connectors = [await engine.connector(receiver.url, project_id=p) for p in projects]
            for _ in range(2):
                for project in projects:
                    await engine.publish(project_id=project)
            await receiver.wait(12)
            await eventually(lambda: sum(engine.queued(c) for c in connectors) == 0)
        assert receiver.max_active == 4


async def test_the_first_success_releases_the_backlog_all_at_once(tmp_path: Path) -> None:
    """Issue item 5: "the first success releases its backlog at full speed" — not one probe at a
    time, and without waiting for any backoff: the whole backlog is in flight together."""
    failing = {"now": True}

    def behaviour(_request: Received, _index: int) -> Answer:
        return Answer(500) if failing["now"] else Answer(200, delay=0.3)

    with Receiver(behaviour) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            for _ in range(9):  # queued behind the failing connector's probe
                await engine.publish()
            await eventually(lambda: engine.queued(cid) == 10)
            assert receiver.max_active == 1
            failing["now"] = False
            engine.clock.advance(1.25)  # the probe is due; it succeeds after 0.3 s
            await receiver.wait(11)
            await eventually(lambda: engine.queued(cid) == 0)  # with no further clock advance
    assert receiver.max_active == 9  # the other nine went out together once the probe succeeded


async def test_an_unresolvable_host_is_a_dns_failure(tmp_path: Path) -> None:
    """Issue item 8: the attempt log's error classes include `dns` (the stored URL bypasses the
    create-time check, as a name that stops resolving later would)."""
    async with running_engine(tmp_path) as engine:
        cid = await engine.connector("https://nowhere.invalid/hook")
        await engine.publish()
        await eventually(lambda: len(engine.attempts(cid)) == 1)
        [attempt] = engine.attempts(cid)
        assert engine.queued(cid) == 1
    assert attempt["success"] == 0 and attempt["error"] == "dns"


# ---- the 12-hour window, attempt by attempt ------------------------------------------------------


async def _fail_when_due(engine: Engine, cid: str) -> None:
    """Jump the clock to the moment the connector's one queued event may be tried again (its own
    backoff and the connector's probe spacing), and wait for that attempt."""
    assert engine.queued(cid) == 1
    next_attempt = engine.next_due(cid)
    assert next_attempt is not None
    due = max(next_attempt, engine.dispatcher.connectors[cid].probe_at)
    last = engine.last_attempt(cid)
    engine.clock.advance(max(0.0, due - engine.clock.now()) + 0.001)
    await eventually(lambda: engine.last_attempt(cid) > last)


async def test_an_undelivered_event_stays_queued_until_it_is_twelve_hours_old(
    tmp_path: Path,
) -> None:
    with Receiver(always(500)) as receiver:
        async with running_engine(tmp_path) as engine:
            engine.dispatcher.random = lambda: 0.5  # no jitter: retry delays are exact
            cid = await engine.connector(receiver.url)
            received = engine.clock.now()
            await engine.publish()
            await eventually(lambda: len(engine.attempts(cid)) == 1)
            while len(engine.attempts(cid)) < 10:  # backoff 1, 2, ... 256 s, then the 300 s cap
                await _fail_when_due(engine, cid)
            # 200 s before the event is 12 hours old its retry is due, and fails again
            last = engine.last_attempt(cid)
            engine.clock.advance(received + 12 * HOUR - 200 - engine.clock.now())
            await eventually(lambda: engine.last_attempt(cid) > last)
            assert engine.clock.now() - received < 12 * HOUR
            assert engine.queued(cid) == 1, "dropped before it was 12 hours old"
            engine.clock.advance(200.0 + 61.0)  # past 12 hours (and the next expiry sweep)
            await eventually(lambda: engine.queued(cid) == 0)
            assert engine.counter(cid, "expired") == 1


async def test_an_idle_stretch_does_not_count_towards_the_five_days(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        cid = await engine.connector(refused_url())
        await engine.publish()  # fails; retried until it expires at 12 h
        await eventually(lambda: len(engine.attempts(cid)) == 1)
        engine.clock.advance(12 * HOUR + 61.0)
        await eventually(lambda: engine.queued(cid) == 0)  # expired: nothing left to fail
        await engine.advance(5 * DAY - 12 * HOUR)  # idle: no events, the dispatcher looking:
        await engine.advance(0.0)  # the pass above rescanned; this one sees the empty queue
        last = engine.last_attempt(cid)
        await engine.publish()  # the receiver is still down: one failure
        await eventually(lambda: engine.last_attempt(cid) > last)
        await eventually(lambda: engine.queued(cid) == 1 or engine.status(cid) != "ACTIVE")
        assert engine.status(cid) == "ACTIVE"
