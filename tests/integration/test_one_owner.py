"""What may not be shared: one SQLite file serves one server, one data directory one node."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.harness.backends import POSTGRESQL, SQLITE
from tests.harness.server import ServerProcess


def _refused(server: ServerProcess) -> str:
    with pytest.raises(RuntimeError, match="server exited early"):
        server.start()
    assert server.proc is not None and server.proc.returncode == 2
    log = server.log()
    assert "Traceback" not in log
    return log


@pytest.mark.backends(SQLITE)
def test_a_second_server_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    key = {"CONDUIT_SECRET_KEY": Fernet.generate_key().decode()}
    first = ServerProcess(data_dir=tmp_path / "first", env=key).start()
    try:
        second = ServerProcess(
            data_dir=tmp_path / "second",
            database=str(tmp_path / "first" / "conduit.db"),
            env=key,
        )
        log = _refused(second)
        assert "another Conduit server is using" in log
        assert "postgresql://" in log  # it says where many nodes go
        assert first.session().get(f"{first.api}/projects").status_code == 200  # untouched
    finally:
        assert first.stop() == 0
    second.start()  # once the first has stopped, the file is free
    assert second.stop() == 0


@pytest.mark.backends(POSTGRESQL)
def test_a_second_node_on_one_data_directory_refuses_to_start(tmp_path: Path) -> None:
    first = ServerProcess(data_dir=tmp_path / "node").start()
    try:
        second = ServerProcess(data_dir=tmp_path / "node", database=first.database)
        log = _refused(second)
        assert "give every node a data directory of its own" in log
    finally:
        assert first.stop() == 0


@pytest.mark.backends(SQLITE)
def test_the_database_files_are_private(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data").start()
    try:
        assert server.session().get(f"{server.api}/projects").status_code == 200
        assert (server.data_dir.stat().st_mode & 0o777) == 0o700
        files = sorted(server.data_dir.glob("conduit.db*"))
        assert {f.name for f in files} >= {"conduit.db", "conduit.db-wal"}
        for f in files:
            assert (f.stat().st_mode & 0o777) == 0o600, f
    finally:
        assert server.stop() == 0
