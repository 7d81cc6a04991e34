"""Rows to records, for both backends: `sqlite3.Row` and `asyncpg.Record` both read by column
name, so one mapping serves both and the records cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from conduit.domain.accounts import Key, Membership, Organization, Project, ServiceAccount
from conduit.domain.dataconnectors import DataConnector
from conduit.domain.devices import Device
from conduit.domain.ids import new_emulated_device_id, new_id
from conduit.domain.users import User
from conduit.store.records import Attempt, ConnectorRow


class Row(Protocol):
    def __getitem__(self, key: str) -> Any: ...


def connector_from_row(row: Row) -> DataConnector:
    secret = row["signature_secret"]
    return DataConnector(
        id=row["id"],
        project_id=row["project_id"],
        display_name=row["display_name"],
        status=row["status"],
        events=orjson.loads(row["events"]),
        labels=orjson.loads(row["labels"]),
        url=row["url"],
        signature_secret_encrypted=bytes(secret) if secret else None,
        headers_sealed=bytes(sealed) if (sealed := row["headers_sealed"]) else None,
        type=row["type"],
        create_time=row["create_time"],
        update_time=row["update_time"],
        failing_since=row["failing_since"],
        last_success=row["last_success"],
        consecutive_failures=row["consecutive_failures"],
        signature_scheme=row["signature_scheme"],
        previous_secret_encrypted=bytes(previous) if (previous := row["previous_secret"]) else None,
        previous_secret_until=row["previous_secret_until"],
        disable_on_gone=bool(row["disable_on_gone"]),
        rate_limit=row["rate_limit"],
        status_reason=row["status_reason"],
    )


def new_connector(connector: DataConnector, connector_id: str, now: float) -> DataConnector:
    """The record of a connector about to be created: a fresh id and times, the rest as given."""
    return DataConnector(
        id=connector_id,
        project_id=connector.project_id,
        display_name=connector.display_name,
        status=connector.status,
        events=list(connector.events),
        labels=list(connector.labels),
        url=connector.url,
        signature_secret_encrypted=connector.signature_secret_encrypted,
        headers_sealed=connector.headers_sealed,
        type=connector.type,
        create_time=now,
        update_time=now,
        signature_scheme=connector.signature_scheme,
        previous_secret_encrypted=connector.previous_secret_encrypted,
        previous_secret_until=connector.previous_secret_until,
        disable_on_gone=connector.disable_on_gone,
        rate_limit=connector.rate_limit,
    )


def project_from_row(row: Row) -> Project:
    return Project(
        id=row["id"],
        organization_id=row["organization_id"],
        organization_display_name=row["org_name"],
        display_name=row["display_name"],
        inventory=bool(row["inventory"]),
        create_time=row["create_time"],
        sensor_count=row["sensors"],
        cloud_connector_count=row["ccons"],
    )


def organization_from_row(row: Row) -> Organization:
    return Organization(row["id"], row["display_name"], row["create_time"])


def account_from_row(row: Row) -> ServiceAccount:
    return ServiceAccount(
        id=row["id"],
        project_id=row["project_id"],
        email=row["email"],
        display_name=row["display_name"],
        enable_basic_auth=bool(row["enable_basic_auth"]),
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


def key_from_row(row: Row) -> Key:
    return Key(row["id"], row["service_account_id"], row["create_time"])


def user_from_row(row: Row) -> User:
    return User(row["id"], row["email"], row["display_name"], row["create_time"])


def membership_from_row(row: Row) -> Membership:
    return Membership(
        scope_kind=row["scope_kind"],
        scope_id=row["scope_id"],
        member_id=row["member_id"],
        account_type=row["account_type"],
        email=row["email"],
        display_name=row["display_name"],
        roles=orjson.loads(row["roles"]),
        status=row["status"],
        create_time=row["create_time"],
    )


DEVICE_COLUMNS = "id, project_id, type, product_number, labels, reported, emulated, create_time"


def device_from_row(row: Sequence[Any]) -> Device:
    return Device(
        id=row[0],
        project_id=row[1],
        type=row[2],
        product_number=row[3],
        labels=orjson.loads(row[4]),
        reported=orjson.loads(row[5]),
        emulated=bool(row[6]),
        create_time=row[7],
    )


def connector_row_from_row(row: Sequence[Any]) -> ConnectorRow:
    """From `id, status, update_time, url, headers_sealed, signature_secret, failing_since,
    last_success, consecutive_failures, probe_until, project_id, signature_scheme,
    previous_secret, previous_secret_until, disable_on_gone, rate_limit`."""
    secret = row[5]
    sealed = row[4]
    previous = row[12]
    return ConnectorRow(
        id=row[0],
        project_id=row[10],
        status=row[1],
        update_time=row[2],
        url=row[3],
        headers_sealed=bytes(sealed) if sealed else None,
        signature_secret=bytes(secret) if secret else None,
        failing_since=row[6],
        last_success=row[7],
        consecutive_failures=row[8],
        probe_until=row[9],
        signature_scheme=row[11],
        previous_secret=bytes(previous) if previous else None,
        previous_secret_until=row[13],
        disable_on_gone=bool(row[14]),
        rate_limit=row[15],
    )


def attempt_from_row(row: Sequence[Any]) -> Attempt:
    """From `id, event_id, attempt, at, success, status_code, error, latency`."""
    return Attempt(
        id=row[0],
        event_id=row[1],
        attempt=row[2],
        at=row[3],
        success=bool(row[4]),
        status_code=row[5],
        error=row[6],
        latency=float(row[7]),
    )


def new_device(
    project_id: str,
    device_type: str,
    labels: dict[str, str],
    *,
    emulated: bool,
    product_number: str,
    now: float,
) -> Device:
    """The record of a device about to be created: a fresh id (emulated ids look like DT's)."""
    return Device(
        id=new_emulated_device_id(now) if emulated else new_id(now),
        project_id=project_id,
        type=device_type,
        product_number=product_number,
        labels=labels,
        reported={},
        emulated=emulated,
        create_time=now,
    )
