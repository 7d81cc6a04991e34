"""Request and response schemas of every operation, for `/v2/openapi.json`.

Request bodies are read from what the validators themselves use, so the document cannot promise
what the server refuses: the writable field lists of each resource module, the enums of `domain/`
(roles, statuses, device and event types), the limits of the label and connector rules, and for
`:publish` the event shapes the validator runs (`event_types.publish_schema`). Response schemas
describe the `*_json` renderers; schemathesis' response-conformance check holds them to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conduit.api import emulator, members, projects, serviceaccounts
from conduit.domain import dataconnector_rules as connector_rules
from conduit.domain.attempt_series import BUCKETS
from conduit.domain.dataconnectors import (
    CLIENT_SETTABLE_STATUSES,
    SIGNATURE_SCHEMES,
    STATUS_REASONS,
    STATUSES,
)
from conduit.domain.event_types import DEVICE_TYPES, EVENT_TYPES, publish_schema
from conduit.domain.labels import MAX_KEY, MAX_LABELS, MAX_VALUE
from conduit.domain.roles import ORGANIZATION_ROLES, PROJECT_ROLES, ROLES
from conduit.store.records import DEAD_LETTER_REASONS

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
INTEGER: Schema = {"type": "integer"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
STRINGS: Schema = {"type": "array", "items": STRING}
LABELS: Schema = {
    "type": "object",
    "maxProperties": MAX_LABELS,
    "additionalProperties": {"type": "string", "maxLength": MAX_VALUE},
}
DEVICE_NAMES: Schema = {"type": "array", "items": STRING, "minItems": 1}

# The type of each writable field, by name (a field means the same thing in every resource).
_FIELD_TYPES: dict[str, Schema] = {
    "displayName": {"type": "string", "maxLength": 256},
    "enableBasicAuth": BOOLEAN,
    "organization": STRING,
    "email": STRING,
    "type": {"type": "string", "enum": list(DEVICE_TYPES)},
    "labels": LABELS,
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def writable(
    fields: tuple[str, ...] | frozenset[str], overrides: dict[str, Schema] | None = None
) -> Schema:
    """A request body of exactly these fields (typed by `_FIELD_TYPES` unless overridden)."""
    types = {**_FIELD_TYPES, **(overrides or {})}
    return {**_obj({name: types[name] for name in sorted(fields)}), "additionalProperties": False}


def page(key: str, item: Schema) -> Schema:
    return _obj(
        {key: {"type": "array", "items": item}, "nextPageToken": STRING}, (key, "nextPageToken")
    )


def _connector_input(required: tuple[str, ...]) -> Schema:
    http_config = _obj(
        {
            "url": {"type": "string", "maxLength": connector_rules.MAX_URL_LENGTH},
            "signatureSecret": STRING,
            "headers": {
                "type": "object",
                "maxProperties": connector_rules.MAX_HEADERS,
                "additionalProperties": STRING,
            },
        }
    )
    properties: dict[str, Schema] = {
        "displayName": STRING,
        "type": {"type": "string", "enum": ["HTTP_PUSH"]},
        "status": {"type": "string", "enum": list(CLIENT_SETTABLE_STATUSES)},
        "events": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
        "labels": {"type": "array", "items": {"type": "string", "maxLength": MAX_KEY}},
        "httpConfig": http_config,
        "signatureScheme": {"type": "string", "enum": list(SIGNATURE_SCHEMES)},
        "disableOnGone": BOOLEAN,
        "rateLimit": {"type": "number", "minimum": 0, "maximum": connector_rules.MAX_RATE_LIMIT},
    }
    assert set(properties) == set(connector_rules.CONNECTOR_FIELDS), (
        "the validator's fields changed"
    )
    return _obj(properties, required)


COMPONENTS: dict[str, Schema] = {
    # `field`: which input a 400 is about (a JSON path such as httpConfig.url), when it is one.
    "Error": _obj(
        {"error": STRING, "code": INTEGER, "help": STRING, "field": STRING},
        ("error", "code", "help"),
    ),
    "Empty": {"type": "object", "additionalProperties": False},
    "Health": _obj({"status": STRING}, ("status",)),
    "Token": _obj(
        {"access_token": STRING, "token_type": STRING, "expires_in": INTEGER},
        ("access_token", "token_type", "expires_in"),
    ),
    "TokenRequest": _obj({"grant_type": STRING, "assertion": STRING}, ("grant_type", "assertion")),
    "SignIn": {
        **_obj({"email": STRING, "password": STRING}, ("email", "password")),
        "additionalProperties": False,
    },
    "Session": _obj(
        {
            "user": _obj(
                {"id": STRING, "email": STRING, "displayName": STRING},
                ("id", "email", "displayName"),
            ),
            "csrfToken": STRING,
            "expireTime": STRING,
        },
        ("user", "csrfToken", "expireTime"),
    ),
    "Organization": _obj({"name": STRING, "displayName": STRING}, ("name", "displayName")),
    "Project": _obj(
        {
            "name": STRING,
            "displayName": STRING,
            "organization": STRING,
            "organizationDisplayName": STRING,
            "sensorCount": INTEGER,
            "cloudConnectorCount": INTEGER,
            "inventory": BOOLEAN,
        },
        ("name", "displayName", "organization"),
    ),
    "ProjectInput": writable(("displayName", "organization")),
    "Permissions": page("permissions", STRING),
    "Role": _obj(
        {
            "name": {"type": "string", "enum": list(ROLES)},
            "displayName": STRING,
            "description": STRING,
            "permissions": STRINGS,
        },
        ("name", "displayName", "description", "permissions"),
    ),
    "Member": _obj(
        {
            "name": STRING,
            "displayName": STRING,
            "roles": {"type": "array", "items": {"type": "string", "enum": list(ROLES)}},
            "status": {"type": "string", "enum": ["ACCEPTED", "PENDING"]},
            "email": STRING,
            "accountType": {"type": "string", "enum": ["USER", "SERVICE_ACCOUNT"]},
            "createTime": TIMESTAMP,
        },
        ("name", "roles", "status", "email", "accountType"),
    ),
    "MemberInput": writable(
        ("email", "roles"),
        {
            "roles": {
                "type": "array",
                "items": {"type": "string", "enum": [*PROJECT_ROLES, *ORGANIZATION_ROLES]},
                "minItems": 1,
                "uniqueItems": True,
            }
        },
    ),
    "InviteUrl": _obj({"inviteUrl": STRING}, ("inviteUrl",)),
    "ServiceAccount": _obj(
        {
            "name": STRING,
            "email": STRING,
            "displayName": STRING,
            "enableBasicAuth": BOOLEAN,
            "createTime": TIMESTAMP,
            "updateTime": TIMESTAMP,
        },
        ("name", "email", "displayName", "enableBasicAuth"),
    ),
    "ServiceAccountInput": writable(serviceaccounts._WRITABLE),
    "Key": _obj({"name": STRING, "id": STRING, "createTime": TIMESTAMP}, ("name", "id")),
    "NewKey": _obj({"key": ref("Key"), "secret": STRING}, ("key", "secret")),
    "DataConnector": _obj(
        {
            "name": STRING,
            "displayName": STRING,
            "type": STRING,
            "status": {"type": "string", "enum": list(STATUSES)},
            "events": STRINGS,
            "labels": STRINGS,
            "httpConfig": _obj(
                {
                    "url": STRING,
                    "signatureSecret": STRING,
                    "headers": {"type": "object", "additionalProperties": STRING},
                },
                ("url", "signatureSecret", "headers"),
            ),
            "signatureScheme": {"type": "string", "enum": list(SIGNATURE_SCHEMES)},
            "disableOnGone": BOOLEAN,
            "rateLimit": {"type": "number"},
            "previousSecretExpireTime": TIMESTAMP,
            "statusReason": {
                "type": "string",
                "enum": list(STATUS_REASONS),
                "description": "Why the system disabled the connector (only with SYSTEM_DISABLED).",
            },
        },
        ("name", *connector_rules.CONNECTOR_FIELDS),
    ),
    "Replay": {
        **_obj(
            {"startTime": TIMESTAMP, "endTime": TIMESTAMP, "onlyFailed": BOOLEAN},
            ("startTime", "endTime"),
        ),
        "additionalProperties": False,
    },
    "ReplayResult": _obj(
        {"queued": INTEGER, "alreadyQueued": BOOLEAN}, ("queued", "alreadyQueued")
    ),
    "SecretRotation": {
        **_obj(
            {
                "signatureSecret": {"type": "string", "minLength": 1},
                "gracePeriod": {
                    "oneOf": [
                        {"type": "string", "pattern": r"^\d{1,9}(\.\d{1,9})?s$"},
                        {"type": "number", "minimum": 0},
                    ]
                },
            },
            ("signatureSecret",),
        ),
        "additionalProperties": False,
    },
    "DataConnectorInput": _connector_input(("httpConfig",)),
    "DataConnectorUpdate": _connector_input(()),
    "DataConnectorMetrics": _obj(
        {
            "metrics": _obj(
                {"successCount": INTEGER, "errorCount": INTEGER, "latency99p": STRING},
                ("successCount", "errorCount", "latency99p"),
            ),
            # Conduit extension: 18 buckets of 10 minutes, oldest first (`attempt_series`).
            "series": {
                "type": "array",
                "minItems": BUCKETS,
                "maxItems": BUCKETS,
                "items": _obj(
                    {"startTime": TIMESTAMP, "successCount": INTEGER, "errorCount": INTEGER},
                    ("startTime", "successCount", "errorCount"),
                ),
            },
        },
        ("metrics", "series"),
    ),
    "Attempt": _obj(
        {
            "eventId": STRING,
            "attempt": INTEGER,
            "time": TIMESTAMP,
            "success": BOOLEAN,
            "statusCode": {"type": "integer", "nullable": True},
            "error": {"type": "string", "nullable": True},
            "latency": STRING,
        },
        ("eventId", "attempt", "time", "success"),
    ),
    "DeadLetter": _obj(
        {
            "eventId": STRING,
            "reason": {"type": "string", "enum": list(DEAD_LETTER_REASONS)},
            "attempts": INTEGER,
            "lastError": {"type": "string", "nullable": True},
            "eventTime": TIMESTAMP,
            "createTime": TIMESTAMP,
        },
        ("eventId", "reason", "attempts", "lastError", "eventTime", "createTime"),
    ),
    "Device": _obj(
        {
            "name": STRING,
            "type": STRING,
            "productNumber": STRING,
            "labels": {"type": "object", "additionalProperties": STRING},
            "reported": {"type": "object"},
        },
        ("name", "type", "labels", "reported"),
    ),
    "EmulatedDeviceInput": writable(emulator._CREATE_FIELDS),
    "Event": _obj(
        {
            "eventId": STRING,
            "targetName": STRING,
            "eventType": STRING,
            "data": {"type": "object", "nullable": True},
            "timestamp": TIMESTAMP,
        },
        ("eventId", "targetName", "eventType", "data", "timestamp"),
    ),
    "PublishInput": publish_schema(),
    "BatchUpdateInput": writable(
        ("devices", "addLabels", "removeLabels"),
        {"devices": DEVICE_NAMES, "addLabels": LABELS, "removeLabels": STRINGS},
    ),
    "BatchErrors": _obj({"batchErrors": {"type": "array", "items": {"type": "object"}}}),
    "TransferInput": writable(("devices",), {"devices": DEVICE_NAMES}),
    "TransferResult": _obj(
        {
            "transferredDevices": STRINGS,
            "transferErrors": {"type": "array", "items": {"type": "object"}},
        }
    ),
}
# The writable fields the resource modules validate against, checked here so a new field there
# cannot be missing from the document.
assert set(members._OUTPUT_ONLY).isdisjoint(COMPONENTS["MemberInput"]["properties"])
assert set(projects._OUTPUT_ONLY).isdisjoint(COMPONENTS["ProjectInput"]["properties"])


@dataclass(frozen=True)
class Operation:
    """What one handler takes and gives: body and 200 schema names, query parameters."""

    response: str
    request: str | None = None
    required_body: bool = True
    query: tuple[str, ...] = ()
    media_type: str = "application/json"  # of the 200 response
    request_media_type: str = "application/json"


_PAGING = ("pageSize", "pageToken")
_STREAM = ("device_ids", "device_types", "label_filters", "event_types", "ping_interval")
_DEVICE_FILTERS = (
    "query",
    "device_ids",
    "device_types",
    "product_numbers",
    "label_filters",
    "order_by",
)

# Keyed by handler name; `test_openapi` checks that every route has one.
OPERATIONS: dict[str, Operation] = {
    "healthz": Operation("Health"),
    "errors_doc": Operation("Empty", media_type="text/markdown"),
    "api_reference": Operation("Empty", media_type="text/html"),
    "metrics": Operation("Empty", media_type="text/plain"),
    "openapi": Operation("Empty"),
    "token": Operation(
        "Token", "TokenRequest", request_media_type="application/x-www-form-urlencoded"
    ),
    "sign_in": Operation("Session", "SignIn"),
    "current_session": Operation("Session"),
    "sign_out": Operation("Empty"),
    "list_organizations": Operation("OrganizationPage", query=_PAGING),
    "get_organization": Operation("Organization"),
    "organization_permissions": Operation("Permissions", query=_PAGING),
    "project_permissions": Operation("Permissions", query=_PAGING),
    "list_members": Operation("MemberPage", query=_PAGING),
    "add_member": Operation("Member", "MemberInput"),
    "get_member": Operation("Member"),
    "update_member": Operation("Member", "MemberInput", required_body=False),
    "remove_member": Operation("Empty"),
    "invite_url": Operation("InviteUrl"),
    "list_projects": Operation("ProjectPage", query=("organization", "query", *_PAGING)),
    "create_project": Operation("Project", "ProjectInput"),
    "get_project": Operation("Project"),
    "update_project": Operation("Project", "ProjectInput", required_body=False),
    "delete_project": Operation("Empty"),
    "list_roles": Operation("RolePage", query=_PAGING),
    "get_role": Operation("Role"),
    "list_service_accounts": Operation("ServiceAccountPage", query=_PAGING),
    "create_service_account": Operation(
        "ServiceAccount", "ServiceAccountInput", required_body=False
    ),
    "get_service_account": Operation("ServiceAccount"),
    "update_service_account": Operation(
        "ServiceAccount", "ServiceAccountInput", required_body=False
    ),
    "delete_service_account": Operation("Empty"),
    "list_keys": Operation("KeyPage", query=_PAGING),
    "create_key": Operation("NewKey", "Empty", required_body=False),
    "get_key": Operation("Key"),
    "delete_key": Operation("Empty"),
    "list_dataconnectors": Operation("DataConnectorPage", query=_PAGING),
    "create_dataconnector": Operation("DataConnector", "DataConnectorInput"),
    "get_dataconnector": Operation("DataConnector"),
    "update_dataconnector": Operation(
        "DataConnector", "DataConnectorUpdate", query=("update_mask",)
    ),
    "delete_dataconnector": Operation("Empty"),
    "sync_dataconnector": Operation("Empty", "Empty", required_body=False),
    "rotate_dataconnector_secret": Operation("DataConnector", "SecretRotation"),
    "replay_dataconnector": Operation("ReplayResult", "Replay"),
    "dataconnector_metrics": Operation("DataConnectorMetrics"),
    "list_attempts": Operation("AttemptPage", query=_PAGING),
    "list_dead_letters": Operation(
        "DeadLetterPage", query=("startTime", "endTime", "reason", *_PAGING)
    ),
    "list_devices": Operation(
        "DevicePage", query=(*_DEVICE_FILTERS, "organization", "projects", *_PAGING)
    ),
    "get_device": Operation("Device"),
    "create_device": Operation("Device", "EmulatedDeviceInput"),
    "replace_device": Operation("Device", "EmulatedDeviceInput"),
    "delete_device": Operation("Empty"),
    "publish": Operation("Empty", "PublishInput"),
    "batch_update": Operation("BatchErrors", "BatchUpdateInput"),
    "transfer_devices": Operation("TransferResult", "TransferInput"),
    "list_events": Operation("EventPage", query=("startTime", "endTime", "eventTypes", *_PAGING)),
    "stream_project": Operation("Empty", query=_STREAM, media_type="application/x-ndjson"),
    "stream_device": Operation("Empty", query=_STREAM, media_type="application/x-ndjson"),
}

for _key, _item in {
    "OrganizationPage": ("organizations", "Organization"),
    "MemberPage": ("members", "Member"),
    "ProjectPage": ("projects", "Project"),
    "RolePage": ("roles", "Role"),
    "ServiceAccountPage": ("serviceAccounts", "ServiceAccount"),
    "KeyPage": ("keys", "Key"),
    "DataConnectorPage": ("dataConnectors", "DataConnector"),
    "AttemptPage": ("attempts", "Attempt"),
    "DeadLetterPage": ("deadLetters", "DeadLetter"),
    "DevicePage": ("devices", "Device"),
    "EventPage": ("events", "Event"),
}.items():
    COMPONENTS[_key] = page(_item[0], ref(_item[1]))
