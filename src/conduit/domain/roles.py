"""DT Cloud's four roles and their permissions (SPEC §8): the only source of truth for
authorization."""

from __future__ import annotations

from dataclasses import dataclass

_USER = (
    "project.read",
    "membership.read",
    "sensor.read",
    "device.read",
    "dataconnector.read",
    "serviceaccount.read",
    "serviceaccount.key.read",
    "emulator.read",
)
_DEVELOPER = (
    *_USER,
    "sensor.update",
    "device.update",
    "dataconnector.create",
    "dataconnector.update",
    "dataconnector.delete",
    "emulator.create",
    "emulator.update",
    "emulator.delete",
)
_ADMIN = (
    *_DEVELOPER,
    "project.update",
    "project.delete",
    "membership.create",
    "membership.update",
    "membership.delete",
    "device.transfer",
    "serviceaccount.create",
    "serviceaccount.update",
    "serviceaccount.delete",
    "serviceaccount.key.create",
    "serviceaccount.key.delete",
)
_ORG_ADMIN = (*_ADMIN, "project.create", "organization.read", "organization.update")


@dataclass(frozen=True)
class Role:
    name: str
    display_name: str
    description: str
    permissions: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "displayName": self.display_name,
            "description": self.description,
            "permissions": list(self.permissions),
        }


ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(
            "roles/project.user",
            "Project user",
            "Allows viewing devices and Project settings",
            _USER,
        ),
        Role(
            "roles/project.developer",
            "Project developer",
            "Allows editing devices and Project settings",
            _DEVELOPER,
        ),
        Role(
            "roles/project.admin",
            "Project admin",
            "Allows editing devices, Project settings and managing members",
            _ADMIN,
        ),
        Role(
            "roles/organization.admin",
            "Organization admin",
            "Allows managing the Organization and every Project in it",
            _ORG_ADMIN,
        ),
    )
}

PROJECT_ROLES = ("roles/project.user", "roles/project.developer", "roles/project.admin")
ORGANIZATION_ADMIN = "roles/organization.admin"
ORGANIZATION_ROLES = (ORGANIZATION_ADMIN,)


def permissions_of(role_names: list[str] | tuple[str, ...]) -> set[str]:
    granted: set[str] = set()
    for name in role_names:
        role = ROLES.get(name)
        if role is not None:
            granted.update(role.permissions)
    return granted
