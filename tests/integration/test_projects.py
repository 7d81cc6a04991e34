"""Projects through the official client: create, get, list and filter, rename, delete (with what is
in it), permissions; and every kind of bad input answered 400/404 with nothing changed.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.harness.accounts import make_account
from tests.harness.receivers import eventually_sync
from tests.harness.server import ServerProcess
from tests.harness.stored import arrange, read_stored
from tests.harness.wire import assert_error


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_create_get_and_list_a_project(dt: Any, organization_id: str) -> None:
    name = unique("created")
    project = dt.Project.create_project(organization_id, name)
    assert project.display_name == name
    assert project.organization_id == organization_id
    assert project.organization_display_name == "Conduit"
    assert (project.sensor_count, project.cloud_connector_count, project.is_inventory) == (
        0,
        0,
        False,
    )
    assert len(project.project_id) == 20

    fetched = dt.Project.get_project(project.project_id)
    assert fetched.raw == project.raw
    listed = dt.Project.list_projects(organization_id=organization_id)
    assert project.project_id in [p.project_id for p in listed]


def test_list_filters_by_query_and_organization(dt: Any, organization_id: str) -> None:
    marker = unique("needle")
    wanted = dt.Project.create_project(organization_id, f"Big {marker.upper()} project")
    dt.Project.create_project(organization_id, unique("haystack"))

    found = dt.Project.list_projects(query=marker)
    assert [p.project_id for p in found] == [wanted.project_id], "query is case-insensitive"
    assert dt.Project.list_projects(query=wanted.project_id)[0].project_id == wanted.project_id
    assert dt.Project.list_projects(organization_id="no-such-org") == []
    by_org = dt.Project.list_projects(organization_id=organization_id, query=marker)
    assert [p.project_id for p in by_org] == [wanted.project_id]


def test_list_paginates_with_page_tokens(
    api: requests.Session, server: ServerProcess, dt: Any, organization_id: str
) -> None:
    marker = unique("paged")
    ids = {dt.Project.create_project(organization_id, f"{marker}-{i}").project_id for i in range(3)}
    seen: list[str] = []
    token = ""
    for _ in range(5):
        res = api.get(
            f"{server.api}/projects", params={"query": marker, "pageSize": 2, "pageToken": token}
        )
        assert res.status_code == 200
        body = res.json()
        seen += [p["name"].split("/")[1] for p in body["projects"]]
        token = body["nextPageToken"]
        assert isinstance(token, str)
        if not token:
            break
    assert sorted(seen) == sorted(ids)


def test_rename_a_project(
    dt: Any, project_id: str, api: requests.Session, server: ServerProcess
) -> None:
    dt.Project.update_project(project_id, display_name="renamed")
    assert dt.Project.get_project(project_id).display_name == "renamed"
    dt.Project.update_project(project_id)  # sends {}: nothing changes
    assert dt.Project.get_project(project_id).display_name == "renamed"

    # Output-only fields sent back with the resource are ignored; the organization may be restated.
    whole = api.get(f"{server.api}/projects/{project_id}").json()
    res = api.patch(f"{server.api}/projects/{project_id}", json={**whole, "displayName": "again"})
    assert res.status_code == 200, res.text
    assert res.json() == {**whole, "displayName": "again"}


def test_create_ignores_output_only_fields(
    api: requests.Session, server: ServerProcess, organization_id: str
) -> None:
    body = {
        "displayName": "with extras",
        "organization": f"organizations/{organization_id}",
        "name": "projects/chosen-by-me",
        "organizationDisplayName": "whatever",
        "sensorCount": 99,
        "cloudConnectorCount": 3,
        "inventory": True,
    }
    res = api.post(f"{server.api}/projects", json=body)
    assert res.status_code == 200, res.text
    made = res.json()
    assert made["name"] != "projects/chosen-by-me"
    assert (made["sensorCount"], made["inventory"], made["organizationDisplayName"]) == (
        0,
        False,
        "Conduit",
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"organization": "organizations/{org}"}, "displayName"),
        ({"displayName": "x"}, "organization"),
        ({"displayName": 5, "organization": "organizations/{org}"}, "displayName"),
        ({"displayName": "  ", "organization": "organizations/{org}"}, "displayName"),
        ({"displayName": "x" * 257, "organization": "organizations/{org}"}, "displayName"),
        ({"displayName": "x", "organization": 7}, "organization"),
        ({"displayName": "x", "organization": "organizations/"}, "organization"),
        ({"displayName": "x", "organization": "organizations/{org}", "colour": "red"}, "colour"),
    ],
)
def test_create_rejects_bad_bodies(
    api: requests.Session,
    server: ServerProcess,
    organization_id: str,
    body: dict[str, Any],
    fragment: str,
) -> None:
    before = api.get(f"{server.api}/projects").json()["projects"]
    payload = {
        k: v.replace("{org}", organization_id) if isinstance(v, str) else v for k, v in body.items()
    }
    error = assert_error(api.post(f"{server.api}/projects", json=payload), 400)
    assert fragment in error["error"]
    assert api.get(f"{server.api}/projects").json()["projects"] == before


def test_create_rejects_malformed_json(api: requests.Session, server: ServerProcess) -> None:
    for raw in (b"{not json", b"[1, 2]", b'"a string"', b""):
        res = api.post(
            f"{server.api}/projects", data=raw, headers={"Content-Type": "application/json"}
        )
        assert_error(res, 400)


def test_create_in_unknown_organization_is_404(
    dt: Any, api: requests.Session, server: ServerProcess
) -> None:
    res = api.post(
        f"{server.api}/projects", json={"displayName": "x", "organization": "organizations/nope"}
    )
    assert_error(res, 404)
    with pytest.raises(dt.errors.NotFound):
        dt.Project.create_project("nope", "x")


def test_only_organization_admins_create_projects(
    server: ServerProcess, dt: Any, project_id: str, organization_id: str
) -> None:
    admin = make_account(server, project_id, role=dt.Role.PROJECT_ADMIN)
    with pytest.raises(dt.errors.Forbidden):
        dt.Project.create_project(organization_id, "not allowed", auth=admin.auth)
    outsider = make_account(server, project_id)  # no role anywhere
    with pytest.raises(dt.errors.NotFound):
        dt.Project.create_project(organization_id, "not allowed", auth=outsider.auth)


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": 5},
        {"displayName": ""},
        {"displayName": None},
        {"colour": "red"},
        {"organization": "organizations/elsewhere"},
        {"organization": 3},
    ],
)
def test_update_rejects_bad_bodies(
    api: requests.Session, server: ServerProcess, project_id: str, body: dict[str, Any]
) -> None:
    before = api.get(f"{server.api}/projects/{project_id}").json()
    assert_error(api.patch(f"{server.api}/projects/{project_id}", json=body), 400)
    assert api.get(f"{server.api}/projects/{project_id}").json() == before


def test_update_rejects_malformed_json(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    res = api.patch(
        f"{server.api}/projects/{project_id}",
        data=b"{oops",
        headers={"Content-Type": "application/json"},
    )
    assert_error(res, 400)


def test_bad_page_tokens_and_sizes_are_400(api: requests.Session, server: ServerProcess) -> None:
    for params in (
        {"pageToken": "garbage!"},
        {"pageToken": "bzot"},
        {"pageSize": "ten"},
        {"pageSize": -1},
    ):
        assert_error(api.get(f"{server.api}/projects", params=params), 400)
    assert_error(
        api.get(f"{server.api}/projects", params={"organization": "organizations/a/b"}), 400
    )


def test_delete_a_project_with_devices_in_it(
    dt: Any, server: ServerProcess, organization_id: str
) -> None:
    project = dt.Project.create_project(organization_id, unique("doomed"))
    pid = project.project_id
    device = dt.Emulator.create_device(pid, "temperature", display_name="in the way")
    connector = dt.DataConnector.create_data_connector(
        pid, dt.DataConnector.HttpPushConfig(url="https://127.0.0.1:9/never")
    )
    cid = connector.data_connector_id
    dt.Emulator.publish_event(device.device_id, pid, dt.events.Temperature(21.5))
    assert len(dt.EventHistory.list_events(device.device_id, pid)) == 1
    # The connector's attempt log and counters, which outlive queue rows, must go too.
    eventually_sync(
        lambda: read_stored(server, lambda store: store.list_delivery_attempts(cid, 10)) != []
    )
    arrange(
        server,
        "INSERT INTO delivery_counters(connector_id, name, value) VALUES (?, 'expired', 3)",
        "INSERT INTO delivery_counters(connector_id, name, value) VALUES ($1, 'expired', 3)",
        cid,
    )
    assert read_stored(server, lambda store: store.delivery_counter(cid, "expired")) == 3
    member = make_account(server, pid, role=dt.Role.PROJECT_USER)
    assert member.session().get(f"{server.api}/projects/{pid}").status_code == 200
    assert dt.Project.get_project(pid).sensor_count == 1

    dt.Project.delete_project(pid)

    with pytest.raises(dt.errors.NotFound):
        dt.Project.get_project(pid)
    with pytest.raises(dt.errors.NotFound):
        dt.Device.get_device(device.device_id, pid)
    assert pid not in [p.project_id for p in dt.Project.list_projects()]
    # The project's own service accounts went with it: their credentials are refused.
    assert_error(member.session().get(f"{server.api}/projects"), 401)
    # And so did its event history and its memberships.
    history = read_stored(
        server,
        lambda store: store.list_events(
            device.device_id, start=0, end=1e12, event_types=[], after=None, limit=10
        ),
    )
    assert history == []
    assert read_stored(server, lambda store: store.list_memberships("project", pid)) == []
    gone = read_stored(
        server, lambda store: store.get_dataconnector(pid, connector.data_connector_id)
    )
    assert gone is None
    assert read_stored(server, lambda store: store.queued_count(connector.data_connector_id)) == 0
    assert read_stored(server, lambda store: store.list_delivery_attempts(cid, 10)) == []
    assert read_stored(server, lambda store: store.delivery_counter(cid, "expired")) == 0


def test_delete_needs_project_delete(dt: Any, server: ServerProcess, project_id: str) -> None:
    developer = make_account(server, project_id, role=dt.Role.PROJECT_DEVELOPER)
    with pytest.raises(dt.errors.Forbidden):
        dt.Project.delete_project(project_id, auth=developer.auth)
    assert dt.Project.get_project(project_id).project_id == project_id
    with pytest.raises(dt.errors.NotFound):
        dt.Project.delete_project("doesnotexist")


def test_the_project_of_an_organization_admin_cannot_be_deleted(
    dt: Any, server: ServerProcess
) -> None:
    home = server.credentials["email"].split("@")[1].split(".")[0]  # the bootstrap admin's project
    with pytest.raises(dt.errors.BadRequest):
        dt.Project.delete_project(home)
    assert dt.Project.get_project(home).display_name == "default"


def test_permissions_are_those_of_the_callers_role(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    user = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    granted = dt.Project.list_permissions(project_id, auth=user.auth)
    assert sorted(granted) == sorted(dt.Role.get_role(dt.Role.PROJECT_USER).permissions)
    everything = dt.Project.list_permissions(project_id)  # the organization admin
    assert "project.delete" in everything and "serviceaccount.key.create" in everything
