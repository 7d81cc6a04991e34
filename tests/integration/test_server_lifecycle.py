"""Start, restart and stop: bootstrap happens once, secrets are printed once, SIGTERM exits cleanly."""

from __future__ import annotations

import requests

from tests.harness.server import ServerProcess


def test_first_start_bootstraps_and_later_starts_reuse_it(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    creds = fresh_server.credentials
    first_log = fresh_server.log()
    assert creds["secret"] in first_log, "the first start prints the secret once, to connect with"
    assert fresh_server.stop() == 0

    fresh_server.start()
    assert fresh_server.credentials == creds, "a restart must not replace the bootstrap key"
    later_log = fresh_server.log()[len(first_log) :]
    assert creds["keyId"] in later_log, "later starts print the same connection hint"
    assert creds["secret"] not in later_log, "but never the secret again"
    res = requests.get(f"{fresh_server.api}/projects", auth=(creds["keyId"], creds["secret"]), timeout=5)
    assert res.status_code == 200
    assert [p["displayName"] for p in res.json()["projects"]] == ["default"]


def test_sigterm_shuts_down_cleanly(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    assert fresh_server.stop() == 0
    assert "Traceback" not in fresh_server.log()


def test_openapi_document_describes_every_endpoint(server: ServerProcess) -> None:
    doc = requests.get(f"{server.api}/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/v2/projects", "/v2/projects/{project}", "/oauth2/token", "/healthz"):
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["summary"], f"{method.upper()} {path} has no summary (handler docstring)"
