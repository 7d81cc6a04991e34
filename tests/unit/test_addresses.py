"""The push-target rule (SSRF): https to public addresses, anything inside an allowed network."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from conduit.config import parse_networks
from conduit.delivery.addresses import address_allowed, check_url
from conduit.domain.errors import BadRequest
from tests.harness.addresses import BLOCKED_ADDRESSES

LOOPBACK_ALLOWED = parse_networks(["127.0.0.0/8"])


def resolver(*addresses: str) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def failing_resolver(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


def test_https_to_a_public_address_is_allowed() -> None:
    check_url("https://hooks.example/in", [], resolver("8.8.8.8"))
    check_url("https://hooks.example:8443/in?x=1", [], resolver("2001:4860:4860::8888"))
    check_url("https://8.8.8.8/in", [])


def test_plain_http_to_a_public_address_is_refused() -> None:
    with pytest.raises(BadRequest, match="must be an https:// URL"):
        check_url("http://hooks.example/in", [], resolver("8.8.8.8"))


@pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(BadRequest, match="non-public address"):
        check_url("https://hooks.example/in", [], resolver(address))
    assert not address_allowed(address, [])


def test_literal_private_addresses_are_refused_without_resolving() -> None:
    with pytest.raises(BadRequest, match="non-public"):
        check_url("https://127.0.0.1:8443/in", [], failing_resolver)
    with pytest.raises(BadRequest, match="non-public"):
        check_url("https://[::1]:8443/in", [], failing_resolver)


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(BadRequest, match=r"10\.0\.0\.1"):
        check_url("https://hooks.example/in", [], resolver("8.8.8.8", "10.0.0.1"))


def test_an_allowed_network_admits_https_and_plain_http() -> None:
    check_url("https://127.0.0.1:9/in", LOOPBACK_ALLOWED)
    check_url("http://127.0.0.1:9/in", LOOPBACK_ALLOWED)
    check_url("http://localhost:9/in", LOOPBACK_ALLOWED, resolver("127.0.0.1"))
    assert address_allowed(ipaddress.ip_address("127.0.0.2"), LOOPBACK_ALLOWED, scheme="http")


def test_an_allowed_network_admits_only_itself() -> None:
    with pytest.raises(BadRequest, match="non-public"):
        check_url("https://10.0.0.1/in", LOOPBACK_ALLOWED)


def test_ipv4_mapped_ipv6_is_judged_by_its_ipv4_address() -> None:
    assert address_allowed("::ffff:127.0.0.1", LOOPBACK_ALLOWED)
    assert not address_allowed("::ffff:127.0.0.1", [])


def test_an_unresolvable_host_is_refused() -> None:
    with pytest.raises(BadRequest, match="does not resolve"):
        check_url("https://nowhere.invalid/in", [], failing_resolver)
    with pytest.raises(BadRequest, match="does not resolve"):
        check_url("https://nowhere.invalid/in", [], resolver())


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("ftp://hooks.example/in", "must be an https:// URL"),
        ("hooks.example/in", "must be an https:// URL"),
        ("https:///path-only", "must name a host"),
        ("https://user:pw@hooks.example/in", "must not contain credentials"),
        ("https://hooks.example:99999/in", "not a valid URL"),
        ("https://hooks.example:port/in", "not a valid URL"),
        ("https://hooks.example/in put", "spaces or control characters"),
        ("https://hooks.example/\r\nHost: evil", "spaces or control characters"),
    ],
)
def test_malformed_urls_are_refused(url: str, match: str) -> None:
    with pytest.raises(BadRequest, match=match):
        check_url(url, LOOPBACK_ALLOWED, resolver("8.8.8.8"))


def test_the_real_resolver_refuses_localhost() -> None:
    with pytest.raises(BadRequest, match="non-public"):
        check_url("https://localhost:8443/in", [])
