"""The roles REST resource: `/v2/roles` — DT Cloud's four fixed roles (`domain/roles.py`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import ok, page_response, paginate
from conduit.auth.principal import authenticate
from conduit.domain.errors import NotFound
from conduit.domain.roles import ROLES


async def list_roles(request: Request) -> Response:
    """List the roles (project.user, project.developer, project.admin, organization.admin)."""
    await authenticate(request)
    page, token = paginate(request, list(ROLES.values()))
    return page_response("roles", [role.to_json() for role in page], token)


async def get_role(request: Request) -> Response:
    """Get one role by its short name, e.g. `project.developer`."""
    await authenticate(request)
    role = ROLES.get("roles/" + request.path_params["role"])
    if role is None:
        raise NotFound(f"role {request.path_params['role']} not found")
    return ok(role.to_json())


routes: list[BaseRoute] = [
    Route("/v2/roles", list_roles, methods=["GET"]),
    Route("/v2/roles/{role:seg}", get_role, methods=["GET"]),
]
