"""Every integration test runs once per store backend (`tests/harness/backends.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import backends


@pytest.fixture(autouse=True, params=backends.BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend this run of the test uses: servers and engines it starts get that store."""
    backends.current = request.param
    yield request.param
    backends.current = backends.SQLITE
