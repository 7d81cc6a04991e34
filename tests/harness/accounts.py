"""Service accounts for tests, made the way a user makes them: through the official client.

`make_account(server, project_id, role=...)` creates a service account in the project, a key for it,
and (optionally) grants it a role in the project, so a test can act as a project user, developer or
admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import disruptive as dt
import requests

from tests.harness.dt_client import auth_for
from tests.harness.server import ServerProcess


@dataclass
class ActingAccount:
    server: ServerProcess
    project_id: str
    account_id: str
    email: str
    key_id: str
    secret: str

    @property
    def auth(self) -> Any:
        """An official-client auth object (OAuth2 JWT-bearer grant) for `auth=` on any call."""
        return auth_for(self.server, self.key_id, self.secret, self.email)

    def session(self) -> requests.Session:
        """A requests session using Basic auth (works only while enableBasicAuth is on)."""
        s = requests.Session()
        s.auth = (self.key_id, self.secret)
        return s

    def bearer(self) -> requests.Session:
        """A requests session with a Bearer access token from the token endpoint."""
        s = requests.Session()
        s.headers["Authorization"] = self.auth.get_token()
        return s


def make_account(
    server: ServerProcess,
    project_id: str,
    *,
    role: str | None = None,
    basic_auth: bool = True,
    display_name: str = "test account",
) -> ActingAccount:
    """A new service account of `project_id` with one key; `role` (e.g. dt.Role.PROJECT_USER) grants
    it that role in the project. Uses the client's default auth (the bootstrap organization admin).
    """
    account = dt.ServiceAccount.create_service_account(
        project_id, display_name=display_name, basic_auth_enabled=basic_auth
    )
    key = dt.ServiceAccount.create_key(account.service_account_id, project_id)
    if role is not None:
        dt.Project.add_member(project_id, account.email, [role])
    assert key.secret is not None, "create_key returns the secret"
    return ActingAccount(
        server=server,
        project_id=project_id,
        account_id=account.service_account_id,
        email=account.email,
        key_id=key.key_id,
        secret=key.secret,
    )
