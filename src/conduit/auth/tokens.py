"""The OAuth2 JWT-bearer grant (RFC 7523) as DT Cloud runs it, and the access tokens it issues.

Access tokens are themselves HS256 JWTs signed with a key derived from the server key, so any node sharing
the database and server key can verify them without a lookup; a key or account deleted after issue is still
caught because the caller's account is loaded on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from conduit.domain.errors import BadRequest, Unauthorized
from conduit.domain.ids import new_id

ACCESS_TOKEN_LIFETIME = 3600
MAX_ASSERTION_LIFETIME = 3600
CLOCK_LEEWAY = 60
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Assertion:
    key_id: str
    issuer: str


def read_assertion_header(assertion: str) -> str:
    """The key id (`kid`) of an unverified assertion, to look up the secret it must be verified with."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise BadRequest("assertion is not a JWT") from exc
    if header.get("alg") != "HS256":
        raise BadRequest("assertion must be signed with HS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise BadRequest("assertion header lacks kid")
    return kid


def verify_assertion(assertion: str, secret: str, audience: list[str], now: float) -> Assertion:
    try:
        claims = jwt.decode(
            assertion,
            secret,
            algorithms=["HS256"],
            audience=audience,
            leeway=CLOCK_LEEWAY,
            options={"require": ["exp", "iat", "aud", "iss"], "verify_iat": False, "verify_exp": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise BadRequest("assertion audience must be the token endpoint") from exc
    except jwt.PyJWTError as exc:
        raise BadRequest("invalid assertion") from exc
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise BadRequest("iat and exp must be numbers")
    if exp < now - CLOCK_LEEWAY:
        raise BadRequest("assertion has expired")
    if iat > now + CLOCK_LEEWAY:
        raise BadRequest("assertion issued in the future")
    if exp - iat > MAX_ASSERTION_LIFETIME:
        raise BadRequest("assertion lifetime (exp - iat) must be at most 1 hour")
    return Assertion(key_id=jwt.get_unverified_header(assertion)["kid"], issuer=str(claims["iss"]))


def issue_access_token(signing_key: bytes, service_account_id: str, now: float) -> str:
    claims = {
        "sub": service_account_id,
        "iat": int(now),
        "exp": int(now) + ACCESS_TOKEN_LIFETIME,
        "jti": new_id(now),
        "typ": "access",
    }
    return jwt.encode(claims, signing_key, algorithm="HS256")


def verify_access_token(signing_key: bytes, token: str, now: float) -> tuple[str, float]:
    """The service account id and expiry of a valid access token."""
    try:
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid access token") from exc
    if claims.get("typ") != "access":
        raise Unauthorized("invalid access token")
    if float(claims["exp"]) <= now:
        raise Unauthorized("access token has expired")
    return str(claims["sub"]), float(claims["exp"])
