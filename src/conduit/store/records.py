"""The plain records that cross the store seam: what the store hands the delivery engine and the
API, and what they hand back to be written.

They live in `store/` (not in `delivery/`) because both sides of the seam speak them and the store
must never import the layer above it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# (failing_since, last_success, consecutive_failures)
Health = tuple[float | None, float | None, int]

# (connector_id, event_id, attempt, at, success, status_code, error, latency)
AttemptRow = tuple[str, str, int, float, int, int | None, str | None, float]


@dataclass(slots=True)
class Delivery:
    """One queued (connector, event) pair, as claimed or as born at enqueue."""

    id: int
    connector_id: str
    event_id: str
    event_time: float  # when it entered the queue; the 12-hour window counts from here
    body: bytes
    attempts: int  # attempts made before this one
    lease_until: float
    replay: bool = False  # queued by a `:replay`: takes only retry slots


@dataclass(frozen=True, slots=True)
class ConnectorRow:
    """What the dispatcher needs of a connector, read fresh from its row."""

    id: str
    project_id: str
    status: str
    update_time: float
    url: str
    headers_sealed: bytes | None  # encrypted JSON object
    signature_secret: bytes | None  # encrypted
    failing_since: float | None
    last_success: float | None
    consecutive_failures: int
    probe_until: float = 0.0
    signature_scheme: str = "DT_JWT"
    previous_secret: bytes | None = None  # encrypted; signs too until previous_secret_until
    previous_secret_until: float = 0.0
    disable_on_gone: bool = False
    rate_limit: float = 0.0


@dataclass
class Settlement:
    """The outcome of a batch of attempts, written in one transaction."""

    acked: list[int] = field(default_factory=list)
    # (attempts, next attempt, id, error class of the failed attempt)
    rescheduled: list[tuple[int, float, int, str | None]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    expired: list[tuple[int, str]] = field(default_factory=list)  # (id, connector_id)
    attempts: list[AttemptRow] = field(default_factory=list)
    # connector_id -> its latest delivery health
    health: dict[str, Health] = field(default_factory=dict)
    # connector_id -> when its next probe may start (0: at once) after a probe's outcome
    probes: dict[str, float] = field(default_factory=dict)
    disable: dict[str, str] = field(default_factory=dict)  # connector_id -> why (STATUS_REASONS)

    def __bool__(self) -> bool:
        return bool(
            self.acked
            or self.rescheduled
            or self.released
            or self.expired
            or self.attempts
            or self.health
            or self.probes
            or self.disable
        )


@dataclass(frozen=True)
class Settled:
    """What writing a `Settlement` changed: rows expired per connector, and the connectors it
    disabled together with the deliveries their disabling dropped."""

    expired: Counter[str] = field(default_factory=Counter)
    dropped: int = 0


@dataclass(frozen=True)
class Attempt:
    id: int
    event_id: str
    attempt: int
    at: float
    success: bool
    status_code: int | None
    error: str | None
    latency: float  # seconds


# Why a delivery left the queue without a 2xx.
EXPIRED = "EXPIRED"
DEAD_LETTER_REASONS = (EXPIRED, "USER_DISABLED", "SYSTEM_DISABLED")


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that left the queue undelivered (kept as long as event history)."""

    id: int
    connector_id: str
    event_id: str
    event_time: float  # when the event entered the queue
    at: float  # when it left the queue
    reason: str  # one of DEAD_LETTER_REASONS
    attempts: int
    last_error: str | None  # error class of its latest failed attempt; None if never attempted


@dataclass(frozen=True)
class LabelFailure:
    """One device a label batch could not change (SPEC §9 batch errors), e.g. NOT_FOUND."""

    project_id: str
    device_id: str
    code: str
    message: str


@dataclass(frozen=True)
class StoredEvent:
    """An event the store has committed: what streams and the dispatcher are told afterwards."""

    project_id: str
    device_id: str
    device_type: str
    event_type: str
    labels: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Notice:
    """What another node committed that this node may need to act on: connectors with rows
    nobody claims, and events for its streams. `everything` says notices may have been missed
    (the listener reconnected): look at every connector again."""

    origin: str
    connectors: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    everything: bool = False


@dataclass(frozen=True)
class Recorded:
    """What a publishing write committed: its events and the deliveries born for them."""

    events: list[StoredEvent]
    deliveries: list[Delivery]
    failures: list[LabelFailure] = field(default_factory=list)
