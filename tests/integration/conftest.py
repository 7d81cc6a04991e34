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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): run this test only for these store backends (a property of the"
        " backend itself, e.g. SQLite's file layout or PostgreSQL's many nodes)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (visibly: pytest reports the count) the variants a `backends` mark excludes."""
    kept, dropped = [], []
    for item in items:
        mark = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if mark is not None and backend is not None and backend not in mark.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
