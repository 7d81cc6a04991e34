"""The push body (fixed bytes, DT's shape and key order) and the per-attempt headers."""

from __future__ import annotations

import json
from typing import Any

import jwt
import orjson
import pytest

from conduit import __version__
from conduit.delivery.request import (
    attempt_headers,
    base_headers,
    build_body,
)
from conduit.domain.pushes import ConnectorFilter, fan_out, forwarded_labels, push_to

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


# ---- fan-out: which connectors an event goes to, with which bytes -------------------------------


def _filter(cid: str, events: list[str] | None = None, labels: list[str] | None = None) -> Any:
    return ConnectorFilter(cid, json.dumps(events or []), json.dumps(labels or []))


def test_fan_out_goes_to_connectors_whose_filter_matches() -> None:
    pushes = fan_out(
        [
            _filter("all", labels=["name"]),
            _filter("touch-only", events=["touch"]),
            _filter("temp-only", events=["temperature"]),
        ],
        ENVELOPE,
        {"name": "touch"},
        METADATA,
    )
    bodies = {p.connector_id: p.body for p in pushes}
    assert set(bodies) == {"all", "touch-only"}
    assert bodies["all"] == CAPTURED
    assert orjson.loads(bodies["touch-only"])["labels"] == {}


def test_fan_out_without_connectors_makes_nothing() -> None:
    assert fan_out([], ENVELOPE, {}, METADATA) == []


def test_a_push_to_one_connector_builds_the_same_body() -> None:
    assert push_to(["name"], ENVELOPE, {"name": "touch", "x": "y"}, METADATA) == CAPTURED
