"""Issue 3 audit, the part that is pure code: the delivery defaults the issue names (10 s timeout,
high in-flight caps). That every disable empties the queue is proven by behaviour, on both
backends: `test_dataconnectors_api.py::test_disabling_empties_the_queue_in_the_same_request` (a
user's PATCH) and `test_delivery_policy.py::test_system_disabled_after_five_days_of_failures_only`
(the system's)."""

from __future__ import annotations

import argparse

import pytest

from conduit.cli import _serve_arguments, settings_from
from conduit.config import Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DELIVERY_TIMEOUT", "MAX_IN_FLIGHT", "MAX_IN_FLIGHT_PER_CONNECTOR", "CA_BUNDLE"):
        monkeypatch.delenv(f"CONDUIT_{name}", raising=False)


def test_delivery_defaults_are_a_ten_second_timeout_and_high_caps(clean_env: None) -> None:
    """Issue item 3: "10 s timeout", caps "configurable, high defaults", TLS against the system
    store unless `--ca-bundle` — for `conduit serve` with no flags and for `Settings()` alike."""
    parser = argparse.ArgumentParser()
    _serve_arguments(parser)
    for settings in (settings_from(parser.parse_args([])), Settings()):
        assert settings.delivery_timeout == 10.0
        assert settings.max_in_flight == 1024
        assert settings.max_in_flight_per_connector == 256
        assert settings.ca_bundle is None
    flagged = settings_from(
        parser.parse_args(
            [
                "--delivery-timeout",
                "2.5",
                "--max-in-flight",
                "8",
                "--max-in-flight-per-connector",
                "2",
            ]
        )
    )
    assert (flagged.delivery_timeout, flagged.max_in_flight) == (2.5, 8)
    assert flagged.max_in_flight_per_connector == 2
