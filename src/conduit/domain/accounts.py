"""Organizations, projects, service accounts, keys and memberships as plain records."""

from __future__ import annotations

from dataclasses import dataclass, field

SERVICE_ACCOUNT_DOMAIN = "serviceaccount.conduit.local"


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
    scope_kind: str  # "project" | "organization"
    scope_id: str
    member_id: str
    account_type: str  # "USER" | "SERVICE_ACCOUNT"
    email: str
    display_name: str
    roles: list[str] = field(default_factory=list)
    status: str = "ACCEPTED"
    create_time: float = 0.0


def service_account_email(account_id: str, project_id: str) -> str:
    return f"{account_id}@{project_id}.{SERVICE_ACCOUNT_DOMAIN}"
