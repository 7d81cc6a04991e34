"""A short-lived, bounded memory of the two reads every authorized request makes.

Every request, publishes included, loads the calling account (proving it still holds its key) and
its roles in the project it addresses. Profiled under publish load those two indexed reads took ~18%
of the main thread, for answers that almost never change. So they are remembered, for at most
`TTL_SECONDS`, keyed by (account, key) and (account, project).

Correctness rests on invalidation, not on the TTL: every write that can change an answer (a
membership, a project, an account or a key; all of them in `store/platform.py`) calls
`invalidate()` once its transaction has committed and before its caller resumes, so in one process
a revoked role or deleted key is refused on the very next request, exactly as without the cache.
The TTL only bounds how long another process sharing the database (a second node) may be
trusted stale.

Invalidation is a generation counter: an answer is stored under the generation current *before* it
was read from the database, and is only served while that generation is still current. A read that
raced a write therefore can never outlive the write's invalidation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000


class AccessCache(Generic[V]):
    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[Hashable, tuple[V, float, int]] = {}
        self._lock = threading.Lock()

    def get_or_load(
        self,
        key: Hashable,
        now: float,
        load: Callable[[], V],
        remember: Callable[[V], bool] | None = None,
    ) -> V:
        """The remembered answer for `key`, else `load()`, remembered for at most `ttl` s unless
        `remember` says it is not worth keeping (e.g. answers about ids that exist nowhere, which a
        caller could otherwise mint without end).
        """
        entry = self._entries.get(key)
        if entry is not None:
            value, expires, generation = entry
            if generation == self.generation and now < expires:
                return value
        generation = self.generation  # read before the database, so a racing write wins
        value = load()
        if remember is not None and not remember(value):
            return value
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                # Oldest first (dicts keep insertion order): bounded memory, no bookkeeping per hit.
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (value, now + self.ttl, generation)
        return value

    def invalidate(self) -> None:
        """Forget every answer (after a committed write that may have changed any of them)."""
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
