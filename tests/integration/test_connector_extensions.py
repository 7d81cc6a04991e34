"""Issue 9 through the REST API of a real server: the connector extensions (`signatureScheme`,
`disableOnGone`) and `:rotateSecret`, beside a DT resource the official client still reads."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from tests.harness.accounts import make_account
from tests.harness.receivers import Answer, Receiver, eventually_sync
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error

URL = "https://127.0.0.1:9/hook"  # accepted by the loopback rule of the tests; nothing listens
OLD, NEW = "old-secret-for-rotation-000000001", "new-secret-for-rotation-000000002"


def _base(server: ServerProcess, project_id: str) -> str:
    return f"{server.api}/projects/{project_id}/dataconnectors"


def _create(api: requests.Session, base: str, url: str, **extra: Any) -> dict[str, Any]:
    body = {"httpConfig": {"url": url, "signatureSecret": OLD}, **extra}
    res = api.post(base, json=body)
    assert res.status_code == 200, res.text
    created: dict[str, Any] = res.json()
    return created


def test_the_extensions_are_set_read_and_patched(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    base = _base(server, project_id)
    created = _create(api, base, URL, signatureScheme="BOTH", disableOnGone=True, rateLimit=12.5)
    assert (created["signatureScheme"], created["disableOnGone"]) == ("BOTH", True)
    assert created["rateLimit"] == 12.5
    item = f"{server.api}/{created['name']}"
    assert api.get(item).json()["signatureScheme"] == "BOTH"
    patched = api.patch(item, params={"update_mask": "signatureScheme"}, json={})
    assert patched.json()["signatureScheme"] == "DT_JWT", "masked and absent: the default"
    patched = api.patch(item, json={"signatureScheme": "STANDARD_WEBHOOKS"})
    assert (patched.json()["signatureScheme"], patched.json()["disableOnGone"]) == (
        "STANDARD_WEBHOOKS",
        True,
    )
    patched = api.patch(item, params={"update_mask": "rateLimit"}, json={"rateLimit": 0})
    assert patched.json()["rateLimit"] == 0
    # The official client reads the resource and ignores what it does not know.
    connector = dt.DataConnector.get_data_connector(created["name"].split("/")[-1], project_id)
    assert connector.config.signature_secret == OLD


def test_a_system_disabled_connector_says_why_until_it_is_enabled(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    """`statusReason` comes with SYSTEM_DISABLED (here: a 410 Gone with `disableOnGone`) and goes
    when a user sets the status; the official client reads the resource all along."""
    device = dt.Emulator.create_device(project_id, "touch")
    with Receiver(lambda _r, _i: Answer(410)) as gone:
        created = _create(api, _base(server, project_id), gone.url, disableOnGone=True)
        item = f"{server.api}/{created['name']}"
        assert "statusReason" not in created
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        eventually_sync(lambda: api.get(item).json()["status"] == "SYSTEM_DISABLED")
    disabled = api.get(item).json()
    assert disabled["statusReason"] == "RECEIVER_GONE"
    listed = api.get(_base(server, project_id)).json()["dataConnectors"]
    assert [c["statusReason"] for c in listed if c["name"] == created["name"]] == ["RECEIVER_GONE"]
    connector = dt.DataConnector.get_data_connector(created["name"].split("/")[-1], project_id)
    assert connector.status == "SYSTEM_DISABLED"
    # The whole resource sent back (as terraform does) with a new status: `statusReason` is
    # output-only, ignored like `name`, not an unknown field.
    bodies = {
        "USER_DISABLED": {**disabled, "status": "USER_DISABLED"},
        "ACTIVE": {"status": "ACTIVE"},
    }
    for status, body in bodies.items():
        patched = api.patch(item, json=body)
        assert patched.status_code == 200, patched.text
        assert patched.json()["status"] == status and "statusReason" not in patched.json()
        assert "statusReason" not in api.get(item).json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signatureScheme": "HMAC"}, "signatureScheme"),
        ({"signatureScheme": ["BOTH"]}, "signatureScheme"),
        ({"disableOnGone": "yes"}, "disableOnGone"),
        ({"disableOnGone": None}, "disableOnGone"),
        ({"rateLimit": -1}, "rateLimit"),
        ({"rateLimit": 10001}, "rateLimit"),
        ({"rateLimit": "fast"}, "rateLimit"),
        ({"rateLimit": True}, "rateLimit"),
    ],
)
def test_bad_extension_values_are_refused_with_the_field_named(
    api: requests.Session, server: ServerProcess, project_id: str, body: dict[str, Any], field: str
) -> None:
    res = api.post(_base(server, project_id), json={"httpConfig": {"url": URL}, **body})
    assert field in assert_error(res, 400)["error"]


def test_rotate_secret_validation_and_permissions(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    item = f"{server.api}/{_create(api, _base(server, project_id), URL)['name']}"
    rotate = f"{item}:rotateSecret"
    for body, text in [
        ({}, "signatureSecret is required"),
        ({"signatureSecret": ""}, "must not be empty"),
        ({"signatureSecret": 7}, "signatureSecret"),
        ({"signatureSecret": NEW, "gracePeriod": "a day"}, "gracePeriod"),
        ({"signatureSecret": NEW, "gracePeriod": "99999999s"}, "gracePeriod"),
        ({"signatureSecret": NEW, "gracePeriod": True}, "gracePeriod"),
        ({"signatureSecret": NEW, "later": 1}, "unknown field"),
    ]:
        assert text in assert_error(api.post(rotate, json=body), 400)["error"]
    assert api.get(item).json()["httpConfig"]["signatureSecret"] == OLD, "a refusal changes nothing"

    reader = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    assert_error(reader.session().post(rotate, json={"signatureSecret": NEW}), 403)

    before = time.time()
    rotated = api.post(rotate, json={"signatureSecret": NEW, "gracePeriod": "3600s"}).json()
    assert rotated["httpConfig"]["signatureSecret"] == NEW
    expires = rotated["previousSecretExpireTime"]
    assert api.get(item).json()["previousSecretExpireTime"] == expires
    # An RFC 3339 time about an hour from now.
    expire_at = time.mktime(time.strptime(expires[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before + 3590 < expire_at < time.time() + 3610
    # A secret set directly replaces the old one at once: the grace period ends with it.
    patched = api.patch(item, json={"httpConfig": {"url": URL, "signatureSecret": "x" * 32}})
    assert "previousSecretExpireTime" not in patched.json()


def test_a_rotation_through_the_api_is_verified_by_receivers_holding_either_secret(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    with Receiver() as receiver:
        created = _create(api, _base(server, project_id), receiver.url, signatureScheme="BOTH")
        rotated = api.post(
            f"{server.api}/{created['name']}:rotateSecret", json={"signatureSecret": NEW}
        )
        assert rotated.status_code == 200, rotated.text
        device = api.post(
            f"{server.api}/projects/{project_id}/devices", json={"type": "touch"}
        ).json()["name"]
        assert api.post(f"{server.api}/{device}:publish", json={"touch": {}}).status_code == 200
        [got] = receiver.wait_for(1)
    for secret in (OLD, NEW):
        Webhook(secret.encode()).verify(got.body, got.header_dict)


def test_dead_letters_through_the_api(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    created = _create(api, _base(server, project_id), URL)  # nothing listens: every push fails
    item = f"{server.api}/{created['name']}"
    device = api.post(f"{server.api}/projects/{project_id}/devices", json={"type": "touch"})
    published = [
        api.post(f"{server.api}/{device.json()['name']}:publish", json={"touch": {}})
        for _ in range(2)
    ]
    assert all(p.status_code == 200 for p in published)
    deadline = time.monotonic() + 10
    while not api.get(f"{item}/attempts").json()["attempts"]:
        assert time.monotonic() < deadline, "no attempt was made"
        time.sleep(0.02)
    assert api.patch(item, json={"status": "USER_DISABLED"}).status_code == 200

    letters = f"{item}/deadLetters"
    listed = api.get(letters).json()
    assert [d["reason"] for d in listed["deadLetters"]] == ["USER_DISABLED"] * 2
    assert listed["nextPageToken"] == ""
    assert {d["lastError"] for d in listed["deadLetters"]} <= {"connection_refused", None}
    assert "connection_refused" in {d["lastError"] for d in listed["deadLetters"]}
    first = api.get(letters, params={"pageSize": 1}).json()
    second = api.get(letters, params={"pageSize": 1, "pageToken": first["nextPageToken"]}).json()
    assert [d["eventId"] for d in first["deadLetters"] + second["deadLetters"]] == [
        d["eventId"] for d in listed["deadLetters"]
    ]
    assert api.get(letters, params={"reason": "EXPIRED"}).json()["deadLetters"] == []
    later = api.get(letters, params={"startTime": "2999-01-01T00:00:00Z"}).json()
    assert later["deadLetters"] == []
    assert "reason" in assert_error(api.get(letters, params={"reason": "LOST"}), 400)["error"]
    assert_error(api.get(letters, params={"startTime": "yesterday"}), 400)

    reader = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    assert reader.session().get(letters).status_code == 200
    other = dt.Project.create_project(
        dt.Organization.list_organizations()[0].organization_id, "other tenant"
    ).project_id
    outsider = make_account(server, other, role=dt.Role.PROJECT_ADMIN)
    assert_error(outsider.session().get(letters), 404)


def test_replay_through_the_api(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    with Receiver() as receiver:
        created = _create(api, _base(server, project_id), receiver.url)
        replay = f"{server.api}/{created['name']}:replay"
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
        device = api.post(f"{server.api}/projects/{project_id}/devices", json={"type": "touch"})
        for _ in range(2):
            api.post(f"{server.api}/{device.json()['name']}:publish", json={"touch": {}})
        receiver.wait_for(2)
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))

        for body, text in [
            ({"endTime": end}, "startTime is required"),
            ({"startTime": start}, "endTime is required"),
            ({"startTime": end, "endTime": start}, "before endTime"),
            ({"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-03-01T00:00:00Z"}, "31 days"),
            ({"startTime": start, "endTime": end, "onlyFailed": "no"}, "onlyFailed"),
            ({"startTime": 5, "endTime": end}, "startTime"),
            ({"startTime": start, "endTime": end, "all": True}, "unknown field"),
        ]:
            assert text in assert_error(api.post(replay, json=body), 400)["error"]
        reader = make_account(server, project_id, role=dt.Role.PROJECT_USER)
        assert_error(reader.session().post(replay, json={"startTime": start, "endTime": end}), 403)

        res = api.post(replay, json={"startTime": start, "endTime": end})
        assert res.json() == {"queued": 2, "alreadyQueued": False}
        replayed = receiver.wait_for(4)
    assert sorted(r.body for r in replayed[:2]) == sorted(r.body for r in replayed[2:])


def _conduit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conduit", *args], capture_output=True, text=True, timeout=60
    )


def test_the_cli_lists_dead_letters_and_replays_them(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    created = _create(api, _base(server, project_id), URL)
    connector_id = created["name"].split("/")[-1]
    item = f"{server.api}/{created['name']}"
    device = api.post(f"{server.api}/projects/{project_id}/devices", json={"type": "touch"})
    api.post(f"{server.api}/{device.json()['name']}:publish", json={"touch": {}})
    assert api.patch(item, json={"status": "USER_DISABLED"}).status_code == 200
    credentials = ["--credentials", str(server.credentials_path)]

    listed = _conduit("dead-letters", project_id, connector_id, *credentials)
    assert listed.returncode == 0, listed.stderr
    [letter] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert letter["reason"] == "USER_DISABLED"
    assert (
        _conduit(
            "dead-letters", project_id, connector_id, "--reason", "EXPIRED", *credentials
        ).stdout
        == ""
    )

    window = ["--start", "2000-01-01T00:00:00Z", "--end", "2000-01-02T00:00:00Z"]
    refused = _conduit("replay", project_id, connector_id, *window, *credentials)
    assert refused.returncode == 1 and "only an ACTIVE connector" in refused.stderr
    assert api.patch(item, json={"status": "ACTIVE"}).status_code == 200
    now = time.time()
    window = [
        "--start",
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
        "--end",
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60)),
    ]
    replayed = _conduit("replay", project_id, connector_id, *window, "--only-failed", *credentials)
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout) == {"queued": 1, "alreadyQueued": False}

    missing = _conduit("dead-letters", project_id, connector_id, "--credentials", "/nonexistent")
    assert missing.returncode == 1 and "not found" in missing.stderr
