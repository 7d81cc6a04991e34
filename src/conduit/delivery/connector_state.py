"""What the dispatcher keeps in memory per connector: how to send to it, how healthy it is, and how
many requests it has in flight (`slot_shares` decides how many it may have).

The sending config (URL, headers, decrypted secret) is a cache of the connector's row, checked
against the row every time deliveries are read (`fingerprint`), so an update applies to the next
attempt and a secret is decrypted once per change, not once per push. Health mirrors the row's
delivery-health columns, which the dispatcher writes back with each batch of outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

from conduit.auth.secrets import SecretBox
from conduit.delivery import policy
from conduit.delivery.http import Target, parse_target
from conduit.delivery.request import base_headers
from conduit.domain.dataconnectors import ACTIVE, DT_JWT
from conduit.store.records import ConnectorRow, Health

Fingerprint = tuple[
    str, float, str, bytes | None, bytes | None, str, bytes | None, float, bool, float
]


def fingerprint(row: ConnectorRow) -> Fingerprint:
    return (
        row.status,
        row.update_time,
        row.url,
        row.headers_sealed,
        row.signature_secret,
        row.signature_scheme,
        row.previous_secret,
        row.previous_secret_until,
        row.disable_on_gone,
        row.rate_limit,
    )


@dataclass
class ConnectorState:
    id: str
    project_id: str
    fingerprint: Fingerprint
    active: bool
    target: (
        Target | None
    )  # None: the stored URL cannot be sent to (every attempt fails `invalid_url`)
    headers: dict[str, str]  # the per-connector part of every attempt's headers
    secret: bytes | None  # UTF-8 signature secret; None = unsigned
    scheme: str = DT_JWT  # how attempts are signed (`request.attempt_headers`)
    previous_secret: bytes | None = None  # a rotated-out secret, signing too until ...
    previous_until: float = 0.0
    disable_on_gone: bool = False
    rate_limit: float = 0.0  # pushes per second; 0 = none (its rows always take the backlog path)
    consecutive_failures: int = 0
    failing_since: float | None = None
    last_success: float | None = None
    idle: bool = False  # its queue was seen empty since its last failure
    probe_at: float = 0.0  # while failing: not before this
    in_flight: int = 0
    in_flight_retries: int = 0
    claiming: bool = False
    # The earliest time the store may hold claimable rows of this connector that the dispatcher has
    # not taken; None = none known (its birth-claimed rows arrive by id).
    backlog_at: float | None = None

    @classmethod
    def from_row(cls, row: ConnectorRow, secrets: SecretBox) -> ConnectorState:
        state = cls(
            id=row.id,
            project_id=row.project_id,
            fingerprint=fingerprint(row),
            active=False,
            target=None,
            headers={},
            secret=None,
        )
        state.apply_config(row, secrets)
        state.adopt_health(row)
        return state

    def apply_config(self, row: ConnectorRow, secrets: SecretBox) -> None:
        """Take the row's sending config (called when its fingerprint changed)."""
        self.fingerprint = fingerprint(row)
        self.active = row.status == ACTIVE
        self.target = parse_target(row.url)
        self.headers = base_headers({})
        self.secret = self.previous_secret = None
        self.scheme = row.signature_scheme
        self.previous_until = row.previous_secret_until
        self.disable_on_gone = row.disable_on_gone
        self.rate_limit = row.rate_limit
        try:
            self.headers = base_headers(secrets.open_headers(row.headers_sealed))
            if row.signature_secret:
                self.secret = secrets.decrypt(row.signature_secret).encode() or None
            if row.previous_secret:
                self.previous_secret = secrets.decrypt(row.previous_secret).encode() or None
        except ValueError:
            # Fail closed: a push is never sent unsigned, or without the headers its receiver
            # expects. Every attempt fails (`invalid_url`) until the connector is set anew.
            self.target = None

    def adopt_health(self, row: ConnectorRow) -> None:
        self.consecutive_failures = row.consecutive_failures
        self.failing_since = row.failing_since
        self.last_success = row.last_success
        self.probe_at = row.probe_until if row.consecutive_failures else 0.0

    # ---- health ---------------------------------------------------------------------------------

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0

    def on_success(self, now: float) -> None:
        self.consecutive_failures = 0
        self.failing_since = None
        self.last_success = now
        self.probe_at = 0.0

    def on_failure(self, now: float, random: policy.Random) -> None:
        self.consecutive_failures += 1
        self.failing_since = policy.failing_since_after_failure(self.failing_since, self.idle, now)
        self.idle = False
        self.probe_at = policy.next_probe_at(now, self.consecutive_failures, random)

    def previous_at(self, now: float) -> bytes | None:
        """The rotated-out secret while its grace period lasts."""
        return self.previous_secret if now < self.previous_until else None

    def health(self) -> Health:
        return (self.failing_since, self.last_success, self.consecutive_failures)

    # ---- slots ----------------------------------------------------------------------------------

    def limit(self, cap: int) -> int:
        return policy.connector_limit(self.consecutive_failures, cap)

    def note_backlog(self, at: float) -> None:
        if self.backlog_at is None or at < self.backlog_at:
            self.backlog_at = at

    def defer_backlog(self, at: float) -> None:
        """Its due rows cannot be taken before `at` (another node's probe, an empty token bucket):
        later, not sooner, whatever backlog brought the dispatcher here."""
        self.backlog_at = at
