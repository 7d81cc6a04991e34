"""The four roles, read through the official client, with exactly the permissions of SPEC §8."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error

USER = [
    "project.read",
    "membership.read",
    "sensor.read",
    "device.read",
    "dataconnector.read",
    "serviceaccount.read",
    "serviceaccount.key.read",
    "emulator.read",
]
DEVELOPER = [
    *USER,
    "sensor.update",
    "device.update",
    "dataconnector.create",
    "dataconnector.update",
    "dataconnector.delete",
    "emulator.create",
    "emulator.update",
    "emulator.delete",
]
ADMIN = [
    *DEVELOPER,
    "project.update",
    "project.delete",
    "membership.create",
    "membership.update",
    "membership.delete",
    "device.transfer",
    "serviceaccount.create",
    "serviceaccount.update",
    "serviceaccount.delete",
    "serviceaccount.key.create",
    "serviceaccount.key.delete",
]
ORG_ADMIN = [*ADMIN, "project.create", "organization.read", "organization.update"]
EXPECTED = {
    "project.user": USER,
    "project.developer": DEVELOPER,
    "project.admin": ADMIN,
    "organization.admin": ORG_ADMIN,
}


def test_list_roles(dt: Any) -> None:
    roles = dt.Role.list_roles()
    assert [r.role for r in roles] == list(EXPECTED)
    for role in roles:
        assert sorted(role.permissions) == sorted(EXPECTED[role.role]), role.role
        assert role.display_name and role.description


@pytest.mark.parametrize("name", list(EXPECTED))
def test_get_each_role(dt: Any, name: str) -> None:
    role = dt.Role.get_role(name)
    assert role.raw["name"] == f"roles/{name}"
    assert sorted(role.permissions) == sorted(EXPECTED[name])
    assert set(role.raw) == {"name", "displayName", "description", "permissions"}


def test_the_developer_role_is_described_as_dt_does(dt: Any) -> None:
    role = dt.Role.get_role(dt.Role.PROJECT_DEVELOPER)
    assert (role.display_name, role.description) == (
        "Project developer",
        "Allows editing devices and Project settings",
    )


def test_unknown_role_is_404(dt: Any, api: requests.Session, server: ServerProcess) -> None:
    with pytest.raises(dt.errors.NotFound):
        dt.Role.get_role("project.owner")
    assert_error(api.get(f"{server.api}/roles/roles"), 404)


def test_roles_need_credentials(server: ServerProcess) -> None:
    assert_error(requests.get(f"{server.api}/roles"), 401)
    assert_error(requests.get(f"{server.api}/roles/project.user"), 401)


def test_roles_paginate(api: requests.Session, server: ServerProcess) -> None:
    first = api.get(f"{server.api}/roles", params={"page_size": 3}).json()
    assert len(first["roles"]) == 3 and first["nextPageToken"]
    rest = api.get(f"{server.api}/roles", params={"page_token": first["nextPageToken"]}).json()
    assert [r["name"] for r in rest["roles"]] == ["roles/organization.admin"]
    assert rest["nextPageToken"] == ""
