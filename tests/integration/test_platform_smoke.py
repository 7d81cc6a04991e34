"""The skeleton works end to end: a real server, the official client, the bootstrap credentials."""

from __future__ import annotations

import os
import stat
from typing import Any

import requests

from tests.harness.server import ServerProcess


def test_health_answers_ok(server: ServerProcess) -> None:
    res = requests.get(f"{server.url}/healthz", timeout=5)
    assert res.status_code == 200
    assert res.json() == {"status": "ok"}


def test_credentials_file_is_private_and_in_dt_format(server: ServerProcess) -> None:
    mode = stat.S_IMODE(os.stat(server.credentials_path).st_mode)
    assert mode == 0o600
    creds = server.credentials
    assert set(creds) == {"keyId", "secret", "email", "algorithm", "tokenEndpoint"}
    assert creds["tokenEndpoint"] == f"{server.url}/oauth2/token"


def test_official_client_lists_the_default_project(dt: Any) -> None:
    projects = dt.Project.list_projects()
    assert "default" in [p.display_name for p in projects]


def test_unknown_path_gets_json_error(server: ServerProcess) -> None:
    res = requests.get(f"{server.api}/nothing-here", timeout=5)
    assert res.status_code == 404
    body = res.json()
    assert body["code"] == 404 and body["error"] and body["help"].endswith("#404")
