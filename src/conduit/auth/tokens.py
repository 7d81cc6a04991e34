"""The OAuth2 JWT-bearer grant (RFC 7523) as DT Cloud runs it, and the access tokens it issues.

Access tokens are themselves HS256 JWTs signed with a key derived from the server key, so any node
sharing the database and server key can verify them without a lookup. They name the key they were
granted for (`kid`), and the per-request account read checks that the key still exists, so deleting
a key or an account refuses its tokens at once rather than an hour later.

Every time rule takes `now` (PyJWT's own exp/iat/nbf checks, which read the system clock, are off),
so the rules are tested by passing a time instead of waiting for one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jwt

from conduit.domain.errors import BadRequest, Unauthorized
from conduit.domain.ids import new_id

ACCESS_TOKEN_LIFETIME = 3600
MAX_ASSERTION_LIFETIME = 3600
CLOCK_LEEWAY = 60
MAX_ASSERTION_LENGTH = 8192
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ACCESS = "access"


@dataclass(frozen=True)
class Assertion:
    key_id: str
    issuer: str


@dataclass(frozen=True)
class AccessToken:
    """What a verified access token says: who, with which key, until when."""

    account_id: str
    key_id: str
    expires: float


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(f"assertion claim {name} must be a number of seconds")
    return float(value)


def read_assertion_header(assertion: str) -> str:
    """The key id (`kid`) of an unverified assertion, to look up the secret it must be verified
    with.

    The algorithm is pinned to HS256 here, before any key is looked up, so `alg: none` and
    asymmetric algorithm tricks never reach verification.
    """
    if not assertion or len(assertion) > MAX_ASSERTION_LENGTH:
        raise BadRequest("assertion is not a JWT")
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise BadRequest("assertion is not a JWT") from exc
    if header.get("alg") != "HS256":
        raise BadRequest("assertion must be signed with HS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 64:
        raise BadRequest("assertion header lacks kid (the key id)")
    return kid


def verify_assertion(assertion: str, secret: str, audience: list[str], now: float) -> Assertion:
    """Check the signature with the key's secret, then audience, issuer type and the time rules: not
    expired, not issued in the future, not yet-to-become-valid, lifetime (exp - iat) at most 1
    hour.
    """
    kid = read_assertion_header(assertion)
    try:
        claims = jwt.decode(
            assertion,
            secret,
            algorithms=["HS256"],
            audience=audience,
            options={
                "require": ["exp", "iat", "aud", "iss"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidAudienceError as exc:
        raise BadRequest("assertion audience (aud) must be this server's token endpoint") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise BadRequest(f"assertion lacks the {exc.claim} claim") from exc
    except jwt.PyJWTError as exc:
        raise BadRequest("invalid assertion: unknown key or bad signature") from exc
    iat, exp = _number(claims, "iat"), _number(claims, "exp")
    issuer = claims["iss"]
    if not isinstance(issuer, str) or not issuer:
        raise BadRequest("assertion issuer (iss) must be the service account's email")
    if exp < now - CLOCK_LEEWAY:
        raise BadRequest("assertion has expired")
    if iat > now + CLOCK_LEEWAY:
        raise BadRequest("assertion is issued in the future")
    if "nbf" in claims and _number(claims, "nbf") > now + CLOCK_LEEWAY:
        raise BadRequest("assertion is not valid yet (nbf)")
    if exp < iat:
        raise BadRequest("assertion expires before it is issued")
    if exp - iat > MAX_ASSERTION_LIFETIME:
        raise BadRequest("assertion lifetime (exp - iat) must be at most 1 hour")
    return Assertion(key_id=kid, issuer=issuer)


def issue_access_token(signing_key: bytes, service_account_id: str, key_id: str, now: float) -> str:
    """A one-hour access token for the account, bound to the key it was granted with."""
    claims = {
        "sub": service_account_id,
        "kid": key_id,
        "iat": int(now),
        "exp": int(now) + ACCESS_TOKEN_LIFETIME,
        "jti": new_id(now),
        "typ": _ACCESS,
    }
    return jwt.encode(claims, signing_key, algorithm="HS256")


def verify_access_token(signing_key: bytes, token: str, now: float) -> AccessToken:
    """The account, key and expiry of a valid, unexpired access token; 401 otherwise."""
    try:
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=["HS256"],
            options={"require": ["sub", "kid", "exp"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid access token") from exc
    sub, kid, exp = claims.get("sub"), claims.get("kid"), claims.get("exp")
    if claims.get("typ") != _ACCESS or not isinstance(sub, str) or not isinstance(kid, str):
        raise Unauthorized("invalid access token")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise Unauthorized("invalid access token")
    if exp <= now:
        raise Unauthorized("access token has expired")
    return AccessToken(account_id=sub, key_id=kid, expires=float(exp))
