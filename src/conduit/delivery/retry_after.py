"""`Retry-After` on a 429 or 503: the receiver asking for a pause (RFC 9110 §10.2.3).

It is either a number of seconds or an HTTP date; the date is read against the wall clock when the
answer arrives (it is the receiver's clock, not the dispatcher's), and turned into seconds so the
dispatcher applies it on its own clock. Anything unreadable, negative or in the past is ignored:
the usual backoff applies. The policy decides how long is honoured (`policy.MAX_RETRY_AFTER`).
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

HONOURED_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, wall_now: float) -> float | None:
    """Seconds to wait from `wall_now`, or None when `value` says nothing usable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None  # RFC 9110 dates are GMT; a date without a zone is not one
    seconds = when.timestamp() - wall_now
    return seconds if seconds > 0 else None
