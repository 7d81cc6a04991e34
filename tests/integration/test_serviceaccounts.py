"""Service accounts and keys through the official client: the whole life cycle, the secret shown
once, a new account granted nothing, deleted credentials refused on the very next request, and bad
input.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.harness.accounts import make_account
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error

ACCOUNT_KEYS = {"name", "email", "displayName", "enableBasicAuth", "createTime", "updateTime"}


def test_create_get_list_update_delete(dt: Any, project_id: str) -> None:
    made = dt.ServiceAccount.create_service_account(
        project_id, "sensor bridge", basic_auth_enabled=True
    )
    assert set(made.raw) == ACCOUNT_KEYS
    assert made.raw["name"] == f"projects/{project_id}/serviceaccounts/{made.service_account_id}"
    assert made.email == f"{made.service_account_id}@{project_id}.serviceaccount.conduit.local"
    assert (made.display_name, made.basic_auth_enabled) == ("sensor bridge", True)
    assert made.create_time == made.update_time

    assert (
        dt.ServiceAccount.get_service_account(made.service_account_id, project_id).raw == made.raw
    )
    listed = dt.ServiceAccount.list_service_accounts(project_id)
    assert [a.service_account_id for a in listed] == [made.service_account_id]

    renamed = dt.ServiceAccount.update_service_account(
        made.service_account_id, project_id, display_name="renamed"
    )
    assert (renamed.display_name, renamed.basic_auth_enabled) == ("renamed", True)
    assert renamed.update_time >= made.update_time
    switched = dt.ServiceAccount.update_service_account(
        made.service_account_id, project_id, basic_auth_enabled=False
    )
    assert (switched.display_name, switched.basic_auth_enabled) == ("renamed", False)
    same = dt.ServiceAccount.update_service_account(made.service_account_id, project_id)  # sends {}
    assert same.raw == switched.raw

    dt.ServiceAccount.delete_service_account(made.service_account_id, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.ServiceAccount.get_service_account(made.service_account_id, project_id)
    assert dt.ServiceAccount.list_service_accounts(project_id) == []


def test_defaults_when_created_with_nothing(
    dt: Any, project_id: str, api: requests.Session, server: ServerProcess
) -> None:
    made = dt.ServiceAccount.create_service_account(project_id)
    assert (made.display_name, made.basic_auth_enabled) == ("", False)
    res = api.post(f"{server.api}/projects/{project_id}/serviceaccounts")  # no body at all
    assert res.status_code == 200, res.text
    assert res.json()["enableBasicAuth"] is False


def test_keys_life_cycle_and_the_secret_is_shown_once(
    dt: Any, project_id: str, api: requests.Session, server: ServerProcess
) -> None:
    account = dt.ServiceAccount.create_service_account(project_id, "keyholder")
    sa = account.service_account_id
    res = api.post(f"{server.api}/projects/{project_id}/serviceaccounts/{sa}/keys")
    assert res.status_code == 200, res.text
    created = res.json()
    assert set(created) == {"key", "secret"}
    key_id = created["key"]["id"]
    assert created["key"] == {
        "name": f"projects/{project_id}/serviceaccounts/{sa}/keys/{key_id}",
        "id": key_id,
        "createTime": created["key"]["createTime"],
    }
    assert len(created["secret"]) == 32

    second = dt.ServiceAccount.create_key(sa, project_id)
    assert second.secret and second.secret != created["secret"]

    fetched = dt.ServiceAccount.get_key(key_id, sa, project_id)
    assert fetched.secret is None and "secret" not in fetched.raw
    assert fetched.raw == created["key"]
    listed = dt.ServiceAccount.list_keys(sa, project_id)
    assert sorted(k.key_id for k in listed) == sorted([key_id, second.key_id])
    assert all("secret" not in k.raw for k in listed)

    dt.ServiceAccount.delete_key(key_id, sa, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.ServiceAccount.get_key(key_id, sa, project_id)
    assert [k.key_id for k in dt.ServiceAccount.list_keys(sa, project_id)] == [second.key_id]


def test_at_most_ten_keys_per_account(dt: Any, project_id: str) -> None:
    sa = dt.ServiceAccount.create_service_account(project_id).service_account_id
    for _ in range(10):
        dt.ServiceAccount.create_key(sa, project_id)
    with pytest.raises(dt.errors.BadRequest):
        dt.ServiceAccount.create_key(sa, project_id)
    assert len(dt.ServiceAccount.list_keys(sa, project_id)) == 10


def test_a_new_service_account_is_a_member_of_nothing(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    account = make_account(server, project_id)
    assert dt.Project.list_projects(auth=account.auth) == []
    assert dt.Organization.list_organizations(auth=account.auth) == []
    with pytest.raises(dt.errors.NotFound):
        dt.Project.get_project(project_id, auth=account.auth)
    assert account.account_id not in [m.member_id for m in dt.Project.list_members(project_id)]


def test_deleted_account_is_refused_on_the_next_request(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    bearer, basic = account.bearer(), account.session()
    url = f"{server.api}/projects/{project_id}"
    assert bearer.get(url).status_code == 200 and basic.get(url).status_code == 200  # now cached
    dt.ServiceAccount.delete_service_account(account.account_id, project_id)
    assert_error(bearer.get(url), 401)
    assert_error(basic.get(url), 401)
    with pytest.raises(dt.errors.NotFound):
        dt.Project.get_member(account.account_id, project_id)


def test_deleted_key_is_refused_on_the_next_request(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    bearer, basic = account.bearer(), account.session()
    url = f"{server.api}/projects/{project_id}"
    assert bearer.get(url).status_code == 200 and basic.get(url).status_code == 200
    dt.ServiceAccount.delete_key(account.key_id, account.account_id, project_id)
    assert_error(bearer.get(url), 401)
    assert_error(basic.get(url), 401)


def test_accounts_and_keys_of_another_project_are_404(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    other = dt.Project.create_project(organization_id, "other").project_id
    foreign = make_account(server, other)
    with pytest.raises(dt.errors.NotFound):
        dt.ServiceAccount.get_service_account(foreign.account_id, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.ServiceAccount.list_keys(foreign.account_id, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.ServiceAccount.get_key(foreign.key_id, foreign.account_id, project_id)
    with pytest.raises(dt.errors.NotFound):
        dt.ServiceAccount.delete_service_account(foreign.account_id, project_id)
    mine = dt.ServiceAccount.create_service_account(project_id).service_account_id
    with pytest.raises(dt.errors.NotFound):
        dt.ServiceAccount.get_key(foreign.key_id, mine, project_id)
    assert dt.ServiceAccount.get_service_account(foreign.account_id, other).email == foreign.email


def test_roles_needed_for_service_accounts(dt: Any, server: ServerProcess, project_id: str) -> None:
    user = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    assert len(dt.ServiceAccount.list_service_accounts(project_id, auth=user.auth)) == 1
    assert len(dt.ServiceAccount.list_keys(user.account_id, project_id, auth=user.auth)) == 1
    for call in (
        lambda: dt.ServiceAccount.create_service_account(project_id, auth=user.auth),
        lambda: dt.ServiceAccount.update_service_account(
            user.account_id, project_id, "x", auth=user.auth
        ),
        lambda: dt.ServiceAccount.delete_service_account(
            user.account_id, project_id, auth=user.auth
        ),
        lambda: dt.ServiceAccount.create_key(user.account_id, project_id, auth=user.auth),
        lambda: dt.ServiceAccount.delete_key(
            user.key_id, user.account_id, project_id, auth=user.auth
        ),
    ):
        with pytest.raises(dt.errors.Forbidden):
            call()
    assert len(dt.ServiceAccount.list_keys(user.account_id, project_id)) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"displayName": 5}, "displayName"),
        ({"displayName": "x" * 257}, "displayName"),
        ({"enableBasicAuth": "yes"}, "enableBasicAuth"),
        ({"enableBasicAuth": 1}, "enableBasicAuth"),
        ({"enableBasicAuth": None}, "enableBasicAuth"),
        ({"roles": ["roles/project.admin"]}, "roles"),
    ],
)
def test_create_and_update_reject_bad_bodies(
    api: requests.Session,
    server: ServerProcess,
    project_id: str,
    body: dict[str, Any],
    fragment: str,
) -> None:
    base = f"{server.api}/projects/{project_id}/serviceaccounts"
    existing = api.post(base, json={"displayName": "kept"}).json()
    item = f"{server.api}/{existing['name']}"
    assert fragment in assert_error(api.post(base, json=body), 400)["error"]
    assert fragment in assert_error(api.patch(item, json=body), 400)["error"]
    assert api.get(base).json()["serviceAccounts"] == [existing]


def test_output_only_fields_are_ignored(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    base = f"{server.api}/projects/{project_id}/serviceaccounts"
    made = api.post(base, json={"displayName": "a"}).json()
    sent_back = {
        **made,
        "displayName": "b",
        "email": "me@evil.example",
        "createTime": "2000-01-01T00:00:00Z",
    }
    res = api.patch(f"{server.api}/{made['name']}", json=sent_back)
    assert res.status_code == 200, res.text
    assert (res.json()["displayName"], res.json()["email"], res.json()["createTime"]) == (
        "b",
        made["email"],
        made["createTime"],
    )


def test_malformed_json_and_bodies_on_keys(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    base = f"{server.api}/projects/{project_id}/serviceaccounts"
    assert_error(api.post(base, data=b"{nope", headers={"Content-Type": "application/json"}), 400)
    assert_error(api.post(base, data=b"[]", headers={"Content-Type": "application/json"}), 400)
    sa = api.post(base, json={}).json()["name"]
    assert_error(api.post(f"{server.api}/{sa}/keys", json={"secret": "mine"}), 400)
    assert api.get(f"{server.api}/{sa}/keys").json() == {"keys": [], "nextPageToken": ""}
    assert_error(api.get(base, params={"pageToken": "bm9wZQ"}), 400)
    assert_error(api.get(f"{server.api}/{sa}/keys", params={"pageToken": "bm9wZQ"}), 400)
