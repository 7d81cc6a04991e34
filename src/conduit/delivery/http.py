"""Outbound pushes: one keep-alive connection pool, no redirects, verified TLS, and the SSRF rule
applied to the address actually connected to.

Why the check lives in the resolver: a URL is checked when a connector is created or changed
(`delivery/addresses.check_url`), but DNS can answer differently a second later (rebinding). aiohttp
connects to exactly the addresses its resolver returns, so `GuardedResolver` checks every resolved
address with the same rule (`addresses.address_allowed`) and refuses the whole lookup if any is not
allowed: the check and the connect use the same address. IP-literal URLs skip resolvers, so they are
checked before the request. Plain `http://` is allowed only to addresses inside an operator-allowed
network, which is why there are two pools: the `http` pool's resolver does not accept public
addresses.

Every failure is classified into a short error name (`timeout`, `connection_refused`,
`connection_reset`, `tls`, `dns`, `redirect`, `blocked_address`, `http_<status>`, ...) that the
attempt log, `:metrics` and Prometheus share. Fail closed: anything unexpected is a failed attempt,
never a success.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from conduit.config import Network, Settings
from conduit.delivery.addresses import address_allowed, literal_address, split_url
from conduit.delivery.retry_after import HONOURED_STATUSES, parse_retry_after
from conduit.domain.errors import BadRequest

RESPONSE_BODY_LIMIT = 64 * 1024  # bytes of a receiver's answer read (and thrown away) per attempt
DNS_CACHE_SECONDS = 10


class BlockedAddress(OSError):
    """A push target resolved to an address this server may not connect to."""


@dataclass(frozen=True, slots=True)
class Target:
    """A connector's URL, parsed once."""

    url: URL
    scheme: str
    host: str
    literal: bool  # the host is an IP address (no DNS, so checked before each request)


@dataclass(frozen=True, slots=True)
class Outcome:
    success: bool
    status: int | None  # HTTP status, when the receiver answered
    error: str | None  # error class of a failure; None on success
    latency: float  # seconds, request start to full response (or failure)
    retry_after: float | None = None  # seconds a 429 or 503 asked us to wait (`retry_after`)


def parse_target(url: str) -> Target | None:
    """Parse a stored connector URL; None if it is not one we can send to."""
    try:
        parts, host, _ = split_url(url)
        parsed = URL(url)
        address = literal_address(host)
        if address is not None and address.version == 4 and host != str(address):
            # A legacy IPv4 form: connect to the canonical address that was checked.
            host = str(address)
            parsed = parsed.with_host(host)
    except (BadRequest, ValueError):
        return None
    return Target(url=parsed, scheme=parts.scheme.lower(), host=host, literal=address is not None)


class GuardedResolver(AbstractResolver):
    """The system resolver, refusing any answer that contains a disallowed address."""

    def __init__(
        self, networks: Sequence[Network], *, scheme: str, inner: AbstractResolver | None = None
    ) -> None:
        self._inner = inner or ThreadedResolver()
        self._networks = list(networks)
        self._scheme = scheme

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not address_allowed(result["host"], self._networks, scheme=self._scheme):
                raise BlockedAddress(f"{host} resolves to {result['host']}, which is not allowed")
        return results

    async def close(self) -> None:
        await self._inner.close()


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificates verified against the system store, or only against the operator's bundle."""
    return ssl.create_default_context(cafile=ca_bundle)


def classify(exc: BaseException) -> str:
    """The error class of a failed attempt."""
    if isinstance(exc, BlockedAddress):
        return "blocked_address"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "blocked_address" if isinstance(exc.os_error, BlockedAddress) else "dns"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "tls"
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _os_error_class(exc.os_error)
    if isinstance(exc, aiohttp.ServerDisconnectedError | ConnectionResetError | BrokenPipeError):
        return "connection_reset"
    if isinstance(exc, aiohttp.ClientOSError):
        return _os_error_class(exc)
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid_url"
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return "protocol_error"
    return "connection_error"


def _os_error_class(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return "connection_refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError) or exc.errno in (
        errno.ECONNRESET,
        errno.EPIPE,
    ):
        return "connection_reset"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, socket.gaierror):
        return "dns"
    return "connection_error"


def status_class(status: int) -> str | None:
    """None for a success (any 2xx); otherwise the error class of the answer."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return "redirect"
    return f"http_{status}"


class PushClient:
    """Sends pushes. Create inside the running loop (`start`), close with `close`."""

    def __init__(self, settings: Settings, resolver: AbstractResolver | None = None) -> None:
        """`resolver` replaces the system resolver under the guard (tests simulate DNS with it)."""
        self._resolver = resolver
        self._networks = list(settings.allow_network)
        self._timeout = aiohttp.ClientTimeout(total=settings.delivery_timeout)
        self._ca_bundle = settings.ca_bundle
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._literals: dict[tuple[str, str], bool] = {}

    async def start(self) -> None:
        context = ssl_context(self._ca_bundle)
        for scheme in ("https", "http"):
            connector = aiohttp.TCPConnector(
                limit=0,  # the dispatcher's in-flight caps are the limit
                resolver=GuardedResolver(self._networks, scheme=scheme, inner=self._resolver),
                ttl_dns_cache=DNS_CACHE_SECONDS,
                ssl=context,
            )
            self._sessions[scheme] = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                auto_decompress=False,
                skip_auto_headers=("Accept-Encoding",),
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    def _literal_allowed(self, target: Target) -> bool:
        """The rule for an IP-literal host; fixed for the client's lifetime, so judged once."""
        key = (target.scheme, target.host)
        verdict = self._literals.get(key)
        if verdict is None:
            verdict = address_allowed(target.host, self._networks, scheme=target.scheme)
            if len(self._literals) < 4096:
                self._literals[key] = verdict
        return verdict

    async def close(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    async def post(self, target: Target | None, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """One attempt: POST `body`; never raises for anything the network or receiver does."""
        started = time.perf_counter()
        if target is None:
            return Outcome(False, None, "invalid_url", 0.0)
        if target.literal and not self._literal_allowed(target):
            return Outcome(False, None, "blocked_address", 0.0)
        session = self._sessions[target.scheme]
        try:
            async with session.post(
                target.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                retry_after = (
                    parse_retry_after(response.headers.get("Retry-After"), time.time())
                    if status in HONOURED_STATUSES
                    else None
                )
                await _drain(response)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is an outcome, classified
            return Outcome(False, None, classify(exc), time.perf_counter() - started)
        error = status_class(status)
        return Outcome(error is None, status, error, time.perf_counter() - started, retry_after)


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read (and discard) the answer so the connection is reused; a huge one closes it instead."""
    read = 0
    while read <= RESPONSE_BODY_LIMIT:
        chunk = await response.content.readany()
        if not chunk:
            return
        read += len(chunk)
    response.close()
