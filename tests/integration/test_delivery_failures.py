"""Every way a push can fail is a failed attempt with its own error class, and is retried."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tests.harness.engine import Engine, running_engine
from tests.harness.receivers import (
    Receiver,
    always,
    eventually,
    hanging,
    redirect,
    refused_url,
    tls_files,
)


async def _first_attempt(engine: Engine, url: str) -> tuple[str, dict[str, object]]:
    cid = await engine.connector(url)
    await engine.publish()
    await eventually(lambda: len(engine.attempts(cid)) >= 1)
    attempt = dict(engine.attempts(cid)[0])
    assert attempt["success"] == 0
    assert engine.queued(cid) == 1  # a failure never removes the event
    return cid, attempt


async def test_hanging_receiver_times_out(tmp_path: Path) -> None:
    with Receiver(hanging()) as receiver:
        async with running_engine(tmp_path, delivery_timeout=0.3) as engine:
            _, attempt = await _first_attempt(engine, receiver.url)
    assert attempt["error"] == "timeout" and attempt["status_code"] is None
    assert 0.25 < float(attempt["latency"]) < 2.0  # type: ignore[arg-type]


async def test_refused_connection(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        _, attempt = await _first_attempt(engine, refused_url())
    assert attempt["error"] == "connection_refused"


async def test_redirect_is_a_failure_and_is_not_followed(tmp_path: Path) -> None:
    with Receiver() as target, Receiver(redirect("")) as receiver:
        receiver.behaviour = redirect(target.url)
        async with running_engine(tmp_path) as engine:
            _, attempt = await _first_attempt(engine, receiver.url)
        assert target.count() == 0
    assert attempt["error"] == "redirect" and attempt["status_code"] == 302


@pytest.mark.parametrize(
    ("status", "error"),
    [(304, "redirect"), (400, "http_400"), (404, "http_404"), (503, "http_503")],
)
async def test_non_2xx_statuses_are_failures(tmp_path: Path, status: int, error: str) -> None:
    with Receiver(always(status)) as receiver:
        async with running_engine(tmp_path) as engine:
            _, attempt = await _first_attempt(engine, receiver.url)
    assert attempt["error"] == error and attempt["status_code"] == status


@pytest.mark.parametrize("status", [201, 202, 204, 299])
async def test_any_2xx_is_success(tmp_path: Path, status: int) -> None:
    with Receiver(always(status)) as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await eventually(lambda: engine.queued(cid) == 0)
            assert engine.attempts(cid)[0]["success"] == 1


async def test_tls_verified_against_the_configured_ca_bundle(tmp_path: Path) -> None:
    tls = tls_files(tmp_path)
    with Receiver(tls=tls.server) as receiver:
        assert receiver.url.startswith("https://127.0.0.1:")
        async with running_engine(tmp_path / "trusting", ca_bundle=str(tls.ca_path)) as engine:
            cid = await engine.connector(receiver.url)
            await engine.publish()
            await receiver.wait(1)
            await eventually(lambda: engine.queued(cid) == 0)
        async with running_engine(tmp_path / "system-store") as engine:  # our CA is not in it
            _, attempt = await _first_attempt(engine, receiver.url)
        assert receiver.count() == 1
    assert attempt["error"] == "tls"


async def test_https_to_a_plain_http_server_is_a_tls_failure(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            _, attempt = await _first_attempt(engine, receiver.url.replace("http://", "https://"))
    assert attempt["error"] in ("tls", "connection_reset")


async def test_loopback_hostname_refused_when_loopback_is_not_allowed(tmp_path: Path) -> None:
    with Receiver() as receiver:
        port = receiver.port
        elsewhere = [ipaddress.ip_network("10.99.0.0/16")]
        async with running_engine(tmp_path, allow_network=elsewhere) as engine:
            for url in (
                f"https://localhost:{port}/push",  # resolves to loopback: refused in the resolver
                f"http://localhost:{port}/push",
                f"https://127.0.0.1:{port}/push",  # a literal: refused before connecting
                f"http://[::ffff:127.0.0.1]:{port}/push",
            ):
                _, attempt = await _first_attempt(engine, url)
                assert attempt["error"] == "blocked_address", url
        assert receiver.count() == 0


async def test_plain_http_to_an_allowed_hostname_works(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with running_engine(tmp_path) as engine:
            cid = await engine.connector(f"http://localhost:{receiver.port}/push")
            await engine.publish()
            await receiver.wait(1)
            await eventually(lambda: engine.queued(cid) == 0)


async def test_unparseable_stored_url_fails_without_network(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        _, attempt = await _first_attempt(engine, "ftp://example.com/x")
    assert attempt["error"] == "invalid_url"
