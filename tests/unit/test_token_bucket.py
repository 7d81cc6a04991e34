"""The rate limit's token bucket, as arithmetic."""

from __future__ import annotations

from conduit.domain import token_bucket

NOW = 1_796_000_000.123  # a clock reading of today's size, where float error is ~1e-7 s


def test_a_full_bucket_grants_one_seconds_worth() -> None:
    assert token_bucket.take(50.0, 0.0, 0.0, NOW, 500) == (50, 0.0)
    assert token_bucket.take(0.5, 0.0, 0.0, NOW, 3) == (1, 0.0)  # at least one push


def test_tokens_refill_at_the_rate_and_never_past_the_burst() -> None:
    granted, left = token_bucket.take(10.0, 0.0, NOW, NOW + 0.35, 10)
    assert granted == 3 and abs(left - 0.5) < 1e-5
    assert token_bucket.take(10.0, 0.0, NOW, NOW + 3600, 100)[0] == 10


def test_a_tenth_of_a_second_at_ten_per_second_is_one_token_despite_float_error() -> None:
    later = NOW + 0.1
    assert later - NOW != 0.1  # the premise: the clock's float error
    assert token_bucket.take(10.0, 0.0, NOW, later, 5)[0] == 1
    assert token_bucket.take(10_000.0, 0.0, NOW, NOW + 0.01, 500)[0] == 100


def test_refills_add_up_over_many_small_steps() -> None:
    at, tokens, total = NOW, 0.0, 0
    for step in range(1, 101):
        now = NOW + step * 0.1
        granted, tokens = token_bucket.take(10.0, tokens, at, now, 1000)
        at = now
        total += granted
    assert total == 100  # ten seconds at 10/s, not one less


def test_no_limit_grants_everything() -> None:
    assert token_bucket.take(0.0, 0.0, 0.0, NOW, 12345) == (12345, 0.0)
