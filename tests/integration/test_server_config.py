"""`conduit serve` settings: every flag of issue 2 takes effect, each can be given as
`CONDUIT_<NAME>` instead, a flag wins over the environment, and the server key may come from
`CONDUIT_SECRET_KEY`.

Each effect is observed from outside, as an operator would: where the database file appears, which
networks a connector URL may point into (`--allow-network`), what the log holds (`--log-level`),
where `credentials.json` and `secret.key` are written and with which mode.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.harness.backends import SQLITE
from tests.harness.server import ServerProcess, free_port
from tests.harness.wire import assert_error


def _connector_status(server: ServerProcess, url: str) -> int:
    """Create a connector to `url` in the default project: 200 if its network is allowed."""
    api = server.session()
    project = api.get(f"{server.api}/projects").json()["projects"][0]["name"]
    res = api.post(
        f"{server.api}/{project}/dataconnectors",
        json={"type": "HTTP_PUSH", "httpConfig": {"url": url}},
    )
    if res.status_code != 200:
        assert_error(res, 400)
    return res.status_code


@pytest.mark.backends(SQLITE)  # the SQLite file's place is the subject
def test_every_setting_can_come_from_the_environment(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = tmp_path / "elsewhere" / "events.sqlite"
    port = free_port()
    server = ServerProcess(
        data_dir=data_dir,
        port=port,
        database="",
        flags=False,  # nothing on the command line: the environment says it all
        env={
            "CONDUIT_DATA_DIR": str(data_dir),
            "CONDUIT_HOST": "127.0.0.1",
            "CONDUIT_PORT": str(port),
            "CONDUIT_DATABASE": str(database),
            "CONDUIT_ALLOW_NETWORK": "10.0.0.0/8,127.0.0.0/8",
            "CONDUIT_LOG_LEVEL": "info",
            "CONDUIT_PUBLIC_URL": f"http://localhost:{port}",
        },
    )
    try:
        server.start()
        assert database.exists(), "--database / CONDUIT_DATABASE"
        assert not (data_dir / "conduit.db").exists()
        assert server.credentials["tokenEndpoint"] == f"http://localhost:{port}/oauth2/token"
        assert _connector_status(server, "https://127.0.0.1:9/hook") == 200
        assert _connector_status(server, "https://10.1.2.3/hook") == 200
        assert _connector_status(server, "https://192.168.1.10/hook") == 400
        assert "INFO" in server.log(), "CONDUIT_LOG_LEVEL=info"
    finally:
        assert server.stop() == 0


@pytest.mark.backends(SQLITE)  # the SQLite file's place is the subject
def test_the_defaults(tmp_path: Path) -> None:
    """No flags, and of the environment only a free port (8080 may be taken on this machine)."""
    port = free_port()
    unset: dict[str, str | None] = {n: None for n in os.environ if n.startswith("CONDUIT_")}
    server = ServerProcess(
        data_dir=tmp_path / "conduit-data",
        port=port,
        database="",
        flags=False,
        cwd=tmp_path,
        env={**unset, "CONDUIT_PORT": str(port)},
    )
    try:
        server.start()  # reachable on 127.0.0.1, the default host
        assert (tmp_path / "conduit-data" / "conduit.db").exists(), "./conduit-data/conduit.db"
        assert server.credentials["tokenEndpoint"] == f"http://127.0.0.1:{port}/oauth2/token"
        assert "INFO" in server.log(), "--log-level info"
        assert _connector_status(server, "https://127.0.0.1:9/hook") == 400, "no extra networks"
    finally:
        assert server.stop() == 0


@pytest.mark.backends(SQLITE)  # the SQLite file's place is the subject
def test_flags_win_over_the_environment_and_repeat(tmp_path: Path) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "data",
        database="",
        # the harness passes --log-level warning and one --allow-network per entry
        allow_network=["127.0.0.0/8", "192.168.0.0/16"],
        extra_args=["--database", str(tmp_path / "flag.db")],
        env={
            "CONDUIT_DATABASE": str(tmp_path / "env.db"),
            "CONDUIT_LOG_LEVEL": "debug",
            "CONDUIT_ALLOW_NETWORK": "10.0.0.0/8",
        },
    )
    try:
        server.start()
        assert (tmp_path / "flag.db").exists() and not (tmp_path / "env.db").exists()
        assert _connector_status(server, "https://127.0.0.1:9/hook") == 200
        assert _connector_status(server, "https://192.168.1.10/hook") == 200, "repeatable"
        assert _connector_status(server, "https://10.1.2.3/hook") == 400, "the flag replaced env"
        log = server.log()
        assert "INFO" not in log and "DEBUG" not in log, "--log-level warning, not env's debug"
    finally:
        assert server.stop() == 0


def test_without_allow_network_only_the_public_internet_is_reachable(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", allow_network=[])
    try:
        server.start()
        assert _connector_status(server, "https://127.0.0.1:9/hook") == 400
        assert _connector_status(server, "https://10.1.2.3/hook") == 400
        assert _connector_status(server, "https://93.184.215.14/hook") == 200
    finally:
        assert server.stop() == 0


def test_the_server_key_file_is_private(server: ServerProcess) -> None:
    path = server.data_dir / "secret.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(server.credentials_path).st_mode) == 0o600


def test_the_server_key_can_come_from_the_environment(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    server = ServerProcess(data_dir=tmp_path / "data", env={"CONDUIT_SECRET_KEY": key})
    try:
        server.start()
        assert not (server.data_dir / "secret.key").exists(), "the key is never written"
        assert server.session().get(f"{server.api}/projects").status_code == 200
        assert server.stop() == 0

        server.start()  # the same key again: the stored secrets still decrypt
        assert server.session().get(f"{server.api}/projects").status_code == 200
        assert server.stop() == 0

        server.env = {"CONDUIT_SECRET_KEY": Fernet.generate_key().decode()}
        with pytest.raises(RuntimeError, match="server exited early"):
            server.start()  # another key: it refuses to start rather than half-run
        assert server.proc is not None and server.proc.returncode == 2
        assert "cannot decrypt the secrets stored in this database" in server.log()
        assert "Traceback" not in server.log()

        server.env = {"CONDUIT_SECRET_KEY": key}
        server.start()  # the right key again: nothing was changed by the refused start
        assert server.session().get(f"{server.api}/projects").status_code == 200
        assert key not in server.log()
    finally:
        assert server.stop() == 0
