"""`/auth/session`: Studio's sign-in, the page's session, and sign-out.

Not part of DT's API: the one endpoint Studio uses beside the public `/v2` resources, which it calls
with the cookie this sets (see auth/sessions.py for the cookie and CSRF rules). Wrong email and
wrong password get the same 401 after the same work, so the answer does not tell whether an
email has a user.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conduit.api.http import ok, read_json
from conduit.auth.passwords import verify_password
from conduit.auth.principal import authenticate
from conduit.auth.sessions import (
    COOKIE,
    SESSION_SECONDS,
    new_csrf_token,
    new_session_token,
    token_hash,
)
from conduit.context import Context, context_of
from conduit.domain.accounts import check_fields, normalise_email
from conduit.domain.errors import BadRequest, TooManyRequests, Unauthorized
from conduit.domain.times import rfc3339
from conduit.domain.users import MAX_PASSWORD, SessionRecord, User

_WRONG = "wrong email or password"


def _session_json(user: User, csrf_token: str, expire_time: float) -> dict[str, Any]:
    return {
        "user": {"id": user.id, "email": user.email, "displayName": user.display_name},
        "csrfToken": csrf_token,
        "expireTime": rfc3339(expire_time),
    }


def _secure(ctx: Context) -> bool:
    return ctx.settings.base_url.startswith("https://")


async def sign_in(request: Request) -> Response:
    """Sign in to Studio with email and password: a session cookie and its CSRF token.

    Conduit extension (Studio's one endpoint beside `/v2`): 401 for a wrong email or password,
    429 with Retry-After after too many failures (docs/accounts.md)."""
    ctx = context_of(request)
    body = await read_json(request)
    check_fields(body, ("email", "password"), ())
    password = body.get("password")
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
        raise BadRequest("password is required")
    email = normalise_email(body.get("email"))
    now = ctx.clock.now()
    address = request.client.host if request.client else ""
    wait = ctx.signin_throttle.wait(address, email, now)
    if wait is not None:
        raise TooManyRequests(
            f"too many sign-in attempts; retry after {wait} s", headers={"Retry-After": str(wait)}
        )
    found = await ctx.store.password_hash_of(email)
    if not await verify_password(found[1] if found else None, password) or found is None:
        ctx.signin_throttle.failed(address, email, ctx.clock.now())
        raise Unauthorized(_WRONG)
    ctx.signin_throttle.succeeded(address, email)
    user = found[0]
    token, csrf = new_session_token(), new_csrf_token()
    expire_time = now + SESSION_SECONDS
    await ctx.store.create_user_session(token_hash(token), user.id, csrf, expire_time)
    response = ok(_session_json(user, csrf, expire_time))
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(ctx),
    )
    return response


async def _current(request: Request) -> tuple[SessionRecord, bytes]:
    ctx = context_of(request)
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise Unauthorized("not signed in")
    hashed = token_hash(raw)
    found = await ctx.store.user_session(hashed, ctx.clock.now())
    if found is None:
        raise Unauthorized("no valid session: it has expired or ended; sign in again")
    return found, hashed


async def current_session(request: Request) -> Response:
    """The session this browser's cookie names: its user and CSRF token (401 if none)."""
    found, _ = await _current(request)
    return ok(_session_json(found.user, found.csrf_token, found.expire_time))


async def sign_out(request: Request) -> Response:
    """Sign out: end the session this cookie names, and clear the cookie.

    Server-side, so the cookie is worthless from now on wherever it was copied. Needs the CSRF
    token, like every write made with the cookie."""
    ctx = context_of(request)
    principal = await authenticate(request)
    if principal.session is None:
        raise BadRequest("sign-out ends a Studio session; service account credentials have none")
    await ctx.store.delete_user_session(principal.session)
    response = ok()
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(ctx))
    return response


routes = [
    Route("/auth/session", sign_in, methods=["POST"]),
    Route("/auth/session", current_session, methods=["GET"]),
    Route("/auth/session", sign_out, methods=["DELETE"]),
]
