"""Per-account request rate limit: a token bucket, off unless the operator turns it on
(`--rate-limit`).

DT Cloud documents 25 requests per 5 seconds with bursts allowed, which is a bucket of 25 tokens
refilled at 5 per second: an idle account may burst 25 requests at once, a busy one is held to 5/s
on average. A refused request gets 429 with `Retry-After` in whole seconds (rounded up, so a client
that waits that long is sure to get through); the official client sleeps exactly that long and
retries.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

DEFAULT_BURST = 25
DEFAULT_WINDOW_SECONDS = 5.0
MAX_TRACKED_ACCOUNTS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        burst: int = DEFAULT_BURST,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        max_accounts: int = MAX_TRACKED_ACCOUNTS,
    ) -> None:
        self.burst = float(burst)
        self.rate = burst / window_seconds  # tokens per second
        self.max_accounts = max_accounts
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, account_id: str, now: float) -> int | None:
        """Take one token for the account at time `now`: None if allowed, else the seconds to
        wait.
        """
        with self._lock:
            bucket = self._buckets.get(account_id)
            if bucket is None:
                if len(self._buckets) >= self.max_accounts:
                    self._forget_full(now)
                bucket = self._buckets[account_id] = _Bucket(self.burst, now)
            else:
                # A clock stepping backwards must not mint or burn tokens.
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
                bucket.updated = max(bucket.updated, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        """Drop accounts whose bucket has refilled: forgetting them changes nothing they can do."""
        refill = self.burst / self.rate
        self._buckets = {a: b for a, b in self._buckets.items() if now - b.updated < refill}
        if len(self._buckets) >= self.max_accounts:
            self._buckets.clear()
