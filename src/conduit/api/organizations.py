"""The organizations REST resource: `/v2/organizations`, its members and the caller's permissions in
it.

Organizations are created by the first start (bootstrap) only; the API reads them. A caller sees an
organization it is a member of, or one holding a project it is a member of; member management needs
the organization role (`roles/organization.admin`, the only organization role).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import ok, page_response, paginate
from conduit.api.members import member_routes
from conduit.auth.principal import authenticate
from conduit.context import context_of
from conduit.domain.accounts import ORGANIZATION_SCOPE, Organization
from conduit.domain.errors import NotFound


def organization_json(org: Organization) -> dict[str, Any]:
    return {"name": f"organizations/{org.id}", "displayName": org.display_name}


async def list_organizations(request: Request) -> Response:
    """List the organizations visible to the caller."""
    principal = await authenticate(request)
    orgs = await context_of(request).store.list_organizations_visible_to(principal.id)
    page, token = paginate(request, orgs)
    return page_response("organizations", [organization_json(o) for o in page], token)


async def get_organization(request: Request) -> Response:
    """Get one organization."""
    principal = await authenticate(request)
    ctx = context_of(request)
    org_id = request.path_params["organization"]
    if not await ctx.store.organization_visible_to(principal.id, org_id):
        raise NotFound(f"organization {org_id} not found")
    org = await ctx.store.get_organization(org_id)
    if org is None:
        raise NotFound(f"organization {org_id} not found")
    return ok(organization_json(org))


async def organization_permissions(request: Request) -> Response:
    """The caller's effective permissions in an organization.

    Empty for a caller who is a member of some of its projects only.
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    org_id = request.path_params["organization"]
    granted = await principal.organization_permissions(org_id)
    if not granted and not await ctx.store.organization_visible_to(principal.id, org_id):
        raise NotFound(f"organization {org_id} not found")
    page, token = paginate(request, sorted(granted))
    return page_response("permissions", list(page), token)


_ORG = "/v2/organizations/{organization:seg}"

routes: list[BaseRoute] = [
    Route("/v2/organizations", list_organizations, methods=["GET"]),
    Route(_ORG + "/permissions", organization_permissions, methods=["GET"]),
    *member_routes(_ORG, ORGANIZATION_SCOPE, "organization"),
    Route(_ORG, get_organization, methods=["GET"]),
]
