"""People who sign in to Studio, made the operator's way (`conduit user add`), and their sessions
as a browser holds them: a cookie jar and the CSRF token."""

from __future__ import annotations

import secrets
import subprocess
import sys
from dataclasses import dataclass

import requests

from tests.harness.server import ServerProcess
from tests.harness.stored import database_of


def conduit_user(
    server: ServerProcess, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`conduit user ...` against the server's database while it runs (password on stdin)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "conduit",
            "user",
            *args[:1],
            "--data-dir",
            str(server.data_dir),
            "--database",
            database_of(server),
            *args[1:],
            *(["--password-stdin"] if password is not None else []),
        ],
        input=(password + "\n") if password is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


def add_user(server: ServerProcess, role: str, project_id: str | None = None) -> tuple[str, str]:
    """A new user with `role` (in `project_id`); returns its email and password."""
    email = f"user-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(12)
    where = ["--project", project_id] if project_id else []
    done = conduit_user(server, "add", "--email", email, "--role", role, *where, password=password)
    assert done.returncode == 0, done.stderr
    return email, password


@dataclass
class Browser:
    """What a signed-in browser holds: the session cookie (in `http`) and the CSRF token."""

    http: requests.Session
    csrf: str
    user_id: str

    def write(self, method: str, url: str, **kwargs: object) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf}
        return self.http.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]


def sign_in(server: ServerProcess, email: str, password: str) -> Browser:
    http = requests.Session()
    res = http.post(f"{server.url}/auth/session", json={"email": email, "password": password})
    assert res.status_code == 200, res.text
    body = res.json()
    return Browser(http, body["csrfToken"], body["user"]["id"])
