"""`Retry-After`: seconds or an HTTP date, anything else ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from conduit.delivery.retry_after import parse_retry_after

NOW = 1_800_000_000.0


def _http_date(at: float) -> str:
    return format_datetime(datetime.fromtimestamp(at, UTC), usegmt=True)


def test_seconds() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(" 0 ", NOW) == 0.0


def test_an_http_date_is_read_against_the_wall_clock() -> None:
    assert parse_retry_after(_http_date(NOW + 90), NOW) == pytest.approx(90.0)


@pytest.mark.parametrize(
    "value",
    [None, "", "soon", "-5", "1.5", "12abc", _http_date(NOW - 60), "Wed, 21 Oct 2015 07:28:00"],
)
def test_anything_else_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None
