"""The delivery rules, as pure functions of `now` (SPEC §3, §11): retry schedule, expiry, probing,
auto-disable, and how in-flight slots are shared.

Nothing here does I/O or reads a clock, so every rule is tested by passing times in, and the
dispatcher is only the place that applies them.

- First attempt: immediate. After failure n (n = 1, 2, ...): wait `min(1 s * 2^(n-1), 5 min)` ±20 %
  jitter, so a fleet of failing events spreads out instead of retrying in lock step.
- An event is delivered at least once for 12 hours after it was received; then it is dropped and
  counted as expired. It stays queued (and is retried) right up to that moment, never dropped early.
- A connector whose last attempt failed is *failing*: it gets one request in flight at a time (a
  probe), spaced by the same backoff over the connector's consecutive failures, instead of its whole
  backlog. The first success makes it healthy and releases the backlog at full speed.
- A connector that has been failing for 5 days without a single success is `SYSTEM_DISABLED`.
  Failing is measured from the first failure after the last success; a connector with no events
  never fails, and a failing stretch ends when its queue is seen empty (idle, not failing), so idle
  days never count as failing days.
- A share of every in-flight cap is kept for first attempts, so a retry backlog cannot starve fresh
  events (Hook0's idea).
- A receiver that answers 429 or 503 with `Retry-After` is not asked again before then: the event
  and the connector's next probe wait `max(backoff, Retry-After)`, Retry-After capped at one hour,
  and never past the event's 12 hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable

FIRST_RETRY_DELAY = 1.0  # seconds
MAX_RETRY_DELAY = 300.0  # seconds (5 minutes)
JITTER = 0.2  # ±20 %
MAX_EVENT_AGE = 12 * 3600.0  # seconds: the at-least-once window
ATTEMPT_LOG_RETENTION = 24 * 3600.0  # seconds the attempt log keeps an attempt
DISABLE_AFTER = 5 * 86400.0  # seconds of failing without success before SYSTEM_DISABLED
FIRST_ATTEMPT_SHARE = 0.25  # of every in-flight cap, usable only by first attempts
MAX_RETRY_AFTER = 3600.0  # seconds: the longest pause a receiver's Retry-After obtains
IDLE_GAP = (
    3600.0  # seconds without a failed attempt that break a failing stretch (idle, not failing)
)

Random = Callable[[], float]  # uniform in [0, 1), e.g. random.random


def retry_delay(failures: int, random: Random) -> float:
    """Seconds to wait after the `failures`-th consecutive failure (1-based), jitter included."""
    if failures < 1:
        return 0.0
    # The cap is reached at n = 10; clamping the exponent keeps a huge n from overflowing a float.
    base = min(FIRST_RETRY_DELAY * 2.0 ** min(failures - 1, 30), MAX_RETRY_DELAY)
    return base * (1.0 + JITTER * (2.0 * random() - 1.0))


def expires_at(event_time: float) -> float:
    """The moment an event leaves the queue undelivered."""
    return event_time + MAX_EVENT_AGE


def is_expired(event_time: float, now: float) -> bool:
    return now >= expires_at(event_time)


def honoured_pause(retry_after: float | None) -> float:
    """Seconds of a receiver's `Retry-After` that are honoured (0 when it sent none)."""
    return 0.0 if retry_after is None else min(max(retry_after, 0.0), MAX_RETRY_AFTER)


def next_attempt_after_failure(
    event_time: float,
    failures: int,
    now: float,
    random: Random,
    retry_after: float | None = None,
) -> float:
    """When to look at an event again after its `failures`-th failed attempt: after its backoff
    (or the receiver's `Retry-After`, whichever is longer), but no later than the moment it turns
    12 hours old — it stays queued until then, and is expired (not tried) when it is looked at
    from that moment on."""
    delay = max(retry_delay(failures, random), honoured_pause(retry_after))
    return min(now + delay, expires_at(event_time))


def failing_since_after_failure(failing_since: float | None, idle: bool, now: float) -> float:
    """The start of the failing stretch that a failed attempt at `now` belongs to.

    `idle` says the connector's queue was seen empty since its previous failure: it had nothing to
    deliver, so it was idle, not failing, and this failure starts a new stretch.
    """
    return now if failing_since is None or idle else failing_since


def next_probe_at(last_failure: float, consecutive_failures: int, random: Random) -> float:
    """When a failing connector may be sent its next (single) probe."""
    return last_failure + retry_delay(consecutive_failures, random)


def connector_limit(consecutive_failures: int, cap: int) -> int:
    """In-flight requests a connector may have: its cap when healthy, one probe while failing."""
    return 1 if consecutive_failures > 0 else max(1, cap)


def retry_limit(cap: int) -> int:
    """How many of `cap` in-flight slots retries may hold; the rest are kept for first attempts."""
    return max(1, math.floor(cap * (1.0 - FIRST_ATTEMPT_SHARE)))


def should_disable(failing_since: float | None, now: float) -> bool:
    """True once a connector has failed continuously, without any success, for 5 days."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER
