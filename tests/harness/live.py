"""Every documented operation, and a set of live resources to aim each of them at.

The all-endpoints tests (`test_no_server_errors.py`, `test_bad_input_everywhere.py`) take the list
of operations from the OpenAPI document, so an endpoint added tomorrow is covered tomorrow. The
document is built from the routing table; `documented_operations()` builds it in-process (usable at
collection time, for parametrizing), and a test checks that the running server serves exactly that
document.

`make_live` creates one resource of every kind in a fresh project, so requests reach the rules that
sit behind the 404s, plus a valid example body per body-taking operation for the tests to bend.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import requests

from conduit.api import routing
from conduit.api.openapi import build_document
from tests.harness.server import ServerProcess

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # as documented, e.g. /v2/projects/{project}/devices/{device}:publish

    @property
    def is_stream(self) -> bool:
        return self.template.endswith(":stream")

    @property
    def takes_body(self) -> bool:
        return self.method in BODY_METHODS

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def operations_of(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
    ]


def documented_operations() -> list[Operation]:
    """The operations of the OpenAPI document the server serves, built from the same routes."""
    return operations_of(build_document(routing.all_routes()))


def served_document(server: ServerProcess) -> dict[str, Any]:
    doc: dict[str, Any] = requests.get(f"{server.api}/openapi.json", timeout=5).json()
    return doc


@dataclass(frozen=True)
class Live:
    """Ids of resources that exist, and a valid example body per body-taking operation."""

    ids: dict[str, str]
    examples: dict[tuple[str, str], list[dict[str, Any]]]

    def path(self, operation: Operation) -> str:
        """The operation's path with every parameter a live resource."""
        path = operation.template
        member = "org_member" if path.startswith("/v2/organizations") else "member"
        for name, value in {**self.ids, "member": self.ids[member]}.items():
            path = path.replace("{" + name + "}", value)
        return path

    def example(self, operation: Operation) -> dict[str, Any] | None:
        found = self.examples.get((operation.method, operation.template))
        return found[0] if found else None


def _made(res: requests.Response) -> dict[str, Any]:
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def make_live(
    api: requests.Session, server: ServerProcess, project_id: str, organization_id: str
) -> Live:
    """One resource of every kind in `project_id` (a fresh project), made as the bootstrap admin."""
    v2 = server.api
    device = _made(
        api.post(f"{v2}/projects/{project_id}/devices", json={"type": "temperature", "labels": {}})
    )
    account = _made(
        api.post(f"{v2}/projects/{project_id}/serviceaccounts", json={"displayName": "target"})
    )
    key = _made(api.post(f"{v2}/{account['name']}/keys"))["key"]
    _made(
        api.post(
            f"{v2}/projects/{project_id}/members",
            json={"email": account["email"], "roles": ["roles/project.user"]},
        )
    )
    # An organization member of the test's own (a pending user), so DELETE/PATCH of organization
    # members never touch the bootstrap admin.
    org_member = _made(
        api.post(
            f"{v2}/organizations/{organization_id}/members",
            json={
                "email": f"target-{uuid.uuid4().hex[:12]}@example.com",
                "roles": ["roles/organization.admin"],
            },
        )
    )
    connector_body = {
        "displayName": "target",
        "type": "HTTP_PUSH",
        "status": "ACTIVE",
        "events": ["touch"],
        "labels": ["name"],
        "httpConfig": {"url": "https://127.0.0.1:9/x", "signatureSecret": "s", "headers": {}},
    }
    connector = _made(api.post(f"{v2}/projects/{project_id}/dataconnectors", json=connector_body))
    stamp = "2026-01-01T00:00:00Z"
    examples: dict[tuple[str, str], list[dict[str, Any]]] = {
        ("POST", "/v2/projects"): [
            {"displayName": "made", "organization": f"organizations/{organization_id}"}
        ],
        ("PATCH", "/v2/projects/{project}"): [{"displayName": "renamed"}],
        ("POST", "/v2/projects/{project}/members"): [
            {"email": "someone@example.com", "roles": ["roles/project.user"]}
        ],
        ("PATCH", "/v2/projects/{project}/members/{member}"): [{"roles": ["roles/project.user"]}],
        ("POST", "/v2/organizations/{organization}/members"): [
            {"email": "someone@example.com", "roles": ["roles/organization.admin"]}
        ],
        ("PATCH", "/v2/organizations/{organization}/members/{member}"): [
            {"roles": ["roles/organization.admin"]}
        ],
        ("POST", "/v2/projects/{project}/serviceaccounts"): [
            {"displayName": "x", "enableBasicAuth": False}
        ],
        ("PATCH", "/v2/projects/{project}/serviceaccounts/{account}"): [
            {"displayName": "x", "enableBasicAuth": True}
        ],
        ("POST", "/v2/projects/{project}/serviceaccounts/{account}/keys"): [{}],
        ("POST", "/v2/projects/{project}/devices"): [
            {"type": "temperature", "labels": {"name": "x"}}
        ],
        ("PUT", "/v2/projects/{project}/devices/{device}"): [
            {"type": "temperature", "labels": {"name": "y"}}
        ],
        ("POST", "/v2/projects/{project}/devices/{device}:publish"): [
            {
                "temperature": {
                    "value": 4.5,
                    "updateTime": stamp,
                    "samples": [{"value": 4.5, "sampleTime": stamp}],
                    "isBackfilled": False,
                }
            },
            {"touch": {"updateTime": stamp}},
            {
                "networkStatus": {
                    "signalStrength": 80,
                    "rssi": -70,
                    "cloudConnectors": [{"id": "c", "signalStrength": 70, "rssi": -71}],
                    "transmissionMode": "LOW_POWER_STANDARD_MODE",
                }
            },
            {"batteryStatus": {"percentage": 50}},
            {"probeWireStatus": {"state": "TWO_WIRE"}},
        ],
        ("POST", "/v2/projects/{project}/devices:batchUpdate"): [
            {"devices": [device["name"]], "addLabels": {"k": "v"}, "removeLabels": ["x"]}
        ],
        ("POST", "/v2/projects/{project}/devices:transfer"): [{"devices": [device["name"]]}],
        ("POST", "/v2/projects/{project}/dataconnectors"): [connector_body],
        ("PATCH", "/v2/projects/{project}/dataconnectors/{dataconnector}"): [connector_body],
        ("POST", "/v2/projects/{project}/dataconnectors/{dataconnector}:sync"): [{}],
    }
    ids = {
        "project": project_id,
        "organization": organization_id,
        "device": device["name"].rsplit("/", 1)[1],
        "account": account["name"].rsplit("/", 1)[1],
        "key": key["id"],
        "dataconnector": connector["name"].rsplit("/", 1)[1],
        "role": "project.user",
        # Project member paths aim at the account above; organization ones at the invited user.
        "member": account["name"].rsplit("/", 1)[1],
        "org_member": org_member["name"].rsplit("/", 1)[1],
    }
    return Live(ids, examples)
