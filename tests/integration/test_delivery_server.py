"""End to end through a real `conduit serve`: the official client creates a connector and publishes,
a real receiver gets the push, `/metrics` shows it, and `conduit receive` verifies it."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import orjson
import pytest
import requests
from dtintegrations import data_connector

from tests.harness.receivers import Receiver, Switch, free_port
from tests.harness.resources import client_connector
from tests.harness.server import ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _connector(dt: Any, project_id: str, url: str, **kwargs: Any) -> Any:
    return client_connector(dt, project_id, url, **{"secret": "s3cret", **kwargs})


def test_published_event_is_pushed_at_once_and_verifies(dt: Any, project_id: str) -> None:
    with Receiver() as receiver:
        _connector(dt, project_id, receiver.url, labels=["name"], headers={"X-Tenant": "t1"})
        device = dt.Emulator.create_device(project_id, "temperature", display_name="fridge")
        started = time.time()
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Temperature(celsius=4.5))
        [got] = receiver.wait_for(1, timeout=5)
    assert got.at - started < 1.0  # delivered as soon as committed (no polling delay)
    assert got.header("X-Tenant") == "t1"
    push = data_connector.HttpPush(headers=got.header_dict, body=got.body, secret="s3cret")
    assert push.event.event_type == "temperature" and push.event.data.celsius == 4.5
    assert push.labels == {"name": "fridge"}
    metadata = push.get_device_metadata()
    assert metadata is not None and metadata.device_id == device.device_id
    assert metadata.project_id == project_id and metadata.device_type == "temperature"


def test_event_filter_and_disable_through_the_api(dt: Any, project_id: str) -> None:
    with Receiver() as touches, Receiver() as everything:
        only_touch = _connector(dt, project_id, touches.url, event_types=["touch"])
        _connector(dt, project_id, everything.url)
        device = dt.Emulator.create_device(project_id, "temperature")
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Temperature(celsius=1.0))
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        types = sorted(orjson.loads(r.body)["event"]["eventType"] for r in everything.wait_for(2))
        assert types == ["temperature", "touch"]
        [touch] = touches.wait_for(1)
        assert b'"eventType":"touch"' in touch.body
        dt.DataConnector.update_data_connector(
            only_touch.data_connector_id, project_id, status="USER_DISABLED"
        )
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        everything.wait_for(3)
        assert touches.count() == 1  # a disabled connector gets nothing


def _scrape(server: ServerProcess) -> dict[str, float]:
    res = requests.get(f"{server.url}/metrics", timeout=5)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in res.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def _until(check: Any, within: float = 10.0) -> None:
    """Poll an observable condition until it holds (a deadline, not a sleep-and-hope)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_metrics_endpoint_shows_attempts_and_queue_depth(fresh_server: ServerProcess) -> None:
    """On a server of its own, so every number is this test's: a failing attempt, the queue depth
    of its connector while it waits, then the success that empties it."""
    server = fresh_server.start()
    switch = Switch(503)
    with Receiver(switch) as receiver:
        session = server.session()
        project = session.get(f"{server.api}/projects").json()["projects"][0]["name"]
        res = session.post(
            f"{server.api}/{project}/dataconnectors",
            json={"type": "HTTP_PUSH", "httpConfig": {"url": receiver.url}},
        )
        connector = res.json()["name"].rsplit("/", 1)[1]
        depth = f'conduit_delivery_queue_depth{{connector="{connector}"}}'
        device = session.post(f"{server.api}/{project}/devices", json={"type": "touch"})
        assert session.post(f"{server.api}/{device.json()['name']}:publish", json={"touch": {}}).ok
        receiver.wait_for(1)
        _until(lambda: _scrape(server).get('conduit_delivery_attempts_total{outcome="http_503"}'))
        assert _scrape(server)[depth] == 1  # failed, so still queued
        switch.status = 200
        receiver.wait_for(2, timeout=10)  # the retry, after a second's backoff
        _until(lambda: _scrape(server).get(depth, 0) == 0)
    samples = _scrape(server)
    assert samples['conduit_delivery_attempts_total{outcome="http_503"}'] == 1
    assert samples['conduit_delivery_attempts_total{outcome="success"}'] == 1
    assert samples["conduit_delivery_latency_seconds_count"] == 1
    assert samples["conduit_delivery_expired_total"] == 0
    assert samples["conduit_delivery_dropped_total"] == 0
    assert samples["process_resident_memory_bytes"] > 0


def test_conduit_receive_verifies_and_prints_pushes(dt: Any, project_id: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conduit", "receive", "--port", str(port), "--secret", "s3cret"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        forged = requests.post(
            f"http://127.0.0.1:{port}/x", data=b"{}", headers={"X-Dt-Signature": "a.b.c"}, timeout=5
        )
        assert forged.status_code == 401
        assert "REJECTED" in proc.stdout.readline()
        _connector(dt, project_id, f"http://127.0.0.1:{port}/hook")
        device = dt.Emulator.create_device(project_id, "touch", display_name="button")
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        header = proc.stdout.readline()
        assert "push #1" in header and "touch" in header and "verified" in header
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].strip() == "{" and '"event": {' in lines[1]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "stopped after 1 pushes (1 rejected)" in out
