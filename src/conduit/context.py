"""What every request handler and worker shares: settings, store, clock, keys, workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from conduit.api.ratelimit import RateLimiter
from conduit.auth.credential_cache import CredentialCache
from conduit.auth.secrets import SecretBox
from conduit.clock import Clock
from conduit.config import Settings
from conduit.store.sqlite import SqliteStore


@dataclass
class Context:
    settings: Settings
    store: SqliteStore
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

    def wake_dispatcher(self) -> None:
        """New queue rows are committed: start sending them now (no-op without a dispatcher)."""
        dispatcher = self.workers.get("dispatcher")
        if dispatcher is not None:
            dispatcher.notify()


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx
