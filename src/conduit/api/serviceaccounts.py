"""Service accounts and their keys: `/v2/projects/{p}/serviceaccounts[/{sa}[/keys[/{k}]]]`.

A service account belongs to the project it was created in, but that grants it nothing: it is not a
member of any project (its own included) until an admin adds it as a member with a role (SPEC §8). A
key's secret exists in the clear only in the response to its creation (`{"key": {...}, "secret":
"..."}`); it is stored encrypted with the server key and never returned or logged again.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import ok, page_response, paginate, read_json
from conduit.api.stream_access import access_changed
from conduit.auth.account_management import require_may_manage
from conduit.auth.principal import authenticate
from conduit.auth.secrets import new_key_secret
from conduit.context import context_of
from conduit.domain.accounts import (
    Key,
    ServiceAccount,
    check_bool,
    check_display_name,
    check_fields,
)
from conduit.domain.errors import NotFound
from conduit.domain.times import rfc3339

_WRITABLE = ("displayName", "enableBasicAuth")
_OUTPUT_ONLY = ("name", "email", "createTime", "updateTime")
_KEY_OUTPUT_ONLY = ("name", "id", "createTime")


def service_account_json(account: ServiceAccount) -> dict[str, Any]:
    return {
        "name": f"projects/{account.project_id}/serviceaccounts/{account.id}",
        "email": account.email,
        "displayName": account.display_name,
        "enableBasicAuth": account.enable_basic_auth,
        "createTime": rfc3339(account.create_time),
        "updateTime": rfc3339(account.update_time),
    }


def key_json(project_id: str, key: Key) -> dict[str, Any]:
    return {
        "name": f"projects/{project_id}/serviceaccounts/{key.service_account_id}/keys/{key.id}",
        "id": key.id,
        "createTime": rfc3339(key.create_time),
    }


async def _authorized_account(
    request: Request, permission: str, *, manage: bool = False
) -> ServiceAccount:
    """The service account in the path, after checking the caller's permission in its project.

    `manage` (keys, PATCH, delete) also requires the caller to hold every permission the account
    holds, wherever it holds them (`require_may_manage`).
    """
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, permission)
    account_id = request.path_params["account"]
    account = await context_of(request).store.get_service_account(account_id)
    if account is None or account.project_id != project_id:
        raise NotFound(f"service account {account_id} not found")
    if manage:
        await require_may_manage(principal, account)
    return account


async def _authorized_key(
    request: Request, permission: str, *, manage: bool = False
) -> tuple[ServiceAccount, Key]:
    account = await _authorized_account(request, permission, manage=manage)
    key_id = request.path_params["key"]
    key = await context_of(request).store.get_key(key_id)
    if key is None or key.service_account_id != account.id:
        raise NotFound(f"key {key_id} not found")
    return account, key


async def list_service_accounts(request: Request) -> Response:
    """List the service accounts of a project."""
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "serviceaccount.read")
    accounts = await context_of(request).store.list_service_accounts(project_id)
    page, token = paginate(request, accounts)
    return page_response("serviceAccounts", [service_account_json(a) for a in page], token)


async def create_service_account(request: Request) -> Response:
    """Create a service account (`displayName`, `enableBasicAuth`); it has no role anywhere yet."""
    principal = await authenticate(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "serviceaccount.create")
    body = await read_json(request, allow_empty=True)
    check_fields(body, _WRITABLE, _OUTPUT_ONLY)
    display_name = check_display_name(body.get("displayName", ""), required=False)
    basic = check_bool(body.get("enableBasicAuth", False), "enableBasicAuth")
    account = await context_of(request).store.create_service_account(
        project_id, display_name, basic
    )
    return ok(service_account_json(account))


async def get_service_account(request: Request) -> Response:
    """Get one service account."""
    return ok(service_account_json(await _authorized_account(request, "serviceaccount.read")))


async def update_service_account(request: Request) -> Response:
    """Update `displayName` and/or `enableBasicAuth`; `{}` changes nothing."""
    account = await _authorized_account(request, "serviceaccount.update", manage=True)
    body = await read_json(request, allow_empty=True)
    check_fields(body, _WRITABLE, _OUTPUT_ONLY)
    display_name = (
        check_display_name(body["displayName"], required=False) if "displayName" in body else None
    )
    basic = (
        check_bool(body["enableBasicAuth"], "enableBasicAuth")
        if "enableBasicAuth" in body
        else None
    )
    if display_name is None and basic is None:
        return ok(service_account_json(account))
    updated = await context_of(request).store.update_service_account(
        account.id, display_name=display_name, enable_basic_auth=basic
    )
    if updated is None:
        raise NotFound(f"service account {account.id} not found")
    if basic is False:
        access_changed(request)
    return ok(service_account_json(updated))


async def delete_service_account(request: Request) -> Response:
    """Delete a service account, its keys and all its memberships.

    Its credentials (tokens and Basic auth) stop working with the next request.

    Refused (400) for the last admin service account of an organization.
    """
    account = await _authorized_account(request, "serviceaccount.delete", manage=True)
    if not await context_of(request).store.delete_service_account(account.id):
        raise NotFound(f"service account {account.id} not found")
    access_changed(request)
    return ok()


async def list_keys(request: Request) -> Response:
    """List a service account's keys (never their secrets)."""
    account = await _authorized_account(request, "serviceaccount.key.read")
    keys = await context_of(request).store.list_keys(account.id)
    page, token = paginate(request, keys)
    return page_response("keys", [key_json(account.project_id, k) for k in page], token)


async def create_key(request: Request) -> Response:
    """Create a key; this response is the only time its secret is shown.

    The response is `{"key": {...}, "secret": "..."}`.
    """
    account = await _authorized_account(request, "serviceaccount.key.create", manage=True)
    body = await read_json(request, allow_empty=True)
    check_fields(body, (), _KEY_OUTPUT_ONLY)
    ctx = context_of(request)
    secret = new_key_secret()
    key = await ctx.store.create_key(account.id, ctx.secrets.encrypt(secret))
    return ok({"key": key_json(account.project_id, key), "secret": secret})


async def get_key(request: Request) -> Response:
    """Get one key (without its secret)."""
    account, key = await _authorized_key(request, "serviceaccount.key.read")
    return ok(key_json(account.project_id, key))


async def delete_key(request: Request) -> Response:
    """Delete a key; access tokens granted with it and Basic auth with it stop working at once."""
    _, key = await _authorized_key(request, "serviceaccount.key.delete", manage=True)
    if not await context_of(request).store.delete_key(key.id):
        raise NotFound(f"key {key.id} not found")
    access_changed(request)
    return ok()


_ACCOUNTS = "/v2/projects/{project:seg}/serviceaccounts"
_ACCOUNT = _ACCOUNTS + "/{account:seg}"

routes: list[BaseRoute] = [
    Route(_ACCOUNTS, list_service_accounts, methods=["GET"]),
    Route(_ACCOUNTS, create_service_account, methods=["POST"]),
    Route(_ACCOUNT, get_service_account, methods=["GET"]),
    Route(_ACCOUNT, update_service_account, methods=["PATCH"]),
    Route(_ACCOUNT, delete_service_account, methods=["DELETE"]),
    Route(_ACCOUNT + "/keys", list_keys, methods=["GET"]),
    Route(_ACCOUNT + "/keys", create_key, methods=["POST"]),
    Route(_ACCOUNT + "/keys/{key:seg}", get_key, methods=["GET"]),
    Route(_ACCOUNT + "/keys/{key:seg}", delete_key, methods=["DELETE"]),
]
