"""The README's first command: `conduit demo` shows signed events arriving within seconds."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conduit.store.contract import Store
from tests.harness.backends import SQLITE
from tests.harness.server import free_port
from tests.harness.stored import read_database

# The demo is the README's first command: one machine, embedded SQLite, whatever the run tests.
pytestmark = pytest.mark.backends(SQLITE)


def _run_demo_until(data_dir: Path, verified: int, timeout: float = 30.0) -> tuple[int, str]:
    cmd = [
        sys.executable, "-m", "conduit", "demo",
        "--data-dir", str(data_dir),
        "--port", str(free_port()),
        "--receiver-port", str(free_port()),
        "--interval", "0.2",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    seen = 0
    while seen < verified and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        seen += " verified " in line
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=20)
    return proc.returncode, "".join(lines) + rest


def test_demo_delivers_verified_pushes_and_stops_cleanly(tmp_path: Path) -> None:
    code, output = _run_demo_until(tmp_path / "demo", verified=12)
    assert output.count(" verified ") >= 12, output
    assert "REJECTED" not in output
    for event_type in ("temperature", "humidity", "touch", "contact", "networkStatus"):
        assert f" {event_type} " in output, f"no {event_type} push in:\n{output}"
    assert "stopped after" in output
    assert code == 0, output
    secret = re.search(r"signed with secret '([^']+)'", output)
    assert secret is not None and len(secret.group(1).encode()) >= 32, output
    assert "InsecureKeyLength" not in output and "Warning" not in output, output


def test_demo_reuses_its_fleet_on_a_second_run(tmp_path: Path) -> None:
    _run_demo_until(tmp_path / "demo", verified=3)
    code, output = _run_demo_until(tmp_path / "demo", verified=3)
    assert code == 0, output
    assert "6 emulated devices" in output, output

    async def fleet(store: Store) -> tuple[int, int]:
        projects = [p.id for p in await store.list_projects()]
        connectors = [c for p in projects for c in await store.list_dataconnectors(p)]
        return len(await store.list_devices(projects)), len(connectors)

    assert read_database(str(tmp_path / "demo" / "conduit.db"), fleet) == (6, 1)
