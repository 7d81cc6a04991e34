"""Shared fixtures: one real server per test session, and a fresh project per test for isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.harness import backends
from tests.harness.dt_client import configure
from tests.harness.resources import new_project
from tests.harness.server import ServerProcess


@pytest.fixture(autouse=True)
def _fresh_disruptive_pagination() -> None:
    """`disruptive` 1.7.3's `paginated_get` has a mutable default `params={}` that keeps the last
    `pageToken` after a multi-page listing, so later listings silently skip items (a client bug, not
    Conduit's: see docs/api-compatibility.md). Reset it so one test's listing cannot corrupt the
    next."""
    from disruptive.requests import DTRequest

    defaults = DTRequest.paginated_get.__func__.__defaults__  # type: ignore[attr-defined]
    if defaults:
        defaults[0].clear()


@pytest.fixture(scope="session", autouse=True)
def _databases() -> Iterator[None]:
    """Drop every PostgreSQL database the run created, once it is over."""
    yield
    backends.drop_databases()


@pytest.fixture(scope="session")
def _shared_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    started: dict[str, ServerProcess] = {}
    yield started
    for proc in started.values():
        proc.stop()


@pytest.fixture
def server(
    _shared_servers: dict[str, ServerProcess], tmp_path_factory: pytest.TempPathFactory
) -> ServerProcess:
    """A `conduit serve` shared by every test of the current backend; tests that kill or
    reconfigure a server start their own."""
    proc = _shared_servers.get(backends.current)
    if proc is None:
        data_dir = tmp_path_factory.mktemp(f"conduit-shared-{backends.current}")
        proc = _shared_servers[backends.current] = ServerProcess(data_dir=data_dir).start()
    return proc


@pytest.fixture
def dt(server: ServerProcess) -> Any:
    """The official client, configured for the shared server with the bootstrap credentials."""
    return configure(server)


@pytest.fixture
def api(server: ServerProcess) -> requests.Session:
    """A raw HTTP session with Basic auth, for wire-level assertions."""
    return server.session()


@pytest.fixture
def organization_id(api: requests.Session, server: ServerProcess) -> str:
    body = api.get(f"{server.api}/projects").json()
    name: str = body["projects"][0]["organization"]
    return name.split("/")[1]


@pytest.fixture
def project_id(api: requests.Session, server: ServerProcess, organization_id: str) -> str:
    """A fresh project per test, so tests never see each other's devices or connectors."""
    return new_project(api, server, organization_id)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, for tests that kill, restart or reconfigure it."""
    proc = ServerProcess(data_dir=tmp_path / "conduit")
    yield proc
    proc.kill()
