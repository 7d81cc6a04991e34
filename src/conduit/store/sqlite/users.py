"""SQLite: users and their sign-in sessions (issue 8)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

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
from conduit.store.rows import user_from_row
from conduit.store.sqlite.database import Database

T = TypeVar("T")


class SqliteUsers:
    db: Database
    clock: Clock

    if TYPE_CHECKING:  # SqliteAccounts': writes that change who may do what

        async def _write_access(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

    async def create_user(
        self, email: str, display_name: str, password_hash: str, grants: Sequence[Grant]
    ) -> User:
        now = self.clock.now()

        def insert(conn: sqlite3.Connection) -> User:
            if conn.execute("SELECT 1 FROM users WHERE email = ?", (email,)).fetchone():
                raise Conflict(f"a user with email {email} already exists")
            invited = conn.execute(
                "SELECT member_id FROM memberships WHERE account_type = ? AND email = ? LIMIT 1",
                (USER, email),
            ).fetchone()
            user_id = invited["member_id"] if invited else new_id(now)
            conn.execute(
                "INSERT INTO users(id, email, display_name, password_hash, create_time,"
                " update_time) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, email, display_name, password_hash, now, now),
            )
            conn.execute(
                "UPDATE memberships SET status = ?, display_name = ? WHERE member_id = ?"
                " AND account_type = ?",
                (ACCEPTED, display_name, user_id, USER),
            )
            for grant in grants:
                conn.execute(
                    "INSERT INTO memberships(scope_kind, scope_id, member_id, account_type, email,"
                    " display_name, roles, status, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(scope_kind, scope_id, member_id) DO UPDATE SET"
                    " roles = excluded.roles",
                    (
                        grant.scope_kind,
                        grant.scope_id,
                        user_id,
                        USER,
                        email,
                        display_name,
                        orjson.dumps(list(grant.roles)).decode(),
                        ACCEPTED,
                        now,
                    ),
                )
            return User(user_id, email, display_name, now)

        return await self._write_access(insert)

    async def user_by_email(self, email: str) -> User | None:
        row = self.db.read(
            lambda c: c.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone()
        )
        return user_from_row(row) if row else None

    async def password_hash_of(self, email: str) -> tuple[User, str] | None:
        row = self.db.read(
            lambda c: c.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone()
        )
        return (user_from_row(row), str(row["password_hash"])) if row else None

    async def set_user_password(self, user_id: str, password_hash: str) -> bool:
        """Change a password and sign the user out everywhere (a changed password is often a
        suspected leak)."""
        now = self.clock.now()

        def update(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE users SET password_hash = ?, update_time = ? WHERE id = ?",
                (password_hash, now, user_id),
            ).rowcount
            conn.execute("DELETE FROM user_sessions WHERE user_id = ?", (user_id,))
            return bool(changed)

        return await self.db.write(update)

    async def create_user_session(
        self, token_hash: bytes, user_id: str, csrf_token: str, expire_time: float
    ) -> None:
        now = self.clock.now()

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM user_sessions WHERE token_hash IN (SELECT token_hash FROM"
                " user_sessions WHERE expire_time <= ? LIMIT ?)",
                (now, EXPIRED_SESSIONS_PRUNED_PER_SIGN_IN),
            )
            conn.execute(
                "INSERT INTO user_sessions(token_hash, user_id, csrf_token, create_time,"
                " expire_time) VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, csrf_token, now, expire_time),
            )

        await self.db.write(insert)

    async def user_session(self, token_hash: bytes, now: float) -> SessionRecord | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT u.*, s.csrf_token, s.expire_time FROM user_sessions s"
                " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expire_time > ?",
                (token_hash, now),
            ).fetchone()
        )
        if row is None:
            return None
        return SessionRecord(user_from_row(row), str(row["csrf_token"]), float(row["expire_time"]))

    async def delete_user_session(self, token_hash: bytes) -> bool:
        deleted: int = await self.db.write(
            lambda c: (
                c.execute("DELETE FROM user_sessions WHERE token_hash = ?", (token_hash,)).rowcount
            )
        )
        return deleted > 0
