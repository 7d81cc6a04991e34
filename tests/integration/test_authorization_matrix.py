"""Every route for every kind of caller, allowed or refused, from one table (issue 7).

Callers are service accounts (Basic auth, as the official client calls) and Studio users signed in
with a session cookie (and the CSRF token on every request): a user reaches the same permission
checks through its member id, and these columns hold it to that, route by route.

`PERMISSIONS` copies the role permission lists of SPEC §8 (not `domain/roles.py`, which is what is
being tested); `ROUTES` names the permission each route needs and where it is checked. The expected
answer of each cell follows from those two tables alone:

- no credentials: 401;
- allowed: 200;
- a project route, caller without any role in the project (a member of another project): 404;
- a project route, role without the permission: 403;
- an organization route, caller without the organization role: 403 (the organization is visible
  to members of its projects).

Each allowed request is a real one (valid body, existing target), so "allowed" means the operation
ran; destructive routes get a fresh target per cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import disruptive as dt_module
import pytest
import requests

from tests.harness.accounts import make_account
from tests.harness.resources import new_project
from tests.harness.server import ServerProcess
from tests.harness.users import add_user, sign_in

_USER = {
    "project.read",
    "membership.read",
    "sensor.read",
    "device.read",
    "dataconnector.read",
    "serviceaccount.read",
    "serviceaccount.key.read",
    "emulator.read",
}
_DEVELOPER = _USER | {
    "sensor.update",
    "device.update",
    "dataconnector.create",
    "dataconnector.update",
    "dataconnector.delete",
    "emulator.create",
    "emulator.update",
    "emulator.delete",
}
_ADMIN = _DEVELOPER | {
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
}
_ORG_ADMIN = _ADMIN | {"project.create", "organization.read", "organization.update"}

# caller → (its permissions in the project under test, its permissions in the organization)
PERMISSIONS: dict[str, tuple[set[str], set[str]]] = {
    "project user": (_USER, set()),
    "project developer": (_DEVELOPER, set()),
    "project admin": (_ADMIN, set()),
    "organization admin": (_ORG_ADMIN, _ORG_ADMIN),
    "other project's member": (set(), set()),
    "no credentials": (set(), set()),
    "project user, signed in": (_USER, set()),
    "project developer, signed in": (_DEVELOPER, set()),
    "project admin, signed in": (_ADMIN, set()),
    "other project's user, signed in": (set(), set()),
    "organization admin, signed in": (_ORG_ADMIN, _ORG_ADMIN),
}

PROJECT, ORGANIZATION, ANY = "project", "organization", "any"


@dataclass
class World:
    """The resources every cell's request is made against."""

    server: ServerProcess
    admin: requests.Session  # the bootstrap organization admin
    organization: str
    project: str
    device: str
    connector: str
    account: str  # a service account of the project with no roles (safe to manage)
    key: str
    member: str  # a service-account member (project user) whose roles may be rewritten
    pending: str  # a pending user member, for :getInviteUrl
    serial: itertools.count[int]

    def url(self, path: str) -> str:
        return f"{self.server.api}/{path}".replace("{p}", self.project).replace(
            "{o}", self.organization
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        res = self.admin.post(self.url(path), json=body)
        assert res.status_code == 200, res.text
        result: dict[str, Any] = res.json()
        return result

    def fresh(self, kind: str) -> str:
        """A new resource of `kind` in the project (targets of destructive cells)."""
        n = next(self.serial)
        if kind == "device":
            return self.post("projects/{p}/devices", {"type": "touch"})["name"].split("/")[-1]
        if kind == "connector":
            made = self.post(
                "projects/{p}/dataconnectors",
                {"httpConfig": {"url": f"http://127.0.0.1:9/{n}"}},
            )
            return str(made["name"].split("/")[-1])
        if kind == "account":
            return self.post("projects/{p}/serviceaccounts", {})["name"].split("/")[-1]
        if kind == "key":
            made = self.post(f"projects/{{p}}/serviceaccounts/{self.account}/keys", {})
            return str(made["key"]["id"])
        if kind == "project member":
            made = self.post(
                "projects/{p}/members",
                {"email": f"m{n}@example.com", "roles": ["roles/project.user"]},
            )
            return str(made["name"].split("/")[-1])
        if kind == "organization member":
            made = self.post(
                "organizations/{o}/members",
                {"email": f"o{n}@example.com", "roles": ["roles/organization.admin"]},
            )
            return str(made["name"].split("/")[-1])
        raise AssertionError(kind)


Request = Callable[[World], tuple[str, str, dict[str, Any] | None]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str
    permission: str | None  # None: any authenticated caller of that scope
    request: Request


def _get(path: str) -> Request:
    return lambda w: ("GET", path, None)


ROUTES: list[Route] = [
    # organizations
    Route("GET", "/v2/organizations", ANY, None, _get("organizations")),
    Route("GET", "/v2/organizations/{o}", ORGANIZATION, None, _get("organizations/{o}")),
    Route(
        "GET",
        "/v2/organizations/{o}/permissions",
        ORGANIZATION,
        None,
        _get("organizations/{o}/permissions"),
    ),
    Route(
        "GET",
        "/v2/organizations/{o}/members",
        ORGANIZATION,
        "membership.read",
        _get("organizations/{o}/members"),
    ),
    Route(
        "POST",
        "/v2/organizations/{o}/members",
        ORGANIZATION,
        "membership.create",
        lambda w: (
            "POST",
            "organizations/{o}/members",
            {"email": f"new{next(w.serial)}@example.com", "roles": ["roles/organization.admin"]},
        ),
    ),
    Route(
        "GET",
        "/v2/organizations/{o}/members/{m}",
        ORGANIZATION,
        "membership.read",
        lambda w: ("GET", f"organizations/{{o}}/members/{w.fresh('organization member')}", None),
    ),
    Route(
        "PATCH",
        "/v2/organizations/{o}/members/{m}",
        ORGANIZATION,
        "membership.update",
        lambda w: (
            "PATCH",
            f"organizations/{{o}}/members/{w.fresh('organization member')}",
            {"roles": ["roles/organization.admin"]},
        ),
    ),
    Route(
        "DELETE",
        "/v2/organizations/{o}/members/{m}",
        ORGANIZATION,
        "membership.delete",
        lambda w: ("DELETE", f"organizations/{{o}}/members/{w.fresh('organization member')}", None),
    ),
    Route(
        "GET",
        "/v2/organizations/{o}/members/{m}:getInviteUrl",
        ORGANIZATION,
        "membership.create",
        lambda w: (
            "GET",
            f"organizations/{{o}}/members/{w.fresh('organization member')}:getInviteUrl",
            None,
        ),
    ),
    # projects
    Route("GET", "/v2/projects", ANY, None, _get("projects")),
    Route(
        "POST",
        "/v2/projects",
        ORGANIZATION,
        "project.create",
        lambda w: (
            "POST",
            "projects",
            {"displayName": "m", "organization": f"organizations/{w.organization}"},
        ),
    ),
    Route("GET", "/v2/projects/{p}", PROJECT, "project.read", _get("projects/{p}")),
    Route(
        "PATCH",
        "/v2/projects/{p}",
        PROJECT,
        "project.update",
        lambda w: ("PATCH", "projects/{p}", {"displayName": "matrix"}),
    ),
    Route("GET", "/v2/projects/{p}/permissions", PROJECT, None, _get("projects/{p}/permissions")),
    # project members
    Route(
        "GET", "/v2/projects/{p}/members", PROJECT, "membership.read", _get("projects/{p}/members")
    ),
    Route(
        "POST",
        "/v2/projects/{p}/members",
        PROJECT,
        "membership.create",
        lambda w: (
            "POST",
            "projects/{p}/members",
            {"email": f"new{next(w.serial)}@example.com", "roles": ["roles/project.user"]},
        ),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/members/{m}",
        PROJECT,
        "membership.read",
        lambda w: ("GET", f"projects/{{p}}/members/{w.member}", None),
    ),
    Route(
        "PATCH",
        "/v2/projects/{p}/members/{m}",
        PROJECT,
        "membership.update",
        lambda w: (
            "PATCH",
            f"projects/{{p}}/members/{w.member}",
            {"roles": ["roles/project.user"]},
        ),
    ),
    Route(
        "DELETE",
        "/v2/projects/{p}/members/{m}",
        PROJECT,
        "membership.delete",
        lambda w: ("DELETE", f"projects/{{p}}/members/{w.fresh('project member')}", None),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/members/{m}:getInviteUrl",
        PROJECT,
        "membership.create",
        lambda w: ("GET", f"projects/{{p}}/members/{w.pending}:getInviteUrl", None),
    ),
    # roles
    Route("GET", "/v2/roles", ANY, None, _get("roles")),
    Route("GET", "/v2/roles/{r}", ANY, None, _get("roles/project.user")),
    # service accounts and keys
    Route(
        "GET",
        "/v2/projects/{p}/serviceaccounts",
        PROJECT,
        "serviceaccount.read",
        _get("projects/{p}/serviceaccounts"),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/serviceaccounts",
        PROJECT,
        "serviceaccount.create",
        lambda w: ("POST", "projects/{p}/serviceaccounts", {"displayName": "m"}),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/serviceaccounts/{a}",
        PROJECT,
        "serviceaccount.read",
        lambda w: ("GET", f"projects/{{p}}/serviceaccounts/{w.account}", None),
    ),
    Route(
        "PATCH",
        "/v2/projects/{p}/serviceaccounts/{a}",
        PROJECT,
        "serviceaccount.update",
        lambda w: ("PATCH", f"projects/{{p}}/serviceaccounts/{w.account}", {"displayName": "m"}),
    ),
    Route(
        "DELETE",
        "/v2/projects/{p}/serviceaccounts/{a}",
        PROJECT,
        "serviceaccount.delete",
        lambda w: ("DELETE", f"projects/{{p}}/serviceaccounts/{w.fresh('account')}", None),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/serviceaccounts/{a}/keys",
        PROJECT,
        "serviceaccount.key.read",
        lambda w: ("GET", f"projects/{{p}}/serviceaccounts/{w.account}/keys", None),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/serviceaccounts/{a}/keys",
        PROJECT,
        "serviceaccount.key.create",
        lambda w: ("POST", f"projects/{{p}}/serviceaccounts/{w.fresh('account')}/keys", {}),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/serviceaccounts/{a}/keys/{k}",
        PROJECT,
        "serviceaccount.key.read",
        lambda w: ("GET", f"projects/{{p}}/serviceaccounts/{w.account}/keys/{w.key}", None),
    ),
    Route(
        "DELETE",
        "/v2/projects/{p}/serviceaccounts/{a}/keys/{k}",
        PROJECT,
        "serviceaccount.key.delete",
        lambda w: (
            "DELETE",
            f"projects/{{p}}/serviceaccounts/{w.account}/keys/{w.fresh('key')}",
            None,
        ),
    ),
    # data connectors
    Route(
        "GET",
        "/v2/projects/{p}/dataconnectors",
        PROJECT,
        "dataconnector.read",
        _get("projects/{p}/dataconnectors"),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/dataconnectors",
        PROJECT,
        "dataconnector.create",
        lambda w: (
            "POST",
            "projects/{p}/dataconnectors",
            {"httpConfig": {"url": "http://127.0.0.1:9/new"}},
        ),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/dataconnectors/{c}",
        PROJECT,
        "dataconnector.read",
        lambda w: ("GET", f"projects/{{p}}/dataconnectors/{w.connector}", None),
    ),
    Route(
        "PATCH",
        "/v2/projects/{p}/dataconnectors/{c}",
        PROJECT,
        "dataconnector.update",
        lambda w: ("PATCH", f"projects/{{p}}/dataconnectors/{w.connector}", {"displayName": "m"}),
    ),
    Route(
        "DELETE",
        "/v2/projects/{p}/dataconnectors/{c}",
        PROJECT,
        "dataconnector.delete",
        lambda w: ("DELETE", f"projects/{{p}}/dataconnectors/{w.fresh('connector')}", None),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/dataconnectors/{c}:sync",
        PROJECT,
        "dataconnector.update",
        lambda w: ("POST", f"projects/{{p}}/dataconnectors/{w.connector}:sync", {}),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/dataconnectors/{c}:replay",
        PROJECT,
        "dataconnector.update",
        lambda w: (
            "POST",
            f"projects/{{p}}/dataconnectors/{w.connector}:replay",
            {"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-02T00:00:00Z"},
        ),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/dataconnectors/{c}:rotateSecret",
        PROJECT,
        "dataconnector.update",
        lambda w: (
            "POST",
            f"projects/{{p}}/dataconnectors/{w.fresh('connector')}:rotateSecret",
            {"signatureSecret": "rotated-in-the-matrix-0123456789"},
        ),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/dataconnectors/{c}:metrics",
        PROJECT,
        "dataconnector.read",
        lambda w: ("GET", f"projects/{{p}}/dataconnectors/{w.connector}:metrics", None),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/dataconnectors/{c}/attempts",
        PROJECT,
        "dataconnector.read",
        lambda w: ("GET", f"projects/{{p}}/dataconnectors/{w.connector}/attempts", None),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/dataconnectors/{c}/deadLetters",
        PROJECT,
        "dataconnector.read",
        lambda w: ("GET", f"projects/{{p}}/dataconnectors/{w.connector}/deadLetters", None),
    ),
    # devices, events, emulator
    Route("GET", "/v2/projects/{p}/devices", PROJECT, "device.read", _get("projects/{p}/devices")),
    Route(
        "GET",
        "/v2/projects/{p}/devices/{d}",
        PROJECT,
        "device.read",
        lambda w: ("GET", f"projects/{{p}}/devices/{w.device}", None),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/devices/{d}/events",
        PROJECT,
        "device.read",
        lambda w: ("GET", f"projects/{{p}}/devices/{w.device}/events", None),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/devices:batchUpdate",
        PROJECT,
        "device.update",
        lambda w: (
            "POST",
            "projects/{p}/devices:batchUpdate",
            {"devices": [f"projects/{w.project}/devices/{w.device}"], "addLabels": {"matrix": "1"}},
        ),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/devices:transfer",
        PROJECT,
        "device.transfer",
        lambda w: (
            "POST",
            "projects/{p}/devices:transfer",
            {"devices": [f"projects/{w.project}/devices/{w.device}"]},
        ),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/devices",
        PROJECT,
        "emulator.create",
        lambda w: ("POST", "projects/{p}/devices", {"type": "touch"}),
    ),
    Route(
        "PUT",
        "/v2/projects/{p}/devices/{d}",
        PROJECT,
        "emulator.update",
        lambda w: ("PUT", f"projects/{{p}}/devices/{w.device}", {"labels": {"k": "v"}}),
    ),
    Route(
        "DELETE",
        "/v2/projects/{p}/devices/{d}",
        PROJECT,
        "emulator.delete",
        lambda w: ("DELETE", f"projects/{{p}}/devices/{w.fresh('device')}", None),
    ),
    Route(
        "POST",
        "/v2/projects/{p}/devices/{d}:publish",
        PROJECT,
        "emulator.update",
        lambda w: ("POST", f"projects/{{p}}/devices/{w.device}:publish", {"touch": {}}),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/devices:stream",
        PROJECT,
        "device.read",
        _get("projects/{p}/devices:stream"),
    ),
    Route(
        "GET",
        "/v2/projects/{p}/devices/{d}:stream",
        PROJECT,
        "device.read",
        lambda w: ("GET", f"projects/{{p}}/devices/{w.device}:stream", None),
    ),
    # last: deleting a project (a fresh one, in which the caller holds its role)
    Route("DELETE", "/v2/projects/{p}", PROJECT, "project.delete", _get("fresh project")),
]


def expected_status(route: Route, caller: str) -> int:
    if caller == "no credentials":
        return 401
    in_project, in_organization = PERMISSIONS[caller]
    if route.scope == ANY:
        return 200
    if route.scope == ORGANIZATION:
        return 200 if route.permission is None or route.permission in in_organization else 403
    if not in_project:
        return 404
    return 200 if route.permission is None or route.permission in in_project else 403


_ROLE_OF = {
    "project user": dt_module.Role.PROJECT_USER,
    "project developer": dt_module.Role.PROJECT_DEVELOPER,
    "project admin": dt_module.Role.PROJECT_ADMIN,
}
_SIGNED_IN = {f"{caller}, signed in": role for caller, role in _ROLE_OF.items()}


class UserSession(requests.Session):
    """A signed-in Studio user as its browser calls the API: the session cookie, and the CSRF
    token on every request (only writes need it; reads must not mind it)."""

    def __init__(self, server: ServerProcess, email: str, password: str) -> None:
        super().__init__()
        self.email = email
        browser = sign_in(server, email, password)
        self.cookies.update(browser.http.cookies)
        self.headers["X-CSRF-Token"] = browser.csrf


@pytest.fixture
def world(dt: Any, server: ServerProcess, organization_id: str) -> World:
    admin = server.session()
    project = new_project(admin, server, organization_id, "matrix")
    w = World(server, admin, organization_id, project, "", "", "", "", "", "", itertools.count())
    w.device = w.fresh("device")
    w.connector = w.fresh("connector")
    w.account = w.fresh("account")
    w.key = w.fresh("key")
    member = make_account(server, project, role=dt_module.Role.PROJECT_USER)
    w.member = member.account_id
    w.pending = w.fresh("project member")
    return w


def _sessions(dt: Any, world: World) -> dict[str, requests.Session]:
    server = world.server
    sessions = {
        caller: make_account(server, world.project, role=role).session()
        for caller, role in _ROLE_OF.items()
    }
    other_project = new_project(world.admin, server, world.organization, "other")
    sessions["other project's member"] = make_account(
        server, other_project, role=dt_module.Role.PROJECT_USER
    ).session()
    sessions["organization admin"] = world.admin
    sessions["no credentials"] = requests.Session()
    for caller, role in _SIGNED_IN.items():
        sessions[caller] = UserSession(server, *add_user(server, role, world.project))
    sessions["other project's user, signed in"] = UserSession(
        server, *add_user(server, dt_module.Role.PROJECT_USER, other_project)
    )
    sessions["organization admin, signed in"] = UserSession(
        server, *add_user(server, dt_module.Role.ORGANIZATION_ADMIN)
    )
    return sessions


def _call(world: World, route: Route, caller: str, session: requests.Session) -> int:
    if route.method == "DELETE" and route.path == "/v2/projects/{p}":
        fresh = new_project(world.admin, world.server, world.organization, "doomed")
        role = _ROLE_OF.get(caller) or _SIGNED_IN.get(caller)
        if role is not None:  # the caller holds its role in the doomed project too
            world.admin.post(
                f"{world.server.api}/projects/{fresh}/members",
                json={"email": _email_of(world, session), "roles": [f"roles/{role}"]},
            ).raise_for_status()
        return session.delete(f"{world.server.api}/projects/{fresh}", timeout=10).status_code
    method, path, body = route.request(world)
    stream = path.endswith(":stream")
    res = session.request(method, world.url(path), json=body, timeout=10, stream=stream)
    res.close()
    return res.status_code


def _email_of(world: World, session: requests.Session) -> str:
    if isinstance(session, UserSession):
        return session.email
    key_id = session.auth[0]  # type: ignore[index]
    for account in world.admin.get(world.url("projects/{p}/serviceaccounts")).json()[
        "serviceAccounts"
    ]:
        keys = world.admin.get(f"{world.server.api}/{account['name']}/keys").json()["keys"]
        if any(k["id"] == key_id for k in keys):
            return str(account["email"])
    raise AssertionError("no account holds the session's key")


def test_every_route_for_every_caller(dt: Any, world: World) -> None:
    sessions = _sessions(dt, world)
    mismatches = []
    cells = 0
    for route in ROUTES:
        for caller, session in sessions.items():
            expected = expected_status(route, caller)
            got = _call(world, route, caller, session)
            cells += 1
            if got != expected:
                mismatches.append(f"{route.method} {route.path} as {caller}: {got} != {expected}")
    assert cells == len(ROUTES) * len(PERMISSIONS) == 54 * 11
    assert not mismatches, "\n".join(mismatches)
