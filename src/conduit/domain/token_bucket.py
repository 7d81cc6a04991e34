"""A connector's rate limit as a token bucket (issue 9): `rate` pushes per second on average,
bursts of at most one second's worth (at least one push).

Pure arithmetic on the state a store keeps in the connector's row, so the same rule runs on one
SQLite node and, under the row's lock, for a whole PostgreSQL cluster. Events that find no token
wait in the queue; nothing is dropped for it.
"""

from __future__ import annotations

TOLERANCE = 1e-6  # seconds of refill, times the rate: well above a clock reading's float error


def burst(rate: float) -> float:
    return max(1.0, rate)


def take(rate: float, tokens: float, at: float, now: float, wanted: int) -> tuple[int, float]:
    """Grant up to `wanted` pushes at `now` from a bucket that held `tokens` at `at` (`at` 0: a
    full bucket); returns `(granted, tokens left)`."""
    if rate <= 0:
        return wanted, tokens
    available = burst(rate) if at <= 0 else min(burst(rate), tokens + max(0.0, now - at) * rate)
    # Clock readings near 1.8e9 s carry about 2e-7 s of float error: a token short by that much
    # (times the rate) is a whole token, or 0.1 s at 10/s would grant nothing.
    granted = max(0, min(wanted, int(available + TOLERANCE * max(1.0, rate))))
    return granted, available - granted


def next_token_at(rate: float, now: float) -> float:
    """When to ask again after a refusal: a token needs at most this long to refill."""
    return now + 1.0 / rate
