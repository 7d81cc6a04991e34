"""Which push targets a connector may point at: the SSRF rule, shared by the API and the dispatcher.

A Data Connector makes the server send requests to a URL a tenant chose, so without a rule any
project developer could make Conduit probe the operator's own network (cloud metadata at
169.254.169.254, admin ports on loopback, the LAN). The rule (SPEC §11): `https://` only, and every
address the host resolves to must be public, unless the operator listed the network it lies in
(`--allow-network CIDR`); inside an allowed network plain `http://` is accepted too, for local
development and tests.

The API applies it when a connector is created or its URL changes (early, clear 400); the dispatcher
must apply `address_allowed` again on the address it actually connects to, because DNS can change
between the two (rebinding). Failure policy: fail closed — a host that does not resolve now is
refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import SplitResult, urlsplit

from conduit.config import Network
from conduit.domain.errors import BadRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


def literal_address(host: str) -> Address | None:
    """The address `host` names by itself, read the way the socket layer will read it; else None.

    Besides canonical forms this includes IPv4's legacy `inet_aton` forms (`2130706433`, `127.1`,
    `0x7f.1`, `0177.0.0.1`): `ipaddress` rejects them, but `connect()` and `getaddrinfo` accept
    them, so a check that does not normalise them judges a different host than the one reached.
    """
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if not host or not all(c.isascii() and (c.isalnum() or c == ".") for c in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (blocking: run it off the event loop)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _unwrap(address: Address) -> Address:
    """Judge `::ffff:10.0.0.1` (and 6to4 / Teredo wrappers) by the IPv4 address they carry."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return inner
        if address.teredo is not None:
            return address.teredo[1]
    return address


def is_public(address: Address) -> bool:
    """True for globally routable unicast addresses; private, loopback, link-local, shared (CGNAT),
    multicast, reserved, unspecified and documentation ranges are not public."""
    address = _unwrap(address)
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def in_networks(address: Address, networks: Sequence[Network]) -> bool:
    candidates = {address, _unwrap(address)}
    return any(a.version == n.version and a in n for a in candidates for n in networks)


def address_allowed(
    address: str | Address, networks: Sequence[Network], *, scheme: str = "https"
) -> bool:
    """May a push connect to `address`? Public ones over https, or anything inside `networks`."""
    if isinstance(address, str):
        try:
            address = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
    if in_networks(address, networks):
        return True
    return scheme == "https" and is_public(address)


def split_url(url: str) -> tuple[SplitResult, str, int]:
    """Parse a push URL into (parts, host, port), refusing all but plain http(s) URLs."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise BadRequest("httpConfig.url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadRequest(f"httpConfig.url is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise BadRequest("httpConfig.url must be an https:// URL")
    host = parts.hostname
    if not host:
        raise BadRequest("httpConfig.url must name a host")
    if parts.username is not None or parts.password is not None:
        raise BadRequest(
            "httpConfig.url must not contain credentials; send them in a custom header instead"
        )
    return parts, host, port or (443 if scheme == "https" else 80)


def check_url(
    url: str, allowed_networks: Sequence[Network], resolve: Resolver = resolve_host
) -> None:
    """Raise `BadRequest` unless pushes to `url` are allowed (see the module docstring).

    Resolves the host, so it blocks: call it with `asyncio.to_thread` from async code.
    """
    parts, host, port = split_url(url)
    scheme = parts.scheme.lower()
    literal = literal_address(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise BadRequest(f"httpConfig.url: host {host!r} does not resolve") from exc
        if not addresses:
            raise BadRequest(f"httpConfig.url: host {host!r} does not resolve")
    for address in addresses:
        if address_allowed(address, allowed_networks, scheme=scheme):
            continue
        if scheme == "http" and address_allowed(address, allowed_networks):
            raise BadRequest(
                "httpConfig.url must be an https:// URL (plain http is allowed only inside a"
                " network the operator allows)"
            )
        raise BadRequest(
            f"httpConfig.url: {host} resolves to {address}, a private, loopback, link-local or"
            " otherwise non-public address, which this server does not allow"
        )
