"""Chaos on many nodes: real `conduit serve` processes on a real PostgreSQL, killed and cut off
under load. Each test fails on any acknowledged event that is not delivered, and prints the
duplicates it saw (at-least-once allows them; their number is what these tests measure)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
import requests

from tests.harness.backends import POSTGRESQL, new_database
from tests.harness.cluster import Cluster, PrivatePostgres
from tests.harness.receivers import Receiver, slow

pytestmark = pytest.mark.backends(POSTGRESQL)


@dataclass
class Publishers:
    """Threads publishing numbered temperature events, round-robin over the given nodes, until
    stopped; `acknowledged` holds the numbers answered 200, `statuses` every answer."""

    urls: list[str]  # each node's publish URL for the same device
    session: requests.Session
    threads: int = 4
    timeout: float = 10.0
    acknowledged: set[int] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)  # answers that are neither 200 nor a clean 503
    _stop: threading.Event = field(default_factory=threading.Event)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Publishers:
        for k in range(self.threads):
            t = threading.Thread(target=self._run, args=(k,), daemon=True)
            t.start()
            self._running.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._running:
            t.join(timeout=30)

    def wait_for_acknowledged(self, count: int, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} acknowledged"
            time.sleep(0.01)

    def _run(self, k: int) -> None:
        own = requests.Session()
        own.auth = self.session.auth
        while not self._stop.is_set():
            with self._lock:
                n = next(self._numbers)
            url = self.urls[(n + k) % len(self.urls)]
            try:
                r = own.post(url, json={"temperature": {"value": float(n)}}, timeout=self.timeout)
            except requests.ConnectionError:
                with self._lock:
                    self.statuses["refused"] += 1  # a killed node: never acknowledged
                time.sleep(0.01)
                continue
            except requests.Timeout:
                with self._lock:
                    self.bad.append(f"{url}: no answer in {self.timeout} s")
                continue
            with self._lock:
                self.statuses[str(r.status_code)] += 1
                if r.status_code == 200:
                    self.acknowledged.add(n)
                elif not _clean_503(r):
                    self.bad.append(f"{r.status_code} {r.text[:200]}")
            if r.status_code != 200:
                time.sleep(0.05)


def _clean_503(r: requests.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return r.status_code == 503 and set(body) == {"error", "code", "help"} and body["code"] == 503


def _value(body: bytes) -> int:
    return int(orjson.loads(body)["event"]["data"]["temperature"]["value"])


def _setup(cluster: Cluster, receiver: Receiver) -> list[str]:
    """A connector to the receiver and one device; returns each node's publish URL."""
    session = cluster.session()
    api = cluster.nodes[0].api
    project = session.get(f"{api}/projects").json()["projects"][0]["name"].split("/")[1]
    res = session.post(
        f"{api}/projects/{project}/dataconnectors",
        json={
            "type": "HTTP_PUSH",
            "httpConfig": {"url": receiver.url, "signatureSecret": "k" * 32},
        },
    )
    assert res.status_code == 200, res.text
    res = session.post(f"{api}/projects/{project}/devices", json={"type": "temperature"})
    assert res.status_code == 200, res.text
    return [f"{node.api}/{res.json()['name']}:publish" for node in cluster.nodes]


def _delivered(receiver: Receiver, acknowledged: set[int], within: float) -> Counter[int]:
    """Wait until every acknowledged event has arrived (or the deadline); the arrivals."""
    deadline = time.monotonic() + within
    while True:
        counts = Counter(_value(r.body) for r in list(receiver.requests))
        if acknowledged <= set(counts) or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def _report(name: str, acknowledged: set[int], counts: Counter[int]) -> None:
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    print(
        f"\n{name}: {len(acknowledged)} acknowledged, {len(counts)} distinct delivered,"
        f" {duplicates} duplicates"
    )


def test_kill_9_of_one_node_of_three_loses_nothing(tmp_path: Path) -> None:
    database = new_database()
    cluster = Cluster(tmp_path, database, size=3, extra_args=["--lease-seconds", "3"])
    with Receiver(slow(0.02)) as receiver:
        try:
            cluster.start()
            urls = _setup(cluster, receiver)
            publishers = Publishers(urls, cluster.session()).start()
            try:
                receiver.wait_for(300, timeout=60)  # deliveries are in flight on every node
                cluster.nodes[1].kill()
                publishers.wait_for_acknowledged(len(publishers.acknowledged) + 200)
            finally:
                publishers.stop()
            counts = _delivered(receiver, publishers.acknowledged, within=60)
        finally:
            cluster.stop()
    _report("kill -9 of 1 node of 3", publishers.acknowledged, counts)
    assert sorted(publishers.acknowledged - set(counts)) == []
    assert publishers.bad == []


def test_a_postgresql_restart_mid_load_answers_503_and_loses_nothing(tmp_path: Path) -> None:
    postgres = PrivatePostgres().start()
    cluster = Cluster(tmp_path, postgres.url, size=2, extra_args=["--lease-seconds", "3"])
    with Receiver() as receiver:
        try:
            cluster.start()
            urls = _setup(cluster, receiver)
            publishers = Publishers(urls, cluster.session()).start()
            try:
                publishers.wait_for_acknowledged(200)
                postgres.stop("immediate")  # a crash: every connection drops at once
                outage = len(publishers.acknowledged)
                time.sleep(1.0)  # the outage lasts a second; publishes meanwhile must not hang
                postgres.start()
                publishers.wait_for_acknowledged(outage + 200, within=60)
            finally:
                publishers.stop()
            counts = _delivered(receiver, publishers.acknowledged, within=60)
        finally:
            cluster.stop()
            postgres.remove()
    _report("PostgreSQL restart", publishers.acknowledged, counts)
    print(f"answers: {dict(publishers.statuses)}")
    assert publishers.bad == [], publishers.bad[:5]
    assert publishers.statuses["503"] > 0, "no publish met the outage"
    assert sorted(publishers.acknowledged - set(counts)) == []


def test_a_receiver_slower_than_the_lease_never_gets_an_event_twice(tmp_path: Path) -> None:
    database = new_database()
    cluster = Cluster(tmp_path, database, size=2, extra_args=["--lease-seconds", "1"])
    with Receiver(slow(3.0)) as receiver:  # three leases per request
        try:
            cluster.start()
            urls = _setup(cluster, receiver)
            session = cluster.session()
            for i in range(20):
                res = session.post(urls[i % 2], json={"temperature": {"value": float(i)}})
                assert res.status_code == 200, res.text
            receiver.wait_for(20, timeout=30)
            time.sleep(4.0)  # a lapsed lease would have been re-claimed by now: look for it
            counts = Counter(_value(r.body) for r in list(receiver.requests))
        finally:
            cluster.stop()
    _report("receiver slower than the lease", set(range(20)), counts)
    assert counts == Counter({i: 1 for i in range(20)})
