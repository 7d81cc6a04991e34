"""Organizations through the official client: who sees which organization, organization members
(only `organization.admin`), and the rule that an organization always keeps an admin service
account.

Tests that change the organization's admins run against a server of their own, so the shared
server's bootstrap admin is never at risk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import disruptive
import pytest
import requests

from tests.harness.accounts import make_account
from tests.harness.dt_client import configure
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error


@pytest.fixture(scope="module")
def _own_servers() -> Iterator[dict[str, ServerProcess]]:
    started: dict[str, ServerProcess] = {}
    yield started
    for proc in started.values():
        proc.stop()


@pytest.fixture
def own_server(
    backend: str, _own_servers: dict[str, ServerProcess], tmp_path_factory: pytest.TempPathFactory
) -> ServerProcess:
    """A server of this module's own per backend, shared by its tests."""
    if backend not in _own_servers:
        data_dir = tmp_path_factory.mktemp(f"conduit-orgs-{backend}")
        _own_servers[backend] = ServerProcess(data_dir=data_dir).start()
    return _own_servers[backend]


@pytest.fixture
def own_dt(own_server: ServerProcess) -> Iterator[Any]:
    """The official client pointed at the module's own server, restored afterwards."""
    saved = (disruptive.base_url, disruptive.emulator_base_url, disruptive.default_auth)
    yield configure(own_server)
    disruptive.base_url, disruptive.emulator_base_url, disruptive.default_auth = saved


def test_get_and_list_organizations(dt: Any, organization_id: str) -> None:
    org = dt.Organization.get_organization(organization_id)
    assert org.raw == {"name": f"organizations/{organization_id}", "displayName": "Conduit"}
    assert [o.organization_id for o in dt.Organization.list_organizations()] == [organization_id]
    granted = dt.Organization.list_permissions(organization_id)
    assert sorted(granted) == sorted(dt.Role.get_role(dt.Role.ORGANIZATION_ADMIN).permissions)


def test_a_project_member_sees_the_organization_but_not_its_members(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    member = make_account(server, project_id, role=dt.Role.PROJECT_ADMIN)
    assert [o.organization_id for o in dt.Organization.list_organizations(auth=member.auth)] == [
        organization_id
    ]
    assert (
        dt.Organization.get_organization(organization_id, auth=member.auth).display_name
        == "Conduit"
    )
    assert dt.Organization.list_permissions(organization_id, auth=member.auth) == []
    with pytest.raises(dt.errors.Forbidden):
        dt.Organization.list_members(organization_id, auth=member.auth)
    with pytest.raises(dt.errors.Forbidden):
        dt.Organization.add_member(
            organization_id, member.email, [dt.Role.ORGANIZATION_ADMIN], auth=member.auth
        )
    assert member.account_id not in [
        m.member_id for m in dt.Organization.list_members(organization_id)
    ]


def test_an_outsider_sees_no_organization(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    outsider = make_account(server, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.Organization.get_organization(organization_id, auth=outsider.auth)
    with pytest.raises(dt.errors.NotFound):
        dt.Organization.list_permissions(organization_id, auth=outsider.auth)
    with pytest.raises(dt.errors.NotFound):
        dt.Organization.list_members(organization_id, auth=outsider.auth)
    with pytest.raises(dt.errors.NotFound):
        dt.Organization.get_organization("no-such-org")


def test_the_bootstrap_admin_is_an_organization_admin(
    dt: Any, server: ServerProcess, organization_id: str
) -> None:
    members = dt.Organization.list_members(organization_id)
    admin = [m for m in members if m.email == server.credentials["email"]]
    assert len(admin) == 1
    assert (admin[0].roles, admin[0].status, admin[0].account_type) == (
        ["organization.admin"],
        "ACCEPTED",
        "SERVICE_ACCOUNT",
    )


def _org_and_home(dt: Any) -> tuple[str, str]:
    project = dt.Project.list_projects()[0]
    return project.organization_id, project.project_id


def test_organization_members_life_cycle(own_dt: Any, own_server: ServerProcess) -> None:
    dt = own_dt
    org, home = _org_and_home(dt)
    project = dt.Project.create_project(org, "team").project_id
    account = make_account(own_server, project)
    assert dt.Project.list_projects(auth=account.auth) == []

    member = dt.Organization.add_member(org, account.email, [dt.Role.ORGANIZATION_ADMIN])
    assert member.raw["name"] == f"organizations/{org}/members/{account.account_id}"
    assert (member.roles, member.status, member.account_type) == (
        ["organization.admin"],
        "ACCEPTED",
        "SERVICE_ACCOUNT",
    )
    assert dt.Organization.get_member(account.account_id, org).raw == member.raw
    # An organization admin holds the admin permissions in every project of the organization.
    assert {p.project_id for p in dt.Project.list_projects(auth=account.auth)} == {home, project}
    made = dt.Project.create_project(org, "by the new admin", auth=account.auth)
    assert made.organization_id == org
    with pytest.raises(dt.errors.BadRequest):
        dt.Organization.get_member_invite_url(account.account_id, org)
    with pytest.raises(dt.errors.Conflict):
        dt.Organization.add_member(org, account.email, [dt.Role.ORGANIZATION_ADMIN])
    # Its own project cannot be deleted while it is an organization member.
    with pytest.raises(dt.errors.BadRequest):
        dt.Project.delete_project(project)

    dt.Organization.remove_member(account.account_id, org)
    with pytest.raises(dt.errors.NotFound):
        dt.Organization.get_member(account.account_id, org)
    assert dt.Project.list_projects(auth=account.auth) == []
    dt.Project.delete_project(project)


def test_users_are_invited_pending(own_dt: Any) -> None:
    dt = own_dt
    org, _ = _org_and_home(dt)
    member = dt.Organization.add_member(org, "boss@example.com", [dt.Role.ORGANIZATION_ADMIN])
    assert (member.status, member.account_type) == ("PENDING", "USER")
    assert dt.Organization.get_member_invite_url(member.member_id, org) == ""
    dt.Organization.remove_member(member.member_id, org)
    assert member.member_id not in [m.member_id for m in dt.Organization.list_members(org)]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "x@example.com", "roles": ["roles/project.admin"]},
        {"email": "x@example.com", "roles": []},
        {"email": "x@example.com"},
        {"email": "x", "roles": ["roles/organization.admin"]},
        {"email": "x@example.com", "roles": ["roles/organization.admin"], "extra": 1},
    ],
)
def test_add_rejects_bad_bodies(
    own_dt: Any, own_server: ServerProcess, body: dict[str, Any]
) -> None:
    org, _ = _org_and_home(own_dt)
    api = own_server.session()
    url = f"{own_server.api}/organizations/{org}/members"
    before = api.get(url).json()
    assert_error(api.post(url, json=body), 400)
    assert_error(api.post(url, data=b"{", headers={"Content-Type": "application/json"}), 400)
    assert api.get(url).json() == before


def test_an_organization_always_keeps_an_admin(own_dt: Any, own_server: ServerProcess) -> None:
    dt = own_dt
    org, home = _org_and_home(dt)
    bootstrap = [
        m for m in dt.Organization.list_members(org) if m.account_type == "SERVICE_ACCOUNT"
    ]
    assert len(bootstrap) == 1
    admin_id = bootstrap[0].member_id
    # The bootstrap admin user (Studio's) is an admin too, but not one the rule counts: the
    # credentials file and the official client need an admin service account.
    [admin_user] = [
        m.member_id for m in dt.Organization.list_members(org) if m.account_type == "USER"
    ]
    pending = dt.Organization.add_member(org, "ghost@example.com", [dt.Role.ORGANIZATION_ADMIN])

    # A pending user cannot sign in, so it does not count as an admin.
    with pytest.raises(dt.errors.BadRequest):
        dt.Organization.remove_member(admin_id, org)
    with pytest.raises(dt.errors.BadRequest):
        dt.ServiceAccount.delete_service_account(admin_id, home)
    with pytest.raises(dt.errors.BadRequest):
        dt.Project.delete_project(home)
    assert dt.Organization.get_member(admin_id, org).status == "ACCEPTED"

    # With a second admin service account the first may go.
    team = dt.Project.create_project(org, "successors").project_id
    successor = make_account(own_server, team)
    dt.Organization.add_member(org, successor.email, [dt.Role.ORGANIZATION_ADMIN])
    dt.Organization.remove_member(admin_id, org, auth=successor.auth)
    assert dt.Project.list_projects() == [], "the old admin lost its organization role"
    assert {m.member_id for m in dt.Organization.list_members(org, auth=successor.auth)} == {
        successor.account_id,
        pending.member_id,
        admin_user,
    }
    assert_error(
        requests.get(
            f"{own_server.api}/organizations/{org}/members", auth=(successor.key_id, "wrong")
        ),
        401,
    )
    # Hand the organization back, so the module's other tests keep their admin.
    dt.Organization.add_member(
        org, bootstrap[0].email, [dt.Role.ORGANIZATION_ADMIN], auth=successor.auth
    )
    assert dt.Project.list_projects()


def test_organization_members_paths_need_credentials(own_server: ServerProcess) -> None:
    res = requests.get(f"{own_server.api}/organizations")
    assert_error(res, 401)


def test_update_of_an_organization_member_checks_roles(
    own_dt: Any, own_server: ServerProcess
) -> None:
    org, _ = _org_and_home(own_dt)
    api = own_server.session()
    member = own_dt.Organization.add_member(
        org, "carol@example.com", [own_dt.Role.ORGANIZATION_ADMIN]
    )
    url = f"{own_server.api}/organizations/{org}/members/{member.member_id}"
    for body in ({"roles": ["roles/project.admin"]}, {"roles": []}, {"colour": "red"}):
        assert_error(api.patch(url, json=body), 400)
    same = api.patch(url, json={"roles": ["roles/organization.admin"]})
    assert same.status_code == 200 and same.json() == member.raw
    own_dt.Organization.remove_member(member.member_id, org)


def test_bad_page_tokens_are_400(
    dt: Any, api: requests.Session, server: ServerProcess, organization_id: str
) -> None:
    for path in ("organizations", f"organizations/{organization_id}/members", "roles"):
        assert_error(api.get(f"{server.api}/{path}", params={"pageToken": "not-a-token"}), 400)
        assert_error(api.get(f"{server.api}/{path}", params={"page_size": "many"}), 400)
