"""The SSRF rule where the dispatcher connects: every resolved address is checked, on every
connection.

These run the real push client (pyreqwest) and resolver guard against real receivers; only DNS
answers are simulated (a stub inner resolver), which is exactly what a rebinding attacker controls.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from pyreqwest.exceptions import (
    BodyDecodeError,
    ConnectError,
    ConnectTimeoutError,
    DetailedPyreqwestError,
)

from conduit.config import Settings
from conduit.delivery import pinned_hosts
from conduit.delivery.addresses import check_url
from conduit.delivery.http import (
    DNS_CACHE_SECONDS,
    RESPONSE_BODY_LIMIT,
    BlockedAddress,
    GuardedResolver,
    PushClient,
    classify,
    parse_target,
    status_class,
)
from conduit.domain.errors import BadRequest
from tests.harness.addresses import BLOCKED_ADDRESSES, LEGACY_LOOPBACK_HOSTS
from tests.harness.receivers import Answer, Receiver, tls_files

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
PUBLIC = "93.184.216.34"


class StubResolver(AbstractResolver):
    """DNS as the attacker likes it: `answers(host)` decides what each lookup returns."""

    def __init__(self, answers: Callable[[str], list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        return [
            {
                "hostname": host,
                "host": a,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for a in self.answers(host)
        ]

    async def close(self) -> None:
        pass


async def _resolve(
    addresses: list[str], scheme: str, networks: list[object] | None = None
) -> list[str]:
    guard = GuardedResolver(networks or [], scheme=scheme, inner=StubResolver(lambda _h: addresses))  # type: ignore[arg-type]
    return [r["host"] for r in await guard.resolve("target.example", 443)]


@pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
async def test_non_public_answers_are_refused(address: str) -> None:
    with pytest.raises(BlockedAddress):
        await _resolve([address], "https")


async def test_public_answers_pass_over_https_only() -> None:
    assert await _resolve([PUBLIC], "https") == [PUBLIC]
    with pytest.raises(BlockedAddress):
        await _resolve([PUBLIC], "http")  # plain http only inside an allowed network


async def test_one_bad_address_among_good_ones_refuses_the_whole_answer() -> None:
    with pytest.raises(BlockedAddress):
        await _resolve([PUBLIC, "10.0.0.7"], "https")


async def test_allowed_networks_admit_private_addresses_over_both_schemes() -> None:
    assert await _resolve(["127.0.0.5"], "https", LOOPBACK) == ["127.0.0.5"]  # type: ignore[arg-type]
    assert await _resolve(["127.0.0.5"], "http", LOOPBACK) == ["127.0.0.5"]  # type: ignore[arg-type]
    with pytest.raises(BlockedAddress):
        await _resolve(["10.0.0.1"], "http", LOOPBACK)  # type: ignore[arg-type]


async def test_dns_rebinding_is_caught_at_connect_time() -> None:
    """The URL passes the create-time check (public answer), then DNS answers loopback."""
    answers = {"now": [PUBLIC]}
    check_url("https://rebind.example/hook", [], resolve=lambda _h, _p: answers["now"])
    answers["now"] = ["127.0.0.1"]
    with Receiver() as receiver:
        stub = StubResolver(lambda _h: answers["now"])
        client = PushClient(Settings(allow_network=[]), resolver=stub)
        await client.start()
        try:
            target = parse_target(f"https://rebind.example:{receiver.port}/hook")
            outcome = await client.post(target, b"{}", {})
        finally:
            await client.close()
        assert receiver.count() == 0
    assert stub.lookups == ["rebind.example"]
    assert not outcome.success and outcome.error == "blocked_address"


async def test_ip_literals_are_checked_without_dns() -> None:
    client = PushClient(Settings(allow_network=[]))
    await client.start()
    try:
        for url in (
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "https://[::ffff:10.0.0.1]/x",
        ):
            outcome = await client.post(parse_target(url), b"{}", {})
            assert outcome.error == "blocked_address", url
    finally:
        await client.close()


def test_the_create_time_rule_refuses_what_connect_time_refuses() -> None:
    for url, answer in [
        ("https://internal.example/", "10.0.0.1"),
        ("https://localhost/", "127.0.0.1"),
        ("http://public.example/", PUBLIC),
    ]:
        with pytest.raises(BadRequest):
            check_url(url, [], resolve=lambda _h, _p, a=answer: [a])  # type: ignore[misc]
    check_url("https://public.example/", [], resolve=lambda _h, _p: [PUBLIC])


def _caused(kind: type[DetailedPyreqwestError], *causes: str) -> DetailedPyreqwestError:
    return kind("error sending request", {"causes": [{"message": c} for c in causes]})


def test_error_classes() -> None:
    assert status_class(200) is None and status_class(204) is None
    assert status_class(301) == "redirect" and status_class(308) == "redirect"
    assert status_class(404) == "http_404" and status_class(500) == "http_500"
    assert status_class(199) == "http_199"
    assert classify(TimeoutError()) == "timeout"
    assert classify(BlockedAddress("x")) == "blocked_address"
    assert classify(ConnectionResetError()) == "connection_reset"
    # What reqwest raised here for each fault (tests/integration/test_delivery_failures.py sees the
    # real ones), reduced to the causes the classes are read from.
    for exc, error in [
        (
            _caused(ConnectError, "tcp connect error", "Connection refused (os error 111)"),
            "connection_refused",
        ),
        (
            _caused(
                ConnectError,
                "client error (SendRequest)",
                "connection closed before message completed",
            ),
            "connection_reset",
        ),
        (
            _caused(ConnectError, "connection error", "Connection reset by peer (os error 104)"),
            "connection_reset",
        ),
        (
            _caused(
                ConnectError, "client error (Connect)", "invalid peer certificate: UnknownIssuer"
            ),
            "tls",
        ),
        (_caused(ConnectError, "client error (Connect)", "tls handshake eof"), "tls"),
        (
            _caused(ConnectError, "received corrupt message of type InvalidContentType"),
            "tls",
        ),
        (_caused(ConnectTimeoutError, "operation timed out"), "timeout"),
        (_caused(BodyDecodeError, "end of file before message length reached"), "protocol_error"),
        (_caused(ConnectError, "something new"), "connection_error"),
        (
            _caused(
                ConnectError,
                "error sending request for url (https://example.com/tls/ssl/certificate/dns error)",
                "connection error",
                "Connection reset by peer (os error 104)",
            ),
            "connection_reset",
        ),
    ]:
        assert classify(exc) == error, exc
    assert classify(RuntimeError("?")) == "connection_error"


def test_targets_parse_once_and_refuse_non_http_urls() -> None:
    target = parse_target("https://Example.COM:8443/a?b=c")
    assert target is not None and target.scheme == "https" and not target.literal
    literal = parse_target("http://127.0.0.1:9/x")
    assert literal is not None and literal.literal
    for bad in ("ftp://example.com/", "https://user:pw@example.com/", "not a url", "https:///x"):
        assert parse_target(bad) is None, bad


@pytest.mark.parametrize("host", LEGACY_LOOPBACK_HOSTS)
async def test_legacy_ipv4_forms_are_judged_as_the_address_they_reach(host: str) -> None:
    """A URL stored while loopback was allowed must be refused once it is not (the allowed networks
    shrank), however its address is written; and while it is allowed, it reaches loopback."""
    with Receiver() as receiver:
        url = f"http://{host}:{receiver.port}/hook"
        target = parse_target(url)
        assert target is not None and target.literal and target.host == "127.0.0.1"
        for networks, reached in (([], False), (LOOPBACK, True)):
            client = PushClient(Settings(allow_network=networks))  # type: ignore[arg-type]
            await client.start()
            try:
                outcome = await client.post(target, b"{}", {})
            finally:
                await client.close()
            assert outcome.success is reached, (networks, outcome)
            if not reached:
                assert outcome.error == "blocked_address"
        assert receiver.count() == 1


@pytest.mark.parametrize("host", LEGACY_LOOPBACK_HOSTS)
def test_legacy_ipv4_forms_are_refused_at_create_time_without_dns(host: str) -> None:
    def no_dns(_host: str, _port: int) -> list[str]:
        raise AssertionError(f"{_host} is an address, not a name to resolve")

    with pytest.raises(BadRequest, match=r"127\.0\.0\.1"):
        check_url(f"https://{host}/hook", [], resolve=no_dns)
    check_url(f"http://{host}/hook", LOOPBACK, resolve=no_dns)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _post_once(client: PushClient, url: str) -> tuple[bool, str | None]:
    outcome = await client.post(parse_target(url), b"{}", {"Content-Type": "application/json"})
    return outcome.success, outcome.error


async def test_a_host_name_is_sent_to_the_address_the_guard_approved() -> None:
    """`receiver.test` exists only in the stub's answers: reaching the receiver proves that the
    request went to the approved address, not to a lookup of reqwest's own."""
    with Receiver() as receiver:
        stub = StubResolver(lambda _h: ["127.0.0.1"])
        client = PushClient(Settings(allow_network=LOOPBACK), resolver=stub)  # type: ignore[arg-type]
        await client.start()
        url = f"http://receiver.test:{receiver.port}/hook"
        try:
            assert await _post_once(client, url) == (True, None)
            assert await _post_once(client, url) == (True, None)
            assert client.pinned(parse_target(url)) == "127.0.0.1"  # type: ignore[arg-type]
        finally:
            await client.close()
        requests = await receiver.wait(2)
    assert stub.lookups == ["receiver.test"]  # one lookup, pinned for DNS_CACHE_SECONDS
    assert dict(requests[0].headers)["Host"] == f"receiver.test:{receiver.port}"


async def test_a_pin_ends_and_a_rebound_answer_is_refused() -> None:
    answers = {"now": ["127.0.0.1"]}
    clock = Clock()
    with Receiver() as receiver:
        stub = StubResolver(lambda _h: answers["now"])
        client = PushClient(Settings(allow_network=LOOPBACK), resolver=stub, clock=clock)  # type: ignore[arg-type]
        await client.start()
        url = f"http://rebind.test:{receiver.port}/hook"
        try:
            assert await _post_once(client, url) == (True, None)
            answers["now"] = ["10.0.0.1"]
            clock.now += DNS_CACHE_SECONDS - 1  # still pinned: no lookup
            assert await _post_once(client, url) == (True, None)
            clock.now += 2
            assert await _post_once(client, url) == (False, "blocked_address")
        finally:
            await client.close()
        assert receiver.count() == 2
    assert stub.lookups == ["rebind.test", "rebind.test"]


async def test_after_a_connection_failure_the_next_address_is_tried() -> None:
    """127.0.0.2 refuses (the receiver listens on 127.0.0.1 only); the attempt after it resolves
    the name again and moves on to the next address, which then stays pinned."""
    with Receiver() as receiver:
        stub = StubResolver(lambda _h: ["127.0.0.2", "127.0.0.1"])
        client = PushClient(Settings(allow_network=LOOPBACK), resolver=stub)  # type: ignore[arg-type]
        await client.start()
        url = f"http://two.test:{receiver.port}/hook"
        try:
            assert await _post_once(client, url) == (False, "connection_refused")
            assert await _post_once(client, url) == (True, None)
            assert client.pinned(parse_target(url)) == "127.0.0.1"  # type: ignore[arg-type]
            assert await _post_once(client, url) == (True, None)
        finally:
            await client.close()
        assert receiver.count() == 2
    assert stub.lookups == ["two.test", "two.test"]  # again after the failure, not after success


async def test_a_ca_bundle_replaces_the_system_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`SSL_CERT_FILE` stands in for the system store here: the receiver's CA is in it. With
    `--ca-bundle` naming another CA, the receiver must be refused; without, it is trusted."""
    (tmp_path / "system").mkdir()
    (tmp_path / "other").mkdir()
    system = tls_files(tmp_path / "system")
    other = tls_files(tmp_path / "other")
    monkeypatch.setenv("SSL_CERT_FILE", str(system.ca_path))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-such-dir"))
    with Receiver(tls=system.server) as receiver:
        for bundle, expected in ((str(other.ca_path), (False, "tls")), (None, (True, None))):
            client = PushClient(Settings(allow_network=LOOPBACK, ca_bundle=bundle))  # type: ignore[arg-type]
            await client.start()
            try:
                assert await _post_once(client, receiver.url) == expected, bundle
            finally:
                await client.close()
        assert receiver.count() == 1
    assert os.environ["SSL_CERT_FILE"] == str(system.ca_path)  # restored after each build
    assert os.environ["SSL_CERT_DIR"] == str(tmp_path / "no-such-dir")


async def test_a_huge_answer_is_not_read_to_its_end_and_its_connection_is_dropped() -> None:
    """Past RESPONSE_BODY_LIMIT the rest of an answer is left unread, so its connection cannot be
    reused: the next push comes on a new one. A small answer keeps its connection."""
    huge = b"x" * (RESPONSE_BODY_LIMIT * 256)  # 16 MiB: more than any read buffer holds
    answers = [Answer(200, body=b"ok"), Answer(200, body=b"ok"), Answer(200, body=huge)]
    with Receiver(lambda _r, i: answers[i] if i < len(answers) else Answer(200)) as receiver:
        client = PushClient(Settings(allow_network=LOOPBACK))  # type: ignore[arg-type]
        await client.start()
        try:
            for _ in range(4):
                assert await _post_once(client, receiver.url) == (True, None)
        finally:
            await client.close()
        first, second, third, fourth = await receiver.wait(4)
    assert first.peer == second.peer == third.peer  # small answers: one keep-alive connection
    assert fourth.peer != third.peer  # after the huge one: a new connection


async def test_pins_are_bounded_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pinned name holds a client (≈ 145 KB): a tenant naming endless hosts must not grow the
    sender without bound. The name used longest ago is dropped, and resolved again when used."""
    monkeypatch.setattr(pinned_hosts, "PIN_LIMIT", 2)
    with Receiver() as receiver:
        stub = StubResolver(lambda _h: ["127.0.0.1"])
        client = PushClient(Settings(allow_network=LOOPBACK), resolver=stub)  # type: ignore[arg-type]
        await client.start()
        try:
            for name in ("a.test", "b.test", "a.test", "c.test", "a.test", "b.test"):
                url = f"http://{name}:{receiver.port}/hook"
                assert await _post_once(client, url) == (True, None), name
        finally:
            await client.close()
    # b.test was the least recently used when c.test came, so it is looked up again at the end.
    assert stub.lookups == ["a.test", "b.test", "c.test", "b.test"]
