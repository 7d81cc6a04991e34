"""Outbound pushes: keep-alive connections, no redirects, verified TLS, and the SSRF rule applied
to the address actually connected to.

The client is pyreqwest (Rust's reqwest and hyper): measured here it costs about half of aiohttp's
CPU per request, and the sender is a third of a delivered event's CPU (docs/performance.md). The
guard stays in Python: a URL is checked when a connector is created or changed
(`delivery/addresses.check_url`), but DNS can answer differently a second later (rebinding), so a
host name is resolved here through `GuardedResolver`, which checks every address with the same rule
(`addresses.address_allowed`) and refuses the whole answer if any is not allowed, and the request
goes out through a client pinned to an approved address (`delivery/pinned_hosts.py`). IP-literal
URLs need no DNS, so they are checked before the request. Plain `http://` is allowed only to
addresses inside an operator-allowed network, which is why each scheme has its own resolver: the
`http` one does not accept public addresses. No proxy from the environment, no decompression, no
cookies.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import (
    DecodeError,
    DetailedPyreqwestError,
    RedirectError,
    RequestTimeoutError,
)
from pyreqwest.response import Response
from yarl import URL

from conduit.config import Network, Settings
from conduit.delivery.addresses import address_allowed, literal_address, split_url
from conduit.delivery.pinned_hosts import PinnedHosts
from conduit.delivery.retry_after import HONOURED_STATUSES, parse_retry_after
from conduit.delivery.trust_store import only_trusting
from conduit.domain.errors import BadRequest

RESPONSE_BODY_LIMIT = 64 * 1024  # bytes of a receiver's answer read (and thrown away) per attempt
DNS_CACHE_SECONDS = 10  # how long a host name stays pinned to the address it resolved to
IDLE_SECONDS = 15  # an idle keep-alive connection is closed after this (aiohttp's default)


class BlockedAddress(OSError):
    """A push target resolved to an address this server may not connect to."""


@dataclass(frozen=True, slots=True)
class Target:
    """A connector's URL, parsed once."""

    text: str  # the URL as sent (a legacy IPv4 host written canonically)
    scheme: str
    host: str
    literal: bool  # the host is an IP address (no DNS, so checked before each request)
    name: str  # the host as DNS sees it (IDNA-encoded), the key of its pin


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
    return Target(
        text=str(parsed),
        scheme=parts.scheme.lower(),
        host=host,
        literal=address is not None,
        name=parsed.raw_host or host,
    )


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


CONNECTION_FAILURES = frozenset({"connection_refused", "timeout", "tls", "connection_error"})


def classify(exc: BaseException) -> str:
    """The error class of a failed attempt."""
    if isinstance(exc, BlockedAddress):
        return "blocked_address"
    if isinstance(exc, TimeoutError | RequestTimeoutError):
        return "timeout"
    if isinstance(exc, RedirectError):
        return "redirect"
    if isinstance(exc, DecodeError):
        return "protocol_error"
    if isinstance(exc, DetailedPyreqwestError):
        return _cause_class(exc)
    if isinstance(exc, OSError):
        return _os_error_class(exc)
    return "connection_error"


_QUOTES_THE_URL = ("error sending request for url", "error following redirect for url")

# What reqwest's causes say, lowercased, and the class each means; the first match wins.
_CAUSES = (
    (("os error 111", "connection refused"), "connection_refused"),
    (("certificate", "tls", "ssl", "handshake", "corrupt message", "alert", "incompatible"), "tls"),
    (
        ("os error 104", "os error 32", "reset by peer", "broken pipe", "connection closed"),
        "connection_reset",
    ),
    (("dns error", "resolve"), "dns"),
    (("invalid url", "builder error", "relative url"), "invalid_url"),
    (("parse", "invalid http", "invalid status", "invalid header"), "protocol_error"),
)


def _cause_class(exc: DetailedPyreqwestError) -> str:
    """Reads reqwest's chain of causes, leaving out the one that quotes the URL: a tenant's URL
    (`https://…/tls-hook`) must not decide the class."""
    causes = (exc.details or {}).get("causes") or []
    messages = [c["message"] for c in causes if not c["message"].startswith(_QUOTES_THE_URL)]
    text = " | ".join([exc.message, *messages]).lower()
    for needles, error in _CAUSES:
        if any(needle in text for needle in needles):
            return error
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

    def __init__(
        self,
        settings: Settings,
        resolver: AbstractResolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`resolver` replaces the system resolver under the guard (tests simulate DNS with it);
        `clock` times the pins' DNS_CACHE_SECONDS."""
        self._resolver = resolver
        self._clock = clock
        self._networks = list(settings.allow_network)
        self._timeout = timedelta(seconds=settings.delivery_timeout)
        self._ca_bundle = settings.ca_bundle
        self._literal_clients: dict[str, Client] = {}
        self._pins: dict[str, PinnedHosts] = {}
        self._literals: dict[tuple[str, str], bool] = {}

    def _build(self, host: str | None, address: str | None) -> Client:
        builder = (
            ClientBuilder()
            .timeout(self._timeout)
            .follow_redirects(False)
            .no_proxy()
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .pool_idle_timeout(timedelta(seconds=IDLE_SECONDS))
        )
        if host is not None and address is not None:
            builder = builder.resolve(host, address, 0)  # the URL's port is used
        with only_trusting(self._ca_bundle):
            return builder.build()

    async def start(self) -> None:
        for scheme in ("https", "http"):
            self._literal_clients[scheme] = self._build(None, None)
            guard = GuardedResolver(self._networks, scheme=scheme, inner=self._resolver)
            self._pins[scheme] = PinnedHosts(guard, self._build, DNS_CACHE_SECONDS, self._clock)

    def _literal_allowed(self, target: Target) -> bool:
        """The rule for an IP-literal host; fixed for the client's lifetime, so judged once."""
        key = (target.scheme, target.host)
        verdict = self._literals.get(key)
        if verdict is None:
            verdict = address_allowed(target.host, self._networks, scheme=target.scheme)
            if len(self._literals) < 4096:
                self._literals[key] = verdict
        return verdict

    def pinned(self, target: Target) -> str | None:
        """The address a host-name target's requests go to now, if it was resolved."""
        return self._pins[target.scheme].pinned(target.name)

    async def close(self) -> None:
        clients, self._literal_clients = self._literal_clients, {}
        pins, self._pins = self._pins, {}
        for client in clients.values():
            await client.close()
        for hosts in pins.values():
            await hosts.close()

    async def post(self, target: Target | None, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """One attempt: POST `body`; never raises for anything the network or receiver does."""
        started = time.perf_counter()
        if target is None:
            return Outcome(False, None, "invalid_url", 0.0)
        pins = None if target.literal else self._pins[target.scheme]
        try:
            if pins is None:
                if not self._literal_allowed(target):
                    return Outcome(False, None, "blocked_address", 0.0)
                client = self._literal_clients[target.scheme]
            else:
                client = await pins.client(target.name)
            request = client.post(target.text).body_bytes(body).headers(headers)
            async with request.build_streamed() as response:
                status = response.status
                retry_after = (
                    parse_retry_after(response.get_header("Retry-After"), time.time())
                    if status in HONOURED_STATUSES
                    else None
                )
                await _drain(response)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is an outcome, classified
            failure = classify(exc)
            if pins is not None and failure in CONNECTION_FAILURES:
                pins.failed(target.name)
            return Outcome(False, None, failure, time.perf_counter() - started)
        error = status_class(status)
        return Outcome(error is None, status, error, time.perf_counter() - started, retry_after)


async def _drain(response: Response) -> None:
    """Read (and discard) the answer so the connection is reused; a huge one closes it instead
    (leaving the `async with` unread drops the connection)."""
    reader = response.body_reader
    read = 0
    while read <= RESPONSE_BODY_LIMIT:
        chunk = await reader.read_chunk()
        if chunk is None:
            return
        read += len(chunk)
