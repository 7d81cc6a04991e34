"""Organizations, projects, service accounts, keys and memberships: the records, and the rules for
input.

The rules live here rather than in the API handlers so that a rule and the 400 it earns are written
once and can be tested without a server. They are deliberately strict (unknown fields and wrong JSON
types are 400), except that output-only fields of a resource are ignored: some clients send a
resource they read back whole.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from conduit.domain.errors import BadRequest
from conduit.domain.roles import ORGANIZATION_ROLES, PROJECT_ROLES

SERVICE_ACCOUNT_DOMAIN = "serviceaccount.conduit.local"

PROJECT_SCOPE = "project"
ORGANIZATION_SCOPE = "organization"

USER = "USER"
SERVICE_ACCOUNT = "SERVICE_ACCOUNT"
ACCEPTED = "ACCEPTED"
# An invited email with no user yet: the membership is recorded, shown and removable, but grants
# nothing until `conduit user add` creates that user (who then keeps the member id).
PENDING = "PENDING"

MAX_DISPLAY_NAME = 256
MAX_EMAIL = 254
# DT Cloud caps keys per service account too; a bound keeps a leaked admin from minting keys without
# end.
MAX_KEYS_PER_SERVICE_ACCOUNT = 10

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Organization:
    id: str
    display_name: str
    create_time: float


@dataclass(frozen=True)
class Project:
    id: str
    organization_id: str
    organization_display_name: str
    display_name: str
    inventory: bool
    create_time: float
    sensor_count: int = 0
    cloud_connector_count: int = 0


@dataclass(frozen=True)
class ServiceAccount:
    id: str
    project_id: str
    email: str
    display_name: str
    enable_basic_auth: bool
    create_time: float
    update_time: float


@dataclass(frozen=True)
class Key:
    id: str
    service_account_id: str
    create_time: float


@dataclass(frozen=True)
class Membership:
    scope_kind: str  # PROJECT_SCOPE | ORGANIZATION_SCOPE
    scope_id: str
    member_id: str  # the service account id, or an opaque id per invited user email
    account_type: str  # USER | SERVICE_ACCOUNT
    email: str
    display_name: str
    roles: list[str] = field(default_factory=list)
    status: str = ACCEPTED
    create_time: float = 0.0


def service_account_email(account_id: str, project_id: str) -> str:
    return f"{account_id}@{project_id}.{SERVICE_ACCOUNT_DOMAIN}"


# ---- input rules ---------------------------------------------------------------------------------


def check_fields(
    body: Mapping[str, Any], writable: Collection[str], output_only: Collection[str]
) -> None:
    """Refuse fields the resource does not have; output-only fields are tolerated and ignored."""
    unknown = sorted(k for k in body if k not in writable and k not in output_only)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")


def check_display_name(value: Any, *, required: bool, field_name: str = "displayName") -> str:
    """A display name is any string up to 256 characters; required ones must not be blank."""
    if not isinstance(value, str):
        raise BadRequest(f"{field_name} must be a string")
    if len(value) > MAX_DISPLAY_NAME:
        raise BadRequest(f"{field_name} must be at most {MAX_DISPLAY_NAME} characters")
    if required and not value.strip():
        raise BadRequest(f"{field_name} must not be empty")
    return value


def check_bool(value: Any, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{field_name} must be true or false")
    return value


def normalise_email(value: Any) -> str:
    """Emails compare case-insensitively (service account emails are lowercase)."""
    if not isinstance(value, str):
        raise BadRequest("email must be a string")
    email = value.strip().lower()
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        raise BadRequest("email must be an email address")
    return email


def roles_for_scope(scope_kind: str) -> tuple[str, ...]:
    return PROJECT_ROLES if scope_kind == PROJECT_SCOPE else ORGANIZATION_ROLES


def check_roles(value: Any, scope_kind: str) -> list[str]:
    """A non-empty list of distinct role names valid in the scope (project roles in projects, and
    `roles/organization.admin` in organizations).
    """
    allowed = roles_for_scope(scope_kind)
    if not isinstance(value, list) or not value:
        raise BadRequest("roles must be a non-empty list of role names")
    roles: list[str] = []
    for role in value:
        if not isinstance(role, str):
            raise BadRequest("roles must be a non-empty list of role names")
        if role not in allowed:
            raise BadRequest(
                f"role {role!r} is not valid in a {scope_kind}; use one of {', '.join(allowed)}"
            )
        if role in roles:
            raise BadRequest(f"role {role!r} is listed twice")
        roles.append(role)
    return roles


def parse_resource_name(value: Any, collection: str, field_name: str) -> str:
    """The id in a resource name such as `organizations/<id>` (a bare id is accepted too)."""
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{field_name} must be a resource name like {collection}/<id>")
    prefix = f"{collection}/"
    resource_id = value.removeprefix(prefix)
    if not resource_id or "/" in resource_id:
        raise BadRequest(f"{field_name} must be a resource name like {collection}/<id>")
    return resource_id
