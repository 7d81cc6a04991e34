"""What both benchmarks need from a running server: a free port, an access token, percentiles."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sign_in(http: aiohttp.ClientSession, data_dir: Path) -> None:
    """Every later request of `http` carries a Bearer token of the server's bootstrap account."""
    credentials = json.loads((data_dir / "credentials.json").read_text())
    token = await access_token(http, credentials["serviceAccount"])
    http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


async def access_token(http: aiohttp.ClientSession, credentials: dict[str, Any]) -> str:
    """One Bearer token up front, via the same JWT-bearer grant the official client uses."""
    now = int(time.time())
    claims = {
        "iat": now,
        "exp": now + 3600,
        "aud": credentials["tokenEndpoint"],
        "iss": credentials["email"],
    }
    assertion = jwt.encode(
        claims, credentials["secret"], algorithm="HS256", headers={"kid": credentials["keyId"]}
    )
    form = {"assertion": assertion, "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
    async with http.post(credentials["tokenEndpoint"], data=form) as res:
        res.raise_for_status()
        return str((await res.json())["access_token"])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1); NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
