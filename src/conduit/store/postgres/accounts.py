"""PostgreSQL: organizations, projects, service accounts, keys and memberships.

Every multi-row change is one transaction, and rules that need the database to decide (the last
organization admin, the key cap) are checked inside it with the rows they depend on locked, so no
concurrent request — on this node or another — can slip between the check and the change.

The two reads every authorized request makes are cached per node for at most a second
(`store/access_cache.py`): a change made through this node is seen by its very next request, one
made through another node within a second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
import orjson

from conduit.clock import Clock
from conduit.domain.accounts import (
    ACCEPTED,
    MAX_KEYS_PER_SERVICE_ACCOUNT,
    ORGANIZATION_SCOPE,
    SERVICE_ACCOUNT,
    USER,
    Key,
    Membership,
    Organization,
    Project,
    ServiceAccount,
    service_account_email,
)
from conduit.domain.errors import BadRequest, Conflict
from conduit.domain.ids import new_id
from conduit.store.access_cache import AccessCaches
from conduit.store.postgres.database import Database
from conduit.store.postgres.queue import Conn, rowcount
from conduit.store.queries import MEMBERSHIP_SELECT, PROJECT_SELECT
from conduit.store.rows import (
    account_from_row,
    key_from_row,
    membership_from_row,
    organization_from_row,
    project_from_row,
)

T = TypeVar("T")

BOOTSTRAP_LOCK = 0x426F6F74  # "Boot": nodes starting together bootstrap the platform once

# Projects a member can see: a role in the project itself, or any role in its organization.
_VISIBLE_PROJECTS = """
 WHERE (EXISTS (SELECT 1 FROM memberships m WHERE m.member_id = $1 AND m.scope_kind = 'project'
                AND m.scope_id = p.id)
     OR EXISTS (SELECT 1 FROM memberships m WHERE m.member_id = $1
                AND m.scope_kind = 'organization' AND m.scope_id = p.organization_id))
"""

# The roles that apply to a member in one project: its own, plus its organization's.
_ROLES_IN_PROJECT = """
SELECT p.organization_id, m.roles FROM projects p
LEFT JOIN memberships m ON m.member_id = $1
  AND ((m.scope_kind = 'project' AND m.scope_id = p.id)
    OR (m.scope_kind = 'organization' AND m.scope_id = p.organization_id))
WHERE p.id = $2
"""

_INSERT_ACCOUNT = (
    "INSERT INTO service_accounts(id, project_id, email, display_name, enable_basic_auth,"
    " create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
_INSERT_MEMBERSHIP = (
    "INSERT INTO memberships(scope_kind, scope_id, member_id, account_type, email,"
    " display_name, roles, status, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)


async def _insert_membership(conn: Conn, m: Membership, now: float) -> None:
    await conn.execute(
        _INSERT_MEMBERSHIP,
        m.scope_kind,
        m.scope_id,
        m.member_id,
        m.account_type,
        m.email,
        m.display_name,
        orjson.dumps(m.roles).decode(),
        m.status,
        m.create_time or now,
    )


async def _ensure_admins_remain(conn: Conn, organization_id: str, leaving: Sequence[str]) -> None:
    """Refuse a change that would leave an organization without an accepted service-account
    admin. The organization row is locked first, so two concurrent removals of its last two admins
    cannot both see the other one remaining."""
    await conn.execute("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", organization_id)
    remaining = await conn.fetchval(
        "SELECT count(*) FROM memberships WHERE scope_kind = 'organization' AND scope_id = $1"
        " AND account_type = 'SERVICE_ACCOUNT' AND status = 'ACCEPTED'"
        " AND NOT (member_id = ANY($2::text[]))",
        organization_id,
        list(leaving),
    )
    if remaining == 0:
        raise BadRequest(
            f"organization {organization_id} would be left without an admin service account"
        )


class PgAccounts(AccessCaches):
    db: Database
    clock: Clock

    async def _write_access(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Run `fn` in one transaction; the access cache is invalidated once it has committed (or
        failed), before the caller resumes."""
        try:
            async with self.db.pool.acquire() as conn, conn.transaction():
                return await fn(conn)
        finally:
            self.access_changed()

    # ---- first start -----------------------------------------------------------------------------

    async def bootstrap_platform(
        self,
        organization: Organization,
        project: Project,
        account: ServiceAccount,
        key: Key,
        secret_encrypted: bytes,
    ) -> bool:
        """Create the first organization, project, admin account and key at once — exactly once,
        however many nodes start together on an empty database (they serialise on an advisory
        lock; the later ones find it done and return False)."""

        async def insert(conn: Conn) -> bool:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", BOOTSTRAP_LOCK)
            if await conn.fetchval("SELECT 1 FROM organizations LIMIT 1") is not None:
                return False
            await conn.execute(
                "INSERT INTO organizations(id, display_name, create_time) VALUES ($1, $2, $3)",
                organization.id,
                organization.display_name,
                organization.create_time,
            )
            await conn.execute(
                "INSERT INTO projects(id, organization_id, display_name, inventory, create_time)"
                " VALUES ($1, $2, $3, $4, $5)",
                project.id,
                organization.id,
                project.display_name,
                project.inventory,
                project.create_time,
            )
            await conn.execute(
                _INSERT_ACCOUNT,
                account.id,
                project.id,
                account.email,
                account.display_name,
                account.enable_basic_auth,
                account.create_time,
                account.update_time,
            )
            await conn.execute(
                "INSERT INTO service_account_keys(id, service_account_id, secret_encrypted,"
                " create_time) VALUES ($1, $2, $3, $4)",
                key.id,
                account.id,
                secret_encrypted,
                key.create_time,
            )
            admin = Membership(
                scope_kind=ORGANIZATION_SCOPE,
                scope_id=organization.id,
                member_id=account.id,
                account_type=SERVICE_ACCOUNT,
                email=account.email,
                display_name=account.display_name,
                roles=["roles/organization.admin"],
            )
            await _insert_membership(conn, admin, organization.create_time)
            return True

        return await self._write_access(insert)

    # ---- organizations ---------------------------------------------------------------------------

    async def create_organization(self, display_name: str) -> Organization:
        now = self.clock.now()
        org = Organization(id=new_id(now), display_name=display_name, create_time=now)

        async def insert(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO organizations(id, display_name, create_time) VALUES ($1, $2, $3)",
                org.id,
                org.display_name,
                org.create_time,
            )

        await self._write_access(insert)
        return org

    async def get_organization(self, org_id: str) -> Organization | None:
        row = await self.db.pool.fetchrow("SELECT * FROM organizations WHERE id = $1", org_id)
        return organization_from_row(row) if row else None

    async def list_organizations(self) -> list[Organization]:
        rows = await self.db.pool.fetch("SELECT * FROM organizations ORDER BY id")
        return [organization_from_row(r) for r in rows]

    async def organization_visible_to(self, member_id: str, org_id: str) -> bool:
        """A member sees an organization it has a role in, or one holding a project it has a role
        in."""
        found = await self.db.pool.fetchval(
            "SELECT 1 FROM memberships m WHERE m.member_id = $1 AND ("
            " (m.scope_kind = 'organization' AND m.scope_id = $2) OR"
            " (m.scope_kind = 'project' AND m.scope_id IN"
            "   (SELECT id FROM projects WHERE organization_id = $2))) LIMIT 1",
            member_id,
            org_id,
        )
        return found is not None

    async def list_organizations_visible_to(self, member_id: str) -> list[Organization]:
        rows = await self.db.pool.fetch(
            "SELECT * FROM organizations o WHERE o.id IN ("
            " SELECT scope_id FROM memberships"
            "   WHERE member_id = $1 AND scope_kind = 'organization'"
            " UNION SELECT p.organization_id FROM projects p JOIN memberships m"
            "   ON m.scope_kind = 'project' AND m.scope_id = p.id WHERE m.member_id = $1)"
            " ORDER BY o.id",
            member_id,
        )
        return [organization_from_row(r) for r in rows]

    # ---- projects --------------------------------------------------------------------------------

    async def create_project(
        self, organization_id: str, display_name: str, inventory: bool = False
    ) -> Project:
        now = self.clock.now()
        project_id = new_id(now)

        async def insert(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO projects(id, organization_id, display_name, inventory, create_time)"
                " VALUES ($1, $2, $3, $4, $5)",
                project_id,
                organization_id,
                display_name,
                inventory,
                now,
            )

        await self._write_access(insert)
        project = await self.get_project(project_id)
        assert project is not None
        return project

    async def get_project(self, project_id: str) -> Project | None:
        row = await self.db.pool.fetchrow(PROJECT_SELECT + " WHERE p.id = $1", project_id)
        return project_from_row(row) if row else None

    async def list_projects(self, organization_id: str | None = None) -> list[Project]:
        if organization_id:
            rows = await self.db.pool.fetch(
                PROJECT_SELECT + " WHERE p.organization_id = $1 ORDER BY p.id", organization_id
            )
        else:
            rows = await self.db.pool.fetch(PROJECT_SELECT + " ORDER BY p.id")
        return [project_from_row(r) for r in rows]

    async def list_projects_visible_to(
        self, member_id: str, organization_id: str | None = None
    ) -> list[Project]:
        """Every project the member has any role in (directly or through its organization)."""
        sql = PROJECT_SELECT + _VISIBLE_PROJECTS
        args: list[Any] = [member_id]
        if organization_id:
            sql += " AND p.organization_id = $2"
            args.append(organization_id)
        rows = await self.db.pool.fetch(sql + " ORDER BY p.id", *args)
        return [project_from_row(r) for r in rows]

    async def rename_project(self, project_id: str, display_name: str) -> Project | None:
        async def update(conn: Conn) -> int:
            return rowcount(
                await conn.execute(
                    "UPDATE projects SET display_name = $1 WHERE id = $2", display_name, project_id
                )
            )

        if not await self._write_access(update):
            return None
        return await self.get_project(project_id)

    async def delete_project(self, project_id: str) -> bool:
        """Delete a project and everything in it: devices, connectors and their queues, service
        accounts and keys (ON DELETE CASCADE), memberships, event history, and the attempt log and
        counters of its connectors. Refused while a service account the project owns is an
        organization member (deleting it would silently delete an organization admin)."""

        async def delete(conn: Conn) -> bool:
            if await conn.fetchval("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", project_id):
                admins = [
                    r[0]
                    for r in await conn.fetch(
                        "SELECT sa.id FROM service_accounts sa JOIN memberships m"
                        " ON m.member_id = sa.id AND m.scope_kind = 'organization'"
                        " WHERE sa.project_id = $1 ORDER BY sa.id",
                        project_id,
                    )
                ]
                if admins:
                    raise BadRequest(
                        "project owns service account(s) that are organization members "
                        f"({', '.join(admins)}); remove them from the organization first"
                    )
                await conn.execute(
                    "DELETE FROM memberships WHERE member_id IN"
                    " (SELECT id FROM service_accounts WHERE project_id = $1)",
                    project_id,
                )
                await conn.execute(
                    "DELETE FROM memberships WHERE scope_kind = 'project' AND scope_id = $1",
                    project_id,
                )
                # History has no foreign key: delete it by device (an indexed range per device).
                await conn.execute(
                    "DELETE FROM events WHERE device_id IN"
                    " (SELECT id FROM devices WHERE project_id = $1)",
                    project_id,
                )
                for table in ("delivery_attempts", "delivery_counters", "dead_letters"):
                    await conn.execute(
                        f"DELETE FROM {table} WHERE connector_id IN"
                        " (SELECT id FROM dataconnectors WHERE project_id = $1)",
                        project_id,
                    )
                await conn.execute("DELETE FROM projects WHERE id = $1", project_id)
                return True
            return False

        deleted: bool = await self._write_access(delete)
        return deleted

    # ---- service accounts ------------------------------------------------------------------------

    async def create_service_account(
        self, project_id: str, display_name: str, enable_basic_auth: bool = False
    ) -> ServiceAccount:
        now = self.clock.now()
        account_id = new_id(now)
        email = service_account_email(account_id, project_id)

        async def insert(conn: Conn) -> None:
            await conn.execute(
                _INSERT_ACCOUNT,
                account_id,
                project_id,
                email,
                display_name,
                enable_basic_auth,
                now,
                now,
            )

        await self._write_access(insert)
        found = await self.get_service_account(account_id)
        assert found is not None
        return found

    async def get_service_account(self, account_id: str) -> ServiceAccount | None:
        row = await self.db.pool.fetchrow(
            "SELECT * FROM service_accounts WHERE id = $1", account_id
        )
        return account_from_row(row) if row else None

    async def get_service_account_by_email(self, email: str) -> ServiceAccount | None:
        row = await self.db.pool.fetchrow("SELECT * FROM service_accounts WHERE email = $1", email)
        return account_from_row(row) if row else None

    async def list_service_accounts(self, project_id: str) -> list[ServiceAccount]:
        rows = await self.db.pool.fetch(
            "SELECT * FROM service_accounts WHERE project_id = $1 ORDER BY id", project_id
        )
        return [account_from_row(r) for r in rows]

    async def update_service_account(
        self,
        account_id: str,
        *,
        display_name: str | None = None,
        enable_basic_auth: bool | None = None,
    ) -> ServiceAccount | None:
        now = self.clock.now()

        async def update(conn: Conn) -> int:
            return rowcount(
                await conn.execute(
                    "UPDATE service_accounts SET display_name = COALESCE($1, display_name),"
                    " enable_basic_auth = COALESCE($2, enable_basic_auth), update_time = $3"
                    " WHERE id = $4",
                    display_name,
                    enable_basic_auth,
                    now,
                    account_id,
                )
            )

        if not await self._write_access(update):
            return None
        return await self.get_service_account(account_id)

    async def delete_service_account(self, account_id: str) -> bool:
        """Delete an account, its keys (cascade) and every membership it holds, in one transaction;
        refused if it is the last admin service account of an organization."""

        async def delete(conn: Conn) -> bool:
            if await conn.fetchval("SELECT 1 FROM service_accounts WHERE id = $1", account_id):
                for row in await conn.fetch(
                    "SELECT scope_id FROM memberships"
                    " WHERE member_id = $1 AND scope_kind = 'organization'",
                    account_id,
                ):
                    await _ensure_admins_remain(conn, row[0], [account_id])
                await conn.execute("DELETE FROM memberships WHERE member_id = $1", account_id)
                await conn.execute("DELETE FROM service_accounts WHERE id = $1", account_id)
                return True
            return False

        deleted: bool = await self._write_access(delete)
        return deleted

    # ---- keys ------------------------------------------------------------------------------------

    async def create_key(self, service_account_id: str, secret_encrypted: bytes) -> Key:
        """Add a key; at most MAX_KEYS_PER_SERVICE_ACCOUNT per account (400 beyond). The account
        row is locked while counting, so concurrent creations cannot pass the cap together."""
        now = self.clock.now()
        key = Key(id=new_id(now), service_account_id=service_account_id, create_time=now)

        async def insert(conn: Conn) -> None:
            await conn.execute(
                "SELECT 1 FROM service_accounts WHERE id = $1 FOR UPDATE", service_account_id
            )
            count = await conn.fetchval(
                "SELECT count(*) FROM service_account_keys WHERE service_account_id = $1",
                service_account_id,
            )
            if count >= MAX_KEYS_PER_SERVICE_ACCOUNT:
                raise BadRequest(
                    f"a service account can have at most {MAX_KEYS_PER_SERVICE_ACCOUNT} keys"
                )
            await conn.execute(
                "INSERT INTO service_account_keys(id, service_account_id, secret_encrypted,"
                " create_time) VALUES ($1, $2, $3, $4)",
                key.id,
                service_account_id,
                secret_encrypted,
                now,
            )

        await self._write_access(insert)
        return key

    async def get_key(self, key_id: str) -> Key | None:
        row = await self.db.pool.fetchrow(
            "SELECT id, service_account_id, create_time FROM service_account_keys WHERE id = $1",
            key_id,
        )
        return key_from_row(row) if row else None

    async def get_key_with_secret(self, key_id: str) -> tuple[Key, bytes] | None:
        row = await self.db.pool.fetchrow(
            "SELECT * FROM service_account_keys WHERE id = $1", key_id
        )
        if row is None:
            return None
        return key_from_row(row), bytes(row["secret_encrypted"])

    async def list_keys(self, service_account_id: str) -> list[Key]:
        rows = await self.db.pool.fetch(
            "SELECT id, service_account_id, create_time FROM service_account_keys"
            " WHERE service_account_id = $1 ORDER BY id",
            service_account_id,
        )
        return [key_from_row(r) for r in rows]

    async def delete_key(self, key_id: str) -> bool:
        async def delete(conn: Conn) -> int:
            return rowcount(
                await conn.execute("DELETE FROM service_account_keys WHERE id = $1", key_id)
            )

        return bool(await self._write_access(delete))

    async def account_holding_key(self, account_id: str, key_id: str) -> ServiceAccount | None:
        """The account, if it still exists and still holds the key (cached for at most 1 s)."""

        async def load() -> ServiceAccount | None:
            row = await self.db.pool.fetchrow(
                "SELECT sa.* FROM service_account_keys k JOIN service_accounts sa"
                " ON sa.id = k.service_account_id WHERE k.id = $1 AND sa.id = $2",
                key_id,
                account_id,
            )
            return account_from_row(row) if row else None

        accounts, _ = self._access_caches()
        return await accounts.get_or_load_async((account_id, key_id), self.clock.now(), load)

    # ---- memberships -----------------------------------------------------------------------------

    async def put_membership(self, membership: Membership) -> Membership:
        """Insert or replace a membership's roles (for operators and bootstrap)."""

        async def upsert(conn: Conn) -> None:
            await conn.execute(
                _INSERT_MEMBERSHIP + " ON CONFLICT (scope_kind, scope_id, member_id) DO UPDATE SET"
                " roles = excluded.roles, display_name = excluded.display_name,"
                " status = excluded.status",
                membership.scope_kind,
                membership.scope_id,
                membership.member_id,
                membership.account_type,
                membership.email,
                membership.display_name,
                orjson.dumps(membership.roles).decode(),
                membership.status,
                membership.create_time or self.clock.now(),
            )

        await self._write_access(upsert)
        return membership

    async def add_membership(self, membership: Membership) -> Membership:
        """Add a member; 409 if it already is one (change roles with `set_membership_roles`)."""
        now = self.clock.now()

        async def insert(conn: Conn) -> None:
            try:
                await _insert_membership(conn, membership, now)
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"{membership.email} is already a member") from exc

        await self._write_access(insert)
        found = await self.get_membership(
            membership.scope_kind, membership.scope_id, membership.member_id
        )
        assert found is not None
        return found

    async def get_membership(
        self, scope_kind: str, scope_id: str, member_id: str
    ) -> Membership | None:
        row = await self.db.pool.fetchrow(
            MEMBERSHIP_SELECT + " WHERE m.scope_kind = $1 AND m.scope_id = $2 AND m.member_id = $3",
            scope_kind,
            scope_id,
            member_id,
        )
        return membership_from_row(row) if row else None

    async def list_memberships(self, scope_kind: str, scope_id: str) -> list[Membership]:
        rows = await self.db.pool.fetch(
            MEMBERSHIP_SELECT
            + " WHERE m.scope_kind = $1 AND m.scope_id = $2 ORDER BY m.create_time, m.member_id",
            scope_kind,
            scope_id,
        )
        return [membership_from_row(r) for r in rows]

    async def set_membership_roles(
        self, scope_kind: str, scope_id: str, member_id: str, roles: list[str]
    ) -> Membership | None:
        async def update(conn: Conn) -> int:
            return rowcount(
                await conn.execute(
                    "UPDATE memberships SET roles = $1"
                    " WHERE scope_kind = $2 AND scope_id = $3 AND member_id = $4",
                    orjson.dumps(roles).decode(),
                    scope_kind,
                    scope_id,
                    member_id,
                )
            )

        if not await self._write_access(update):
            return None
        return await self.get_membership(scope_kind, scope_id, member_id)

    async def remove_membership(self, scope_kind: str, scope_id: str, member_id: str) -> bool:
        """Remove a member; an organization's last admin service account cannot be removed."""

        async def delete(conn: Conn) -> bool:
            row = await conn.fetchrow(
                "SELECT account_type, status FROM memberships"
                " WHERE scope_kind = $1 AND scope_id = $2 AND member_id = $3",
                scope_kind,
                scope_id,
                member_id,
            )
            if row is None:
                return False
            if (
                scope_kind == ORGANIZATION_SCOPE
                and row["account_type"] == SERVICE_ACCOUNT
                and row["status"] == ACCEPTED
            ):
                await _ensure_admins_remain(conn, scope_id, [member_id])
            await conn.execute(
                "DELETE FROM memberships WHERE scope_kind = $1 AND scope_id = $2"
                " AND member_id = $3",
                scope_kind,
                scope_id,
                member_id,
            )
            return True

        removed: bool = await self._write_access(delete)
        return removed

    async def user_member_id(self, email: str) -> str | None:
        """The member id already given to an invited user email (one person, one id)."""
        found = await self.db.pool.fetchval(
            "SELECT member_id FROM memberships WHERE account_type = $1 AND email = $2 LIMIT 1",
            USER,
            email,
        )
        return str(found) if found is not None else None

    async def roles_in_project(
        self, member_id: str, project_id: str
    ) -> tuple[tuple[str, ...], str | None]:
        """The member's roles that apply in a project (its own plus its organization's), and the
        org id (None when the project does not exist); cached for at most 1 s."""

        async def query() -> tuple[tuple[str, ...], str | None]:
            rows = await self.db.pool.fetch(_ROLES_IN_PROJECT, member_id, project_id)
            if not rows:
                return (), None
            roles: list[str] = []
            for row in rows:
                if row["roles"] is not None:
                    roles.extend(orjson.loads(row["roles"]))
            return tuple(roles), rows[0]["organization_id"]

        _, by_project = self._access_caches()
        return await by_project.get_or_load_async(
            (member_id, project_id),
            self.clock.now(),
            query,
            remember=lambda answer: answer[1] is not None,
        )

    async def roles_in_organization(self, member_id: str, organization_id: str) -> list[str]:
        roles = await self.db.pool.fetchval(
            "SELECT roles FROM memberships WHERE scope_kind = 'organization' AND scope_id = $1"
            " AND member_id = $2",
            organization_id,
            member_id,
        )
        return list(orjson.loads(roles)) if roles else []

    async def member_scopes(self, member_id: str) -> list[tuple[str, str, list[str]]]:
        rows = await self.db.pool.fetch(
            "SELECT scope_kind, scope_id, roles FROM memberships WHERE member_id = $1", member_id
        )
        return [(r["scope_kind"], r["scope_id"], orjson.loads(r["roles"])) for r in rows]
