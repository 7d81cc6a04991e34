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


def build_document(routes: list[Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for route in routes:
        if not isinstance(route, Route) or not route.methods:
            continue
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
            if route.path not in ("/healthz", "/oauth2/token", "/v2/openapi.json", "/docs/errors"):
                operation["security"] = [{"bearer": []}, {"basic": []}]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Conduit API",
            "version": __version__,
            "description": "DT Cloud-compatible /v2 REST API, Emulator API and Conduit extensions.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": dict(sorted(COMPONENTS.items())),
        },
    }


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
