"""PostgreSQL: users and their sign-in sessions (issue 8)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import asyncpg
import orjson

from conduit.clock import Clock
from conduit.domain.accounts import ACCEPTED, USER
from conduit.domain.errors import Conflict
from conduit.domain.ids import new_id
from conduit.domain.users import (
    EXPIRED_SESSIONS_PRUNED_PER_SIGN_IN,
    Grant,
    SessionRecord,
    User,
)
from conduit.store.postgres.database import Database
from conduit.store.postgres.queue import Conn
from conduit.store.rows import user_from_row

T = TypeVar("T")


class PgUsers:
    db: Database
    clock: Clock

    if TYPE_CHECKING:  # PgAccounts': writes that change who may do what

        async def _write_access(self, fn: Callable[[Conn], Awaitable[T]]) -> T: ...

    async def create_user(
        self, email: str, display_name: str, password_hash: str, grants: Sequence[Grant]
    ) -> User:
        now = self.clock.now()

        async def insert(conn: Conn) -> User:
            invited = await conn.fetchval(
                "SELECT member_id FROM memberships WHERE account_type = $1 AND email = $2 LIMIT 1",
                USER,
                email,
            )
            user_id = str(invited) if invited is not None else new_id(now)
            try:
                await conn.execute(
                    "INSERT INTO users(id, email, display_name, password_hash, create_time,"
                    " update_time) VALUES ($1, $2, $3, $4, $5, $5)",
                    user_id,
                    email,
                    display_name,
                    password_hash,
                    now,
                )
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"a user with email {email} already exists") from exc
            await conn.execute(
                "UPDATE memberships SET status = $1, display_name = $2 WHERE member_id = $3"
                " AND account_type = $4",
                ACCEPTED,
                display_name,
                user_id,
                USER,
            )
            for grant in grants:
                await conn.execute(
                    "INSERT INTO memberships(scope_kind, scope_id, member_id, account_type, email,"
                    " display_name, roles, status, create_time)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    " ON CONFLICT (scope_kind, scope_id, member_id) DO UPDATE SET"
                    " roles = excluded.roles",
                    grant.scope_kind,
                    grant.scope_id,
                    user_id,
                    USER,
                    email,
                    display_name,
                    orjson.dumps(list(grant.roles)).decode(),
                    ACCEPTED,
                    now,
                )
            return User(user_id, email, display_name, now)

        return await self._write_access(insert)

    async def user_by_email(self, email: str) -> User | None:
        row = await self.db.pool.fetchrow("SELECT * FROM users WHERE email = $1", email)
        return user_from_row(row) if row else None

    async def password_hash_of(self, email: str) -> tuple[User, str] | None:
        row = await self.db.pool.fetchrow("SELECT * FROM users WHERE email = $1", email)
        return (user_from_row(row), str(row["password_hash"])) if row else None

    async def set_user_password(self, user_id: str, password_hash: str) -> bool:
        """Change a password and sign the user out everywhere (a changed password is often a
        suspected leak)."""
        now = self.clock.now()
        async with self.db.pool.acquire() as conn, conn.transaction():
            changed = await conn.execute(
                "UPDATE users SET password_hash = $1, update_time = $2 WHERE id = $3",
                password_hash,
                now,
                user_id,
            )
            await conn.execute("DELETE FROM user_sessions WHERE user_id = $1", user_id)
        return str(changed) != "UPDATE 0"

    async def create_user_session(
        self, token_hash: bytes, user_id: str, csrf_token: str, expire_time: float
    ) -> None:
        now = self.clock.now()
        async with self.db.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM user_sessions WHERE token_hash IN (SELECT token_hash FROM"
                " user_sessions WHERE expire_time <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                now,
                EXPIRED_SESSIONS_PRUNED_PER_SIGN_IN,
            )
            await conn.execute(
                "INSERT INTO user_sessions(token_hash, user_id, csrf_token, create_time,"
                " expire_time) VALUES ($1, $2, $3, $4, $5)",
                token_hash,
                user_id,
                csrf_token,
                now,
                expire_time,
            )

    async def user_session(self, token_hash: bytes, now: float) -> SessionRecord | None:
        row = await self.db.pool.fetchrow(
            "SELECT u.*, s.csrf_token, s.expire_time FROM user_sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expire_time > $2",
            token_hash,
            now,
        )
        if row is None:
            return None
        return SessionRecord(user_from_row(row), str(row["csrf_token"]), float(row["expire_time"]))

    async def delete_user_session(self, token_hash: bytes) -> bool:
        deleted = await self.db.pool.execute(
            "DELETE FROM user_sessions WHERE token_hash = $1", token_hash
        )
        return str(deleted) != "DELETE 0"
