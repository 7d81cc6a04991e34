"""Members of a project or an organization: one implementation, mounted under both resources.

`/v2/projects/{p}/members[/{m}]` and `/v2/organizations/{o}/members[/{m}]` behave the same way; only
the roles that are valid differ (project roles in projects, `roles/organization.admin` in
organizations).

Who can be added (SPEC §8, decisions for Conduit):
- an email that is a service account's → a SERVICE_ACCOUNT member, ACCEPTED at once, member id = the
  service account id (a service account of any project may be granted a role anywhere; granting is
  the granting admin's decision);
- a user's email (a person who signs in to Studio, `conduit user add`) → a USER member, ACCEPTED at
  once, member id = the user's id;
- any other email → a USER member with status PENDING: recorded and listed, granting nothing until
  a user with that email is created, which keeps the member id and accepts the invitation. One
  email gets one member id everywhere. `:getInviteUrl` answers `{"inviteUrl": ""}` for a pending
  user (Conduit sends no emails) and 400 for an accepted member, as DT Cloud does once an invite
  has been accepted.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import ok, page_response, paginate, read_json
from conduit.api.stream_access import access_changed
from conduit.auth.principal import Principal, authenticate
from conduit.context import context_of
from conduit.domain.accounts import (
    ACCEPTED,
    PENDING,
    PROJECT_SCOPE,
    SERVICE_ACCOUNT,
    USER,
    Membership,
    check_fields,
    check_roles,
    normalise_email,
)
from conduit.domain.errors import BadRequest, NotFound
from conduit.domain.ids import new_id
from conduit.domain.times import rfc3339

# Fields of a member that only the server sets; ignored when a client sends them back.
_OUTPUT_ONLY = ("name", "displayName", "status", "accountType", "createTime")

Handler = Callable[[Request], Awaitable[Response]]


def member_json(m: Membership) -> dict[str, Any]:
    collection = "projects" if m.scope_kind == PROJECT_SCOPE else "organizations"
    return {
        "name": f"{collection}/{m.scope_id}/members/{m.member_id}",
        "displayName": m.display_name,
        "roles": list(m.roles),
        "status": m.status,
        "email": m.email,
        "accountType": m.account_type,
        "createTime": rfc3339(m.create_time),
    }


async def _authorize(
    request: Request, scope_kind: str, scope_id: str, permission: str
) -> Principal:
    principal = await authenticate(request)
    if scope_kind == PROJECT_SCOPE:
        await principal.require_project(scope_id, permission)
    else:
        await principal.require_organization(scope_id, permission)
    return principal


async def _existing(request: Request, scope_kind: str, scope_id: str, member_id: str) -> Membership:
    found = await context_of(request).store.get_membership(scope_kind, scope_id, member_id)
    if found is None:
        raise NotFound(f"member {member_id} not found")
    return found


async def _new_membership(
    request: Request, scope_kind: str, scope_id: str, body: dict[str, Any]
) -> Membership:
    ctx = context_of(request)
    check_fields(body, ("email", "roles"), _OUTPUT_ONLY)
    if "email" not in body:
        raise BadRequest("email is required")
    if "roles" not in body:
        raise BadRequest("roles is required")
    email = normalise_email(body["email"])
    roles = check_roles(body["roles"], scope_kind)
    member = functools.partial(Membership, scope_kind=scope_kind, scope_id=scope_id, roles=roles)
    account = await ctx.store.get_service_account_by_email(email)
    if account is not None:
        return member(
            member_id=account.id,
            account_type=SERVICE_ACCOUNT,
            email=account.email,
            display_name=account.display_name,
            status=ACCEPTED,
        )
    user = await ctx.store.user_by_email(email)
    if user is not None:
        return member(
            member_id=user.id,
            account_type=USER,
            email=user.email,
            display_name=user.display_name,
            status=ACCEPTED,
        )
    return member(
        member_id=await ctx.store.user_member_id(email) or new_id(ctx.clock.now()),
        account_type=USER,
        email=email,
        display_name=email,
        status=PENDING,
    )


def member_routes(prefix: str, scope_kind: str, scope_param: str) -> list[BaseRoute]:
    """The member endpoints of one scope, mounted under `prefix` (whose scope id is
    `scope_param`).
    """
    noun = scope_kind  # "project" or "organization", for docstrings and route names

    async def list_members(request: Request) -> Response:
        scope_id = request.path_params[scope_param]
        await _authorize(request, scope_kind, scope_id, "membership.read")
        members = await context_of(request).store.list_memberships(scope_kind, scope_id)
        page, token = paginate(request, members)
        return page_response("members", [member_json(m) for m in page], token)

    async def add_member(request: Request) -> Response:
        scope_id = request.path_params[scope_param]
        await _authorize(request, scope_kind, scope_id, "membership.create")
        body = await read_json(request)
        membership = await _new_membership(request, scope_kind, scope_id, body)
        added = await context_of(request).store.add_membership(membership)
        return ok(member_json(added))

    async def get_member(request: Request) -> Response:
        scope_id = request.path_params[scope_param]
        await _authorize(request, scope_kind, scope_id, "membership.read")
        found = await _existing(request, scope_kind, scope_id, request.path_params["member"])
        return ok(member_json(found))

    async def update_member(request: Request) -> Response:
        scope_id = request.path_params[scope_param]
        member_id = request.path_params["member"]
        await _authorize(request, scope_kind, scope_id, "membership.update")
        body = await read_json(request, allow_empty=True)
        check_fields(body, ("roles",), (*_OUTPUT_ONLY, "email"))
        current = await _existing(request, scope_kind, scope_id, member_id)
        if "roles" not in body:
            return ok(member_json(current))
        roles = check_roles(body["roles"], scope_kind)
        updated = await context_of(request).store.set_membership_roles(
            scope_kind, scope_id, member_id, roles
        )
        if updated is None:
            raise NotFound(f"member {member_id} not found")
        access_changed(request)
        return ok(member_json(updated))

    async def remove_member(request: Request) -> Response:
        scope_id = request.path_params[scope_param]
        member_id = request.path_params["member"]
        await _authorize(request, scope_kind, scope_id, "membership.delete")
        if not await context_of(request).store.remove_membership(scope_kind, scope_id, member_id):
            raise NotFound(f"member {member_id} not found")
        access_changed(request)
        return ok()

    async def invite_url(request: Request) -> Response:
        scope_id = request.path_params[scope_param]
        await _authorize(request, scope_kind, scope_id, "membership.create")
        found = await _existing(request, scope_kind, scope_id, request.path_params["member"])
        if found.status != PENDING:
            raise BadRequest("the invite has already been accepted")
        return ok({"inviteUrl": ""})

    docs: dict[Handler, str] = {
        list_members: f"List the members of a {noun}.",
        add_member: f"Add a member to a {noun} by email, with roles.\n\nA service account's email "
        "makes an ACCEPTED SERVICE_ACCOUNT member; any other email a PENDING USER member.",
        get_member: f"Get one member of a {noun}.",
        update_member: f"Replace a {noun} member's roles.",
        remove_member: f"Remove a member from a {noun} (the account itself is not deleted).",
        invite_url: f"The invite URL of a pending {noun} member (empty: users cannot log in).",
    }
    for handler, doc in docs.items():
        handler.__doc__ = doc
    item = prefix + "/members/{member:seg}"
    return [
        Route(prefix + "/members", list_members, methods=["GET"], name=f"list_{noun}_members"),
        Route(prefix + "/members", add_member, methods=["POST"], name=f"add_{noun}_member"),
        Route(
            item + ":getInviteUrl", invite_url, methods=["GET"], name=f"{noun}_member_invite_url"
        ),
        Route(item, get_member, methods=["GET"], name=f"get_{noun}_member"),
        Route(item, update_member, methods=["PATCH"], name=f"update_{noun}_member"),
        Route(item, remove_member, methods=["DELETE"], name=f"remove_{noun}_member"),
    ]
