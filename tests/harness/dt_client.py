"""Point the official `disruptive` client at a Conduit server, as a user would."""

from __future__ import annotations

from typing import Any

import disruptive as dt

from tests.harness.server import ServerProcess


def configure(server: ServerProcess) -> Any:
    dt.base_url = server.api
    dt.emulator_base_url = server.api
    creds = server.credentials
    auth = dt.Auth.service_account(creds["keyId"], creds["secret"], creds["email"])
    auth.token_endpoint = creds["tokenEndpoint"]
    dt.default_auth = auth
    return dt


def auth_for(server: ServerProcess, key_id: str, secret: str, email: str) -> Any:
    auth = dt.Auth.service_account(key_id, secret, email)
    auth.token_endpoint = f"{server.url}/oauth2/token"
    return auth
