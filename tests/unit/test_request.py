"""The push body (fixed bytes, DT's shape and key order) and the per-attempt headers."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import jwt
import orjson
import pytest

from conduit import __version__
from conduit.delivery.enqueue import enqueue_event, enqueue_to_connector
from conduit.delivery.request import (
    attempt_headers,
    base_headers,
    build_body,
    forwarded_labels,
)
from conduit.store.database import apply_migrations

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

# SPEC §1, the captured touch push: rebuilding it from its parts must give the captured bytes.
CAPTURED = (
    b'{"event":{"eventId":"c82gg9catj3vmh4248og","targetName":"projects/c14u9p094l47cdv1o3pg/devices/'
    b'emuc17m6d7lq0bgk44smcqg","eventType":"touch","data":{"touch":{"updateTime":"2022-02-10T12:42:13.'
    b'313949Z"}},"timestamp":"2022-02-10T12:42:13.313949Z"},"labels":{"name":"touch"},"metadata":{"dev'
    b'iceId":"emuc17m6d7lq0bgk44smcqg","projectId":"c14u9p094l47cdv1o3pg","deviceType":"touch","produc'
    b'tNumber":""}}'
)
ENVELOPE = {
    "eventId": "c82gg9catj3vmh4248og",
    "targetName": "projects/c14u9p094l47cdv1o3pg/devices/emuc17m6d7lq0bgk44smcqg",
    "eventType": "touch",
    "data": {"touch": {"updateTime": "2022-02-10T12:42:13.313949Z"}},
    "timestamp": "2022-02-10T12:42:13.313949Z",
}
METADATA = {
    "deviceId": "emuc17m6d7lq0bgk44smcqg",
    "projectId": "c14u9p094l47cdv1o3pg",
    "deviceType": "touch",
    "productNumber": "",
}


def test_body_is_dt_clouds_bytes() -> None:
    labels = forwarded_labels(["name"], {"name": "touch", "virtual-sensor": ""})
    assert build_body(ENVELOPE, labels, METADATA) == CAPTURED
    assert list(json.loads(CAPTURED)) == ["event", "labels", "metadata"]


def test_only_listed_labels_the_device_has_are_forwarded_in_connector_order() -> None:
    device = {"name": "n", "room": "42", "floor": "3"}
    assert forwarded_labels(["floor", "missing", "name"], device) == {"floor": "3", "name": "n"}
    assert forwarded_labels([], device) == {}


def test_headers_are_fixed_plus_custom_and_reserved_ones_cannot_be_overridden() -> None:
    headers = base_headers({"Authorization": "Bearer x", "content-type": "text/plain", "X-A": "1"})
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": f"Conduit/{__version__}",
        "Authorization": "Bearer x",
        "X-A": "1",
    }


def test_signature_only_with_a_secret_and_it_covers_the_body() -> None:
    base = base_headers({})
    assert "X-Dt-Signature" not in attempt_headers(base, b"{}", None, iat=1, jti="j")
    assert "X-Dt-Signature" not in attempt_headers(base, b"{}", b"", iat=1, jti="j")
    signed = attempt_headers(base, CAPTURED, b"s3cret", iat=2_000_000_000, jti="j1")
    claims = jwt.decode(
        signed["X-Dt-Signature"],
        "s3cret",
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iat"] == 2_000_000_000 and claims["jti"] == "j1"
    assert base == base_headers({})  # the shared per-connector headers are not mutated


# ---- enqueue (against a real migrated SQLite file) -------------------------------------------


@pytest.fixture
def conn(tmp_path: object) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(f"{tmp_path}/q.db", isolation_level=None)
    c.execute("PRAGMA foreign_keys=ON")
    apply_migrations(c)
    c.execute("INSERT INTO organizations VALUES ('o', 'org', 0)")
    for project in ("p", "q"):
        c.execute(
            "INSERT INTO projects(id, organization_id, display_name, create_time)"
            " VALUES (?, 'o', ?, 0)",
            (project, project),
        )
    yield c
    c.close()


def _connector(
    conn: sqlite3.Connection,
    cid: str,
    *,
    project: str = "p",
    status: str = "ACTIVE",
    events: list[str] | None = None,
    labels: list[str] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO dataconnectors(id, project_id, status, events, labels, url, create_time,"
        " update_time) VALUES (?, ?, ?, ?, ?, 'https://example.com/', 0, 0)",
        (cid, project, status, json.dumps(events or []), json.dumps(labels or [])),
    )


def _rows(conn: sqlite3.Connection) -> dict[str, bytes]:
    return {r[0]: r[1] for r in conn.execute("SELECT connector_id, body FROM deliveries")}


def test_enqueue_fans_out_to_matching_active_connectors_of_the_project(
    conn: sqlite3.Connection,
) -> None:
    _connector(conn, "all", labels=["name"])
    _connector(conn, "touch-only", events=["touch"])
    _connector(conn, "temp-only", events=["temperature"])
    _connector(conn, "paused", status="USER_DISABLED")
    _connector(conn, "off", status="SYSTEM_DISABLED")
    _connector(conn, "other-project", project="q")
    added = enqueue_event(
        conn,
        project_id="p",
        envelope=ENVELOPE,
        device_labels={"name": "touch"},
        metadata=METADATA,
        now=1000.0,
    )
    assert added == 2
    rows = _rows(conn)
    assert set(rows) == {"all", "touch-only"}
    assert rows["all"] == CAPTURED
    assert orjson.loads(rows["touch-only"])["labels"] == {}
    row = conn.execute(
        "SELECT event_id, event_time, attempts, next_attempt, lease_until FROM deliveries"
        " WHERE connector_id = 'all'"
    ).fetchone()
    assert row[0] == ENVELOPE["eventId"] and row[1] == 1000.0 and row[2] == 0 and row[3] == 1000.0
    assert row[4] > 1000.0  # born claimed for the local dispatcher


def test_enqueue_without_connectors_adds_nothing(conn: sqlite3.Connection) -> None:
    assert (
        enqueue_event(
            conn, project_id="p", envelope=ENVELOPE, device_labels={}, metadata=METADATA, now=1.0
        )
        == 0
    )
    assert _rows(conn) == {}


def test_connector_changes_apply_to_the_very_next_event(conn: sqlite3.Connection) -> None:
    _connector(conn, "c", events=["temperature"])
    args = dict(
        project_id="p", envelope=ENVELOPE, device_labels={"name": "x"}, metadata=METADATA, now=1.0
    )
    assert enqueue_event(conn, **args) == 0  # type: ignore[arg-type]
    conn.execute("UPDATE dataconnectors SET events = '[]', labels = '[\"name\"]' WHERE id = 'c'")
    assert enqueue_event(conn, **args) == 1  # type: ignore[arg-type]
    assert orjson.loads(_rows(conn)["c"])["labels"] == {"name": "x"}
    conn.execute("UPDATE dataconnectors SET status = 'USER_DISABLED' WHERE id = 'c'")
    assert enqueue_event(conn, **args) == 0  # type: ignore[arg-type]


def test_enqueue_to_connector_builds_the_same_body(conn: sqlite3.Connection) -> None:
    _connector(conn, "c")
    enqueue_to_connector(
        conn,
        connector_id="c",
        connector_labels=["name"],
        envelope=ENVELOPE,
        device_labels={"name": "touch", "x": "y"},
        metadata=METADATA,
        event_time=50.0,
        now=50.0,
    )
    assert _rows(conn) == {"c": CAPTURED}
