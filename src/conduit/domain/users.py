"""People who sign in to Studio: the record and the rules for their input.

A user is a member like a service account is (`accountType: USER`), holding the same roles; its id
is its member id everywhere. Passwords are checked for length only (NIST SP 800-63B: length, not
composition rules, is what resists guessing), with an upper bound so a hostile body cannot make the
hash work on megabytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conduit.domain.accounts import MAX_DISPLAY_NAME, SERVICE_ACCOUNT_DOMAIN, normalise_email
from conduit.domain.errors import BadRequest

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# Expired sessions a sign-in removes: enough to keep the table from growing, few enough that a
# sign-in never does bulk work.
EXPIRED_SESSIONS_PRUNED_PER_SIGN_IN = 100


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str
    create_time: float


def user_email(value: Any) -> str:
    """A user's email: any address except the service accounts' own domain, which would let a
    user's email name a service account's membership."""
    email = normalise_email(value)
    if email.endswith("." + SERVICE_ACCOUNT_DOMAIN) or email.endswith("@" + SERVICE_ACCOUNT_DOMAIN):
        raise BadRequest(f"email: addresses in {SERVICE_ACCOUNT_DOMAIN} belong to service accounts")
    return email


def new_password(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest("password must be a string")
    if len(value) < MIN_PASSWORD:
        raise BadRequest(f"password must be at least {MIN_PASSWORD} characters")
    if len(value) > MAX_PASSWORD:
        raise BadRequest(f"password must be at most {MAX_PASSWORD} characters")
    return value


def display_name_for(value: Any, email: str) -> str:
    if value is None or value == "":
        return email
    if not isinstance(value, str) or len(value) > MAX_DISPLAY_NAME:
        raise BadRequest(f"displayName must be a string of at most {MAX_DISPLAY_NAME} characters")
    return value


@dataclass(frozen=True)
class Grant:
    """Roles a new user gets in one scope (`conduit user add --role`)."""

    scope_kind: str
    scope_id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in browser: whose it is, the token its writes must echo, and when it ends."""

    user: User
    csrf_token: str
    expire_time: float
