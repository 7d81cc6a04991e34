"""kill -9 under publish load: every publish that got 200 survives, and nothing is half-written.

Durable-before-acknowledged is the promise the delivery guarantee rests on: a 200 from `:publish`
means the event, the device's `reported` and the connectors' queue rows are committed together. So
after the crash every acknowledged event is in the history, the history holds nothing that was never
published, `reported` is the last stored event, and the connector's queue holds exactly one row per
stored event (its receiver is down, so nothing leaves the queue): never an event without its push,
nor a push without its event.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import disruptive as dt
import requests

from tests.harness.receivers import refused_url
from tests.harness.server import ServerProcess
from tests.harness.stored import read_stored

THREADS = 6
KILL_AFTER_ACKS = 400


def test_acknowledged_publishes_survive_kill_9(fresh_server: ServerProcess) -> None:
    server = fresh_server.start()
    api = server.session()
    project_id = api.get(f"{server.api}/projects").json()["projects"][0]["name"].split("/")[1]
    devices = []
    for n in range(THREADS):
        res = api.post(
            f"{server.api}/projects/{project_id}/devices",
            json={"type": "touchCounter", "labels": {"name": f"counter {n}"}},
        )
        assert res.status_code == 200, res.text
        devices.append(res.json()["name"].split("/")[-1])

    # A connector whose receiver is down: every event must leave exactly one row in its queue.
    res = api.post(
        f"{server.api}/projects/{project_id}/dataconnectors",
        json={"type": "HTTP_PUSH", "httpConfig": {"url": refused_url()}},
    )
    assert res.status_code == 200, res.text
    connector_id = res.json()["name"].rsplit("/", 1)[1]

    acked: dict[str, list[int]] = {d: [] for d in devices}
    attempted: dict[str, list[int]] = {d: [] for d in devices}
    failures: list[str] = []  # an assert in a thread would not fail the test: collect instead
    enough = threading.Event()

    def publisher(device_id: str) -> None:
        session = server.session()
        url = f"{server.api}/projects/{project_id}/devices/{device_id}:publish"
        total = 0
        while True:
            attempted[device_id].append(total)
            try:
                res = session.post(url, json={"touchCount": {"total": total}}, timeout=5)
            except requests.RequestException:
                return  # the server is gone
            if res.status_code != 200:
                failures.append(f"publish {total} to {device_id}: {res.status_code} {res.text}")
                return
            acked[device_id].append(total)
            if sum(len(a) for a in acked.values()) >= KILL_AFTER_ACKS:
                enough.set()
            total += 1

    threads = [threading.Thread(target=publisher, args=(d,), daemon=True) for d in devices]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=60), "the publishers never got going"
    server.kill()  # mid-load: every thread has a publish in flight
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert not failures, failures
    in_flight = sum(len(attempted[d]) - len(acked[d]) for d in devices)
    assert in_flight >= 1, "the kill should interrupt publishes in flight"

    server.start()
    api = server.session()
    history_ids: set[str] = set()
    for device_id in devices:
        stored = _history(api, server, project_id, device_id)
        totals = [e["data"]["touchCount"]["total"] for e in stored]
        missing = set(acked[device_id]) - set(totals)
        assert not missing, f"acknowledged publishes lost: {sorted(missing)}"
        assert set(totals) <= set(attempted[device_id]), "only what was published is stored"
        assert totals == sorted(totals), "one publisher per device: history in publish order"
        for event in stored:  # complete envelopes, parsed by the official client
            assert dt.events.Event(event).data.total == event["data"]["touchCount"]["total"]
        # reported and history were committed together: reported is the last stored event
        device = api.get(f"{server.api}/projects/{project_id}/devices/{device_id}").json()
        assert device["reported"]["touchCount"] == stored[-1]["data"]["touchCount"]
        history_ids.update(e["eventId"] for e in stored)
    assert server.stop() == 0
    queued = read_stored(server, lambda store: store.queued_events(connector_id, 1_000_000))
    assert len(queued) == len(set(queued)), "one queue row per event"
    assert set(queued) == history_ids, "every stored event has its push queued, and only those"


def _history(
    api: requests.Session, server: ServerProcess, project_id: str, device_id: str
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"startTime": _hours_ago(1)}
    while True:
        res = api.get(
            f"{server.api}/projects/{project_id}/devices/{device_id}/events", params=params
        )
        assert res.status_code == 200, res.text
        body = res.json()
        events += body["events"]
        if not body["nextPageToken"]:
            return events
        params["pageToken"] = body["nextPageToken"]


def _hours_ago(hours: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - hours * 3600))
