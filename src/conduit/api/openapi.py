"""`GET /v2/openapi.json`: an OpenAPI 3 document of every endpoint, built from the routing table.

Built from the routes themselves so it cannot drift from what the server serves: each operation's
summary is the first line of its handler's docstring, its description the rest.
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

_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")


def build_document(routes: list[Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
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
        for method in sorted(route.methods - {"HEAD"}):
            operation: dict[str, Any] = {
                "operationId": f"{method.lower()}_{route.name}",
                "summary": summary.strip(),
                "parameters": params,
                "responses": {
                    "200": {"description": "Success (always a JSON body)"},
                    "default": {
                        "description": "Error",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                },
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
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "code", "help"],
                    "properties": {
                        "error": {"type": "string"},
                        "code": {"type": "integer"},
                        "help": {"type": "string"},
                    },
                }
            },
        },
    }


async def openapi(request: Request) -> Response:
    """This OpenAPI 3 document."""
    return ok(build_document(list(request.app.routes)))


routes = [Route("/v2/openapi.json", openapi, methods=["GET"])]
