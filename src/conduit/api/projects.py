"""The projects REST resource: `/v2/projects`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import ok, page_response, paginate, query_param
from conduit.auth.principal import authenticate
from conduit.context import context_of
from conduit.domain.accounts import Project


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
    """List the projects the caller is a member of (filters: `organization`, `query`)."""
    principal = await authenticate(request)
    ctx = context_of(request)
    organization = query_param(request, "organization")
    org_id = organization.removeprefix("organizations/") if organization else None
    text = (query_param(request, "query") or "").lower()
    visible = []
    for project in await ctx.store.list_projects(org_id):
        if "project.read" not in principal.project_permissions(project.id):
            continue
        if text and text not in project.display_name.lower() and text not in project.id:
            continue
        visible.append(project)
    page, token = paginate(request, visible)
    return page_response("projects", [project_json(p) for p in page], token)


async def get_project(request: Request) -> Response:
    """Get one project."""
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    principal.require_project(project_id, "project.read")
    project = await context_of(request).store.get_project(project_id)
    assert project is not None
    return ok(project_json(project))


async def project_permissions(request: Request) -> Response:
    """The caller's effective permissions in a project."""
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    granted = principal.project_permissions(project_id)
    if not granted:
        principal.require_project(project_id, "project.read")
    return page_response("permissions", sorted(granted), "")


routes: list[BaseRoute] = [
    Route("/v2/projects/{project:seg}/permissions", project_permissions, methods=["GET"]),
    Route("/v2/projects", list_projects, methods=["GET"]),
    Route("/v2/projects/{project:seg}", get_project, methods=["GET"]),
]
