"""Start, restart and stop: bootstrap happens once, secrets are never printed, SIGTERM exits
cleanly (letting in-flight requests finish and closing the database)."""

from __future__ import annotations

import base64
import signal
import socket
import time

import requests

from tests.harness.backends import SQLITE
from tests.harness.server import ServerProcess
from tests.harness.stored import read_stored


def test_first_start_bootstraps_and_later_starts_reuse_it(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    creds = fresh_server.credentials
    first_log = fresh_server.log()
    assert creds["secret"] not in first_log, "stdout goes to service logs: the path, not the secret"
    # How to connect: where the credentials are, a curl line, and the three Python lines for the
    # official client.
    base = fresh_server.url
    path = fresh_server.credentials_path.resolve()
    assert f"credentials: {path} " in first_log
    assert f'curl -u "{creds["keyId"]}:$SECRET" {base}/v2/projects' in first_log
    assert f'os.environ["DT_CREDENTIALS_FILE"] = "{path}"' in first_log
    assert "import disruptive as dt" in first_log
    assert f'dt.base_url = dt.emulator_base_url = "{base}/v2"' in first_log
    assert fresh_server.stop() == 0

    fresh_server.start()
    assert fresh_server.credentials == creds, "a restart must not replace the bootstrap key"
    later_log = fresh_server.log()[len(first_log) :]
    assert f'curl -u "{creds["keyId"]}:' in later_log, "later starts print the same hint"
    assert f'dt.base_url = dt.emulator_base_url = "{base}/v2"' in later_log
    assert creds["secret"] not in later_log
    res = requests.get(
        f"{fresh_server.api}/projects", auth=(creds["keyId"], creds["secret"]), timeout=5
    )
    assert res.status_code == 200
    assert [p["displayName"] for p in res.json()["projects"]] == ["default"]


def test_sigterm_shuts_down_cleanly(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    assert fresh_server.stop() == 0
    assert "Traceback" not in fresh_server.log()


def test_sigterm_lets_an_in_flight_request_finish_then_closes_the_database(
    fresh_server: ServerProcess, backend: str
) -> None:
    server = fresh_server.start()
    api = server.session()
    project = api.get(f"{server.api}/projects").json()["projects"][0]["name"]
    device = api.post(f"{server.api}/{project}/devices", json={"type": "touch"}).json()["name"]
    body = b'{"touch": {}}'
    key_id, secret = server.credentials["keyId"], server.credentials["secret"]
    basic = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        # `Expect: 100-continue` makes the server say when the handler is waiting for the body:
        # from then on the request is in flight by any definition.
        conn.sendall(
            f"POST /v2/{device}:publish HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        assert conn.recv(64).startswith(b"HTTP/1.1 100 Continue")
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        _wait_until_refusing(server.port)  # shutting down: no new connections
        conn.sendall(body)
        answer = _read_response(conn)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert answer.endswith(b"{}")
    assert server.proc.wait(timeout=20) == 0
    assert "Traceback" not in server.log()
    if backend == SQLITE:
        # The database was closed cleanly: the WAL is checkpointed and removed on the last close.
        assert not (server.data_dir / "conduit.db-wal").exists()
    # The publish that finished during shutdown is in the database.
    device_id = device.rsplit("/", 1)[1]
    history = read_stored(
        server,
        lambda store: store.list_events(
            device_id, start=0, end=1e12, event_types=[], after=None, limit=10
        ),
    )
    assert len(history) == 1


def _wait_until_refusing(port: int, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.02)
    raise AssertionError("the server kept accepting connections after SIGTERM")


def _read_response(conn: socket.socket) -> bytes:
    """One whole HTTP response with a Content-Length (after any 100 Continue already read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = conn.recv(4096)
        assert chunk, rest
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_openapi_document_describes_every_endpoint(server: ServerProcess) -> None:
    doc = requests.get(f"{server.api}/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/v2/projects", "/v2/projects/{project}", "/oauth2/token", "/healthz"):
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["summary"], (
                f"{method.upper()} {path} has no summary (handler docstring)"
            )
