"""The Data Connector REST resource against a real server: the official client, then the wire."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.harness import wire
from tests.harness.accounts import make_account
from tests.harness.receivers import Receiver
from tests.harness.resources import new_project
from tests.harness.server import ServerProcess
from tests.harness.stored import arrange, insert_attempts, raw_bytes, read_stored

# Pushes from the shared server may go to 127.0.0.0/8 (the tests' allowed network); nothing listens
# on
# port 9 (discard), which is fine for tests that never publish events.
URL = "https://127.0.0.1:9/hook"
DT_KEYS = {"name", "displayName", "type", "status", "events", "labels", "httpConfig"}
# Conduit's extensions, with the defaults that behave exactly as DT's connectors (issue 9).
EXTENSION_DEFAULTS = {"signatureScheme": "DT_JWT", "disableOnGone": False, "rateLimit": 0.0}
RESOURCE_KEYS = DT_KEYS | set(EXTENSION_DEFAULTS)


# ---- helpers -------------------------------------------------------------------------------------


def collection(server: ServerProcess, project_id: str) -> str:
    return f"{server.api}/projects/{project_id}/dataconnectors"


def create(api: requests.Session, server: ServerProcess, project_id: str, **body: Any) -> str:
    body.setdefault("type", "HTTP_PUSH")
    body.setdefault("httpConfig", {"url": URL})
    res = api.post(collection(server, project_id), json=body)
    assert res.status_code == 200, res.text
    return str(res.json()["name"].split("/")[-1])


def get(api: requests.Session, server: ServerProcess, project_id: str, dc: str) -> dict[str, Any]:
    res = api.get(f"{collection(server, project_id)}/{dc}")
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def listed_ids(api: requests.Session, server: ServerProcess, project_id: str) -> list[str]:
    res = api.get(collection(server, project_id))
    assert res.status_code == 200, res.text
    return [c["name"].split("/")[-1] for c in res.json()["dataConnectors"]]


def assert_error(res: requests.Response, status: int, text: str = "") -> None:
    """A DT-style error body with this status, whose message mentions `text`."""
    body = wire.assert_error(res, status)
    assert text.lower() in body["error"].lower(), body["error"]


def insert_delivery(server: ServerProcess, connector_id: str, next_attempt: float) -> None:
    """A queued delivery no dispatcher will look at before `next_attempt`."""
    arrange(
        server,
        "INSERT INTO deliveries(connector_id, event_id, event_time, body, next_attempt)"
        " VALUES (?, 'queued', ?, x'7b7d', ?)",
        "INSERT INTO deliveries(connector_id, event_id, event_time, body, next_attempt)"
        " VALUES ($1, 'queued', $2, '\\x7b7d'::bytea, $3)",
        connector_id,
        time.time(),
        next_attempt,
    )


def queued(server: ServerProcess, connector_id: str) -> int:
    return read_stored(server, lambda store: store.queued_count(connector_id))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def drained(server: ServerProcess, receiver: Receiver, connector_id: str) -> list[dict[str, Any]]:
    """Every push the receiver got, once the connector's queue is empty (so none is still on its
    way: an exact count, duplicates included)."""
    deadline = time.monotonic() + 15
    while queued(server, connector_id) > 0:
        assert time.monotonic() < deadline, "the queue did not drain"
        time.sleep(0.02)
    return [json.loads(r.body) for r in list(receiver.requests)]


@pytest.fixture
def base(server: ServerProcess, project_id: str) -> str:
    return collection(server, project_id)


# ---- the official client -------------------------------------------------------------------------


def test_create_with_every_option_round_trips(dt: Any, project_id: str) -> None:
    created = dt.DataConnector.create_data_connector(
        project_id=project_id,
        config=dt.DataConnector.HttpPushConfig(
            url=URL, signature_secret="very-good-secret", headers={"X-Api-Key": "abc123"}
        ),
        display_name="my-new-dcon",
        status="USER_DISABLED",
        event_types=[dt.events.TOUCH, dt.events.TEMPERATURE],
        labels=["name", "custom-label-01", "custom_label-02"],
    )
    assert created.project_id == project_id
    assert len(created.data_connector_id) == 20
    fetched = dt.DataConnector.get_data_connector(created.data_connector_id, project_id)
    for dcon in (created, fetched):
        assert dcon.display_name == "my-new-dcon"
        assert dcon.data_connector_type == "HTTP_PUSH"
        assert dcon.status == "USER_DISABLED"
        assert dcon.event_types == ["touch", "temperature"]
        assert dcon.labels == ["name", "custom-label-01", "custom_label-02"]
        assert dcon.config.url == URL
        assert dcon.config.signature_secret == "very-good-secret"
        assert dcon.config.headers == {"X-Api-Key": "abc123"}
    assert fetched.raw == created.raw


def test_create_with_defaults_returns_the_full_shape(
    api: requests.Session, base: str, project_id: str
) -> None:
    res = api.post(base, json={"type": "HTTP_PUSH", "httpConfig": {"url": URL}})
    assert res.status_code == 200
    body = res.json()
    assert set(body) == RESOURCE_KEYS
    dc = body["name"].split("/")[-1]
    assert body == {
        "name": f"projects/{project_id}/dataconnectors/{dc}",
        "displayName": "",
        "type": "HTTP_PUSH",
        "status": "ACTIVE",
        "events": [],
        "labels": [],
        "httpConfig": {"url": URL, "signatureSecret": "", "headers": {}},
        **EXTENSION_DEFAULTS,
    }


def test_several_connectors_are_listed_in_creation_order(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    ids = [create(api, server, project_id, displayName=f"dc-{i}") for i in range(3)]
    listed = dt.DataConnector.list_data_connectors(project_id)
    assert [d.data_connector_id for d in listed] == ids
    assert [d.display_name for d in listed] == ["dc-0", "dc-1", "dc-2"]
    res = api.get(collection(server, project_id))
    assert res.json()["nextPageToken"] == ""
    assert all(set(c) == RESOURCE_KEYS for c in res.json()["dataConnectors"])


def test_the_official_client_pages_through_more_than_100(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    ids = [create(api, server, project_id) for _ in range(101)]
    # `params={}`: the client's paginated_get keeps its page token in a shared default dict
    # otherwise,
    # which would leak into every later list call of this test session.
    listed = dt.DataConnector.list_data_connectors(project_id, params={})
    assert [d.data_connector_id for d in listed] == ids


def test_pages_follow_page_size_and_tokens(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    ids = [create(api, server, project_id) for _ in range(5)]
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        # both spellings: python sends camelCase, Swift snake_case
        if pages % 2:
            params = {"page_size": "2", "page_token": token}
        else:
            params = {"pageSize": "2", "pageToken": token}
        body = api.get(collection(server, project_id), params=params).json()
        seen += [c["name"].split("/")[-1] for c in body["dataConnectors"]]
        pages += 1
        token = body["nextPageToken"]
        if not token:
            break
    assert seen == ids and pages == 3
    assert_error(api.get(collection(server, project_id), params={"pageToken": "%%"}), 400, "token")
    assert_error(api.get(collection(server, project_id), params={"pageSize": "x"}), 400, "pageSize")


def test_update_changes_each_field_alone(dt: Any, project_id: str) -> None:
    dcon = dt.DataConnector.create_data_connector(
        project_id,
        dt.DataConnector.HttpPushConfig(url=URL, signature_secret="s1", headers={"a": "1"}),
        display_name="before",
        event_types=["touch"],
        labels=["name"],
    )
    dc = dcon.data_connector_id
    expected = dict(dcon.raw)

    def update(field: str, value: Any, **kwargs: Any) -> None:
        nonlocal expected
        got = dt.DataConnector.update_data_connector(dc, project_id, **kwargs)
        if field.startswith("httpConfig."):
            expected = {**expected, "httpConfig": {**expected["httpConfig"], field[11:]: value}}
        else:
            expected = {**expected, field: value}
        assert got.raw == expected
        assert dt.DataConnector.get_data_connector(dc, project_id).raw == expected

    update("displayName", "after", display_name="after")
    update("status", "USER_DISABLED", status="USER_DISABLED")
    update("status", "ACTIVE", status="ACTIVE")
    update("events", ["temperature", "co2"], event_types=["temperature", "co2"])
    update("events", [], event_types=[])
    update("labels", ["room", "floor"], labels=["room", "floor"])
    new_url = "https://127.0.0.2:9/other"
    update("httpConfig.url", new_url, config=dt.DataConnector.HttpPushConfig(url=new_url))
    update(
        "httpConfig.signatureSecret",
        "s2",
        config=dt.DataConnector.HttpPushConfig(signature_secret="s2"),
    )
    update(
        "httpConfig.headers",
        {"b": "2", "c": "3"},
        config=dt.DataConnector.HttpPushConfig(headers={"b": "2", "c": "3"}),
    )
    update(
        "httpConfig.signatureSecret",
        "",
        config=dt.DataConnector.HttpPushConfig(signature_secret=""),
    )


def test_update_with_nothing_changes_nothing(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    dc = create(
        api,
        server,
        project_id,
        displayName="keep",
        events=["touch"],
        labels=["name"],
        httpConfig={"url": URL, "signatureSecret": "s", "headers": {"h": "v"}},
    )
    before = get(api, server, project_id, dc)
    assert dt.DataConnector.update_data_connector(dc, project_id).raw == before
    # what the CLI sends when no option is given
    empty_config = dt.DataConnector.HttpPushConfig()
    assert dt.DataConnector.update_data_connector(dc, project_id, config=empty_config).raw == before
    res = api.patch(f"{collection(server, project_id)}/{dc}", data=b"")
    assert res.status_code == 200 and res.json() == before
    assert get(api, server, project_id, dc) == before


def test_delete_removes_the_connector(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    keep = create(api, server, project_id)
    gone = create(api, server, project_id)
    dt.DataConnector.delete_data_connector(gone, project_id)
    assert listed_ids(api, server, project_id) == [keep]
    with pytest.raises(dt.errors.NotFound):
        dt.DataConnector.get_data_connector(gone, project_id)
    res = api.delete(f"{collection(server, project_id)}/{keep}")
    assert res.status_code == 200 and res.json() == {}
    assert_error(api.delete(f"{collection(server, project_id)}/{keep}"), 404, "not found")
    assert listed_ids(api, server, project_id) == []


def test_delete_also_drops_its_queue_and_attempt_log(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    dc = create(api, server, project_id)
    now = time.time()
    insert_attempts(server, [(dc, "e1", 1, now, 1, 200, None, 0.01)])
    insert_delivery(server, dc, now + 3600)
    assert queued(server, dc) == 1
    assert len(read_stored(server, lambda store: store.list_delivery_attempts(dc, 10))) == 1
    assert api.delete(f"{collection(server, project_id)}/{dc}").status_code == 200
    assert queued(server, dc) == 0
    assert read_stored(server, lambda store: store.list_delivery_attempts(dc, 10)) == []


def test_unknown_connectors_are_not_found(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    dc = create(api, server, project_id)
    other = new_project(api, server, organization_id)
    with pytest.raises(dt.errors.NotFound):
        dt.DataConnector.get_data_connector("c0000000000000000000", project_id)
    # a connector id is only found under its own project, even for a member of both
    for method in ("get", "patch", "delete"):
        assert_error(api.request(method, f"{collection(server, other)}/{dc}", json={}), 404)
    for suffix, method in ((":metrics", "get"), (":sync", "post"), ("/attempts", "get")):
        assert_error(api.request(method, f"{collection(server, other)}/{dc}{suffix}"), 404)
    assert get(api, server, project_id, dc)["name"].endswith(dc)


def test_the_signature_secret_is_encrypted_at_rest(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    secret = "plain-text-secret-c0ffee"
    dc = create(api, server, project_id, httpConfig={"url": URL, "signatureSecret": secret})
    assert get(api, server, project_id, dc)["httpConfig"]["signatureSecret"] == secret
    stored = read_stored(server, lambda store: store.get_dataconnector(project_id, dc))
    assert stored is not None and stored.signature_secret_encrypted
    assert secret.encode() not in stored.signature_secret_encrypted
    assert secret.encode() not in raw_bytes(server)


# ---- PATCH semantics on the wire -----------------------------------------------------------------


@pytest.fixture
def full(api: requests.Session, server: ServerProcess, project_id: str) -> str:
    return create(
        api,
        server,
        project_id,
        displayName="full",
        events=["touch"],
        labels=["name"],
        httpConfig={"url": URL, "signatureSecret": "s", "headers": {"h": "v"}},
    )


def test_a_mask_updates_exactly_its_paths(
    api: requests.Session, server: ServerProcess, project_id: str, full: str
) -> None:
    before = get(api, server, project_id, full)
    item = f"{collection(server, project_id)}/{full}"
    body = {"displayName": "masked", "status": "USER_DISABLED", "labels": ["x"]}
    res = api.patch(item, params={"update_mask": "displayName"}, json=body)
    assert res.status_code == 200
    assert res.json() == {**before, "displayName": "masked"}
    res = api.patch(item, params={"updateMask": "labels,status"}, json=body)
    assert res.json() == {
        **before,
        "displayName": "masked",
        "labels": ["x"],
        "status": "USER_DISABLED",
    }


def test_a_masked_path_missing_from_the_body_is_cleared(
    api: requests.Session, server: ServerProcess, project_id: str, full: str
) -> None:
    before = get(api, server, project_id, full)
    item = f"{collection(server, project_id)}/{full}"
    res = api.patch(item, params={"update_mask": "labels,httpConfig.headers"}, json={})
    assert res.status_code == 200
    assert res.json() == {
        **before,
        "labels": [],
        "httpConfig": {**before["httpConfig"], "headers": {}},
    }


def test_masking_http_config_replaces_it_whole(
    api: requests.Session, server: ServerProcess, project_id: str, full: str
) -> None:
    item = f"{collection(server, project_id)}/{full}"
    new = "https://127.0.0.3:9/new"
    res = api.patch(item, params={"update_mask": "httpConfig"}, json={"httpConfig": {"url": new}})
    assert res.status_code == 200
    assert res.json()["httpConfig"] == {"url": new, "signatureSecret": "", "headers": {}}


def test_without_a_mask_http_config_merges(
    api: requests.Session, server: ServerProcess, project_id: str, full: str
) -> None:
    before = get(api, server, project_id, full)
    item = f"{collection(server, project_id)}/{full}"
    res = api.patch(item, json={"httpConfig": {"headers": {"n": "1"}}})
    assert res.json() == {**before, "httpConfig": {**before["httpConfig"], "headers": {"n": "1"}}}
    # an empty mask is no mask (Swift sends `update_mask=` with an empty body)
    res = api.patch(item, params={"update_mask": ""}, json={})
    assert res.status_code == 200 and res.json() == get(api, server, project_id, full)


def test_the_whole_resource_can_be_sent_back(
    api: requests.Session, server: ServerProcess, project_id: str, full: str
) -> None:
    before = get(api, server, project_id, full)
    item = f"{collection(server, project_id)}/{full}"
    edited = {**before, "displayName": "edited"}
    res = api.patch(item, json=edited)
    assert res.status_code == 200 and res.json() == edited


@pytest.mark.parametrize(
    ("params", "body", "text"),
    [
        ({"update_mask": "nope"}, {}, "unknown field path"),
        ({"update_mask": "httpConfig.url"}, {}, "no httpConfig.url"),
        ({"update_mask": "status"}, {"displayName": "x"}, "no status"),
        ({"update_mask": "displayName"}, {"displayName": "x", "status": "NOPE"}, "status"),
    ],
)
def test_bad_masks_are_rejected_and_change_nothing(
    api: requests.Session,
    server: ServerProcess,
    project_id: str,
    full: str,
    params: dict[str, str],
    body: dict[str, Any],
    text: str,
) -> None:
    before = get(api, server, project_id, full)
    assert_error(
        api.patch(f"{collection(server, project_id)}/{full}", params=params, json=body), 400, text
    )
    assert get(api, server, project_id, full) == before


def test_disabling_empties_the_queue_in_the_same_request(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    target = create(api, server, project_id)
    bystander = create(api, server, project_id)
    for dc in (target, bystander):  # due in an hour: the dispatcher leaves them alone meanwhile
        insert_delivery(server, dc, time.time() + 3600)

    item = f"{collection(server, project_id)}/{target}"
    assert api.patch(item, json={"displayName": "renamed"}).status_code == 200
    assert queued(server, target) == 1
    res = api.patch(item, json={"status": "USER_DISABLED"})
    assert res.status_code == 200 and res.json()["status"] == "USER_DISABLED"
    assert queued(server, target) == 0
    assert queued(server, bystander) == 1


# ---- validation: 400, nothing changed ------------------------------------------------------------

BAD_BODIES: list[tuple[Any, str]] = [
    ({"type": "AZURE_EVENT_HUB", "httpConfig": {"url": URL}}, "type must be"),
    ({"type": "HTTP_PUSH"}, "httpConfig.url is required"),
    ({"type": "HTTP_PUSH", "httpConfig": {"url": 5}}, "httpConfig.url must be a string"),
    ({"httpConfig": {"url": URL}, "status": "SYSTEM_DISABLED"}, "set only by Conduit"),
    ({"httpConfig": {"url": URL}, "status": "PAUSED"}, "status must be"),
    ({"httpConfig": {"url": URL}, "displayName": 1}, "displayName must be a string"),
    ({"httpConfig": {"url": URL}, "events": ["nope"]}, "unknown event type"),
    ({"httpConfig": {"url": URL}, "events": "touch"}, "array of strings"),
    ({"httpConfig": {"url": URL}, "labels": ["bad key"]}, "label key"),
    ({"httpConfig": {"url": URL}, "labels": [1]}, "array of strings"),
    ({"httpConfig": {"url": URL}, "eventTypes": []}, "unknown field"),
    ({"httpConfig": {"url": URL, "extra": 1}}, "unknown field"),
    ({"httpConfig": {"url": URL, "headers": {"Content-Type": "x"}}}, "cannot be overridden"),
    ({"httpConfig": {"url": URL, "headers": {"x-dt-signature": "x"}}}, "cannot be overridden"),
    ({"httpConfig": {"url": URL, "headers": {"bad name": "x"}}}, "header name"),
    ({"httpConfig": {"url": URL, "headers": {"X-A": "a\r\nB: c"}}}, "printable"),
    ({"httpConfig": {"url": URL, "headers": {"X-A": 1}}}, "must be a string"),
    ({"httpConfig": {"url": URL, "headers": {f"X-{i}": "v" for i in range(33)}}}, "at most 32"),
    ({"httpConfig": {"url": URL, "headers": {"X-A": "v" * 9000}}}, "8 KiB"),
    ({"httpConfig": {"url": "ftp://127.0.0.1/x"}}, "https://"),
    ({"httpConfig": {"url": "http://8.8.8.8/x"}}, "https://"),
    ({"httpConfig": {"url": "https://10.0.0.1/x"}}, "non-public"),
    ({"httpConfig": {"url": "https://169.254.169.254/latest/meta-data"}}, "non-public"),
    ({"httpConfig": {"url": "https://[::1]:9/x"}}, "non-public"),
    ({"httpConfig": {"url": "https://user:pw@127.0.0.1/x"}}, "credentials"),
    ({"httpConfig": {"url": "https://nowhere.invalid/x"}}, "does not resolve"),
    ({"httpConfig": {"url": "not a url"}}, "httpConfig.url"),
]


@pytest.mark.parametrize(("body", "text"), BAD_BODIES)
def test_bad_creates_are_rejected_and_create_nothing(
    api: requests.Session, server: ServerProcess, project_id: str, body: Any, text: str
) -> None:
    existing = create(api, server, project_id)
    assert_error(api.post(collection(server, project_id), json=body), 400, text)
    assert listed_ids(api, server, project_id) == [existing]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"string"', "JSON object"),
        (b"", "JSON object"),
    ],
)
def test_malformed_create_bodies_are_rejected(
    api: requests.Session, base: str, body: bytes, text: str
) -> None:
    headers = {"content-type": "application/json"}
    assert_error(api.post(base, data=body, headers=headers), 400, text)


def test_oversized_and_non_json_bodies_are_rejected(api: requests.Session, base: str) -> None:
    big = json.dumps({"httpConfig": {"url": URL}, "displayName": "x" * 70_000})
    assert api.post(base, data=big, headers={"content-type": "application/json"}).status_code == 413
    res = api.post(
        base, data=b"url=x", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert res.status_code == 415
    assert api.get(base).json()["dataConnectors"] == []


@pytest.mark.parametrize(("body", "text"), [b for b in BAD_BODIES if "required" not in b[1]])
def test_bad_updates_are_rejected_and_change_nothing(
    api: requests.Session, server: ServerProcess, project_id: str, full: str, body: Any, text: str
) -> None:
    before = get(api, server, project_id, full)
    assert_error(api.patch(f"{collection(server, project_id)}/{full}", json=body), 400, text)
    assert get(api, server, project_id, full) == before


def test_a_bad_update_through_the_official_client_raises_bad_request(
    dt: Any, project_id: str
) -> None:
    dcon = dt.DataConnector.create_data_connector(
        project_id, dt.DataConnector.HttpPushConfig(url=URL)
    )
    with pytest.raises(dt.errors.BadRequest):
        dt.DataConnector.update_data_connector(
            dcon.data_connector_id, project_id, status="SYSTEM_DISABLED"
        )
    with pytest.raises(dt.errors.BadRequest):
        dt.DataConnector.create_data_connector(
            project_id, dt.DataConnector.HttpPushConfig(url="http://8.8.8.8/")
        )
    assert (
        dt.DataConnector.get_data_connector(dcon.data_connector_id, project_id).status == "ACTIVE"
    )


def test_plain_http_inside_the_allowed_network_is_accepted(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    for url in ("http://127.0.0.1:9/x", "http://localhost:9/x", "https://localhost:9/x"):
        dc = create(api, server, project_id, httpConfig={"url": url})
        assert get(api, server, project_id, dc)["httpConfig"]["url"] == url


def test_without_allowed_networks_private_targets_are_refused(tmp_path: Path) -> None:
    """The production rule: nothing but public https targets, checked again on every URL change."""
    strict = ServerProcess(data_dir=tmp_path / "strict", allow_network=[]).start()
    try:
        api = strict.session()
        project = api.get(f"{strict.api}/projects").json()["projects"][0]["name"].split("/")[1]
        base = collection(strict, project)
        refused = [
            "https://127.0.0.1:9/x",
            "https://localhost:9/x",  # a name that resolves to loopback
            "http://127.0.0.1:9/x",
            "https://10.1.2.3/x",
            "https://192.168.0.10/x",
            "https://169.254.169.254/x",
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
        ]
        for url in refused:
            assert_error(api.post(base, json={"httpConfig": {"url": url}}), 400, "httpConfig.url")
        assert api.get(base).json()["dataConnectors"] == []
        # a public literal address needs no DNS and is accepted
        res = api.post(base, json={"httpConfig": {"url": "https://8.8.8.8/hook"}})
        assert res.status_code == 200, res.text
        item = f"{base}/{res.json()['name'].split('/')[-1]}"
        assert_error(api.patch(item, json={"httpConfig": {"url": "https://localhost/x"}}), 400)
        assert api.get(item).json()["httpConfig"]["url"] == "https://8.8.8.8/hook"
    finally:
        strict.stop()


# ---- permissions ---------------------------------------------------------------------------------


def test_a_project_user_may_read_but_not_write(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    dc = create(api, server, project_id)
    user = make_account(server, project_id, role=dt.Role.PROJECT_USER).session()
    base = collection(server, project_id)
    item = f"{base}/{dc}"
    assert user.get(base).status_code == 200
    assert user.get(item).status_code == 200
    assert user.get(f"{item}:metrics").status_code == 200
    assert user.get(f"{item}/attempts").status_code == 200
    assert_error(user.post(base, json={"httpConfig": {"url": URL}}), 403, "dataconnector.create")
    assert_error(user.patch(item, json={"displayName": "x"}), 403, "dataconnector.update")
    assert_error(user.post(f"{item}:sync"), 403, "dataconnector.update")
    assert_error(user.delete(item), 403, "dataconnector.delete")
    assert listed_ids(api, server, project_id) == [dc]
    assert get(api, server, project_id, dc)["displayName"] == ""


def test_a_project_developer_may_write(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    developer = make_account(server, project_id, role=dt.Role.PROJECT_DEVELOPER).session()
    base = collection(server, project_id)
    res = developer.post(base, json={"httpConfig": {"url": URL}})
    assert res.status_code == 200, res.text
    item = f"{base}/{res.json()['name'].split('/')[-1]}"
    assert developer.patch(item, json={"displayName": "dev"}).json()["displayName"] == "dev"
    assert developer.post(f"{item}:sync").json() == {}
    assert developer.delete(item).json() == {}


def test_non_members_get_not_found_and_anonymous_callers_unauthorized(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    dc = create(api, server, project_id)
    other = new_project(api, server, organization_id)
    outsider = make_account(server, other, role=dt.Role.PROJECT_ADMIN).session()
    base = collection(server, project_id)
    item = f"{base}/{dc}"
    for res in (
        outsider.get(base),
        outsider.post(base, json={"httpConfig": {"url": URL}}),
        outsider.get(item),
        outsider.patch(item, json={"displayName": "x"}),
        outsider.delete(item),
        outsider.post(f"{item}:sync"),
        outsider.get(f"{item}:metrics"),
        outsider.get(f"{item}/attempts"),
    ):
        assert_error(res, 404)
    assert_error(requests.get(base, timeout=5), 401)
    assert_error(requests.post(base, json={"httpConfig": {"url": URL}}, timeout=5), 401)
    assert listed_ids(api, server, project_id) == [dc]


# ---- :metrics and /attempts ----------------------------------------------------------------------


def test_metrics_of_a_new_connector_are_zero(dt: Any, project_id: str) -> None:
    dcon = dt.DataConnector.create_data_connector(
        project_id, dt.DataConnector.HttpPushConfig(url=URL)
    )
    metric = dt.DataConnector.get_metrics(dcon.data_connector_id, project_id)
    assert (metric.success_count, metric.error_count, metric.latency) == (0, 0, "0s")
    assert metric.raw["metrics"] == {"successCount": 0, "errorCount": 0, "latency99p": "0s"}
    # Conduit's `series` extension beside it: 18 empty buckets (test_metrics_series.py).
    assert [(b["successCount"], b["errorCount"]) for b in metric.raw["series"]] == [(0, 0)] * 18


def test_metrics_count_the_last_three_hours_of_attempts(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    dc = create(api, server, project_id)
    other = create(api, server, project_id)
    now = time.time()
    rows = [(dc, f"ok{i}", 1, now - 60, 1, 200, None, 0.010) for i in range(99)]
    rows.append((dc, "slow", 1, now - 30, 1, 204, None, 0.239))  # the 100th success: the p99
    rows += [(dc, "fail", n, now - 20, 0, 500, "http_500", 0.005) for n in (1, 2)]
    rows.append((dc, "timeout", 1, now - 10, 0, None, "timeout", 10.0))
    rows.append((dc, "old", 1, now - 3 * 3600 - 60, 1, 200, None, 5.0))  # outside the window
    rows.append((other, "x", 1, now - 5, 0, None, "connection_refused", 0.001))
    insert_attempts(server, rows)
    metric = dt.DataConnector.get_metrics(dc, project_id)
    assert metric.success_count == 100
    assert metric.error_count == 3
    assert metric.latency == "0.010s"  # nearest rank: the 99th of 100 sorted latencies
    insert_attempts(server, [(dc, "slow2", 1, now - 5, 1, 200, None, 0.5)])
    body = api.get(f"{collection(server, project_id)}/{dc}:metrics").json()
    assert body["metrics"] == {"successCount": 101, "errorCount": 3, "latency99p": "0.239s"}


def test_attempts_are_listed_newest_first_with_pages(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    dc = create(api, server, project_id)
    other = create(api, server, project_id)
    at = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    insert_attempts(
        server,
        [
            (dc, "e1", 1, at, 0, None, "connection_refused", 0.0015),
            (dc, "e1", 2, at + 1.5, 0, 503, "http_503", 0.012),
            (dc, "e1", 3, at + 3, 1, 200, None, 0.25),
            (dc, "e2", 1, at + 3, 1, 204, None, 1.0),
            (other, "e9", 1, at + 4, 1, 200, None, 0.1),
        ],
    )
    item = f"{collection(server, project_id)}/{dc}/attempts"
    body = api.get(item).json()
    assert body["nextPageToken"] == ""
    assert body["attempts"] == [
        {
            "eventId": "e2",
            "attempt": 1,
            "time": "2026-01-01T00:00:03.000000Z",
            "success": True,
            "statusCode": 204,
            "error": None,
            "latency": "1s",
        },
        {
            "eventId": "e1",
            "attempt": 3,
            "time": "2026-01-01T00:00:03.000000Z",
            "success": True,
            "statusCode": 200,
            "error": None,
            "latency": "0.250s",
        },
        {
            "eventId": "e1",
            "attempt": 2,
            "time": "2026-01-01T00:00:01.500000Z",
            "success": False,
            "statusCode": 503,
            "error": "http_503",
            "latency": "0.012s",
        },
        {
            "eventId": "e1",
            "attempt": 1,
            "time": "2026-01-01T00:00:00.000000Z",
            "success": False,
            "statusCode": None,
            "error": "connection_refused",
            "latency": "0.001500s",
        },
    ]
    seen: list[tuple[str, int]] = []
    token = ""
    while True:
        page = api.get(item, params={"pageSize": "3", "pageToken": token}).json()
        assert len(page["attempts"]) <= 3
        seen += [(a["eventId"], a["attempt"]) for a in page["attempts"]]
        token = page["nextPageToken"]
        if not token:
            break
    assert seen == [(a["eventId"], a["attempt"]) for a in body["attempts"]]
    assert_error(api.get(item, params={"pageToken": "bm9wZQ"}), 400, "page token")


# ---- :sync ---------------------------------------------------------------------------------------


def test_sync_pushes_the_latest_event_of_each_type_to_that_connector_only(
    dt: Any,
    api: requests.Session,
    server: ServerProcess,
    project_id: str,
    receiver: Receiver,
) -> None:
    first = dt.Emulator.create_device(
        project_id, "temperature", labels={"name": "fridge", "room": "kitchen"}
    )
    second = dt.Emulator.create_device(project_id, "temperature", labels={"name": "freezer"})
    touch = dt.Emulator.create_device(project_id, "touch", labels={"name": "button"})
    dt.Emulator.publish_event(first.device_id, project_id, dt.events.Temperature(1.0))
    dt.Emulator.publish_event(first.device_id, project_id, dt.events.Temperature(2.0))
    dt.Emulator.publish_event(first.device_id, project_id, dt.events.Touch())
    dt.Emulator.publish_event(second.device_id, project_id, dt.events.Temperature(-18.0))
    dt.Emulator.publish_event(touch.device_id, project_id, dt.events.Touch())
    # connectors made after the events: only :sync can bring those events to them
    with Receiver() as idle:
        temperatures = dt.DataConnector.create_data_connector(
            project_id,
            dt.DataConnector.HttpPushConfig(url=receiver.url),
            event_types=["temperature"],
            labels=["room"],
        )
        bystander = dt.DataConnector.create_data_connector(
            project_id, dt.DataConnector.HttpPushConfig(url=idle.url)
        )
        dt.DataConnector.sync_data_connector(temperatures.data_connector_id, project_id)
        receiver.wait_for(2)
        pushes = drained(server, receiver, temperatures.data_connector_id)
        assert len(pushes) == 2  # the latest temperature of each device: no more, no duplicates
        latest = {
            p["metadata"]["deviceId"]: (p["event"]["data"]["temperature"]["value"], p["labels"])
            for p in pushes
        }
        assert latest == {
            first.device_id: (2.0, {"room": "kitchen"}),
            second.device_id: (-18.0, {}),
        }
        assert {p["event"]["eventType"] for p in pushes} == {"temperature"}
        assert all(p["metadata"]["projectId"] == project_id for p in pushes)
        # the sync went to that connector only: nothing queued, tried or sent for the other one
        assert queued(server, bystander.data_connector_id) == 0
        metric = dt.DataConnector.get_metrics(bystander.data_connector_id, project_id)
        assert (metric.success_count, metric.error_count) == (0, 0)
        assert idle.count() == 0
        # and the deliveries show up in the connector's metrics (recorded once each answer is in)
        deadline = time.monotonic() + 10
        while True:
            metric = dt.DataConnector.get_metrics(temperatures.data_connector_id, project_id)
            if metric.success_count >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert metric.success_count >= 2 and metric.error_count == 0
        # ... and in its attempt log
        log = api.get(
            f"{collection(server, project_id)}/{temperatures.data_connector_id}/attempts"
        ).json()["attempts"]
        assert {a["eventId"] for a in log} == {p["event"]["eventId"] for p in pushes}
        assert all(a["success"] and a["statusCode"] == 200 and a["error"] is None for a in log)


def test_sync_without_a_filter_sends_every_type(
    dt: Any, server: ServerProcess, project_id: str, receiver: Receiver
) -> None:
    device = dt.Emulator.create_device(project_id, "temperature", labels={"name": "probe"})
    dt.Emulator.publish_event(device.device_id, project_id, dt.events.Temperature(4.0))
    dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
    dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
    dcon = dt.DataConnector.create_data_connector(
        project_id, dt.DataConnector.HttpPushConfig(url=receiver.url), labels=["name"]
    )
    dt.DataConnector.sync_data_connector(dcon.data_connector_id, project_id)
    receiver.wait_for(2)
    pushes = drained(server, receiver, dcon.data_connector_id)
    # the latest of each type: one temperature and one touch (of two), nothing else
    assert sorted(p["event"]["eventType"] for p in pushes) == ["temperature", "touch"]
    assert all(p["labels"] == {"name": "probe"} for p in pushes)


def test_sync_of_a_disabled_connector_is_refused(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    dc = create(api, server, project_id, status="USER_DISABLED")
    assert_error(api.post(f"{collection(server, project_id)}/{dc}:sync"), 400, "USER_DISABLED")
    assert_error(api.post(f"{collection(server, project_id)}/c0000000000000000000:sync"), 404)


def test_sync_answers_an_empty_object(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    dc = create(api, server, project_id)
    res = api.post(f"{collection(server, project_id)}/{dc}:sync")
    assert res.status_code == 200 and res.json() == {}
    assert_error(api.post(f"{collection(server, project_id)}/{dc}:sync", data=b"[]"), 400)


def test_a_400_names_the_field_it_is_about(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    """Studio shows an error beside its control; the `field` key says which (an extension DT
    clients ignore)."""
    url = collection(server, project_id)
    good: dict[str, Any] = {"displayName": "f", "httpConfig": {"url": URL}}
    cases = [
        ({**good, "httpConfig": {"url": "ftp://example.com/x"}}, "httpConfig.url"),
        ({**good, "httpConfig": {"url": "not a url"}}, "httpConfig.url"),
        ({**good, "httpConfig": {"url": "http://10.1.2.3/x"}}, "httpConfig.url"),
        (
            {**good, "httpConfig": {**good["httpConfig"], "headers": {"Host": "x"}}},
            "httpConfig.headers",
        ),
        (
            {**good, "httpConfig": {**good["httpConfig"], "signatureSecret": 7}},
            "httpConfig.signatureSecret",
        ),
        ({**good, "events": ["nope"]}, "events"),
        ({**good, "labels": [""]}, "labels"),
        ({**good, "displayName": 5}, "displayName"),
        ({"displayName": "f"}, "httpConfig.url"),
    ]
    for body, field in cases:
        res = api.post(url, json=body)
        assert wire.assert_error(res, 400).get("field") == field, (body, res.text)
    assert api.get(url).json()["dataConnectors"] == []
    made = create(api, server, project_id, **good)
    res = api.patch(f"{url}/{made}", json={"httpConfig": {"headers": {"Content-Length": "1"}}})
    assert wire.assert_error(res, 400)["field"] == "httpConfig.headers"
