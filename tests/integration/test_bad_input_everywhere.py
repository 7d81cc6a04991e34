"""The bad-input rules that hold for every endpoint, checked on every endpoint.

Each resource's own tests check its rules; these walk the whole OpenAPI document so no endpoint is
forgotten (and a new one is covered the day it is added):

- a body over 64 KiB is 413 on every operation that takes a body, whether its size is declared
  (`Content-Length`) or only discovered while reading (chunked), and nothing changes;
- a bad page token or page size is 400 on every list endpoint (every GET whose answer carries
  `nextPageToken`);
- every update endpoint ignores the output-only fields of its resource, so a client may send back
  what it read, changed in one field.

Operations are parametrized from the document built in-process (the same routing table the server
serves; `test_the_served_document_is_the_routing_table` holds them equal).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.harness.live import (
    Live,
    Operation,
    documented_operations,
    make_live,
    operations_of,
    served_document,
)
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error

LIMIT = 64 * 1024
OPERATIONS = documented_operations()


def _params(operations: list[Operation]) -> list[Any]:
    return [pytest.param(o, id=str(o)) for o in operations]


@pytest.fixture
def live(
    api: requests.Session, server: ServerProcess, project_id: str, organization_id: str
) -> Live:
    return make_live(api, server, project_id, organization_id)


def snapshot(api: requests.Session, server: ServerProcess, live: Live) -> dict[str, Any]:
    """Everything a refused request could have changed, read back as the admin."""
    v2 = f"{server.api}/projects/{live.ids['project']}"
    reads = {
        "project": v2,
        "devices": f"{v2}/devices",
        "history": f"{v2}/devices/{live.ids['device']}/events",
        "members": f"{v2}/members",
        "accounts": f"{v2}/serviceaccounts",
        "keys": f"{v2}/serviceaccounts/{live.ids['account']}/keys",
        "connectors": f"{v2}/dataconnectors",
        "org members": f"{server.api}/organizations/{live.ids['organization']}/members",
        "projects": f"{server.api}/projects",
    }
    state = {}
    for name, url in reads.items():
        res = api.get(url, params={"pageSize": 100})
        assert res.status_code == 200, (name, res.text)
        state[name] = res.json()
    return state


# ---- the document is the routing table -----------------------------------------------------------


def test_the_served_document_is_the_routing_table(server: ServerProcess) -> None:
    served = operations_of(served_document(server))
    assert sorted(map(str, served)) == sorted(map(str, OPERATIONS))
    assert len(OPERATIONS) >= 40


# ---- 413 -----------------------------------------------------------------------------------------


def _oversized(operation: Operation) -> bytes:
    if operation.template == "/oauth2/token":
        return b"grant_type=x&assertion=" + b"a" * LIMIT
    return b'{"displayName": "' + b"x" * LIMIT + b'"}'


def _chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 8192):
        yield body[start : start + 8192]


@pytest.mark.parametrize("operation", _params([o for o in OPERATIONS if o.takes_body]))
def test_bodies_over_64_kib_are_413(
    operation: Operation, api: requests.Session, server: ServerProcess, live: Live
) -> None:
    url = server.url + live.path(operation)
    content_type = (
        "application/x-www-form-urlencoded"
        if operation.template == "/oauth2/token"
        else "application/json"
    )
    before = snapshot(api, server, live)
    body = _oversized(operation)
    declared = api.request(
        operation.method, url, data=body, headers={"Content-Type": content_type}, timeout=10
    )
    assert "413" in assert_error(declared, 413)["help"]
    chunked = api.request(
        operation.method,
        url,
        data=_chunks(body),  # no Content-Length: the limit is found while reading
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert_error(chunked, 413)
    assert snapshot(api, server, live) == before, "a refused request changed nothing"


def test_exactly_64_kib_is_accepted_and_one_byte_more_is_not(
    api: requests.Session, server: ServerProcess, live: Live
) -> None:
    url = f"{server.api}/projects/{live.ids['project']}/devices/{live.ids['device']}:publish"
    event = b'{"touch": {}}'
    at_limit = event + b" " * (LIMIT - len(event))
    headers = {"Content-Type": "application/json"}
    assert api.post(url, data=at_limit, headers=headers).status_code == 200
    assert_error(api.post(url, data=at_limit + b" ", headers=headers), 413)


# ---- bad page tokens and sizes -------------------------------------------------------------------


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# Malformed under both kinds of token the server issues (offset `o:<n>`, keyset `k:<pos>:<row>`).
BAD_TOKENS = [
    "garbage!",
    "%",
    "====",
    _token("nope"),
    _token("o:-1"),
    _token("o:"),
    _token("o:1e9"),
    _token("x:1"),
    _token("k:1"),
    _token("k:a:b"),
    _token("k:nan:1"),
    _token("k:inf:1"),
    _token("k:1.0:-1"),
    _token("k:1.0:99999999999999999999999"),
    _token("\xff\xfe"),
]
BAD_SIZES = ["ten", "-1", "1.5", "1e3", " ", "9" * 5000]
LIST_TEMPLATES = {
    "/v2/organizations",
    "/v2/organizations/{organization}/members",
    "/v2/organizations/{organization}/permissions",
    "/v2/projects",
    "/v2/projects/{project}/members",
    "/v2/projects/{project}/permissions",
    "/v2/roles",
    "/v2/projects/{project}/serviceaccounts",
    "/v2/projects/{project}/serviceaccounts/{account}/keys",
    "/v2/projects/{project}/devices",
    "/v2/projects/{project}/devices/{device}/events",
    "/v2/projects/{project}/dataconnectors",
    "/v2/projects/{project}/dataconnectors/{dataconnector}/attempts",
    "/v2/projects/{project}/dataconnectors/{dataconnector}/deadLetters",
}
LISTS = [o for o in OPERATIONS if o.method == "GET" and o.template in LIST_TEMPLATES]


def test_every_list_endpoint_is_in_the_list(
    api: requests.Session, server: ServerProcess, live: Live
) -> None:
    """Every GET whose answer is a page (carries `nextPageToken`) is one of LIST_TEMPLATES."""
    pages = set()
    for operation in OPERATIONS:
        if operation.method != "GET" or operation.is_stream:
            continue
        if operation.template == "/auth/session":
            continue  # a Studio session's, which a service account has none of (401); never a page
        res = api.get(server.url + live.path(operation), timeout=10)
        if operation.template.endswith(":getInviteUrl"):
            continue  # 400 for the accepted member aimed at; never a page
        assert res.status_code == 200, (str(operation), res.text)
        if res.headers["content-type"].startswith("application/json"):
            body = res.json()
            if isinstance(body, dict) and "nextPageToken" in body:
                assert isinstance(body["nextPageToken"], str)
                pages.add(operation.template)
    assert pages == LIST_TEMPLATES


@pytest.mark.parametrize("operation", _params(LISTS))
def test_bad_page_tokens_and_sizes_are_400(
    operation: Operation, api: requests.Session, server: ServerProcess, live: Live
) -> None:
    url = server.url + live.path(operation)
    for name in ("pageToken", "page_token"):
        for token in BAD_TOKENS:
            error = assert_error(api.get(url, params={name: token}), 400)
            assert "page token" in error["error"], (name, token, error)
    for name in ("pageSize", "page_size"):
        for size in BAD_SIZES:
            assert_error(api.get(url, params={name: size}), 400)
    first = api.get(url, params={"pageSize": 1})
    assert first.status_code == 200, first.text
    token = first.json()["nextPageToken"]
    everything = api.get(url, params={"pageSize": 100}).json()
    items = next(v for k, v in everything.items() if isinstance(v, list))
    # A page of one has a next page exactly when there is more than one item ...
    assert bool(token) == (len(items) > 1), (str(operation), len(items), token)
    for name in ("pageToken", "page_token"):
        # ... and a token the server issued is good under either spelling (the end: "" is none).
        res = api.get(url, params={name: token} if token else {})
        assert res.status_code == 200, (name, res.text)


# ---- output-only fields on every update ----------------------------------------------------------

UPDATES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    # template -> (the change to make, output-only fields to bend)
    "PATCH /v2/projects/{project}": (
        {"displayName": "changed"},
        ("name", "organizationDisplayName", "sensorCount", "cloudConnectorCount", "inventory"),
    ),
    "PATCH /v2/projects/{project}/members/{member}": (
        {"roles": ["roles/project.developer"]},
        ("name", "displayName", "status", "accountType", "createTime", "email"),
    ),
    "PATCH /v2/organizations/{organization}/members/{member}": (
        {"roles": ["roles/organization.admin"]},
        ("name", "displayName", "status", "accountType", "createTime", "email"),
    ),
    "PATCH /v2/projects/{project}/serviceaccounts/{account}": (
        {"displayName": "changed", "enableBasicAuth": True},
        ("name", "email", "createTime", "updateTime"),
    ),
    "PUT /v2/projects/{project}/devices/{device}": (
        {"labels": {"name": "changed", "virtual-sensor": ""}},
        ("name", "productNumber", "reported"),
    ),
    "PATCH /v2/projects/{project}/dataconnectors/{dataconnector}": (
        {"displayName": "changed", "events": ["touch", "temperature"]},
        ("name",),
    ),
}


def _bent(value: Any) -> Any:
    """A different value of the same JSON type, as a client with a stale copy might send."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7
    if isinstance(value, str):
        return value + "-bent" if "/" not in value else value.rsplit("/", 1)[0] + "/someone-else"
    if isinstance(value, dict):
        return {**value, "extra": None}
    return value


def test_every_update_endpoint_is_covered() -> None:
    updates = {str(o) for o in OPERATIONS if o.method in ("PATCH", "PUT")}
    assert updates == set(UPDATES)


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_updates_ignore_output_only_fields(
    name: str, api: requests.Session, server: ServerProcess, live: Live
) -> None:
    method, template = name.split(" ", 1)
    change, output_only = UPDATES[name]
    url = server.url + live.path(Operation(method, template))
    current = api.get(url).json()
    assert set(output_only) <= set(current), current

    # 1. The resource as read, with the change: accepted, the change made, nothing else.
    res = api.request(method, url, json={**current, **change})
    assert res.status_code == 200, res.text
    updated = res.json()
    for field, value in change.items():
        assert updated[field] == value, (field, updated)
    for field in output_only:
        if field != "updateTime":
            assert updated[field] == current[field], field
    assert api.get(url).json() == updated

    # 2. The same with every output-only field bent: still ignored.
    bent = {**updated, **{field: _bent(updated[field]) for field in output_only}}
    res = api.request(method, url, json=bent)
    assert res.status_code == 200, res.text
    for field in output_only:
        if field != "updateTime":
            assert res.json()[field] == updated[field], field
