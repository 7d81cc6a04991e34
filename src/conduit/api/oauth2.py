"""`POST /oauth2/token`: exchange a signed JWT assertion for a one-hour access token (SPEC §5).

Every bad grant is a 400 (the official client turns a 400 from this endpoint into `Unauthorized`):
not a form, wrong grant type, not a JWT, not HS256 (`alg: none` included), unknown key, bad
signature, wrong audience, issuer other than the key's service account, expired, issued in the
future, lifetime over 1 hour. The assertion is read from the form body only; DT documents that query
parameters are not supported.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conduit.api.http import ok, read_body
from conduit.auth.tokens import (
    ACCESS_TOKEN_LIFETIME,
    GRANT_TYPE,
    issue_access_token,
    read_assertion_header,
    verify_assertion,
)
from conduit.config import Settings
from conduit.context import context_of
from conduit.domain.errors import BadRequest

_UNKNOWN = "invalid assertion: unknown key or bad signature"


def token_audiences(settings: Settings) -> list[str]:
    """The token endpoint as this server advertises it (its public URL, and the address it listens
    on), never as the request's `Host` header names it: a client chooses that header, so an
    assertion made for another server could otherwise be replayed here by naming it."""
    listening = f"{replace(settings, public_url=None).base_url}/oauth2/token"
    return list(dict.fromkeys([f"{settings.base_url}/oauth2/token", listening]))


async def token(request: Request) -> Response:
    """OAuth2 JWT-bearer grant: a signed assertion in, a one-hour access token out.

    Form fields `assertion` and `grant_type`; 400 on any bad grant.
    """
    ctx = context_of(request)
    raw = await read_body(request)
    try:
        form = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise BadRequest("body must be form-encoded (application/x-www-form-urlencoded)") from exc
    grant_type = (form.get("grant_type") or [""])[0]
    assertion = (form.get("assertion") or [""])[0]
    if grant_type != GRANT_TYPE:
        raise BadRequest(f"grant_type must be {GRANT_TYPE}")
    if not assertion:
        raise BadRequest("missing assertion")
    key_id = read_assertion_header(assertion)
    found = await ctx.store.get_key_with_secret(key_id)
    if found is None:
        raise BadRequest(_UNKNOWN)
    key, encrypted = found
    account = await ctx.store.get_service_account(key.service_account_id)
    if account is None:
        raise BadRequest(_UNKNOWN)
    try:
        secret = ctx.secrets.decrypt(encrypted)
    except ValueError as exc:  # encrypted under another server key: the key is unusable here
        raise BadRequest(_UNKNOWN) from exc
    now = ctx.clock.now()
    claims = verify_assertion(assertion, secret, token_audiences(ctx.settings), now)
    if claims.issuer != account.email:
        raise BadRequest("assertion issuer (iss) must be the email of the key's service account")
    access = issue_access_token(ctx.signing_key, account.id, key.id, now)
    return ok({"access_token": access, "token_type": "bearer", "expires_in": ACCESS_TOKEN_LIFETIME})


routes = [Route("/oauth2/token", token, methods=["POST"])]
