"""Many nodes on one PostgreSQL: they share all work and every rule holds across them."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
import requests

from tests.harness.backends import POSTGRESQL, new_database
from tests.harness.cluster import Cluster
from tests.harness.events import open_stream
from tests.harness.receivers import Answer, Received, Receiver, Switch
from tests.harness.stored import read_database

pytestmark = pytest.mark.backends(POSTGRESQL)


def _project(session: requests.Session, api: str) -> str:
    return str(session.get(f"{api}/projects").json()["projects"][0]["name"].split("/")[1])


def test_nodes_starting_together_bootstrap_the_platform_once(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, new_database(), size=3)
    starters = [threading.Thread(target=node.start) for node in cluster.nodes]
    try:
        for t in starters:
            t.start()
        for t in starters:
            t.join(timeout=60)
        written = [n for n in cluster.nodes if n.credentials_path.exists()]
        assert len(written) == 1, "exactly one node bootstrapped and wrote credentials.json"
        session = written[0].session()
        for node in cluster.nodes:  # the one admin key works on every node
            projects = session.get(f"{node.api}/projects").json()["projects"]
            assert [p["displayName"] for p in projects] == ["default"]
        organizations = read_database(cluster.database, lambda s: s.list_organizations())
        assert len(organizations) == 1
    finally:
        cluster.stop()


def test_an_api_node_and_a_delivery_node_split_the_work(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, new_database(), size=2)
    cluster.nodes[0].extra_args += ["--role", "api"]
    cluster.nodes[1].extra_args += ["--role", "delivery"]
    with Receiver() as receiver:
        try:
            cluster.start()
            api_node, delivery_node = cluster.nodes
            session = cluster.session()
            project = _project(session, api_node.api)
            # the delivery node serves no API, only health and metrics
            assert session.get(f"{delivery_node.api}/projects").status_code == 404
            assert requests.get(f"{delivery_node.url}/metrics", timeout=5).status_code == 200
            res = session.post(
                f"{api_node.api}/projects/{project}/dataconnectors",
                json={"type": "HTTP_PUSH", "httpConfig": {"url": receiver.url}},
            )
            assert res.status_code == 200, res.text
            connector = res.json()["name"]
            device = session.post(
                f"{api_node.api}/projects/{project}/devices", json={"type": "touch"}
            ).json()["name"]
            for _ in range(5):
                assert session.post(f"{api_node.api}/{device}:publish", json={"touch": {}}).ok
            received = receiver.wait_for(5, timeout=10)  # woken by NOTIFY, not by polling
            assert len(received) == 5
            # :metrics counts what the delivery node did (once it has written the outcomes),
            # asked through the API node
            deadline = time.monotonic() + 10
            while True:
                metrics = session.get(f"{api_node.api}/{connector}:metrics").json()["metrics"]
                if metrics["successCount"] >= 5 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert metrics["successCount"] == 5 and metrics["errorCount"] == 0
        finally:
            cluster.stop()


def test_a_stream_on_one_node_sees_events_published_on_another(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, new_database(), size=2)
    try:
        cluster.start()
        first, second = cluster.nodes
        session = cluster.session()
        project = _project(session, first.api)
        device = session.post(f"{first.api}/projects/{project}/devices", json={"type": "touch"})
        device_name = device.json()["name"]
        stream = open_stream(session, second, f"projects/{project}/devices:stream")
        try:
            published = session.post(f"{first.api}/{device_name}:publish", json={"touch": {}})
            assert published.status_code == 200
            event = stream.next_event()
            assert event["targetName"] == device_name and event["eventType"] == "touch"
            stored = session.get(f"{first.api}/{device_name}/events").json()["events"]
            assert [e["eventId"] for e in stored] == [event["eventId"]]
        finally:
            stream.close()
    finally:
        cluster.stop()


def test_conduit_migrate_brings_an_empty_database_up_to_date(tmp_path: Path) -> None:
    database = new_database()
    migrate = [sys.executable, "-m", "conduit", "migrate", "--database", database]
    first = subprocess.run(migrate, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_initial.sql" in first.stdout
    again = subprocess.run(migrate, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "up to date" in again.stdout
    cluster = Cluster(tmp_path, database, size=1).start()  # a node starts on the migrated schema
    try:
        assert cluster.session().get(f"{cluster.nodes[0].api}/projects").status_code == 200
    finally:
        cluster.stop()


def test_a_failing_connector_is_probed_one_event_at_a_time_across_nodes(tmp_path: Path) -> None:
    """With the receiver down, two nodes holding queued events send one probe at a time between
    them (a lease on the connector row), never one each; when it recovers, everything arrives."""
    switch = Switch(503)

    def behaviour(request: Received, index: int) -> Answer:
        return Answer(switch.status, delay=1.0)  # slow enough for overlapping probes to show

    cluster = Cluster(tmp_path, new_database(), size=2)
    with Receiver(behaviour) as receiver:
        try:
            cluster.start()
            session = cluster.session()
            first, second = cluster.nodes
            project = _project(session, first.api)
            res = session.post(
                f"{first.api}/projects/{project}/dataconnectors",
                json={"type": "HTTP_PUSH", "httpConfig": {"url": receiver.url}},
            )
            assert res.status_code == 200, res.text
            device = session.post(
                f"{first.api}/projects/{project}/devices", json={"type": "touch"}
            ).json()["name"]
            for node in (first, second):  # each node learns of the failure by its own attempt
                assert session.post(f"{node.api}/{device}:publish", json={"touch": {}}).ok
            connector = res.json()["name"]
            deadline = time.monotonic() + 15  # both failures answered and recorded
            while (
                session.get(f"{first.api}/{connector}:metrics").json()["metrics"]["errorCount"] < 2
            ):
                assert time.monotonic() < deadline, "the first attempts did not fail in time"
                time.sleep(0.05)
            for i in range(10):
                node = cluster.nodes[i % 2]
                assert session.post(f"{node.api}/{device}:publish", json={"touch": {}}).ok
            receiver.max_active = 0
            seen = receiver.count()
            receiver.wait_for(seen + 3, timeout=30)  # three probes, spaced by the backoff
            assert receiver.max_active == 1
            switch.status = 200
            deadline = time.monotonic() + 60  # every event arrives once a probe succeeds
            while len({orjson.loads(r.body)["event"]["eventId"] for r in receiver.requests}) < 12:
                assert time.monotonic() < deadline, "not every event arrived"
                time.sleep(0.05)
        finally:
            cluster.stop()


def test_a_stream_ends_when_access_is_revoked_on_another_node(tmp_path: Path) -> None:
    """The node holding the stream hears nothing of the change: its periodic re-check ends it."""
    cluster = Cluster(tmp_path, new_database(), size=2)
    try:
        cluster.start()
        first, second = cluster.nodes
        admin = cluster.session()
        project = _project(admin, first.api)
        account = admin.post(
            f"{first.api}/projects/{project}/serviceaccounts", json={"enableBasicAuth": True}
        ).json()
        made = admin.post(f"{first.api}/{account['name']}/keys", json={}).json()
        member = admin.post(
            f"{first.api}/projects/{project}/members",
            json={"email": account["email"], "roles": ["roles/project.user"]},
        )
        assert member.status_code == 200, member.text
        reader = requests.Session()
        reader.auth = (made["key"]["id"], made["secret"])
        stream = open_stream(reader, second, f"projects/{project}/devices:stream", read_timeout=10)
        try:
            removed = admin.delete(f"{first.api}/{member.json()['name']}")
            assert removed.status_code == 200
            revoked = time.monotonic()
            payload = stream.next_payload()
            assert payload["error"]["code"] == 403, payload
            assert time.monotonic() - revoked < 5.0  # 2 s re-check + 1 s role cache, with slack
        finally:
            stream.close()
    finally:
        cluster.stop()
