"""No input earns a 500: every operation of the running server's `/v2/openapi.json`, fuzzed.

Issue 2 promises "no 500 for any input; no stack trace or HTML ever reaches a client", and that
every failure is DT's error body `{"error", "code", "help"}`. Hand-written bad-input tests cover the
rules one by one; this test covers what nobody thought of. For every operation the server documents
(so a new endpoint is fuzzed the day it is added) it sends, with `hypothesis`:

- bodies: malformed JSON, wrong types in every known field, huge integers, NaN/Infinity, deep
  nesting, lone surrogates, non-UTF-8 bytes, odd content types, and valid example bodies with one
  field replaced, removed or added;
- query strings: every parameter name the API reads, with odd values (bad page tokens included) and
  raw percent-encoded bytes that are not UTF-8;
- path segments: real ids of live resources, or odd ones (`%00`, `%ff`, `..`, 2,000 characters...);
- credentials: mostly the organization admin's, sometimes none or garbage.

Each response must be below 500, and every 4xx must be the JSON error body. The server log must
show no unhandled error afterwards. Operations are run one after another with DELETEs last (so the
resources the other operations aim at live as long as possible), each bounded to a few dozen
examples so the whole test stays well under 30 s.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import random
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conduit.domain.event_types import EVENT_TYPES, SHAPES
from tests.harness.live import (
    Live,
    Operation,
    make_live,
    operations_of,
    served_document,
)
from tests.harness.server import ServerProcess

# Reproducible by default (CI included): a fixed seed. `CONDUIT_FUZZ_SEED=random` (with a larger
# `CONDUIT_FUZZ_EXAMPLES`) explores further in longer local runs; a failure names its seed.
EXAMPLES_PER_OPERATION = int(os.environ.get("CONDUIT_FUZZ_EXAMPLES", "30"))
_SEED_SETTING = os.environ.get("CONDUIT_FUZZ_SEED", "0")
SEED = random.randrange(2**32) if _SEED_SETTING == "random" else int(_SEED_SETTING)

# ---- what to send --------------------------------------------------------------------------------


def _shape_fields() -> set[str]:
    names: set[str] = set()
    for fields in SHAPES.values():
        names.update(f.name for f in fields)
        names.update(alias for f in fields for alias in f.aliases)
    return names | {"code", "message", "id", "sampleTime"}


BODY_KEYS = sorted(
    {
        *EVENT_TYPES,
        *_shape_fields(),
        "displayName", "organization", "name", "email", "roles", "status", "accountType",
        "createTime", "updateTime", "enableBasicAuth", "type", "labels", "reported",
        "productNumber", "devices", "addLabels", "removeLabels", "httpConfig", "url",
        "signatureSecret", "headers", "events", "key", "secret", "inventory", "sensorCount",
    }
)  # fmt: skip
QUERY_KEYS = [
    "pageSize", "page_size", "pageToken", "page_token", "query", "organization", "projects",
    "device_ids", "deviceIds", "device_types", "deviceTypes", "product_numbers", "label_filters",
    "labelFilters", "order_by", "orderBy", "eventTypes", "event_types", "startTime", "endTime",
    "start_time", "end_time", "ping_interval", "pingInterval", "update_mask", "updateMask",
]  # fmt: skip


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


ODD_TEXT = [
    "", " ", "-", "0", "-1", "1e999", "NaN", "null", "true", "%", "%%", "=", "a=b=c", ",", ",,",
    "\x00", "\u00e9", "\u2603", "x" * 3000, "9" * 400,
    "projects/x/devices/y", "projects//devices/", "organizations/", "organizations/a/b",
    "roles/project.user", "roles/organization.admin", "https://127.0.0.1:9/x", "http://10.0.0.1/",
    "2026-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
    "10s", "0s", "500ms", "1e9s", "ACTIVE", "SYSTEM_DISABLED", "HTTP_PUSH",
    "reported.temperature.value", "-labels.name", "labels", "name=", "=x",
]  # fmt: skip
# Page tokens of both kinds the server issues (offset `o:` and keyset `k:`), bent out of shape.
ODD_TOKENS = [
    _token("o:-1"), _token("o:1e9"), _token("o:99999999999999999999999"), _token("o:"),
    _token("o:0"), _token("o:5"), _token("k:nan:1"), _token("k:inf:1"), _token("k:-inf:0"),
    _token("k:1.0:99999999999999999999999"), _token("k:1e308:1"), _token("k:1.0:-1"),
    _token("k:1"), _token("k:a:b"), _token("\xff"), "bm9wZQ", "garbage!", "%", "====",
]  # fmt: skip
TOKEN_KEYS = {"pageToken", "page_token"}
ODD_SEGMENTS = [
    "-", "..", ".", "%00", "%ff", "%ff%fe", "%2F", "%3A", "%3Apublish", "%20", "%25", "~", "'",
    "%22", "emu", "a" * 2000, "%C3%A9", "%E2%98%83", "projects",
]  # fmt: skip
RAW_QUERIES = [
    "pageToken=%ff%fe", "pageSize=%00", "query=%ff", "label_filters=%ff%3D%fe", "%ff=%ff",
    "&&&", "=", "pageSize", "pageSize=1&pageSize=x", "startTime=%ff", "ping_interval=%ff",
]  # fmt: skip
RAW_BODIES = [
    b"", b" ", b"{", b"}", b"[", b"null", b"[]", b'"x"', b"0", b"1e999", b"\xff\xfe\xfd",
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e999}',
    b'{"a": 18446744073709551616}', b'{"a": 18446744073709551615}', b'{"a": "\\ud800"}',
    b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"a": 1,}',
    b'{"touch": {}}', b'{"touch": {}, "touch": {"updateTime": 1}}', b"assertion=x&grant_type=y",
    b'{"\xff": 1}', b"\xef\xbb\xbf{}",
]  # fmt: skip
CONTENT_TYPES = [
    None, "application/json", "application/json; charset=utf-8", "text/plain",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "garbage", "",
]  # fmt: skip
BIG_INTEGERS = [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30, -(10**30)]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(BIG_INTEGERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(ODD_TEXT),
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(BODY_KEYS) | st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=12,
)


def encode(value: Any) -> bytes:
    """JSON as a careless client writes it: NaN and Infinity appear as bare tokens."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def mutated(draw: st.DrawFn, example: dict[str, Any]) -> Any:
    """A valid body with one field, at some depth, replaced, removed or added."""
    body = copy.deepcopy(example)
    node: Any = body
    while True:
        keys = sorted(node) if isinstance(node, dict) else []
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if isinstance(node[key], dict) and node[key] and draw(st.booleans()):
            node = node[key]
            continue
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            node[key] = draw(json_value)
        elif action == "remove":
            del node[key]
        else:
            node[draw(st.sampled_from(BODY_KEYS))] = draw(json_value)
        break
    return body


@pytest.fixture
def live(
    api: requests.Session, server: ServerProcess, project_id: str, organization_id: str
) -> Live:
    return make_live(api, server, project_id, organization_id)


def operations(server: ServerProcess) -> list[Operation]:
    """Every operation the running server documents; DELETEs last, deepest first, so the
    resources the other operations aim at live as long as possible."""
    found = operations_of(served_document(server))
    return sorted(found, key=lambda o: (o.method == "DELETE", -len(o.template), o.template))


# ---- one request, and what its answer must be ----------------------------------------------------


def segment(real: str, draw: Callable[[Any], Any]) -> str:
    """Mostly the real id (so requests get past the 404s), sometimes an odd one."""
    if draw(st.integers(0, 4)) == 0:
        return str(draw(st.sampled_from(ODD_SEGMENTS)))
    return real


def path_for(operation: Operation, live: Live, draw: Callable[[Any], Any]) -> str:
    """The operation's path aimed at live resources, with some ids swapped for odd segments."""
    odd = {name: segment(value, draw) for name, value in live.ids.items()}
    return Live(odd, live.examples).path(operation)


def query_for(operation: Operation, draw: Callable[[Any], Any]) -> str:
    if draw(st.integers(0, 5)) == 0:
        return str(draw(st.sampled_from(RAW_QUERIES)))
    keys = draw(st.lists(st.sampled_from(QUERY_KEYS), max_size=3, unique=True))
    pairs = []
    for key in keys:
        for _ in range(draw(st.integers(1, 2))):
            odd = st.sampled_from(ODD_TOKENS if key in TOKEN_KEYS else ODD_TEXT)
            value: str = draw(odd | st.text(max_size=20))
            pairs.append(f"{quote(key)}={quote(value.encode('utf-8', 'surrogatepass'))}")
    return "&".join(pairs)


def body_for(operation: Operation, live: Live, draw: Callable[[Any], Any]) -> bytes | None:
    if not operation.takes_body:
        return None
    examples = live.examples.get((operation.method, operation.template), [])
    choice = draw(st.integers(0, 9))
    if examples and choice < 5:
        return encode(draw(mutated(draw(st.sampled_from(examples)))))
    if choice < 7:
        return encode(draw(st.dictionaries(st.sampled_from(BODY_KEYS), json_value, max_size=5)))
    if choice < 8:
        return encode(draw(json_value))
    raw: bytes = draw(st.sampled_from(RAW_BODIES) | st.binary(max_size=40))
    return raw


def headers_for(server: ServerProcess, draw: Callable[[Any], Any]) -> dict[str, str]:
    creds = server.credentials
    basic = base64.b64encode(f"{creds['keyId']}:{creds['secret']}".encode()).decode()
    authorization = draw(
        st.sampled_from(
            [f"Basic {basic}"] * 15
            + ["", "Basic", "Basic \u00ff\u00fe", "Bearer a.b.c", "Bearer " + "x" * 5000]
        )
    )
    headers = {"Authorization": authorization} if authorization else {}
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        headers["Content-Type"] = content_type
    if draw(st.integers(0, 4)) == 0:
        headers["Accept"] = "text/event-stream"
    return headers


def check(operation: Operation, url: str, res: requests.Response) -> None:
    where = f"{operation.method} {url}"
    assert res.status_code < 500, f"{where} -> {res.status_code}: {res.text[:500]}"
    if res.status_code >= 400:
        assert res.headers.get("content-type", "").startswith("application/json"), where
        body = res.json()
        assert set(body) - {"field"} == {"error", "code", "help"}, (where, body)
        assert body["code"] == res.status_code, (where, body)
        if isinstance(body["error"], dict):  # stream errors, as DT's stream readers parse them
            assert operation.is_stream and body["error"]["code"] == res.status_code, (where, body)
        else:
            assert isinstance(body["error"], str) and body["error"], (where, body)
        assert "Traceback" not in res.text, where


def fuzz(
    server: ServerProcess, live: Live, operation: Operation, seen: Counter[int], index: int
) -> Callable[[], None]:
    """A hypothesis run of fuzzed requests to one operation, counting the statuses in `seen`."""
    session = requests.Session()  # keep-alive; a server error would also break the connection

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @seed(SEED + index)
    @given(data=st.data())
    def one_request(data: st.DataObject) -> None:
        draw = data.draw
        url = server.url + path_for(operation, live, draw)
        query = query_for(operation, draw)
        if query:
            url += "?" + query
        body = body_for(operation, live, draw)
        with session.request(
            operation.method,
            url,
            data=body,
            headers=headers_for(server, draw),
            timeout=(5, 10),
            stream=operation.is_stream,
            allow_redirects=False,
        ) as res:
            seen[res.status_code] += 1
            if operation.is_stream and res.status_code == 200:
                return  # a live stream: the headers are the answer; the body never ends
            check(operation, url, res)

    result: Callable[[], None] = one_request
    return result


# ---- the test ------------------------------------------------------------------------------------


def test_no_input_gets_a_server_error(server: ServerProcess, live: Live) -> None:
    ops = operations(server)
    assert len(ops) >= 40, "the OpenAPI document lists every operation"
    log_before = len(server.log())
    statuses: dict[Operation, Counter[int]] = {op: Counter() for op in ops}

    try:
        for index, operation in enumerate(ops):
            fuzz(server, live, operation, statuses[operation], index)()
    except BaseException as failure:
        failure.add_note(f"fuzz seed {SEED}: reproduce with CONDUIT_FUZZ_SEED={SEED}")
        raise

    unhandled = [
        line for line in server.log()[log_before:].splitlines() if "unhandled error" in line
    ]
    assert not unhandled, unhandled
    # The fuzz reached the rules: every body-taking operation refused some bodies as bad input,
    # and accepted-or-refused a real request somewhere beyond authentication.
    for operation, seen in statuses.items():
        assert seen.total() > 0, operation
        if operation.takes_body and not operation.template.endswith(":sync"):
            assert seen[400] + seen[413] + seen[415] > 0, (str(operation), seen)
