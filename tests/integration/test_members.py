"""Project members through the official client: service accounts become ACCEPTED members, any other
email a PENDING user; roles are checked per scope; a member's role is what authorizes it, from the
next request.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.harness.accounts import make_account
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error

MEMBER_KEYS = {"name", "displayName", "roles", "status", "email", "accountType", "createTime"}


def test_add_a_service_account_as_a_member(dt: Any, server: ServerProcess, project_id: str) -> None:
    account = make_account(server, project_id, display_name="robot")
    member = dt.Project.add_member(project_id, account.email, [dt.Role.PROJECT_DEVELOPER])
    assert set(member.raw) == MEMBER_KEYS
    assert member.raw["name"] == f"projects/{project_id}/members/{account.account_id}"
    assert member.member_id == account.account_id
    assert member.roles == ["project.developer"]
    assert (member.status, member.account_type) == ("ACCEPTED", "SERVICE_ACCOUNT")
    assert (member.email, member.display_name) == (account.email, "robot")
    assert member.create_time is not None

    assert dt.Project.get_member(account.account_id, project_id).raw == member.raw
    listed = {m.member_id: m for m in dt.Project.list_members(project_id)}
    assert listed[account.account_id].raw == member.raw


def test_any_other_email_is_a_pending_user(dt: Any, project_id: str, organization_id: str) -> None:
    member = dt.Project.add_member(project_id, "Ada@Example.com", [dt.Role.PROJECT_USER])
    assert (member.status, member.account_type, member.email) == (
        "PENDING",
        "USER",
        "ada@example.com",
    )
    assert dt.Project.get_member_invite_url(member.member_id, project_id) == ""

    # One email, one member id everywhere.
    other = dt.Project.create_project(organization_id, "second home")
    again = dt.Project.add_member(other.project_id, "ada@example.com", [dt.Role.PROJECT_ADMIN])
    assert again.member_id == member.member_id


def test_invite_url_of_an_accepted_member_is_400(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    with pytest.raises(dt.errors.BadRequest):
        dt.Project.get_member_invite_url(account.account_id, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.Project.get_member_invite_url("nobody", project_id)


def test_adding_a_member_twice_is_409(dt: Any, server: ServerProcess, project_id: str) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    with pytest.raises(dt.errors.Conflict):
        dt.Project.add_member(project_id, account.email, [dt.Role.PROJECT_ADMIN])
    assert dt.Project.get_member(account.account_id, project_id).roles == ["project.user"]


def test_roles_decide_what_a_member_may_do_from_the_next_request(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    with pytest.raises(dt.errors.Forbidden):
        dt.ServiceAccount.create_service_account(project_id, auth=account.auth)

    updated = dt.Project.update_member(account.account_id, project_id, [dt.Role.PROJECT_ADMIN])
    assert updated.roles == ["project.admin"]
    made = dt.ServiceAccount.create_service_account(project_id, "by the member", auth=account.auth)
    assert made.display_name == "by the member"

    dt.Project.remove_member(account.account_id, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.Project.get_project(project_id, auth=account.auth)
    with pytest.raises(dt.errors.NotFound):
        dt.Project.get_member(account.account_id, project_id)
    # Removing a membership does not delete the account.
    assert (
        dt.ServiceAccount.get_service_account(account.account_id, project_id).email == account.email
    )


def test_member_display_name_follows_the_service_account(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER, display_name="before")
    dt.ServiceAccount.update_service_account(account.account_id, project_id, display_name="after")
    assert dt.Project.get_member(account.account_id, project_id).display_name == "after"


def test_a_service_account_of_another_project_can_be_granted_a_role(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    elsewhere = dt.Project.create_project(organization_id, "elsewhere").project_id
    account = make_account(server, elsewhere)
    dt.Project.add_member(project_id, account.email, [dt.Role.PROJECT_USER])
    visible = [p.project_id for p in dt.Project.list_projects(auth=account.auth)]
    assert visible == [project_id], "a role in project_id only; none in its own project"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"email": "x@example.com"}, "roles"),
        ({"roles": ["roles/project.user"]}, "email"),
        ({"email": "x@example.com", "roles": []}, "roles"),
        ({"email": "x@example.com", "roles": "roles/project.user"}, "roles"),
        ({"email": "x@example.com", "roles": [7]}, "roles"),
        ({"email": "x@example.com", "roles": ["roles/organization.admin"]}, "organization.admin"),
        ({"email": "x@example.com", "roles": ["project.user"]}, "project.user"),
        (
            {"email": "x@example.com", "roles": ["roles/project.user", "roles/project.user"]},
            "twice",
        ),
        ({"email": "not an email", "roles": ["roles/project.user"]}, "email"),
        ({"email": 42, "roles": ["roles/project.user"]}, "email"),
        ({"email": "x@example.com", "roles": ["roles/project.user"], "colour": "red"}, "colour"),
    ],
)
def test_add_rejects_bad_bodies(
    api: requests.Session,
    server: ServerProcess,
    project_id: str,
    body: dict[str, Any],
    fragment: str,
) -> None:
    url = f"{server.api}/projects/{project_id}/members"
    before = api.get(url).json()
    error = assert_error(api.post(url, json=body), 400)
    assert fragment in error["error"]
    assert api.get(url).json() == before


def test_add_ignores_output_only_fields(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    body = {
        "email": "grace@example.com",
        "roles": ["roles/project.user"],
        "name": "projects/x/members/chosen",
        "displayName": "ignored",
        "status": "ACCEPTED",
        "accountType": "SERVICE_ACCOUNT",
        "createTime": "2020-01-01T00:00:00Z",
    }
    res = api.post(f"{server.api}/projects/{project_id}/members", json=body)
    assert res.status_code == 200, res.text
    made = res.json()
    assert (made["status"], made["accountType"]) == ("PENDING", "USER")
    assert not made["name"].endswith("/chosen") and made["createTime"] != "2020-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "body",
    [{"roles": []}, {"roles": ["roles/organization.admin"]}, {"roles": "x"}, {"colour": "red"}],
)
def test_update_rejects_bad_bodies(
    dt: Any, api: requests.Session, server: ServerProcess, project_id: str, body: dict[str, Any]
) -> None:
    member = dt.Project.add_member(project_id, "linus@example.com", [dt.Role.PROJECT_USER])
    url = f"{server.api}/projects/{project_id}/members/{member.member_id}"
    assert_error(api.patch(url, json=body), 400)
    assert api.get(url).json() == member.raw


def test_update_with_nothing_changes_nothing(
    api: requests.Session, dt: Any, server: ServerProcess, project_id: str
) -> None:
    member = dt.Project.add_member(project_id, "ken@example.com", [dt.Role.PROJECT_USER])
    url = f"{server.api}/projects/{project_id}/members/{member.member_id}"
    res = api.patch(url, json={"email": "someone@else.com", "status": "ACCEPTED"})
    assert res.status_code == 200 and res.json() == member.raw


def test_malformed_json_is_400(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    url = f"{server.api}/projects/{project_id}/members"
    res = api.post(url, data=b'{"email": ', headers={"Content-Type": "application/json"})
    assert_error(res, 400)
    assert_error(api.get(url, params={"pageToken": "%%%"}), 400)


def test_members_need_the_membership_permissions(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    developer = make_account(server, project_id, role=dt.Role.PROJECT_DEVELOPER)
    assert len(dt.Project.list_members(project_id, auth=developer.auth)) == 1  # membership.read
    with pytest.raises(dt.errors.Forbidden):
        dt.Project.add_member(
            project_id, "eve@example.com", [dt.Role.PROJECT_ADMIN], auth=developer.auth
        )
    with pytest.raises(dt.errors.Forbidden):
        dt.Project.update_member(
            developer.account_id, project_id, [dt.Role.PROJECT_ADMIN], auth=developer.auth
        )
    with pytest.raises(dt.errors.Forbidden):
        dt.Project.remove_member(developer.account_id, project_id, auth=developer.auth)
    assert dt.Project.get_member(developer.account_id, project_id).roles == ["project.developer"]


def test_members_of_another_project_are_404(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    other = dt.Project.create_project(organization_id, "other").project_id
    outsider = make_account(server, other, role=dt.Role.PROJECT_ADMIN)
    with pytest.raises(dt.errors.NotFound):
        dt.Project.list_members(project_id, auth=outsider.auth)
    with pytest.raises(dt.errors.NotFound):
        dt.Project.add_member(
            project_id, outsider.email, [dt.Role.PROJECT_ADMIN], auth=outsider.auth
        )
    with pytest.raises(dt.errors.NotFound):
        dt.Project.remove_member("x", project_id)


def test_a_changed_role_counts_from_the_very_next_request(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    """Roles are cached for up to a second; a change made in this server must not wait for that."""
    account = make_account(server, project_id, role=dt.Role.PROJECT_ADMIN)
    session = account.session()
    accounts_url = f"{server.api}/projects/{project_id}/serviceaccounts"
    for _ in range(3):  # warm: the admin's roles in the project are now remembered
        assert session.get(accounts_url).status_code == 200
    assert session.post(accounts_url, json={}).status_code == 200
    dt.Project.update_member(account.account_id, project_id, [dt.Role.PROJECT_USER])
    assert_error(session.post(accounts_url, json={}), 403)
    dt.Project.remove_member(account.account_id, project_id)
    assert_error(session.get(accounts_url), 404)
    dt.Project.add_member(project_id, account.email, [dt.Role.PROJECT_ADMIN])
    assert session.post(accounts_url, json={}).status_code == 200
    dt.ServiceAccount.update_service_account(
        account.account_id, project_id, basic_auth_enabled=False
    )
    assert_error(session.get(accounts_url), 401)
