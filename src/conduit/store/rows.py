"""Rows to records, for both backends: `sqlite3.Row` and `asyncpg.Record` both read by column
name, so one mapping serves both and the records cannot drift apart."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from conduit.domain.dataconnectors import DataConnector


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
        headers=orjson.loads(row["headers"]),
        type=row["type"],
        create_time=row["create_time"],
        update_time=row["update_time"],
        failing_since=row["failing_since"],
        last_success=row["last_success"],
        consecutive_failures=row["consecutive_failures"],
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
        headers=dict(connector.headers),
        type=connector.type,
        create_time=now,
        update_time=now,
    )
