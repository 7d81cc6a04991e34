"""Who is calling, and may they do this here?

The rules (SPEC §8, §11): no or bad credentials → 401; a project the caller has no role in → 404, so nothing
about other tenants leaks; a role without the permission → 403. Organization admins hold the admin
permissions in every project of their organization.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from conduit.auth.tokens import verify_access_token
from conduit.context import Context, context_of
from conduit.domain.accounts import ServiceAccount
from conduit.domain.errors import Forbidden, NotFound, Unauthorized
from conduit.domain.roles import permissions_of


@dataclass(frozen=True)
class Principal:
    account: ServiceAccount
    ctx: Context

    @property
    def id(self) -> str:
        return self.account.id

    def project_permissions(self, project_id: str) -> set[str]:
        roles, _ = self.ctx.store.roles_in_project(self.account.id, project_id)
        return permissions_of(roles)

    def require_project(self, project_id: str, permission: str) -> set[str]:
        """Raise 404 unless the caller has any role in the project, 403 unless it has `permission`."""
        granted = self.project_permissions(project_id)
        if not granted:
            raise NotFound(f"project {project_id} not found")
        if permission not in granted:
            raise Forbidden(f"missing permission {permission}")
        return granted

    def require_organization(self, organization_id: str, permission: str) -> set[str]:
        roles = self.ctx.store.roles_in_organization(self.account.id, organization_id)
        granted = permissions_of(roles)
        if not roles:
            raise NotFound(f"organization {organization_id} not found")
        if permission not in granted:
            raise Forbidden(f"missing permission {permission}")
        return granted




async def authenticate(request: Request) -> Principal:
    ctx = context_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer" and credentials:
        account_id, _ = verify_access_token(ctx.signing_key, credentials, ctx.clock.now())
        account = await ctx.store.get_service_account(account_id)
        if account is None:
            raise Unauthorized("service account no longer exists")
        return Principal(account, ctx)
    if scheme == "basic" and credentials:
        return await _basic(ctx, credentials)
    raise Unauthorized("missing credentials: use a Bearer access token or Basic auth")


async def _basic(ctx: Context, credentials: str) -> Principal:
    try:
        key_id, sep, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("malformed Basic credentials") from exc
    if not sep:
        raise Unauthorized("malformed Basic credentials")
    found = await ctx.store.get_key_with_secret(key_id)
    if found is None:
        raise Unauthorized("invalid key id or secret")
    key, encrypted = found
    if not hmac.compare_digest(ctx.secrets.decrypt(encrypted).encode(), secret.encode()):
        raise Unauthorized("invalid key id or secret")
    account = await ctx.store.get_service_account(key.service_account_id)
    if account is None:
        raise Unauthorized("invalid key id or secret")
    if not account.enable_basic_auth:
        raise Unauthorized("Basic auth is not enabled for this service account")
    return Principal(account, ctx)
