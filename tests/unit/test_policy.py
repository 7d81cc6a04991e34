"""The retry schedule, expiry, probing and auto-disable rules, as pure functions of time."""

from __future__ import annotations

import random

import pytest

from conduit.config import Settings
from conduit.delivery import policy

LOW, MID, HIGH = (lambda: 0.0), (lambda: 0.5), (lambda: 0.999999)


@pytest.mark.parametrize(
    ("failures", "base"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (8, 128.0), (9, 256.0), (10, 300.0), (50, 300.0)],
)
def test_retry_delay_doubles_from_one_second_up_to_five_minutes(failures: int, base: float) -> None:
    assert policy.retry_delay(failures, MID) == pytest.approx(base)
    assert policy.retry_delay(failures, LOW) == pytest.approx(base * 0.8)
    assert policy.retry_delay(failures, HIGH) == pytest.approx(base * 1.2, rel=1e-5)


def test_retry_delay_jitter_stays_within_twenty_percent() -> None:
    rng = random.Random(7)
    delays = [policy.retry_delay(3, rng.random) for _ in range(2000)]
    assert min(delays) >= 4.0 * 0.8 and max(delays) <= 4.0 * 1.2
    assert max(delays) - min(delays) > 1.0  # it really spreads


def test_no_delay_before_the_first_attempt_and_huge_counts_do_not_overflow() -> None:
    assert policy.retry_delay(0, MID) == 0.0
    assert policy.retry_delay(10_000, MID) == 300.0


def test_events_expire_at_twelve_hours() -> None:
    t0 = 1_000_000.0
    assert not policy.is_expired(t0, t0 + 12 * 3600 - 0.001)
    assert policy.is_expired(t0, t0 + 12 * 3600)
    assert policy.expires_at(t0) == t0 + 43200


def test_retry_follows_backoff_but_an_event_is_kept_until_exactly_twelve_hours() -> None:
    t0 = 1_000_000.0
    assert policy.next_attempt_after_failure(t0, 1, t0, MID) == pytest.approx(t0 + 1.0)
    assert policy.next_attempt_after_failure(t0, 4, t0 + 10, MID) == pytest.approx(t0 + 18.0)
    late = t0 + 12 * 3600 - 100  # 100 s before expiry, the backoff would be 300 s
    assert policy.next_attempt_after_failure(t0, 20, late, MID) == policy.expires_at(t0)
    assert policy.next_attempt_after_failure(t0, 1, late, MID) == pytest.approx(late + 1.0)


def test_an_idle_stretch_ends_a_failing_stretch() -> None:
    t0 = 5_000_000.0
    assert policy.failing_since_after_failure(None, False, t0) == t0  # the first failure
    assert policy.failing_since_after_failure(t0, False, t0 + 4 * 86400) == t0  # still failing
    assert policy.failing_since_after_failure(t0, True, t0 + 600) == t0 + 600  # after idling


def test_failing_connector_is_probed_one_at_a_time_on_its_own_backoff() -> None:
    assert policy.connector_limit(0, 256) == 256
    assert policy.connector_limit(1, 256) == 1
    assert policy.connector_limit(99, 256) == 1
    assert policy.next_probe_at(50.0, 1, MID) == pytest.approx(51.0)
    assert policy.next_probe_at(50.0, 6, MID) == pytest.approx(82.0)
    assert policy.next_probe_at(50.0, 100, MID) == pytest.approx(350.0)


def test_system_disable_after_five_days_of_failing_without_success() -> None:
    t0 = 2_000_000.0
    assert not policy.should_disable(
        None, t0 + 30 * 86400
    )  # never failed (or idle): never disabled
    assert not policy.should_disable(t0, t0 + 5 * 86400 - 1)
    assert policy.should_disable(t0, t0 + 5 * 86400)


def test_part_of_every_cap_is_kept_for_first_attempts() -> None:
    assert policy.retry_limit(1024) == 768
    assert policy.retry_limit(256) == 192
    assert policy.retry_limit(1) == 1  # a cap of one still lets a retry through
    assert policy.retry_limit(4) == 3


def test_a_claim_outlives_the_request_timeout_by_default() -> None:
    settings = Settings()
    assert settings.lease_seconds > settings.delivery_timeout


def test_retry_after_is_honoured_up_to_an_hour_and_never_past_twelve_hours() -> None:
    rng = random.Random(1).random
    now = 1_000_000.0
    fresh = now - 60.0
    # max(backoff, Retry-After): a pause shorter than the backoff changes nothing
    assert policy.next_attempt_after_failure(fresh, 9, now, rng, 1.0) > now + 200.0
    assert policy.next_attempt_after_failure(fresh, 1, now, rng, 120.0) == now + 120.0
    assert policy.next_attempt_after_failure(fresh, 1, now, rng, 86_400.0) == now + 3600.0
    old = now - 11.9 * 3600.0  # ten minutes before its 12 hours end
    assert policy.next_attempt_after_failure(old, 1, now, rng, 3600.0) == policy.expires_at(old)
    assert policy.honoured_pause(None) == 0.0 and policy.honoured_pause(-5.0) == 0.0
