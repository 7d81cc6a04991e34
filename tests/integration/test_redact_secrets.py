"""`--redact-secrets`: read-only callers see connectors without their secret and header values
(issue 7, 5). By default a Project User sees them, as in DT Cloud."""

from __future__ import annotations

from pathlib import Path

import disruptive as dt_module
import pytest
import requests

from tests.harness.accounts import make_account
from tests.harness.dt_client import configure
from tests.harness.server import ServerProcess

CONNECTOR = {
    "displayName": "with secrets",
    "type": "HTTP_PUSH",
    "httpConfig": {
        "url": "http://127.0.0.1:9/hook",
        "signatureSecret": "a-very-good-secret",
        "headers": {"Authorization": "Bearer receiver-token"},
    },
}


def _connector_views(server: ServerProcess) -> dict[str, dict[str, object]]:
    """httpConfig of one connector as each role sees it, through GET and list."""
    configure(server)
    api = server.session()
    project = api.get(f"{server.api}/projects").json()["projects"][0]["name"]
    made = api.post(f"{server.api}/{project}/dataconnectors", json=CONNECTOR)
    assert made.status_code == 200, made.text
    project_id = project.split("/")[1]
    views: dict[str, dict[str, object]] = {}
    for role in (dt_module.Role.PROJECT_USER, dt_module.Role.PROJECT_DEVELOPER):
        session: requests.Session = make_account(server, project_id, role=role).session()
        got = session.get(f"{server.api}/{made.json()['name']}").json()["httpConfig"]
        listed = session.get(f"{server.api}/{project}/dataconnectors").json()["dataConnectors"]
        assert [c["httpConfig"] for c in listed] == [got]
        views[role] = got
    return views


@pytest.mark.parametrize("redact", [True, False])
def test_redaction_hides_secrets_from_project_users_only(tmp_path: Path, redact: bool) -> None:
    env: dict[str, str | None] = {"CONDUIT_REDACT_SECRETS": "1"} if redact else {}
    server = ServerProcess(data_dir=tmp_path / "c", env=env).start()
    try:
        views = _connector_views(server)
    finally:
        server.stop()
    assert views[dt_module.Role.PROJECT_DEVELOPER] == CONNECTOR["httpConfig"]
    user = views[dt_module.Role.PROJECT_USER]
    if redact:
        assert user["signatureSecret"] == "<redacted>"
        assert user["headers"] == {"Authorization": "<redacted>"}
        assert user["url"] == CONNECTOR["httpConfig"]["url"]  # type: ignore[index]
    else:
        assert user == CONNECTOR["httpConfig"]
