"""An unexpected exception becomes the JSON 500 body and the request ends normally (no re-raise),
so uvicorn keeps the client's keep-alive connection open."""

from __future__ import annotations

from typing import Any

import orjson

from conduit.api.errors import CatchUnexpected


async def _call(app: Any) -> list[dict[str, Any]]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/boom",
        "raw_path": b"/boom",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await CatchUnexpected(app)(scope, receive, send)
    return sent


async def test_exception_before_response_is_a_json_500() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("secret internals")

    sent = await _call(failing)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 500
    body = orjson.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["code"] == 500 and body["error"] == "internal error"
    assert "secret internals" not in str(body), "no internals reach the client"


async def test_exception_after_response_started_sends_nothing_more() -> None:
    async def half(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("late")

    sent = await _call(half)
    assert [m["type"] for m in sent] == ["http.response.start"]
