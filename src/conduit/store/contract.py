"""The store seam: every operation Conduit asks of its database, declared once.

Two backends implement it — `store/sqlite/` (one file, one node) and `store/postgres/` (many nodes
on one PostgreSQL) — and one integration suite judges both. The methods name whole operations
(`record_publish`, `claim_due`, `settle`), never connection steps: whatever a backend needs to make
an operation atomic (one group-committed job, one transaction) stays behind it. Every method the
event loop calls is `async`.

Tenant scoping lives behind the seam: every read of a project's resources names the project, so an
id from another project is simply not found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from conduit.domain.accounts import (
    Key,
    Membership,
    Organization,
    Project,
    ServiceAccount,
)
from conduit.domain.attempt_series import SeriesBucket
from conduit.domain.dataconnector_rules import Replay
from conduit.domain.dataconnectors import DataConnector
from conduit.domain.devices import Device, DeviceRef
from conduit.domain.labels import LabelChange
from conduit.domain.users import Grant, SessionRecord, User
from conduit.store.records import (
    Attempt,
    ConnectorRow,
    DeadLetter,
    Delivery,
    Notice,
    Recorded,
    Settled,
    Settlement,
    StoredEvent,
)


class AccountStore(Protocol):
    """Organizations, projects, service accounts, keys and memberships."""

    def access_changed(self) -> None: ...
    async def bootstrap_platform(
        self,
        organization: Organization,
        project: Project,
        account: ServiceAccount,
        key: Key,
        secret_encrypted: bytes,
    ) -> bool: ...
    async def create_organization(self, display_name: str) -> Organization: ...
    async def get_organization(self, org_id: str) -> Organization | None: ...
    async def list_organizations(self) -> list[Organization]: ...
    async def organization_visible_to(self, member_id: str, org_id: str) -> bool: ...
    async def list_organizations_visible_to(self, member_id: str) -> list[Organization]: ...
    async def create_project(
        self, organization_id: str, display_name: str, inventory: bool = False
    ) -> Project: ...
    async def get_project(self, project_id: str) -> Project | None: ...
    async def list_projects(self, organization_id: str | None = None) -> list[Project]: ...
    async def list_projects_visible_to(
        self, member_id: str, organization_id: str | None = None
    ) -> list[Project]: ...
    async def rename_project(self, project_id: str, display_name: str) -> Project | None: ...
    async def delete_project(self, project_id: str) -> bool: ...
    async def create_service_account(
        self, project_id: str, display_name: str, enable_basic_auth: bool = False
    ) -> ServiceAccount: ...
    async def get_service_account(self, account_id: str) -> ServiceAccount | None: ...
    async def get_service_account_by_email(self, email: str) -> ServiceAccount | None: ...
    async def list_service_accounts(self, project_id: str) -> list[ServiceAccount]: ...
    async def update_service_account(
        self,
        account_id: str,
        *,
        display_name: str | None = None,
        enable_basic_auth: bool | None = None,
    ) -> ServiceAccount | None: ...
    async def delete_service_account(self, account_id: str) -> bool: ...
    async def create_key(self, service_account_id: str, secret_encrypted: bytes) -> Key: ...
    async def get_key(self, key_id: str) -> Key | None: ...
    async def get_key_with_secret(self, key_id: str) -> tuple[Key, bytes] | None: ...
    async def list_keys(self, service_account_id: str) -> list[Key]: ...
    async def delete_key(self, key_id: str) -> bool: ...
    async def account_holding_key(self, account_id: str, key_id: str) -> ServiceAccount | None: ...
    async def put_membership(self, membership: Membership) -> Membership: ...
    async def add_membership(self, membership: Membership) -> Membership: ...
    async def get_membership(
        self, scope_kind: str, scope_id: str, member_id: str
    ) -> Membership | None: ...
    async def list_memberships(self, scope_kind: str, scope_id: str) -> list[Membership]: ...
    async def set_membership_roles(
        self, scope_kind: str, scope_id: str, member_id: str, roles: list[str]
    ) -> Membership | None: ...
    async def remove_membership(self, scope_kind: str, scope_id: str, member_id: str) -> bool: ...
    async def user_member_id(self, email: str) -> str | None: ...
    async def roles_in_project(
        self, member_id: str, project_id: str
    ) -> tuple[tuple[str, ...], str | None]: ...
    async def roles_in_organization(self, member_id: str, organization_id: str) -> list[str]: ...
    async def member_scopes(self, member_id: str) -> list[tuple[str, str, list[str]]]: ...


class UserStore(Protocol):
    """People who sign in to Studio, and their sessions (issue 8)."""

    async def create_user(
        self, email: str, display_name: str, password_hash: str, grants: Sequence[Grant]
    ) -> User:
        """A new user (409 if the email has one), in one transaction with its grants. An email
        already invited keeps its member id, and its pending invitations are accepted."""
        ...

    async def user_by_email(self, email: str) -> User | None: ...
    async def password_hash_of(self, email: str) -> tuple[User, str] | None: ...
    async def set_user_password(self, user_id: str, password_hash: str) -> bool:
        """Also ends every session of the user."""
        ...

    async def create_user_session(
        self, token_hash: bytes, user_id: str, csrf_token: str, expire_time: float
    ) -> None: ...
    async def user_session(self, token_hash: bytes, now: float) -> SessionRecord | None:
        """The session if it exists and has not expired at `now`."""
        ...

    async def delete_user_session(self, token_hash: bytes) -> bool: ...


class DeviceStore(Protocol):
    """Devices, their labels and latest data, the event history, and the publishing writes."""

    async def create_device(
        self,
        project_id: str,
        device_type: str,
        labels: dict[str, str],
        *,
        emulated: bool,
        product_number: str = "",
    ) -> Device: ...
    async def device_ref(self, project_id: str, device_id: str) -> DeviceRef | None: ...
    async def get_device(self, project_id: str, device_id: str) -> Device | None: ...
    async def find_device(self, device_id: str) -> Device | None: ...
    async def list_devices(
        self,
        project_ids: list[str],
        device_ids: list[str] | None = None,
        device_types: list[str] | None = None,
    ) -> list[Device]: ...
    async def delete_device(self, project_id: str, device_id: str) -> bool: ...
    async def move_devices(
        self, moves: list[tuple[str, str]], target_project_id: str
    ) -> list[bool]: ...
    async def list_events(
        self,
        device_id: str,
        *,
        start: float,
        end: float,
        event_types: list[str],
        after: tuple[float, int] | None,
        limit: int,
    ) -> list[tuple[float, int, bytes]]: ...
    async def record_publish(
        self,
        device: DeviceRef,
        envelope: dict[str, Any],
        body: bytes,
        data_json: str,
        ts: float,
        now: float,
        born_claimed_until: float,
    ) -> Recorded:
        """Commit one published event: the device's `reported` merge, the history row, and one
        queue row per matching ACTIVE connector, all or nothing. Raises `NotFound` (nothing
        written) if the device is gone."""
        ...

    async def record_label_change(
        self,
        targets: list[tuple[str, str]],
        compute: Callable[[dict[str, str]], LabelChange],
        timestamp: str,
        ts: float,
        now: float,
        born_claimed_until: float,
    ) -> Recorded:
        """Apply `compute` to each (project, device)'s labels in one transaction, recording a
        `labelsChanged` event (history and queue rows) for each device that changed."""
        ...

    async def prune_events(self, before: float, limit: int) -> int: ...


class ConnectorStore(Protocol):
    """Data Connector resources, their status changes and `:sync`."""

    async def create_dataconnector(self, connector: DataConnector) -> DataConnector: ...
    async def get_dataconnector(
        self, project_id: str, connector_id: str
    ) -> DataConnector | None: ...
    async def list_dataconnectors(self, project_id: str) -> list[DataConnector]: ...
    async def update_dataconnector(
        self,
        project_id: str,
        connector_id: str,
        change: Callable[[DataConnector], DataConnector],
    ) -> tuple[DataConnector, int]:
        """Apply `change` to the stored connector atomically; returns it and how many queued
        deliveries a status change away from ACTIVE dropped."""
        ...

    async def delete_dataconnector(self, project_id: str, connector_id: str) -> None: ...
    async def seal_clear_headers(self, seal: Callable[[dict[str, str]], bytes | None]) -> int:
        """Encrypt the custom headers that rows written before headers were sealed keep in clear
        (with `seal`, which holds the server key); how many rows changed."""
        ...

    async def replay(
        self, project_id: str, connector_id: str, replay: Replay, now: float
    ) -> tuple[int, bool]:
        """Queue the replay's events for the connector, unclaimed, each with a 12-hour window
        from `now`, marked so they take only retry slots; `(how many, already)`: while rows of an
        identical replay are still queued nothing is added and their count is returned. Raises
        NotFound, or BadRequest for a connector that is not ACTIVE."""
        ...

    async def sync_dataconnector(
        self, project_id: str, connector_id: str, born_claimed_until: float
    ) -> list[Delivery]: ...
    async def delivery_counter(self, connector_id: str, name: str) -> int:
        """A counter that outlives the rows it counts ("expired", "dropped")."""
        ...


class DeliveryQueue(Protocol):
    """The queue of (connector, event) deliveries: claim, settle, expire, and what is due."""

    async def connector_row(self, connector_id: str) -> ConnectorRow | None: ...
    async def active_connector_ids(self) -> list[str]: ...
    async def count_due(
        self, connector_id: str, now: float, limit: int, first_only: bool = False
    ) -> int: ...
    async def next_due(self, connector_id: str) -> float | None: ...
    async def claim_due(
        self,
        connector_id: str,
        now: float,
        lease_until: float,
        limit: int,
        *,
        first_attempts_only: bool = False,
    ) -> list[Delivery]: ...
    async def release_orphaned_claims(self) -> int:
        """At start: forget claims no live dispatcher can hold. Only a backend with a single
        dispatcher per database (SQLite, under its exclusive lock) may do more than nothing."""
        ...

    async def extend_leases(self, delivery_ids: list[int], lease_until: float) -> int: ...
    async def take_tokens(self, connector_id: str, wanted: int, now: float) -> int:
        """Up to `wanted` pushes the connector's rate limit allows at `now` (all of them when it
        has none), taken from its token bucket (`domain/token_bucket.py`) in one atomic step: on
        PostgreSQL one bucket for every node."""
        ...

    async def settle(self, batch: Settlement, now: float) -> Settled: ...
    async def expire_old(self, received_by: float, limit: int, now: float) -> Counter[str]:
        """Delete up to `limit` rows received at or before `received_by`, kept as dead letters
        (left the queue at `now`); counts per connector."""
        ...

    async def queue_depths(self) -> dict[str, int]: ...
    async def queued_count(self, connector_id: str) -> int: ...
    async def queued_events(self, connector_id: str, limit: int) -> list[str]:
        """The event ids queued for the connector, in queue order (inspection, not the hot path)."""
        ...

    async def claimed_count(self, connector_id: str, now: float) -> int:
        """Queued rows of the connector that some dispatcher holds a claim on at `now`."""
        ...


class AttemptLog(Protocol):
    """One row per delivery attempt (written by `DeliveryQueue.settle` with its outcome), kept 24
    hours: behind `:metrics` and `/attempts`."""

    async def dataconnector_metrics(
        self, connector_id: str, now: float
    ) -> tuple[int, int, float]: ...
    async def dataconnector_series(self, connector_id: str, now: float) -> list[SeriesBucket]:
        """The attempts made in [`series_since(now)`, now] per 10-minute bucket: all 18 buckets,
        oldest first, empty ones included (`domain/attempt_series.py`)."""
        ...

    async def list_delivery_attempts(
        self, connector_id: str, limit: int, before: tuple[float, int] | None = None
    ) -> list[Attempt]: ...
    async def prune_attempts(self, before: float, limit: int) -> int: ...


class DeadLetterLog(Protocol):
    """Deliveries that left the queue without a 2xx, written by `DeliveryQueue` as they leave
    (expired, or dropped by a disable), kept as long as event history: behind `/deadLetters`."""

    async def list_dead_letters(
        self,
        connector_id: str,
        limit: int,
        *,
        start: float | None = None,
        end: float | None = None,
        reason: str | None = None,
        before: tuple[float, int] | None = None,
    ) -> list[DeadLetter]:
        """Newest first, left the queue in `[start, end)`, strictly older than the `(at, id)`
        keyset `before`."""
        ...

    async def prune_dead_letters(self, before: float, limit: int) -> int: ...


class ServerFacts(Protocol):
    """Facts about the deployment itself, shared by every node."""

    async def put_server_fact(self, name: str, value: bytes) -> bytes:
        """Store `value` under `name` unless a value is there already; returns the stored one."""
        ...

    async def any_encrypted_secret(self) -> bytes | None:
        """Some secret encrypted with the server key (a key's or a connector's), if any exists."""
        ...


class Notices(Protocol):
    """Other nodes' commits, as they happen (PostgreSQL's `LISTEN/NOTIFY`; one SQLite node has
    no others, so there nothing ever arrives)."""

    def on_notice(self, listener: Callable[[Notice], None]) -> None:
        """Call `listener` on the event loop for every notice from another node."""
        ...

    async def events_by_id(self, event_ids: list[str]) -> list[StoredEvent]:
        """Committed events, as streams need them (labels as the device has them now)."""
        ...

    async def try_probe(self, connector_id: str, now: float, until: float) -> bool:
        """Take the right to send a failing connector's single probe until `until`, unless a
        probe is in flight (anywhere) or the connector's backoff has not passed."""
        ...


class Store(
    AccountStore,
    UserStore,
    DeviceStore,
    ConnectorStore,
    DeliveryQueue,
    AttemptLog,
    DeadLetterLog,
    ServerFacts,
    Notices,
    Protocol,
):
    """A whole backend: opened once at start, closed once at shutdown."""

    #: A process-unique name for this node; leases are tagged with it.
    node_id: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
