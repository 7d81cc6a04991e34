"""Who is calling, and may they do this here?

The rules (SPEC §8, §11): no or bad credentials → 401; a project the caller has no role in → 404, so
nothing about other tenants leaks; a role without the permission → 403. Organization admins hold the
admin permissions in every project of their organization.

Cost per request (this runs on every request, publishes included): a dictionary lookup for a
credential already verified (else one JWT verification or one secret decryption), then one indexed
read that loads the account and proves it still holds the key; a permission check is one more
indexed query.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from conduit.auth.credential_cache import BASIC_REVERIFY_SECONDS, CredentialCache, Identity
from conduit.auth.sessions import (
    COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    csrf_matches,
    token_hash,
)
from conduit.auth.tokens import verify_access_token
from conduit.context import Context, context_of
from conduit.domain.accounts import ServiceAccount
from conduit.domain.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from conduit.domain.roles import permissions_of


@dataclass(frozen=True)
class Principal:
    """A service account (key, token) or a user (Studio's session cookie); either is a member id
    holding roles."""

    member_id: str
    ctx: Context
    account: ServiceAccount | None = None  # None for a user
    key_id: str = ""
    # When the credential stops being valid (an access token's or a session's expiry); None for
    # Basic auth. A long-lived response (`:stream`) must end then, since no later request re-checks
    # it.
    expires: float | None = None
    basic: bool = False  # authenticated with Basic auth, which the account may switch off
    session: bytes | None = None  # the session's token hash, for a user

    async def still_valid(self) -> bool:
        """Would these credentials still be accepted: the session is still open, or account and
        key exist and Basic auth (when used) is still enabled?"""
        if self.session is not None:
            return await self.ctx.store.user_session(self.session, self.ctx.clock.now()) is not None
        found = await self.ctx.store.account_holding_key(self.member_id, self.key_id)
        return found is not None and (not self.basic or found.enable_basic_auth)

    @property
    def id(self) -> str:
        return self.member_id

    async def project_permissions(self, project_id: str) -> set[str]:
        """Effective permissions in a project; empty when the caller has no role there (or no
        project).
        """
        roles, _ = await self.ctx.store.roles_in_project(self.member_id, project_id)
        return permissions_of(roles)

    async def require_project(self, project_id: str, permission: str) -> set[str]:
        """Raise 404 unless the caller has any role in the project, 403 unless it has
        `permission`.
        """
        granted = await self.project_permissions(project_id)
        if not granted:
            raise NotFound(f"project {project_id} not found")
        if permission not in granted:
            raise Forbidden(f"missing permission {permission} in project {project_id}")
        return granted

    async def organization_permissions(self, organization_id: str) -> set[str]:
        return permissions_of(
            await self.ctx.store.roles_in_organization(self.member_id, organization_id)
        )

    async def require_organization(self, organization_id: str, permission: str) -> set[str]:
        """404 unless the organization is visible to the caller (a role in it or in one of its
        projects), 403 unless the caller's organization role grants `permission`.
        """
        granted = await self.organization_permissions(organization_id)
        if permission in granted:
            return granted
        if granted or await self.ctx.store.organization_visible_to(self.member_id, organization_id):
            raise Forbidden(f"missing permission {permission} in organization {organization_id}")
        raise NotFound(f"organization {organization_id} not found")


async def authenticate(request: Request) -> Principal:
    """The caller: a service account from a Bearer access token or Basic key id and secret, or a
    user from Studio's session cookie (whose writes must carry the CSRF token); else 401.

    When the operator turned the rate limit on, each authenticated request also takes one token from
    the caller's bucket (429 with Retry-After when it is empty).
    """
    ctx = context_of(request)
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    now = ctx.clock.now()
    if scheme == "bearer" and credentials:
        identity = _bearer(ctx, credentials, now)
    elif scheme == "basic" and credentials:
        identity = await _basic(ctx, credentials, now)
    elif not scheme and COOKIE in request.cookies:
        principal = await _session(request, ctx, now)
        _take_rate_limit_token(ctx, principal.member_id, now)
        return principal
    else:
        raise Unauthorized("missing credentials: use a Bearer access token or Basic auth")
    account = await ctx.store.account_holding_key(identity.account_id, identity.key_id)
    if account is None:
        raise Unauthorized("the service account or key of these credentials no longer exists")
    if scheme == "basic" and not account.enable_basic_auth:
        raise Unauthorized("Basic auth is not enabled for this service account")
    _take_rate_limit_token(ctx, account.id, now)
    return Principal(
        account.id,
        ctx,
        account=account,
        key_id=identity.key_id,
        expires=identity.expires,
        basic=scheme == "basic",
    )


def _take_rate_limit_token(ctx: Context, member_id: str, now: float) -> None:
    if ctx.settings.rate_limit:
        wait = ctx.rate_limiter.acquire(member_id, now)
        if wait is not None:
            raise TooManyRequests(
                f"rate limit exceeded; retry after {wait} s", headers={"Retry-After": str(wait)}
            )


async def _session(request: Request, ctx: Context, now: float) -> Principal:
    hashed = token_hash(request.cookies[COOKIE])
    found = await ctx.store.user_session(hashed, now)
    if found is None:
        raise Unauthorized("no valid session: it has expired or ended; sign in again")
    if request.method not in SAFE_METHODS and not csrf_matches(
        found.csrf_token, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden("missing or wrong X-CSRF-Token for this session's write")
    return Principal(found.user.id, ctx, expires=found.expire_time, session=hashed)


def _bearer(ctx: Context, token: str, now: float) -> Identity:
    cache_key = CredentialCache.bearer_key(token)
    identity = ctx.credentials.get(cache_key, now)
    if identity is None:
        verified = verify_access_token(ctx.signing_key, token, now)
        identity = Identity(verified.account_id, verified.key_id, verified.expires)
        ctx.credentials.put(cache_key, identity, verified.expires)
    return identity


async def _basic(ctx: Context, credentials: str, now: float) -> Identity:
    cache_key = CredentialCache.basic_key(credentials)
    identity = ctx.credentials.get(cache_key, now)
    if identity is not None:
        return identity
    try:
        key_id, sep, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, or a non-ASCII header
        raise Unauthorized("malformed Basic credentials") from exc
    if not sep or not key_id:
        raise Unauthorized("malformed Basic credentials")
    found = await ctx.store.get_key_with_secret(key_id)
    if found is None:
        raise Unauthorized("invalid key id or secret")
    key, encrypted = found
    try:
        expected = ctx.secrets.decrypt(encrypted)
    except ValueError as exc:  # encrypted under another server key: unusable, not a server error
        raise Unauthorized("invalid key id or secret") from exc
    if not hmac.compare_digest(expected.encode(), secret.encode()):
        raise Unauthorized("invalid key id or secret")
    identity = Identity(key.service_account_id, key.id)
    ctx.credentials.put(cache_key, identity, now + BASIC_REVERIFY_SECONDS)
    return identity
