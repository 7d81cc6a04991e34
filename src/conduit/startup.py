"""Checks a server makes before it serves anything, so it refuses to start rather than half-run."""

from __future__ import annotations

import os
from pathlib import Path

from conduit.auth.secrets import SecretBox
from conduit.clock import SystemClock
from conduit.config import Settings, env
from conduit.store.contract import ServerFacts

KEY_CHECK = "server_key_check"
_KEY_CHECK_PLAINTEXT = "conduit server key check"


def secure_data_dir(data_dir: Path) -> None:
    """The data directory holds the server key, the credentials and (on SQLite) every tenant's
    data: owner only, whoever created it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)


class StartupRefused(Exception):
    """This server must not start; the message tells the operator why and what to do."""


async def check_server_key(store: ServerFacts, secrets: SecretBox) -> None:
    """Refuse a server key that cannot decrypt the database's secrets.

    With the wrong key every sign-in fails and pushes could not be signed; nodes sharing one
    PostgreSQL must share one key (`CONDUIT_SECRET_KEY`). The first server to start on a database
    records a value encrypted with its key; every later start must be able to read it back. A
    database from before that record existed is checked against one of its stored secrets.
    """
    existing = await store.any_encrypted_secret()
    stored = await store.put_server_fact(KEY_CHECK, secrets.encrypt(_KEY_CHECK_PLAINTEXT))
    for token in (stored, existing):
        if token is None:
            continue
        try:
            secrets.decrypt(token)
        except ValueError:
            raise StartupRefused(
                "the server key (CONDUIT_SECRET_KEY, or secret.key in the data dir) cannot decrypt"
                " the secrets stored in this database: start with the key this database was"
                " created with (every node of one database needs the same key)"
            ) from None


async def preflight(settings: Settings) -> None:
    """Everything that can refuse a start, checked before the server binds its port, so the
    operator gets one clear line instead of a failed startup's traceback."""
    from conduit.bootstrap import admin_user_settings
    from conduit.domain.errors import BadRequest
    from conduit.node_identity import NodeInUse, claim_node_identity
    from conduit.store import is_postgres, make_store
    from conduit.store.sqlite.database import DatabaseLocked

    try:
        admin_user_settings()
    except BadRequest as exc:
        raise StartupRefused(f"CONDUIT_ADMIN_EMAIL / CONDUIT_ADMIN_PASSWORD: {exc}") from None
    secrets = SecretBox.load_or_create(settings.data_dir, env("SECRET_KEY"))
    node_id = None
    if is_postgres(settings.database_target):
        try:
            node_id = claim_node_identity(settings.data_dir)
        except NodeInUse as exc:
            raise StartupRefused(str(exc)) from None
    store = make_store(settings.database_target, SystemClock(), node_id=node_id)
    try:
        await store.open()
    except DatabaseLocked as exc:
        raise StartupRefused(str(exc)) from None
    except OSError as exc:
        raise StartupRefused(f"cannot open the database: {exc}") from None
    try:
        await check_server_key(store, secrets)
        await store.seal_clear_headers(secrets.seal_headers)
    finally:
        await store.close()
