"""`/metrics` lists every tenant's connector ids: an operator can require a bearer token."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error

TOKEN = "scrape-9f2c1e7d5b3a"


def test_metrics_requires_the_configured_token(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "c", env={"CONDUIT_METRICS_TOKEN": TOKEN}).start()
    try:
        url = f"{server.url}/metrics"
        assert_error(requests.get(url, timeout=5), 401)
        assert_error(requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5), 401)
        basic = server.session().get(url, timeout=5)  # API credentials are not the metrics token
        assert_error(basic, 401)
        res = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert res.status_code == 200 and "conduit_" in res.text, res.text[:200]
    finally:
        server.stop()


def test_metrics_stay_open_without_a_token(server: ServerProcess) -> None:
    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 200
