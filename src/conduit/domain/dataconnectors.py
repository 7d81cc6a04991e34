"""The Data Connector resource as a plain record (validation and PATCH rules live beside it)."""

from __future__ import annotations

from dataclasses import dataclass

ACTIVE = "ACTIVE"
USER_DISABLED = "USER_DISABLED"
SYSTEM_DISABLED = "SYSTEM_DISABLED"
STATUSES = (ACTIVE, USER_DISABLED, SYSTEM_DISABLED)
CLIENT_SETTABLE_STATUSES = (ACTIVE, USER_DISABLED)
# Why the system disabled a connector (`statusReason`, a Conduit extension).
RECEIVER_GONE = "RECEIVER_GONE"  # the receiver answered 410 Gone and `disableOnGone` is set
NO_SUCCESS_FOR_5_DAYS = "NO_SUCCESS_FOR_5_DAYS"  # every attempt failed for 5 days
STATUS_REASONS = (RECEIVER_GONE, NO_SUCCESS_FOR_5_DAYS)
HTTP_PUSH = "HTTP_PUSH"

# How pushes are signed (a Conduit extension; DT signs with its JWT only).
DT_JWT = "DT_JWT"
STANDARD_WEBHOOKS = "STANDARD_WEBHOOKS"
BOTH = "BOTH"
SIGNATURE_SCHEMES = (DT_JWT, STANDARD_WEBHOOKS, BOTH)


@dataclass(frozen=True)
class DataConnector:
    id: str
    project_id: str
    display_name: str
    status: str
    events: list[str]
    labels: list[str]
    url: str
    signature_secret_encrypted: bytes | None  # decrypt with Context.secrets; None = unsigned
    headers_sealed: bytes | None = None  # Context.secrets.open_headers; None = no custom headers
    type: str = HTTP_PUSH
    create_time: float = 0.0
    update_time: float = 0.0
    # delivery health, owned by the dispatcher
    failing_since: float | None = None
    last_success: float | None = None
    consecutive_failures: int = 0
    # Conduit extensions (issue 9); their defaults behave exactly as DT's connectors do.
    signature_scheme: str = DT_JWT
    previous_secret_encrypted: bytes | None = None  # a rotated-out secret, still signing until
    previous_secret_until: float = 0.0  # ... this moment
    disable_on_gone: bool = False  # a 410 Gone disables the connector (SYSTEM_DISABLED)
    rate_limit: float = 0.0  # pushes per second at most (`token_bucket`); 0 = no limit
    status_reason: str | None = None  # one of STATUS_REASONS while SYSTEM_DISABLED


# `:metrics` covers the attempts of the last 3 hours (SPEC §4.5).
METRICS_WINDOW = 3 * 3600.0
