"""Studio's sign-in sessions: an opaque cookie, and a CSRF token every write must echo.

The cookie holds 32 random bytes; the database keeps only their SHA-256, so neither a database copy
nor a log line can sign anyone in. It is HttpOnly (page scripts never see it), SameSite=Strict (no
other site's page sends it) and Secure whenever the public URL is https. Writes made with it must
also carry the session's CSRF token in `X-CSRF-Token`, which only Studio's own pages can read
(from `GET /auth/session`): SameSite is the first fence, the token the second, for browsers or
proxies that do not honour SameSite.

A session lasts `SESSION_SECONDS` from sign-in, whatever happens meanwhile (an absolute limit is
the one a stolen cookie cannot extend); sign-out and a password change end it at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "conduit_session"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_matches(expected: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())
