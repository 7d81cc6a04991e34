"""Wire-level assertions shared by the API tests."""

from __future__ import annotations

from typing import Any

import requests


def assert_error(res: requests.Response, status: int) -> dict[str, Any]:
    """The response is a DT-style error body with this status: `{"error", "code", "help"}`, and
    for a 400 about one input, that input's path as `field`."""
    assert res.status_code == status, f"expected {status}, got {res.status_code}: {res.text}"
    assert res.headers["content-type"].startswith("application/json"), res.headers
    body: dict[str, Any] = res.json()
    assert set(body) - {"field"} == {"error", "code", "help"}, body
    assert isinstance(body.get("field", "x"), str) and body.get("field", "x"), body
    assert body["code"] == status and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in res.text
    return body
