"""What every request handler and worker shares: settings, store, clock, keys, workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from conduit.api.ratelimit import RateLimiter
from conduit.auth.credential_cache import CredentialCache
from conduit.auth.secrets import SecretBox
from conduit.auth.signin_throttle import SignInThrottle
from conduit.clock import Clock
from conduit.config import Settings
from conduit.store.contract import Store
from conduit.store.records import Delivery


@dataclass
class Context:
    settings: Settings
    store: Store
    clock: Clock
    secrets: SecretBox
    signing_key: bytes
    # Workers attach themselves here by name (e.g. "dispatcher", "stream_hub") so api modules can
    # reach them without the app factory knowing every worker's type.
    workers: dict[str, Any] = field(default_factory=dict)
    # Verified credentials (auth/credential_cache.py) and per-account request budgets
    # (api/ratelimit.py, used only when settings.rate_limit is on): state of the auth hot path.
    credentials: CredentialCache = field(default_factory=CredentialCache)
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    signin_throttle: SignInThrottle = field(default_factory=SignInThrottle)

    def born_claimed_until(self, now: float) -> float:
        """Until when rows enqueued now are claimed for this node's dispatcher, which is handed
        them right after the commit; 0 (born unclaimed, for any node to claim) without one."""
        if self.workers.get("dispatcher") is None:
            return 0.0
        return now + self.settings.lease_seconds

    def look_at(self, connector_ids: list[str]) -> None:
        """Rows of these connectors were queued unclaimed (a replay): this node's dispatcher
        claims them as backlog now rather than at its next safety-net rescan."""
        dispatcher = self.workers.get("dispatcher")
        if dispatcher is not None and connector_ids:
            dispatcher.look_at(connector_ids)

    def offer_deliveries(self, deliveries: list[Delivery]) -> None:
        """Rows born claimed for this node are committed: start sending them now."""
        dispatcher = self.workers.get("dispatcher")
        if dispatcher is not None and deliveries:
            dispatcher.offer(deliveries)


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx
