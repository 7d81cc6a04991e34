"""The sign-in throttle's arithmetic, on a clock the test sets."""

from __future__ import annotations

from conduit.auth.signin_throttle import PER_ADDRESS, PER_EMAIL, WINDOW_SECONDS, SignInThrottle


def test_five_failures_hold_that_email_from_that_address_for_the_rest_of_the_window() -> None:
    throttle = SignInThrottle()
    for second in range(PER_EMAIL):
        assert throttle.wait("10.0.0.1", "a@example.com", 1000.0 + second) is None
        throttle.failed("10.0.0.1", "a@example.com", 1000.0 + second)
    held = throttle.wait("10.0.0.1", "a@example.com", 1010.0)
    assert held == WINDOW_SECONDS - 10  # until the first failure leaves the window
    assert throttle.wait("10.0.0.2", "a@example.com", 1010.0) is None  # not a lock-out elsewhere
    assert throttle.wait("10.0.0.1", "b@example.com", 1010.0) is None
    assert throttle.wait("10.0.0.1", "a@example.com", 1000.0 + WINDOW_SECONDS) is None


def test_one_address_trying_many_emails_is_held_too() -> None:
    throttle = SignInThrottle()
    for i in range(PER_ADDRESS):
        assert throttle.wait("10.0.0.9", f"u{i}@example.com", 50.0) is None
        throttle.failed("10.0.0.9", f"u{i}@example.com", 50.0)
    assert throttle.wait("10.0.0.9", "fresh@example.com", 60.0) is not None
    assert throttle.wait("10.0.0.8", "fresh@example.com", 60.0) is None


def test_a_success_clears_that_emails_failures() -> None:
    throttle = SignInThrottle()
    for _ in range(PER_EMAIL - 1):
        throttle.failed("10.0.0.1", "a@example.com", 0.0)
    throttle.succeeded("10.0.0.1", "a@example.com")
    throttle.failed("10.0.0.1", "a@example.com", 1.0)
    assert throttle.wait("10.0.0.1", "a@example.com", 2.0) is None
