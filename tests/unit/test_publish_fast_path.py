"""The publish fast path answers exactly as the full Starlette stack does, for good and bad input.

One real app (SQLite in a temporary data dir, its workers running), called over ASGI twice per
request: through `PublishFastPath`, and straight into Starlette (its middleware and router). Status,
headers and body must be the same bytes, and the fast path must really have taken the request.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import orjson

from conduit.api.publish_fast_path import PublishFastPath
from conduit.app import create_app
from conduit.config import Settings

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def _call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "scheme": "http",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], sorted(start["headers"]), content


async def test_the_fast_path_answers_as_the_stack_does(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, port=8080, delivery_workers=0)
    app = create_app(settings)
    fast = PublishFastPath(app)
    taken: list[str] = []
    handler = fast.handler

    async def counting(request: Any) -> Any:
        taken.append(request.url.path)
        return await handler(request)

    fast.handler = counting
    async with app.router.lifespan_context(app):
        key = json.loads((tmp_path / "credentials.json").read_text())["serviceAccount"]
        basic = base64.b64encode(f"{key['keyId']}:{key['secret']}".encode()).decode()
        auth = {"authorization": f"Basic {basic}", "content-type": "application/json"}
        status, _, listed = await _call(app, "GET", "/v2/projects", auth, b"")
        project = orjson.loads(listed)["projects"][0]["name"].split("/")[1]
        devices = f"/v2/projects/{project}/devices"
        status, _, made = await _call(app, "POST", devices, auth, b'{"type": "touch"}')
        assert status == 200, made
        device = orjson.loads(made)["name"].split("/")[-1]
        publish = f"{devices}/{device}:publish"
        cases: list[tuple[str, dict[str, str], bytes, int]] = [
            (publish, auth, b'{"touch": {}}', 200),
            (publish, auth, b'{"temperature": {"value": 20}}', 400),
            (publish, auth, b'{"touch": {}, "extra": {}}', 400),
            (publish, auth, b"{", 400),
            (publish, auth, b"[]", 400),
            (publish, auth, b'{"touch": {}}' + b" " * 70_000, 413),
            (publish, {"content-type": "application/json"}, b'{"touch": {}}', 401),
            (publish, {**auth, "authorization": "Basic bm9uZTpub25l"}, b'{"touch": {}}', 401),
            (f"{devices}/nope:publish", auth, b'{"touch": {}}', 404),
            (f"/v2/projects/nope/devices/{device}:publish", auth, b'{"touch": {}}', 404),
        ]
        for path, headers, body, expected in cases:
            before = len(taken)
            through_fast = await _call(fast, "POST", path, headers, body)
            assert len(taken) == before + 1, f"the fast path did not take {path}"
            through_stack = await _call(app, "POST", path, headers, body)
            assert through_fast[0] == expected, (path, body[:40], through_fast)
            assert through_fast == through_stack, (path, body[:40])
        # Not publish, or not a plain one: the stack answers, the fast path steps aside.
        for method, path in (("GET", publish), ("POST", publish + "/"), ("POST", devices)):
            before = len(taken)
            await _call(fast, method, path, auth, b"{}")
            assert len(taken) == before, (method, path)
        status, _, history = await _call(app, "GET", f"{devices}/{device}/events", auth, b"")
        assert len(orjson.loads(history)["events"]) == 2  # the two accepted publishes, no more


def test_a_node_without_the_api_does_not_publish(tmp_path: Path) -> None:
    assert not PublishFastPath(create_app(Settings(data_dir=tmp_path, role="delivery"))).enabled
    assert PublishFastPath(create_app(Settings(data_dir=tmp_path / "api", role="api"))).enabled
