"""Managing a service account needs every permission it holds (issue 7, hole 1).

A project admin may manage its project's accounts, but not one that holds roles it does not: the
bootstrap organization admin lives in `default`, so an admin of `default` must not mint it a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import disruptive as dt_module
import pytest
import requests

from tests.harness.accounts import ActingAccount, make_account
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error


@pytest.fixture
def default_admin(dt: Any, server: ServerProcess, project_id: str) -> Iterator[ActingAccount]:
    """An account that is admin of `default` (the bootstrap admin's project), and nothing more."""
    attacker = make_account(server, project_id)
    default_project = _bootstrap_account(server)[0]
    dt.Project.add_member(default_project, attacker.email, [dt_module.Role.PROJECT_ADMIN])
    yield attacker
    dt.ServiceAccount.delete_service_account(attacker.account_id, project_id)


def _bootstrap_account(server: ServerProcess) -> tuple[str, str]:
    """(project id, account id) of the bootstrap organization admin, read from its email."""
    account_id, _, domain = server.credentials["email"].partition("@")
    return domain.split(".", 1)[0], account_id


def _bootstrap_account_url(server: ServerProcess) -> str:
    project, account_id = _bootstrap_account(server)
    return f"{server.api}/projects/{project}/serviceaccounts/{account_id}"


def test_a_project_admin_cannot_take_over_the_organization_admin(
    default_admin: ActingAccount, server: ServerProcess
) -> None:
    session = default_admin.session()
    target = _bootstrap_account_url(server)
    assert session.get(target).status_code == 200  # reading it is still a project user's right
    assert_error(session.post(f"{target}/keys", json={}), 403)
    assert_error(session.patch(target, json={"enableBasicAuth": True}), 403)
    assert_error(session.delete(target), 403)
    keys = session.get(f"{target}/keys").json()["keys"]
    assert_error(session.delete(f"{target}/keys/{keys[0]['id']}"), 403)
    # Nothing changed: the bootstrap key still works.
    assert server.session().get(f"{server.api}/projects").status_code == 200


def test_an_account_with_roles_elsewhere_is_out_of_reach(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    admin = make_account(server, project_id, role=dt_module.Role.PROJECT_ADMIN)
    other = (
        requests.post(
            f"{server.api}/projects",
            json={"displayName": "other", "organization": f"organizations/{organization_id}"},
            auth=server.session().auth,
        )
        .json()["name"]
        .split("/")[1]
    )
    roaming = make_account(server, project_id)
    dt.Project.add_member(other, roaming.email, [dt_module.Role.PROJECT_USER])
    url = f"{server.api}/projects/{project_id}/serviceaccounts/{roaming.account_id}"
    assert_error(admin.session().post(f"{url}/keys", json={}), 403)

    # Once the caller holds those permissions too, it may manage the account.
    dt.Project.add_member(other, admin.email, [dt_module.Role.PROJECT_USER])
    res = admin.session().post(f"{url}/keys", json={})
    assert res.status_code == 200, res.text
    assert res.json()["secret"]


def test_a_project_admin_still_manages_its_own_projects_accounts(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    admin = make_account(server, project_id, role=dt_module.Role.PROJECT_ADMIN)
    developer = make_account(server, project_id, role=dt_module.Role.PROJECT_DEVELOPER)
    url = f"{server.api}/projects/{project_id}/serviceaccounts/{developer.account_id}"
    session = admin.session()
    assert session.post(f"{url}/keys", json={}).status_code == 200
    assert session.patch(url, json={"displayName": "renamed"}).status_code == 200
    assert session.delete(url).status_code == 200


def test_deleting_a_project_needs_what_deleting_its_accounts_needs(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    """A project's accounts go with it, so its admin must cover their roles elsewhere too."""
    admin = make_account(server, project_id, role=dt_module.Role.PROJECT_ADMIN)
    other = (
        requests.post(
            f"{server.api}/projects",
            json={"displayName": "other", "organization": f"organizations/{organization_id}"},
            auth=server.session().auth,
        )
        .json()["name"]
        .split("/")[1]
    )
    doomed = (
        requests.post(
            f"{server.api}/projects",
            json={"displayName": "doomed", "organization": f"organizations/{organization_id}"},
            auth=server.session().auth,
        )
        .json()["name"]
        .split("/")[1]
    )
    dt.Project.add_member(doomed, admin.email, [dt_module.Role.PROJECT_ADMIN])
    roaming = make_account(server, doomed)
    dt.Project.add_member(other, roaming.email, [dt_module.Role.PROJECT_ADMIN])
    assert_error(admin.session().delete(f"{server.api}/projects/{doomed}"), 403)
    assert roaming.session().get(f"{server.api}/projects/{other}").status_code == 200

    dt.Project.remove_member(roaming.account_id, other)
    assert admin.session().delete(f"{server.api}/projects/{doomed}").status_code == 200
