"""The projects REST resource: `/v2/projects`, its members and the caller's permissions in it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import ok, page_response, paginate, query_param, read_json
from conduit.api.members import member_routes
from conduit.api.stream_access import access_changed
from conduit.auth.account_management import require_may_manage
from conduit.auth.principal import authenticate
from conduit.context import context_of
from conduit.domain.accounts import (
    PROJECT_SCOPE,
    Project,
    check_display_name,
    check_fields,
    parse_resource_name,
)
from conduit.domain.errors import BadRequest, NotFound

# Fields of a project only the server sets; ignored when a client sends them back.
_OUTPUT_ONLY = (
    "name",
    "organizationDisplayName",
    "sensorCount",
    "cloudConnectorCount",
    "inventory",
)


def project_json(project: Project) -> dict[str, Any]:
    return {
        "name": f"projects/{project.id}",
        "displayName": project.display_name,
        "organization": f"organizations/{project.organization_id}",
        "organizationDisplayName": project.organization_display_name,
        "sensorCount": project.sensor_count,
        "cloudConnectorCount": project.cloud_connector_count,
        "inventory": project.inventory,
    }


async def list_projects(request: Request) -> Response:
    """List the projects the caller is a member of (filters: `organization`, `query`).

    `query` matches, case-insensitively, part of the project's or its organization's display name,
    or the project id.
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    organization = query_param(request, "organization")
    org_id = (
        parse_resource_name(organization, "organizations", "organization") if organization else None
    )
    text = (query_param(request, "query") or "").strip().lower()
    visible = [
        p
        for p in await ctx.store.list_projects_visible_to(principal.id, org_id)
        if not text
        or text in p.display_name.lower()
        or text in p.organization_display_name.lower()
        or text in p.id
    ]
    page, token = paginate(request, visible)
    return page_response("projects", [project_json(p) for p in page], token)


async def create_project(request: Request) -> Response:
    """Create a project in an organization (`displayName`, `organization`).

    Needs `project.create` in that organization (organization admins).
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    body = await read_json(request)
    check_fields(body, ("displayName", "organization"), _OUTPUT_ONLY)
    if "organization" not in body:
        raise BadRequest("organization is required, as organizations/<id>")
    org_id = parse_resource_name(body["organization"], "organizations", "organization")
    display_name = check_display_name(body.get("displayName"), required=True)
    await principal.require_organization(org_id, "project.create")
    project = await ctx.store.create_project(org_id, display_name)
    return ok(project_json(project))


async def get_project(request: Request) -> Response:
    """Get one project."""
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "project.read")
    project = await context_of(request).store.get_project(project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return ok(project_json(project))


async def update_project(request: Request) -> Response:
    """Rename a project (`displayName`); `{}` changes nothing.

    A project cannot move to another organization (400).
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "project.update")
    body = await read_json(request, allow_empty=True)
    check_fields(body, ("displayName", "organization"), _OUTPUT_ONLY)
    project = await ctx.store.get_project(project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    if "organization" in body:
        org_id = parse_resource_name(body["organization"], "organizations", "organization")
        if org_id != project.organization_id:
            raise BadRequest("a project cannot be moved to another organization")
    if "displayName" in body:
        display_name = check_display_name(body["displayName"], required=True)
        renamed = await ctx.store.rename_project(project_id, display_name)
        if renamed is None:
            raise NotFound(f"project {project_id} not found")
        project = renamed
    return ok(project_json(project))


async def delete_project(request: Request) -> Response:
    """Delete a project with everything in it.

    Devices, their event history, Data Connectors and their queues, and the project's service
    accounts and keys go with it.

    Unlike DT Cloud, which refuses to delete a project that still holds devices or Data Connectors,
    Conduit deletes them with it. It refuses (400) while the project owns a service account that is
    an organization member, because that would silently delete an organization admin. Deleting the
    project deletes its service accounts, so it needs what deleting each of them needs (403
    otherwise): the caller must hold every permission they hold, wherever they hold it.
    """
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "project.delete")
    ctx = context_of(request)
    for account in await ctx.store.list_service_accounts(project_id):
        await require_may_manage(principal, account)
    if not await ctx.store.delete_project(project_id):
        raise NotFound(f"project {project_id} not found")
    access_changed(request)
    return ok()


async def project_permissions(request: Request) -> Response:
    """The caller's effective permissions in a project."""
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    granted = await principal.require_project(project_id, "project.read")
    page, token = paginate(request, sorted(granted))
    return page_response("permissions", list(page), token)


_PROJECT = "/v2/projects/{project:seg}"

routes: list[BaseRoute] = [
    Route(_PROJECT + "/permissions", project_permissions, methods=["GET"]),
    *member_routes(_PROJECT, PROJECT_SCOPE, "project"),
    Route("/v2/projects", list_projects, methods=["GET"]),
    Route("/v2/projects", create_project, methods=["POST"]),
    Route(_PROJECT, get_project, methods=["GET"]),
    Route(_PROJECT, update_project, methods=["PATCH"]),
    Route(_PROJECT, delete_project, methods=["DELETE"]),
]
