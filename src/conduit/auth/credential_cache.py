"""A bounded in-process memory of credentials already verified, so the hot path skips the crypto.

Authentication runs on every request, including ~2,000 publishes/s. Verifying an access token (an
HMAC and JSON parsing) or a Basic secret (a Fernet decryption) each time would cost more than the
rest of the check, so a verified credential is remembered, keyed by the credential string itself,
until it expires.

What is cached is only "this string was proved to belong to (account, key)". Whether that account
and key still exist, and whether Basic auth is still enabled, is read from the database on every
request, so a deleted account or key is refused on the very next request. Basic credentials are
keyed by a SHA-256 of the header, so no secret is kept in memory longer than the request that
carried it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

DEFAULT_MAX_ENTRIES = 10_000
# Basic credentials do not expire; re-verifying them now and then bounds how long a cache entry
# lives.
BASIC_REVERIFY_SECONDS = 300.0


@dataclass(frozen=True)
class Identity:
    account_id: str
    key_id: str
    # When the credential itself stops being valid (an access token's `exp`); None for Basic auth.
    expires: float | None = None


class CredentialCache:
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Identity, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def basic_key(header_value: str) -> str:
        return "basic:" + hashlib.sha256(header_value.encode()).hexdigest()

    @staticmethod
    def bearer_key(token: str) -> str:
        return "bearer:" + token

    def get(self, key: str, now: float) -> Identity | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        identity, expires = entry
        if expires <= now:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return identity

    def put(self, key: str, identity: Identity, expires: float) -> None:
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                # Oldest first (dicts keep insertion order): bounded memory, no bookkeeping per hit.
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (identity, expires)

    def __len__(self) -> int:
        return len(self._entries)
