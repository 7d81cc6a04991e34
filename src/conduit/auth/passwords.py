"""Password hashes: argon2id through argon2-cffi, with its default (RFC 9106 "low memory") costs.

Hashing costs tens of milliseconds and 64 MiB by design, so it runs on a pool of its own with
`CONCURRENT_HASHES` threads — never on the event loop that serves every tenant, never in the
default executor other work shares — and a flood of sign-in attempts queues there instead of
taking the server's memory. A sign-in for an email that has no user verifies against a fixed hash,
so the answer's timing does not tell which emails exist.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

CONCURRENT_HASHES = 2

_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=CONCURRENT_HASHES, thread_name_prefix="conduit-argon2")
_UNKNOWN_USER_HASH = _hasher.hash("no user has this password: it only costs the same time")


def hash_password(password: str) -> str:
    """The PHC string to store (algorithm, costs, salt and hash in one)."""
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Does `password` match the stored hash? `stored` None (no such user) costs the same and is
    False."""
    try:
        return _hasher.verify(stored or _UNKNOWN_USER_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _pool, password_matches, stored, password
    )


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)
