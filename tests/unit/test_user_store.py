"""Passwords and sessions at the store: the 12-hour rule on an advanced clock, hashes never the
password."""

from __future__ import annotations

from pathlib import Path

from conduit.auth.passwords import hash_password, password_matches
from conduit.auth.sessions import SESSION_SECONDS, token_hash
from conduit.clock import ManualClock
from conduit.store import make_store


def test_argon2id_hashes_verify_and_unknown_users_never_match() -> None:
    stored = hash_password("a long password")
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert password_matches(stored, "a long password")
    assert not password_matches(stored, "a long passwore")
    assert not password_matches(None, "a long password")
    assert not password_matches("not a hash", "a long password")


async def test_a_session_ends_twelve_hours_after_sign_in(tmp_path: Path) -> None:
    clock = ManualClock(1_800_000_000.0)
    store = make_store(tmp_path / "conduit.db", clock)
    await store.open()
    try:
        user = await store.create_user("p@example.com", "P", hash_password("a long password"), [])
        hashed = token_hash("cookie value")
        await store.create_user_session(hashed, user.id, "csrf", clock.now() + SESSION_SECONDS)
        clock.advance(SESSION_SECONDS - 1)
        found = await store.user_session(hashed, clock.now())
        assert found is not None and found.user.email == "p@example.com"
        assert await store.user_session(token_hash("another value"), clock.now()) is None
        clock.advance(1)
        assert await store.user_session(hashed, clock.now()) is None
        # The next sign-in removes the expired row.
        await store.create_user_session(token_hash("next"), user.id, "c2", clock.now() + 60)
        assert not await store.delete_user_session(hashed)
    finally:
        await store.close()
