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
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from conduit.clock import Clock
from conduit.domain.accounts import ServiceAccount

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
        found = self._fresh(key, now)
        if found is not None:
            return found[0]
        generation = self.generation  # read before the database, so a racing write wins
        value = load()
        self._keep(key, value, now, generation, remember)
        return value

    async def get_or_load_async(
        self,
        key: Hashable,
        now: float,
        load: Callable[[], Awaitable[V]],
        remember: Callable[[V], bool] | None = None,
    ) -> V:
        """`get_or_load` for a backend whose reads must be awaited."""
        found = self._fresh(key, now)
        if found is not None:
            return found[0]
        generation = self.generation
        value = await load()
        self._keep(key, value, now, generation, remember)
        return value

    def _fresh(self, key: Hashable, now: float) -> tuple[V] | None:
        entry = self._entries.get(key)
        if entry is not None:
            value, expires, generation = entry
            if generation == self.generation and now < expires:
                return (value,)
        return None

    def _keep(
        self,
        key: Hashable,
        value: V,
        now: float,
        generation: int,
        remember: Callable[[V], bool] | None,
    ) -> None:
        if remember is not None and not remember(value):
            return
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                # Oldest first (dicts keep insertion order): bounded memory, no bookkeeping per hit.
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (value, now + self.ttl, generation)

    def invalidate(self) -> None:
        """Forget every answer (after a committed write that may have changed any of them)."""
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


AccountsByKey = AccessCache[ServiceAccount | None]
RolesByProject = AccessCache[tuple[tuple[str, ...], str | None]]


class AccessCaches:
    """The two caches of a store's accounts part (either backend), and their invalidation."""

    clock: Clock
    _accounts_by_key: AccountsByKey | None = None
    _roles_by_project: RolesByProject | None = None

    def _access_caches(self) -> tuple[AccountsByKey, RolesByProject]:
        if self._accounts_by_key is None or self._roles_by_project is None:
            self._accounts_by_key = AccessCache()
            self._roles_by_project = AccessCache()
        return self._accounts_by_key, self._roles_by_project

    def access_changed(self) -> None:
        """Forget cached accounts and roles: called after every committed write that may change
        who may do what (memberships, projects, service accounts, keys).
        """
        for cache in self._access_caches():
            cache.invalidate()
