"""`POST /oauth2/token`: exchange a signed JWT assertion for a one-hour access token (SPEC §5)."""

from __future__ import annotations

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
from conduit.context import context_of
from conduit.domain.errors import BadRequest


async def token(request: Request) -> Response:
    """OAuth2 JWT-bearer grant: form fields `assertion` and `grant_type`; 400 on any bad assertion."""
    ctx = context_of(request)
    raw = await read_body(request)
    try:
        form = parse_qs(raw.decode(), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise BadRequest("body must be form-encoded") from exc
    grant_type = (form.get("grant_type") or [""])[0]
    assertion = (form.get("assertion") or [""])[0]
    if grant_type != GRANT_TYPE:
        raise BadRequest(f"grant_type must be {GRANT_TYPE}")
    if not assertion:
        raise BadRequest("missing assertion")
    key_id = read_assertion_header(assertion)
    found = await ctx.store.get_key_with_secret(key_id)
    if found is None:
        raise BadRequest("invalid assertion: unknown key")
    key, encrypted = found
    account = await ctx.store.get_service_account(key.service_account_id)
    if account is None:
        raise BadRequest("invalid assertion: unknown key")
    now = ctx.clock.now()
    # The audience is the token endpoint as the client addressed it (or as this server advertises it).
    audiences = [f"{ctx.settings.base_url}/oauth2/token", str(request.url.replace(query=""))]
    claims = verify_assertion(assertion, ctx.secrets.decrypt(encrypted), audiences, now)
    if claims.issuer != account.email:
        raise BadRequest("assertion issuer must be the service account's email")
    access = issue_access_token(ctx.signing_key, account.id, now)
    return ok({"access_token": access, "token_type": "bearer", "expires_in": ACCESS_TOKEN_LIFETIME})


routes = [Route("/oauth2/token", token, methods=["POST"])]
