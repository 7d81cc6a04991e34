"""Storage of organizations, projects, service accounts, keys and memberships (SQLite)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from conduit.clock import Clock
from conduit.domain.accounts import (
    Key,
    Membership,
    Organization,
    Project,
    ServiceAccount,
    service_account_email,
)
from conduit.domain.ids import new_id
from conduit.store.database import Database

_PROJECT_SELECT = """
SELECT p.id, p.organization_id, o.display_name AS org_name, p.display_name, p.inventory, p.create_time,
       (SELECT count(*) FROM devices d WHERE d.project_id = p.id AND d.type != 'ccon') AS sensors,
       (SELECT count(*) FROM devices d WHERE d.project_id = p.id AND d.type = 'ccon') AS ccons
FROM projects p JOIN organizations o ON o.id = p.organization_id
"""


def _project(row: sqlite3.Row) -> Project:
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


def _account(row: sqlite3.Row) -> ServiceAccount:
    return ServiceAccount(
        id=row["id"],
        project_id=row["project_id"],
        email=row["email"],
        display_name=row["display_name"],
        enable_basic_auth=bool(row["enable_basic_auth"]),
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


def _membership(row: sqlite3.Row) -> Membership:
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


class PlatformStore:
    db: Database
    clock: Clock

    # ---- organizations ---------------------------------------------------------------------------------

    async def create_organization(self, display_name: str) -> Organization:
        now = self.clock.now()
        org = Organization(id=new_id(now), display_name=display_name, create_time=now)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO organizations(id, display_name, create_time) VALUES (?, ?, ?)",
                (org.id, org.display_name, org.create_time),
            )

        await self.db.write(insert)
        return org

    async def get_organization(self, org_id: str) -> Organization | None:
        row = self.db.read(
            lambda c: c.execute("SELECT * FROM organizations WHERE id = ?", (org_id,)).fetchone()
        )
        return Organization(row["id"], row["display_name"], row["create_time"]) if row else None

    async def list_organizations(self) -> list[Organization]:
        rows = self.db.read(lambda c: c.execute("SELECT * FROM organizations ORDER BY id").fetchall())
        return [Organization(r["id"], r["display_name"], r["create_time"]) for r in rows]

    # ---- projects --------------------------------------------------------------------------------------

    async def create_project(
        self, organization_id: str, display_name: str, inventory: bool = False
    ) -> Project:
        now = self.clock.now()
        project_id = new_id(now)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO projects(id, organization_id, display_name, inventory, create_time)"
                " VALUES (?, ?, ?, ?, ?)",
                (project_id, organization_id, display_name, int(inventory), now),
            )

        await self.db.write(insert)
        project = await self.get_project(project_id)
        assert project is not None
        return project

    async def get_project(self, project_id: str) -> Project | None:
        row = self.db.read(
            lambda c: c.execute(_PROJECT_SELECT + " WHERE p.id = ?", (project_id,)).fetchone()
        )
        return _project(row) if row else None

    async def list_projects(self, organization_id: str | None = None) -> list[Project]:
        where, args = ("WHERE p.organization_id = ?", (organization_id,)) if organization_id else ("", ())
        rows = self.db.read(
            lambda c: c.execute(_PROJECT_SELECT + where + " ORDER BY p.id", args).fetchall()
        )
        return [_project(r) for r in rows]

    # ---- service accounts and keys ---------------------------------------------------------------------

    async def create_service_account(
        self, project_id: str, display_name: str, enable_basic_auth: bool = False
    ) -> ServiceAccount:
        now = self.clock.now()
        account = ServiceAccount(
            id=new_id(now),
            project_id=project_id,
            email="",
            display_name=display_name,
            enable_basic_auth=enable_basic_auth,
            create_time=now,
            update_time=now,
        )
        email = service_account_email(account.id, project_id)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO service_accounts(id, project_id, email, display_name, enable_basic_auth,"
                " create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account.id, project_id, email, display_name, int(enable_basic_auth), now, now),
            )

        await self.db.write(insert)
        found = await self.get_service_account(account.id)
        assert found is not None
        return found

    async def get_service_account(self, account_id: str) -> ServiceAccount | None:
        row = self.db.read(
            lambda c: c.execute("SELECT * FROM service_accounts WHERE id = ?", (account_id,)).fetchone()
        )
        return _account(row) if row else None

    async def create_key(self, service_account_id: str, secret_encrypted: bytes) -> Key:
        now = self.clock.now()
        key = Key(id=new_id(now), service_account_id=service_account_id, create_time=now)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO service_account_keys(id, service_account_id, secret_encrypted, create_time)"
                " VALUES (?, ?, ?, ?)",
                (key.id, service_account_id, secret_encrypted, now),
            )

        await self.db.write(insert)
        return key

    async def get_key_with_secret(self, key_id: str) -> tuple[Key, bytes] | None:
        row = self.db.read(
            lambda c: c.execute("SELECT * FROM service_account_keys WHERE id = ?", (key_id,)).fetchone()
        )
        if row is None:
            return None
        key = Key(row["id"], row["service_account_id"], row["create_time"])
        return key, bytes(row["secret_encrypted"])

    # ---- memberships -----------------------------------------------------------------------------------

    async def put_membership(self, membership: Membership) -> Membership:
        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO memberships(scope_kind, scope_id, member_id, account_type, email, display_name,"
                " roles, status, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(scope_kind, scope_id, member_id) DO UPDATE SET roles = excluded.roles,"
                " display_name = excluded.display_name, status = excluded.status",
                (
                    membership.scope_kind,
                    membership.scope_id,
                    membership.member_id,
                    membership.account_type,
                    membership.email,
                    membership.display_name,
                    orjson.dumps(membership.roles).decode(),
                    membership.status,
                    membership.create_time or self.clock.now(),
                ),
            )

        await self.db.write(upsert)
        return membership

    async def get_membership(
        self, scope_kind: str, scope_id: str, member_id: str
    ) -> Membership | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM memberships WHERE scope_kind = ? AND scope_id = ? AND member_id = ?",
                (scope_kind, scope_id, member_id),
            ).fetchone()
        )
        return _membership(row) if row else None

    def roles_in_project(self, member_id: str, project_id: str) -> tuple[list[str], str | None]:
        """The member's roles that apply in a project (its own plus its organization's), and the org id.

        Synchronous on purpose: it runs on every authenticated request, two indexed point reads.
        """

        def query(conn: sqlite3.Connection) -> tuple[list[str], str | None]:
            project = conn.execute(
                "SELECT organization_id FROM projects WHERE id = ?", (project_id,)
            ).fetchone()
            if project is None:
                return [], None
            roles: list[str] = []
            for row in conn.execute(
                "SELECT roles FROM memberships WHERE member_id = ? AND ("
                " (scope_kind = 'project' AND scope_id = ?) OR"
                " (scope_kind = 'organization' AND scope_id = ?))",
                (member_id, project_id, project["organization_id"]),
            ):
                roles.extend(orjson.loads(row["roles"]))
            return roles, project["organization_id"]

        return self.db.read(query)

    def roles_in_organization(self, member_id: str, organization_id: str) -> list[str]:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT roles FROM memberships WHERE scope_kind = 'organization' AND scope_id = ?"
                " AND member_id = ?",
                (organization_id, member_id),
            ).fetchone()
        )
        return list(orjson.loads(row["roles"])) if row else []

    def member_scopes(self, member_id: str) -> list[tuple[str, str, list[str]]]:
        rows: list[Any] = self.db.read(
            lambda c: c.execute(
                "SELECT scope_kind, scope_id, roles FROM memberships WHERE member_id = ?", (member_id,)
            ).fetchall()
        )
        return [(r["scope_kind"], r["scope_id"], orjson.loads(r["roles"])) for r in rows]
