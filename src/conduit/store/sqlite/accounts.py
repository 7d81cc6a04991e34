"""SQLite: organizations, projects, service accounts, keys and memberships.

Every multi-row change is one `db.write` job, so it commits or rolls back whole; rules that need the
database to decide (the last organization admin, the key cap) are checked inside that same job, so
no concurrent request can slip between the check and the change.

Memberships have no foreign key (a scope is a project or an organization), so deleting a project or
a service account removes the matching membership rows explicitly, in the same transaction.

The two reads every authorized request makes (`account_holding_key`, `roles_in_project`) are served
from a short-lived in-process cache (`store/access_cache.py`); every write here that can change
their answers invalidates it after committing, so in one process a change is seen by the very next
request.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

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
from conduit.store.queries import MEMBERSHIP_SELECT, PROJECT_SELECT
from conduit.store.rows import (
    account_from_row,
    key_from_row,
    membership_from_row,
    organization_from_row,
    project_from_row,
)
from conduit.store.sqlite.database import Database

T = TypeVar("T")

# Projects a member can see: a role in the project itself, or any role in its organization.
_VISIBLE_PROJECTS = """
 WHERE (EXISTS (SELECT 1 FROM memberships m WHERE m.member_id = ? AND m.scope_kind = 'project'
                AND m.scope_id = p.id)
     OR EXISTS (SELECT 1 FROM memberships m WHERE m.member_id = ? AND m.scope_kind = 'organization'
                AND m.scope_id = p.organization_id))
"""

# The roles that apply to a member in one project: its own, plus its organization's.
_ROLES_IN_PROJECT = """
SELECT p.organization_id, m.roles FROM projects p
LEFT JOIN memberships m ON m.member_id = ?
  AND ((m.scope_kind = 'project' AND m.scope_id = p.id)
    OR (m.scope_kind = 'organization' AND m.scope_id = p.organization_id))
WHERE p.id = ?
"""


_INSERT_ACCOUNT = (
    "INSERT INTO service_accounts(id, project_id, email, display_name, enable_basic_auth,"
    " create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_KEY = (
    "INSERT INTO service_account_keys(id, service_account_id, secret_encrypted, create_time)"
    " VALUES (?, ?, ?, ?)"
)
_INSERT_MEMBERSHIP = (
    "INSERT INTO memberships(scope_kind, scope_id, member_id, account_type, email,"
    " display_name, roles, status, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_membership(conn: sqlite3.Connection, m: Membership, now: float) -> None:
    conn.execute(
        _INSERT_MEMBERSHIP,
        (
            m.scope_kind,
            m.scope_id,
            m.member_id,
            m.account_type,
            m.email,
            m.display_name,
            orjson.dumps(m.roles).decode(),
            m.status,
            m.create_time or now,
        ),
    )


def _ensure_admins_remain(
    conn: sqlite3.Connection, organization_id: str, leaving: Sequence[str]
) -> None:
    """Refuse a change that would leave an organization without an accepted service-account admin.

    Only service accounts can sign in to Conduit, so an organization whose last one left could never
    be managed again (pending users cannot accept).
    """
    marks = ",".join("?" * len(leaving))
    remaining = conn.execute(
        "SELECT count(*) FROM memberships WHERE scope_kind = 'organization' AND scope_id = ?"
        " AND account_type = 'SERVICE_ACCOUNT' AND status = 'ACCEPTED'"
        f" AND member_id NOT IN ({marks})",
        (organization_id, *leaving),
    ).fetchone()[0]
    if remaining == 0:
        raise BadRequest(
            f"organization {organization_id} would be left without an admin service account"
        )


PURGE_PAGE = 5000  # rows per write job when a project is deleted
# What a deleted project leaves beside its rows' foreign keys, by page: the event history (no
# foreign key; by device, an indexed range each), queued deliveries and the attempt log.
_PROJECT_PURGES = (
    "DELETE FROM events WHERE seq IN (SELECT e.seq FROM devices d JOIN events e"
    " ON e.device_id = d.id WHERE d.project_id = ? LIMIT ?)",
    "DELETE FROM deliveries WHERE id IN (SELECT q.id FROM dataconnectors c JOIN deliveries q"
    " ON q.connector_id = c.id WHERE c.project_id = ? LIMIT ?)",
    "DELETE FROM delivery_attempts WHERE id IN (SELECT a.id FROM dataconnectors c"
    " JOIN delivery_attempts a ON a.connector_id = c.id WHERE c.project_id = ? LIMIT ?)",
    "DELETE FROM dead_letters WHERE id IN (SELECT l.id FROM dataconnectors c"
    " JOIN dead_letters l ON l.connector_id = c.id WHERE c.project_id = ? LIMIT ?)",
)


def _purge_page(sql: str, project_id: str, conn: sqlite3.Connection) -> int:
    return int(conn.execute(sql, (project_id, PURGE_PAGE)).rowcount)


class SqliteAccounts(AccessCaches):
    db: Database
    clock: Clock

    async def _write_access(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`db.write` for every write of this store part (each may change who may do what): the
        cache is invalidated once it has committed (or failed), before the caller resumes, so its
        next request already sees the change.
        """
        try:
            return await self.db.write(fn)
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
        """Create the first organization, project, admin account (organization admin) and key at
        once, so a crash during first start leaves either all of them or nothing. Returns False
        (nothing written) when an organization already exists.
        """

        def insert(conn: sqlite3.Connection) -> bool:
            if conn.execute("SELECT 1 FROM organizations LIMIT 1").fetchone() is not None:
                return False
            conn.execute(
                "INSERT INTO organizations(id, display_name, create_time) VALUES (?, ?, ?)",
                (organization.id, organization.display_name, organization.create_time),
            )
            conn.execute(
                "INSERT INTO projects(id, organization_id, display_name, inventory, create_time)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    project.id,
                    organization.id,
                    project.display_name,
                    int(project.inventory),
                    project.create_time,
                ),
            )
            conn.execute(
                _INSERT_ACCOUNT,
                (
                    account.id,
                    project.id,
                    account.email,
                    account.display_name,
                    int(account.enable_basic_auth),
                    account.create_time,
                    account.update_time,
                ),
            )
            conn.execute(
                _INSERT_KEY,
                (key.id, account.id, secret_encrypted, key.create_time),
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
            _insert_membership(conn, admin, organization.create_time)
            return True

        return await self._write_access(insert)

    # ---- organizations ---------------------------------------------------------------------------

    async def create_organization(self, display_name: str) -> Organization:
        now = self.clock.now()
        org = Organization(id=new_id(now), display_name=display_name, create_time=now)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO organizations(id, display_name, create_time) VALUES (?, ?, ?)",
                (org.id, org.display_name, org.create_time),
            )

        await self._write_access(insert)
        return org

    async def get_organization(self, org_id: str) -> Organization | None:
        row = self.db.read(
            lambda c: c.execute("SELECT * FROM organizations WHERE id = ?", (org_id,)).fetchone()
        )
        return organization_from_row(row) if row else None

    async def list_organizations(self) -> list[Organization]:
        rows = self.db.read(
            lambda c: c.execute("SELECT * FROM organizations ORDER BY id").fetchall()
        )
        return [organization_from_row(r) for r in rows]

    async def organization_visible_to(self, member_id: str, org_id: str) -> bool:
        """A member sees an organization it has a role in, or one holding a project it has a role
        in.
        """
        row = self.db.read(
            lambda c: c.execute(
                "SELECT 1 FROM memberships m WHERE m.member_id = ? AND ("
                " (m.scope_kind = 'organization' AND m.scope_id = ?) OR"
                " (m.scope_kind = 'project' AND m.scope_id IN"
                "   (SELECT id FROM projects WHERE organization_id = ?))) LIMIT 1",
                (member_id, org_id, org_id),
            ).fetchone()
        )
        return row is not None

    async def list_organizations_visible_to(self, member_id: str) -> list[Organization]:
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM organizations o WHERE o.id IN ("
                " SELECT scope_id FROM memberships"
                "   WHERE member_id = ? AND scope_kind = 'organization'"
                " UNION SELECT p.organization_id FROM projects p JOIN memberships m"
                "   ON m.scope_kind = 'project' AND m.scope_id = p.id WHERE m.member_id = ?)"
                " ORDER BY o.id",
                (member_id, member_id),
            ).fetchall()
        )
        return [organization_from_row(r) for r in rows]

    # ---- projects --------------------------------------------------------------------------------

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

        await self._write_access(insert)
        project = await self.get_project(project_id)
        assert project is not None
        return project

    async def get_project(self, project_id: str) -> Project | None:
        row = self.db.read(
            lambda c: c.execute(PROJECT_SELECT + " WHERE p.id = ?", (project_id,)).fetchone()
        )
        return project_from_row(row) if row else None

    async def list_projects(self, organization_id: str | None = None) -> list[Project]:
        where, args = (
            ("WHERE p.organization_id = ?", (organization_id,)) if organization_id else ("", ())
        )
        rows = self.db.read(
            lambda c: c.execute(PROJECT_SELECT + where + " ORDER BY p.id", args).fetchall()
        )
        return [project_from_row(r) for r in rows]

    async def list_projects_visible_to(
        self, member_id: str, organization_id: str | None = None
    ) -> list[Project]:
        """Every project the member has any role in (directly or through its organization), by
        id.
        """
        sql = PROJECT_SELECT + _VISIBLE_PROJECTS
        args: tuple[str, ...] = (member_id, member_id)
        if organization_id:
            sql += " AND p.organization_id = ?"
            args += (organization_id,)
        rows = self.db.read(lambda c: c.execute(sql + " ORDER BY p.id", args).fetchall())
        return [project_from_row(r) for r in rows]

    async def rename_project(self, project_id: str, display_name: str) -> Project | None:
        def update(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE projects SET display_name = ? WHERE id = ?", (display_name, project_id)
            )
            return cur.rowcount

        if not await self._write_access(update):
            return None
        return await self.get_project(project_id)

    async def delete_project(self, project_id: str) -> bool:
        """Delete a project and everything in it (devices, connectors and their queues, service
        accounts and keys go by ON DELETE CASCADE; memberships, event history, attempt log and
        delivery counters explicitly).

        Refused while a service account the project owns is an organization member: deleting the
        project would silently delete an organization admin (the bootstrap admin lives in the first
        project).

        The single writer serves every tenant, so the bulk (event history, queued deliveries,
        attempt log) goes first in jobs of `PURGE_PAGE` rows, other tenants' writes committing in
        between; the last transaction removes the project and what arrived meanwhile. A crash in
        between leaves the project in place with part of its history gone, and the delete can be
        sent again.
        """

        def check(conn: sqlite3.Connection) -> bool:
            if (
                conn.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,)).fetchone()
                is None
            ):
                return False
            admins = [
                r[0]
                for r in conn.execute(
                    "SELECT sa.id FROM service_accounts sa JOIN memberships m"
                    " ON m.member_id = sa.id AND m.scope_kind = 'organization'"
                    " WHERE sa.project_id = ? ORDER BY sa.id",
                    (project_id,),
                )
            ]
            if admins:
                raise BadRequest(
                    "project owns service account(s) that are organization members "
                    f"({', '.join(admins)}); remove them from the organization first"
                )
            return True

        if not self.db.read(check):
            return False
        for purge in _PROJECT_PURGES:
            while await self.db.write(partial(_purge_page, purge, project_id)) >= PURGE_PAGE:
                pass

        def delete(conn: sqlite3.Connection) -> bool:
            if not check(conn):
                return False
            conn.execute(
                "DELETE FROM memberships WHERE member_id IN"
                " (SELECT id FROM service_accounts WHERE project_id = ?)",
                (project_id,),
            )
            conn.execute(
                "DELETE FROM memberships WHERE scope_kind = 'project' AND scope_id = ?",
                (project_id,),
            )
            for purge in _PROJECT_PURGES:
                conn.execute(purge, (project_id, -1))  # LIMIT -1: no limit
            conn.execute(
                "DELETE FROM delivery_counters WHERE connector_id IN"
                " (SELECT id FROM dataconnectors WHERE project_id = ?)",
                (project_id,),
            )
            conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))
            return True

        deleted: bool = await self._write_access(delete)
        return deleted

    # ---- service accounts ------------------------------------------------------------------------

    async def create_service_account(
        self, project_id: str, display_name: str, enable_basic_auth: bool = False
    ) -> ServiceAccount:
        now = self.clock.now()
        account_id = new_id(now)
        email = service_account_email(account_id, project_id)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                _INSERT_ACCOUNT,
                (account_id, project_id, email, display_name, int(enable_basic_auth), now, now),
            )

        await self._write_access(insert)
        found = await self.get_service_account(account_id)
        assert found is not None
        return found

    async def get_service_account(self, account_id: str) -> ServiceAccount | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM service_accounts WHERE id = ?", (account_id,)
            ).fetchone()
        )
        return account_from_row(row) if row else None

    async def get_service_account_by_email(self, email: str) -> ServiceAccount | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM service_accounts WHERE email = ?", (email,)
            ).fetchone()
        )
        return account_from_row(row) if row else None

    async def list_service_accounts(self, project_id: str) -> list[ServiceAccount]:
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM service_accounts WHERE project_id = ? ORDER BY id", (project_id,)
            ).fetchall()
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

        def update(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE service_accounts SET display_name = COALESCE(?, display_name),"
                " enable_basic_auth = COALESCE(?, enable_basic_auth), update_time = ? WHERE id = ?",
                (
                    display_name,
                    None if enable_basic_auth is None else int(enable_basic_auth),
                    now,
                    account_id,
                ),
            )
            return cur.rowcount

        if not await self._write_access(update):
            return None
        return await self.get_service_account(account_id)

    async def delete_service_account(self, account_id: str) -> bool:
        """Delete an account, its keys (cascade) and every membership it holds, in one transaction.

        Refused if it is the last admin service account of an organization.
        """

        def delete(conn: sqlite3.Connection) -> bool:
            if (
                conn.execute(
                    "SELECT 1 FROM service_accounts WHERE id = ?", (account_id,)
                ).fetchone()
                is None
            ):
                return False
            for (org_id,) in conn.execute(
                "SELECT scope_id FROM memberships"
                " WHERE member_id = ? AND scope_kind = 'organization'",
                (account_id,),
            ).fetchall():
                _ensure_admins_remain(conn, org_id, [account_id])
            conn.execute("DELETE FROM memberships WHERE member_id = ?", (account_id,))
            conn.execute("DELETE FROM service_accounts WHERE id = ?", (account_id,))
            return True

        deleted: bool = await self._write_access(delete)
        return deleted

    # ---- keys ------------------------------------------------------------------------------------

    async def create_key(self, service_account_id: str, secret_encrypted: bytes) -> Key:
        """Add a key; at most MAX_KEYS_PER_SERVICE_ACCOUNT per account (400 beyond)."""
        now = self.clock.now()
        key = Key(id=new_id(now), service_account_id=service_account_id, create_time=now)

        def insert(conn: sqlite3.Connection) -> None:
            count = conn.execute(
                "SELECT count(*) FROM service_account_keys WHERE service_account_id = ?",
                (service_account_id,),
            ).fetchone()[0]
            if count >= MAX_KEYS_PER_SERVICE_ACCOUNT:
                raise BadRequest(
                    f"a service account can have at most {MAX_KEYS_PER_SERVICE_ACCOUNT} keys"
                )
            conn.execute(
                _INSERT_KEY,
                (key.id, service_account_id, secret_encrypted, now),
            )

        await self._write_access(insert)
        return key

    async def get_key(self, key_id: str) -> Key | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT id, service_account_id, create_time FROM service_account_keys WHERE id = ?",
                (key_id,),
            ).fetchone()
        )
        return key_from_row(row) if row else None

    async def get_key_with_secret(self, key_id: str) -> tuple[Key, bytes] | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT * FROM service_account_keys WHERE id = ?", (key_id,)
            ).fetchone()
        )
        if row is None:
            return None
        return key_from_row(row), bytes(row["secret_encrypted"])

    async def list_keys(self, service_account_id: str) -> list[Key]:
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT id, service_account_id, create_time FROM service_account_keys"
                " WHERE service_account_id = ? ORDER BY id",
                (service_account_id,),
            ).fetchall()
        )
        return [key_from_row(r) for r in rows]

    async def delete_key(self, key_id: str) -> bool:
        def delete(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM service_account_keys WHERE id = ?", (key_id,)).rowcount

        return bool(await self._write_access(delete))

    async def account_holding_key(self, account_id: str, key_id: str) -> ServiceAccount | None:
        """The account, if it still exists and still holds the key: the one read authentication
        makes per request (cached; deleting either refuses the very next request all the same).
        """

        def load() -> ServiceAccount | None:
            row = self.db.read(
                lambda c: c.execute(
                    "SELECT sa.* FROM service_account_keys k JOIN service_accounts sa"
                    " ON sa.id = k.service_account_id WHERE k.id = ? AND sa.id = ?",
                    (key_id, account_id),
                ).fetchone()
            )
            return account_from_row(row) if row else None

        accounts, _ = self._access_caches()
        return accounts.get_or_load((account_id, key_id), self.clock.now(), load)

    # ---- memberships -----------------------------------------------------------------------------

    async def put_membership(self, membership: Membership) -> Membership:
        """Insert or replace a membership's roles (for operators and bootstrap; the API uses
        add/set).
        """

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                _INSERT_MEMBERSHIP + " ON CONFLICT(scope_kind, scope_id, member_id) DO UPDATE SET"
                " roles = excluded.roles, display_name = excluded.display_name,"
                " status = excluded.status",
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

        await self._write_access(upsert)
        return membership

    async def add_membership(self, membership: Membership) -> Membership:
        """Add a member; 409 if it already is one (change roles with `set_membership_roles`)."""
        now = self.clock.now()

        def insert(conn: sqlite3.Connection) -> None:
            try:
                _insert_membership(conn, membership, now)
            except sqlite3.IntegrityError as exc:
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
        row = self.db.read(
            lambda c: c.execute(
                MEMBERSHIP_SELECT
                + " WHERE m.scope_kind = ? AND m.scope_id = ? AND m.member_id = ?",
                (scope_kind, scope_id, member_id),
            ).fetchone()
        )
        return membership_from_row(row) if row else None

    async def list_memberships(self, scope_kind: str, scope_id: str) -> list[Membership]:
        rows = self.db.read(
            lambda c: c.execute(
                MEMBERSHIP_SELECT
                + " WHERE m.scope_kind = ? AND m.scope_id = ? ORDER BY m.create_time, m.member_id",
                (scope_kind, scope_id),
            ).fetchall()
        )
        return [membership_from_row(r) for r in rows]

    async def set_membership_roles(
        self, scope_kind: str, scope_id: str, member_id: str, roles: list[str]
    ) -> Membership | None:
        def update(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE memberships SET roles = ?"
                " WHERE scope_kind = ? AND scope_id = ? AND member_id = ?",
                (orjson.dumps(roles).decode(), scope_kind, scope_id, member_id),
            ).rowcount

        if not await self._write_access(update):
            return None
        return await self.get_membership(scope_kind, scope_id, member_id)

    async def remove_membership(self, scope_kind: str, scope_id: str, member_id: str) -> bool:
        """Remove a member; an organization's last admin service account cannot be removed (400)."""

        def delete(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT account_type, status FROM memberships"
                " WHERE scope_kind = ? AND scope_id = ? AND member_id = ?",
                (scope_kind, scope_id, member_id),
            ).fetchone()
            if row is None:
                return False
            if (
                scope_kind == ORGANIZATION_SCOPE
                and row["account_type"] == SERVICE_ACCOUNT
                and row["status"] == ACCEPTED
            ):
                _ensure_admins_remain(conn, scope_id, [member_id])
            conn.execute(
                "DELETE FROM memberships WHERE scope_kind = ? AND scope_id = ? AND member_id = ?",
                (scope_kind, scope_id, member_id),
            )
            return True

        removed: bool = await self._write_access(delete)
        return removed

    async def user_member_id(self, email: str) -> str | None:
        """The member id already given to an invited user email, so one person has one id
        everywhere.
        """
        row = self.db.read(
            lambda c: c.execute(
                "SELECT member_id FROM memberships WHERE account_type = ? AND email = ? LIMIT 1",
                (USER, email),
            ).fetchone()
        )
        return str(row["member_id"]) if row else None

    async def roles_in_project(
        self, member_id: str, project_id: str
    ) -> tuple[tuple[str, ...], str | None]:
        """The member's roles that apply in a project (its own plus its organization's), and the org
        id (None when the project does not exist).

        It runs on every authorized request, as one indexed query (inline: a point read takes
        microseconds), or not at all while the cached answer is fresh.
        """

        def query(conn: sqlite3.Connection) -> tuple[tuple[str, ...], str | None]:
            rows = conn.execute(_ROLES_IN_PROJECT, (member_id, project_id)).fetchall()
            if not rows:
                return (), None
            roles: list[str] = []
            for row in rows:
                if row["roles"] is not None:
                    roles.extend(orjson.loads(row["roles"]))
            return tuple(roles), rows[0]["organization_id"]

        _, by_project = self._access_caches()
        return by_project.get_or_load(
            (member_id, project_id),
            self.clock.now(),
            lambda: self.db.read(query),
            remember=lambda answer: answer[1] is not None,  # only projects that exist
        )

    async def roles_in_organization(self, member_id: str, organization_id: str) -> list[str]:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT roles FROM memberships WHERE scope_kind = 'organization' AND scope_id = ?"
                " AND member_id = ?",
                (organization_id, member_id),
            ).fetchone()
        )
        return list(orjson.loads(row["roles"])) if row else []

    async def member_scopes(self, member_id: str) -> list[tuple[str, str, list[str]]]:
        rows: list[Any] = self.db.read(
            lambda c: c.execute(
                "SELECT scope_kind, scope_id, roles FROM memberships WHERE member_id = ?",
                (member_id,),
            ).fetchall()
        )
        return [(r["scope_kind"], r["scope_id"], orjson.loads(r["roles"])) for r in rows]

    # ---- the deployment --------------------------------------------------------------------------

    async def put_server_fact(self, name: str, value: bytes) -> bytes:
        def put(conn: sqlite3.Connection) -> bytes:
            conn.execute(
                "INSERT INTO server_facts(name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                (name, value),
            )
            row = conn.execute("SELECT value FROM server_facts WHERE name = ?", (name,)).fetchone()
            return bytes(row[0])

        return await self.db.write(put)

    async def any_encrypted_secret(self) -> bytes | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT secret_encrypted FROM service_account_keys UNION ALL"
                " SELECT signature_secret FROM dataconnectors WHERE signature_secret IS NOT NULL"
                " LIMIT 1"
            ).fetchone()
        )
        return bytes(row[0]) if row else None
