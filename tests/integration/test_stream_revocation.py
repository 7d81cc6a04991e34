"""Open streams follow their caller's access (issue 7, holes 2 and 4).

A stream is authorized when it opens, but lives on: removing the member, deleting its key or its
account must end it (with an in-stream error) rather than let events and label values keep flowing,
and one account may not hold more than its share of streams.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import disruptive as dt_module
import pytest
import requests

from conduit.auth.secrets import SecretBox
from conduit.auth.tokens import ACCESS_TOKEN_LIFETIME, issue_access_token
from tests.harness.accounts import ActingAccount, make_account
from tests.harness.events import create_device, open_stream, publish
from tests.harness.server import ServerProcess

Revoke = Callable[[Any, ActingAccount], None]

REVOCATIONS: dict[str, Revoke] = {
    "member removed": lambda dt, a: dt.Project.remove_member(a.account_id, a.project_id),
    "key deleted": lambda dt, a: dt.ServiceAccount.delete_key(a.key_id, a.account_id, a.project_id),
    "account deleted": lambda dt, a: dt.ServiceAccount.delete_service_account(
        a.account_id, a.project_id
    ),
    "basic auth disabled": lambda dt, a: dt.ServiceAccount.update_service_account(
        a.account_id, a.project_id, basic_auth_enabled=False
    ),
}


@pytest.mark.parametrize("how", list(REVOCATIONS))
def test_revoking_access_ends_an_open_stream(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str, how: str
) -> None:
    reader = make_account(server, project_id, role=dt_module.Role.PROJECT_USER)
    device = create_device(dt, project_id, "touch")
    stream = open_stream(reader.session(), server, f"projects/{project_id}/devices:stream")
    try:
        assert publish(api, server, project_id, device.device_id, {"touch": {}}).status_code == 200
        assert stream.next_event()["targetName"].endswith(device.device_id)

        REVOCATIONS[how](dt, reader)
        revoked = time.monotonic()
        payload = stream.next_payload()  # the read times out (5 s) if the stream goes on
        assert time.monotonic() - revoked < 3.0
        assert payload["error"]["code"] in (401, 403), payload
        assert publish(api, server, project_id, device.device_id, {"touch": {}}).status_code == 200
        with pytest.raises(EOFError):
            stream.next_payload()
    finally:
        stream.close()


def test_one_account_holds_at_most_its_share_of_streams(tmp_path: Path) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "c", extra_args=["--max-streams-per-account", "2"]
    ).start()
    try:
        api = server.session()
        project = api.get(f"{server.api}/projects").json()["projects"][0]["name"]
        path = f"{project}/devices:stream"
        first = open_stream(api, server, path)
        second = open_stream(api, server, path)
        refused = api.get(f"{server.api}/{path}", timeout=5)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == 429
        assert refused.headers["Retry-After"]
        # Other requests of the same account are not refused.
        assert api.get(f"{server.api}/projects", timeout=5).status_code == 200
        first.close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the closed connection on its next write or read
            res = api.get(
                f"{server.api}/{path}",
                stream=True,
                timeout=(5, 5),
                params={"ping_interval": "0.1s"},
            )
            if res.status_code == 200 or time.monotonic() > deadline:
                break
            res.close()
            time.sleep(0.05)
        assert res.status_code == 200, res.text
        res.close()
        second.close()
    finally:
        server.stop()


def test_a_stream_ends_when_the_token_it_opened_with_expires(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    """A token issued an hour ago, minus two seconds, as the server itself would have issued it."""
    reader = make_account(server, project_id, role=dt_module.Role.PROJECT_USER)
    box = SecretBox.load_or_create(server.data_dir, os.environ.get("CONDUIT_SECRET_KEY"))
    issued = time.time() - ACCESS_TOKEN_LIFETIME + 2
    token = issue_access_token(box.signing_key(), reader.account_id, reader.key_id, issued)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    stream = open_stream(session, server, f"projects/{project_id}/devices:stream")
    try:
        payload = stream.next_payload()  # the read times out (5 s) if the stream goes on
        assert payload["error"]["code"] == 401 and "expired" in payload["error"]["message"]
        assert time.time() - issued - ACCESS_TOKEN_LIFETIME < 3.0
    finally:
        stream.close()
