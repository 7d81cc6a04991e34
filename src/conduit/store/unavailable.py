"""Telling "the database cannot be reached right now" apart from a bug.

A client whose request met a database restart gets 503 (retry later), never a 500 or a hang; the
dispatcher simply tries again. Which exceptions mean that depends on the backend's driver, so the
API asks here instead of importing drivers.
"""

from __future__ import annotations


def database_unavailable(exc: BaseException) -> bool:
    """True for a lost or refused database connection (the write did not happen, or its outcome
    is unknown and the client must retry)."""
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(
        exc,
        (
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.CannotConnectNowError,
            asyncpg.AdminShutdownError,
            asyncpg.CrashShutdownError,
        ),
    )
