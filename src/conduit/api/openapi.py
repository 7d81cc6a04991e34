"""`GET /v2/openapi.json`: an OpenAPI 3 document of every endpoint, built from the routing table.

Built from the routes themselves so it cannot drift from what the server serves: each operation's
summary is the first line of its handler's docstring, its description the rest, and its request and
response schemas come from `schemas.OPERATIONS` (keyed by handler; a route without an entry fails
the build, so a new route cannot go undocumented).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conduit import __version__
from conduit.api.http import ok
from conduit.api.schemas import COMPONENTS, OPERATIONS, Operation, ref

_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")
# Without bearer or basic credentials; `/auth/session` reads Studio's session cookie.
_OPEN_PATHS = (
    "/healthz",
    "/oauth2/token",
    "/v2/openapi.json",
    "/docs/errors",
    "/docs",
    "/auth/session",
)

# The reference (`/docs`) groups operations by these tags, in this order: by the resource a path
# is about (the segment after `/v2`, or after the project or organization it belongs to).
_SERVER_TAG = ("Server", "Health, Prometheus metrics and this documentation.")
_TAGS: dict[str, tuple[str, str]] = {
    "dataconnectors": ("Data Connectors", "HTTP push of every event to your endpoint."),
    "devices": ("Devices and events", "Devices, their labels, event history and streams."),
    "projects": ("Projects", "Projects of an organization."),
    "serviceaccounts": ("Service accounts", "Service accounts of a project and their keys."),
    "members": ("Members and roles", "Who may do what in a project or an organization."),
    "organizations": ("Organizations", "Organizations you belong to."),
    "oauth2": ("Authentication", "OAuth2 tokens for service account keys; Studio's sign-in."),
    "": _SERVER_TAG,
}
_TAG_ALIASES = {"permissions": "members", "roles": "members", "auth": "oauth2"}


def build_document(routes: list[Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for route in routes:
        if not isinstance(route, Route) or not route.methods or not route.include_in_schema:
            continue  # Studio's pages are not API operations
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        doc = inspect.getdoc(route.endpoint) or route.name
        summary, _, description = doc.partition("\n")
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(route.path)
            for name in [name[0]]
        ]
        spec = OPERATIONS[route.endpoint.__name__]
        for method in sorted(route.methods - {"HEAD"}):
            operation_id = f"{method.lower()}_{route.name}"
            if operation_id in used:  # the same handler under organizations and projects
                operation_id = f"{method.lower()}_{path.split('/')[2]}_{route.name}"
            used.add(operation_id)
            operation: dict[str, Any] = {
                "operationId": operation_id,
                "tags": [_tag(path)],
                "summary": summary.strip(),
                "parameters": params + _query(spec),
                "responses": _responses(spec),
            }
            if spec.request is not None:
                operation["requestBody"] = {
                    "required": spec.required_body,
                    "content": {spec.request_media_type: {"schema": ref(spec.request)}},
                }
            if description.strip():
                operation["description"] = description.strip()
            if route.path not in _OPEN_PATHS:
                operation["security"] = [{"bearer": []}, {"basic": []}]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Conduit API",
            "version": __version__,
            "description": "DT Cloud-compatible /v2 REST API, Emulator API and Conduit extensions.",
        },
        "tags": [{"name": name, "description": text} for name, text in _TAGS.values()],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": dict(sorted(COMPONENTS.items())),
        },
    }


def _tag(path: str) -> str:
    parts = [part.split(":")[0] for part in path.strip("/").split("/")]
    if parts[:1] == ["v2"]:
        parts = parts[1:]
    if len(parts) >= 3 and parts[0] in ("projects", "organizations"):
        parts = parts[2:]
    resource = _TAG_ALIASES.get(parts[0], parts[0]) if parts else ""
    return _TAGS.get(resource, _SERVER_TAG)[0]


def _query(spec: Operation) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in spec.query
    ]


def _responses(spec: Operation) -> dict[str, Any]:
    error = {"application/json": {"schema": ref("Error")}}
    if spec.media_type == "application/json":
        success = {"application/json": {"schema": ref(spec.response)}}
    else:
        success = {spec.media_type: {"schema": {"type": "string"}}}
    return {
        "200": {"description": "Success", "content": success},
        "default": {"description": "Error", "content": error},
    }


async def openapi(request: Request) -> Response:
    """This OpenAPI 3 document."""
    return ok(build_document(list(request.app.routes)))


routes = [Route("/v2/openapi.json", openapi, methods=["GET"])]
