"""kill -9 in the middle of delivering: after a restart every acknowledged publish still arrives."""

from __future__ import annotations

import threading
import time
from collections import Counter

import orjson
import requests

from tests.harness.receivers import Receiver, slow
from tests.harness.server import ServerProcess
from tests.harness.stored import read_stored

EVENTS = 2000
PUBLISHERS = 4


def _queue_depth(server: ServerProcess) -> int:
    text = requests.get(f"{server.url}/metrics", timeout=5).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("conduit_delivery_queue_depth{")
    )


def _value(body: bytes) -> int:
    return int(orjson.loads(body)["event"]["data"]["temperature"]["value"])


def test_kill_9_mid_delivery_loses_no_acknowledged_event(fresh_server: ServerProcess) -> None:
    with Receiver(slow(0.02)) as receiver:  # slow enough that deliveries are in flight at the kill
        fresh_server.start()
        api = fresh_server.api
        session = fresh_server.session()
        project = session.get(f"{api}/projects").json()["projects"][0]["name"].split("/")[1]
        res = session.post(
            f"{api}/projects/{project}/dataconnectors",
            json={"type": "HTTP_PUSH", "httpConfig": {"url": receiver.url, "signatureSecret": "k"}},
        )
        assert res.status_code == 200, res.text
        res = session.post(f"{api}/projects/{project}/devices", json={"type": "temperature"})
        assert res.status_code == 200, res.text
        publish = f"{api}/{res.json()['name']}:publish"

        acknowledged: set[int] = set()
        lock = threading.Lock()

        def publisher(first: int) -> None:
            own = fresh_server.session()
            for i in range(first, EVENTS, PUBLISHERS):
                try:
                    r = own.post(publish, json={"temperature": {"value": float(i)}}, timeout=5)
                except requests.RequestException:
                    return  # the server is gone: this publish was never acknowledged
                if r.status_code != 200:
                    return
                with lock:
                    acknowledged.add(i)

        threads = [threading.Thread(target=publisher, args=(k,)) for k in range(PUBLISHERS)]
        for t in threads:
            t.start()
        receiver.wait_for(150, timeout=30)
        fresh_server.kill()
        for t in threads:
            t.join(timeout=30)
        before_restart = receiver.count()
        unacked = sum(read_stored(fresh_server, lambda store: store.queue_depths()).values())
        assert unacked > 0  # the kill came before some deliveries were acknowledged

        fresh_server.start()
        deadline = time.monotonic() + 30
        while _queue_depth(fresh_server) > 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling an observable condition: the server's queue draining
        counts = Counter(_value(r.body) for r in list(receiver.requests))
    missing = sorted(acknowledged - set(counts))
    duplicates = {v: n for v, n in sorted(counts.items()) if n > 1}
    print(
        f"\ncrash test: {len(acknowledged)} acknowledged publishes, {before_restart} pushes before"
        f" the kill, {unacked} queued unacknowledged at the kill, {sum(counts.values())} pushes"
        f" in all; {len(duplicates)} events delivered more than once: {duplicates}"
    )
    assert not missing, f"acknowledged but never delivered: {missing}"
    assert len(acknowledged) >= 150 and len(acknowledged) < EVENTS  # killed while publishing
