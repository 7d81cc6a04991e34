"""The per-account token bucket: 25 at once, then 5 per second, Retry-After in whole seconds."""

from __future__ import annotations

from conduit.api.ratelimit import RateLimiter

T0 = 1_000.0


def test_a_burst_of_25_then_refused() -> None:
    limiter = RateLimiter()
    assert [limiter.acquire("a", T0) for _ in range(25)] == [None] * 25
    assert limiter.acquire("a", T0) == 1


def test_refills_at_five_per_second() -> None:
    limiter = RateLimiter()
    for _ in range(25):
        limiter.acquire("a", T0)
    assert limiter.acquire("a", T0 + 0.19) == 1
    assert limiter.acquire("a", T0 + 0.21) is None
    allowed = sum(limiter.acquire("a", T0 + 1.21) is None for _ in range(10))
    assert allowed == 5


def test_steady_five_per_second_is_never_refused() -> None:
    limiter = RateLimiter()
    assert all(limiter.acquire("a", T0 + i * 0.2) is None for i in range(500))


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    limiter = RateLimiter(burst=2, window_seconds=10.0)  # 0.2 tokens per second
    limiter.acquire("a", T0)
    limiter.acquire("a", T0)
    assert limiter.acquire("a", T0) == 5
    assert limiter.acquire("a", T0 + 4.5) == 1
    assert limiter.acquire("a", T0 + 5.0) is None


def test_accounts_have_their_own_buckets() -> None:
    limiter = RateLimiter()
    for _ in range(25):
        limiter.acquire("a", T0)
    assert limiter.acquire("a", T0) is not None
    assert limiter.acquire("b", T0) is None


def test_a_clock_stepping_back_mints_no_tokens() -> None:
    limiter = RateLimiter()
    for _ in range(25):
        limiter.acquire("a", T0)
    assert limiter.acquire("a", T0 - 100) is not None
    assert limiter.acquire("a", T0 + 0.1) is not None, "still empty: the step back gave nothing"


def test_tracked_accounts_are_bounded() -> None:
    limiter = RateLimiter(max_accounts=10)
    for i in range(10):
        limiter.acquire(f"idle{i}", T0)
    limiter.acquire("busy", T0 + 100)  # every idle bucket has refilled: they are forgotten
    assert len(limiter._buckets) == 1
    for _ in range(24):
        limiter.acquire("busy", T0 + 100)
    assert limiter.acquire("busy", T0 + 100) is not None
