"""How often one may get a password wrong: the sign-in's answer to guessing.

Failed attempts are counted over a sliding `WINDOW_SECONDS`, twice: per email *and* client address
(`PER_EMAIL` failures), and per client address alone (`PER_ADDRESS`, across emails). Past either,
every attempt from there is refused with 429 and Retry-After before any password is hashed — the
right password included, or guessing could go on. Keying the per-email count by address too means a
stranger hammering someone's email cannot lock that person out from their own machine. A success
clears its email's count. Counts live in the node's memory: on a cluster each node allows its own,
which multiplies an attacker's budget by the node count, no more.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque

WINDOW_SECONDS = 300.0
PER_EMAIL = 5
PER_ADDRESS = 20
MAX_TRACKED = 100_000


class SignInThrottle:
    def __init__(self) -> None:
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str, email: str, now: float) -> int | None:
        """None if an attempt may go ahead now, else the seconds until one may."""
        with self._lock:
            waits = [
                self._blocked_for(key, limit, now)
                for key, limit in ((_pair(address, email), PER_EMAIL), (address, PER_ADDRESS))
            ]
        longest = max((w for w in waits if w is not None), default=None)
        return None if longest is None else max(1, math.ceil(longest))

    def failed(self, address: str, email: str, now: float) -> None:
        with self._lock:
            for key in (_pair(address, email), address):
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                self._failures[key] = times  # most recently failed last
            while len(self._failures) > MAX_TRACKED:
                self._failures.popitem(last=False)

    def succeeded(self, address: str, email: str) -> None:
        with self._lock:
            self._failures.pop(_pair(address, email), None)

    def _blocked_for(self, key: str, limit: int, now: float) -> float | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        if len(times) < limit:
            return None
        return times[-limit] + WINDOW_SECONDS - now


def _pair(address: str, email: str) -> str:
    return f"{email}\n{address}"
