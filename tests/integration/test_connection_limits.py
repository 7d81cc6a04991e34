"""Connection limits, with real sockets (issue 7, hole 4): a slow request head is cut, and the
server accepts no more than `--max-connections` connections at once."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.harness.backends import SQLITE
from tests.harness.server import ServerProcess

# Connection handling does not depend on the database.
pytestmark = pytest.mark.backends(SQLITE)

HEAD_TIMEOUT = 1.0


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        data_dir=tmp_path / "c",
        extra_args=["--request-head-timeout", str(HEAD_TIMEOUT), "--max-connections", "6"],
    ).start()
    yield server
    server.stop()


def _connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=HEAD_TIMEOUT + 5)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a timeout here means it never closed."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _error_of(response: bytes) -> dict[str, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"application/json" in head, head
    parsed: dict[str, object] = json.loads(body)
    assert set(parsed) == {"error", "code", "help"}, parsed
    return parsed


def test_a_slowloris_head_is_cut(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed = b""
        for n in range(40):  # a header line every 0.2 s, for up to 8 s: never a whole head
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % n)
            except OSError:
                break
            sock.settimeout(0.2)
            try:
                closed = sock.recv(65536)
            except TimeoutError:
                continue
            break
        elapsed = time.monotonic() - started
    assert closed.startswith(b"HTTP/1.1 408"), closed
    assert _error_of(closed)["code"] == 408
    assert HEAD_TIMEOUT * 0.9 <= elapsed < HEAD_TIMEOUT + 2, elapsed


def test_a_connection_that_sends_nothing_is_cut(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        started = time.monotonic()
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < HEAD_TIMEOUT + 2


def test_a_slow_but_complete_request_is_served(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.sendall(b"Connection: close\r\n\r\n")
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 200")


def test_connections_beyond_the_cap_are_refused_in_the_error_format(
    limited: ServerProcess,
) -> None:
    held = [_connect(limited) for _ in range(6)]
    try:
        with _connect(limited) as extra:
            refused = _read_until_closed(extra)
        assert refused.startswith(b"HTTP/1.1 503"), refused
        assert _error_of(refused)["code"] == 503
    finally:
        for sock in held:
            sock.close()
    # The slots come back once those connections are gone.
    deadline = time.monotonic() + 5
    while True:
        try:
            if requests.get(f"{limited.url}/healthz", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the server never took connections again"


def test_a_malformed_request_gets_the_error_format(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert _error_of(answer)["code"] == 400
