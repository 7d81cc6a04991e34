"""First start: an organization, a "default" project, an admin service account and its key, and an
organization-admin user who signs in to Studio.

The key's secret exists in the clear exactly once, in `<data-dir>/credentials.json` (mode 0600, DT's
credentials-file format), so the official client can use it with `DT_CREDENTIALS_FILE`. The user's
email is `CONDUIT_ADMIN_EMAIL` (default `admin@conduit.local`) and its password
`CONDUIT_ADMIN_PASSWORD`, or one generated and printed once, on this first start only: a person
needs it to sign in, and it is never stored anywhere but as its hash.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
from pathlib import Path

from conduit.auth.passwords import hash_password_off_loop
from conduit.auth.secrets import new_key_secret
from conduit.config import env
from conduit.context import Context
from conduit.domain.accounts import (
    ORGANIZATION_SCOPE,
    Key,
    Organization,
    Project,
    ServiceAccount,
    service_account_email,
)
from conduit.domain.ids import new_id
from conduit.domain.roles import ORGANIZATION_ADMIN
from conduit.domain.users import Grant, new_password, user_email

CREDENTIALS_FILE = "credentials.json"
DEFAULT_ADMIN_EMAIL = "admin@conduit.local"


def admin_user_settings() -> tuple[str, str | None]:
    """The first user's email and chosen password (None: generate one); a bad value is a
    `BadRequest` naming it, which `preflight` turns into a refused start."""
    email = user_email(env("ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL)
    password = env("ADMIN_PASSWORD")
    return email, new_password(password) if password else None


async def bootstrap(ctx: Context) -> None:
    """Create the first organization, project, admin service account (organization admin) and key.

    The credentials file is written before the database commit, and the records are committed in one
    transaction: a crash in between leaves no organization, so the next start simply bootstraps
    again (overwriting the file), and never a database whose only admin key was lost. Of nodes
    starting together on one empty database exactly one bootstraps; the others remove the file
    they wrote.
    """
    store = ctx.store
    path = ctx.settings.data_dir / CREDENTIALS_FILE
    if await store.list_organizations():
        _print_hint(ctx, path)
        return
    now = ctx.clock.now()
    org = Organization(id=new_id(now), display_name="Conduit", create_time=now)
    project = Project(
        id=new_id(now),
        organization_id=org.id,
        organization_display_name=org.display_name,
        display_name="default",
        inventory=False,
        create_time=now,
    )
    account_id = new_id(now)
    account = ServiceAccount(
        id=account_id,
        project_id=project.id,
        email=service_account_email(account_id, project.id),
        display_name="admin",
        enable_basic_auth=True,
        create_time=now,
        update_time=now,
    )
    key = Key(id=new_id(now), service_account_id=account.id, create_time=now)
    secret = new_key_secret()
    write_credentials(path, key.id, secret, account.email, ctx.settings.base_url)
    if not await store.bootstrap_platform(org, project, account, key, ctx.secrets.encrypt(secret)):
        # Another node bootstrapped the shared database first: its credentials are the real ones,
        # and the file just written names a key that exists nowhere.
        path.unlink(missing_ok=True)
        _print_hint(ctx, path)
        return
    email, password = admin_user_settings()
    generated = password is None
    password = password or secrets.token_urlsafe(15)
    await store.create_user(
        email,
        "Administrator",
        await hash_password_off_loop(password),
        [Grant(ORGANIZATION_SCOPE, org.id, (ORGANIZATION_ADMIN,))],
    )
    _print_hint(ctx, path)
    studio = f"  Studio: {ctx.settings.base_url}/studio  (sign in as {email}"
    if generated:
        studio += f", password {password} — shown this once; change it with `conduit user passwd`)"
    else:
        studio += ", password from CONDUIT_ADMIN_PASSWORD)"
    print(studio, file=sys.stdout, flush=True)


def write_credentials(path: Path, key_id: str, secret: str, email: str, base_url: str) -> None:
    document = {
        "serviceAccount": {
            "keyId": key_id,
            "secret": secret,
            "email": email,
            "algorithm": "HS256",
            "tokenEndpoint": f"{base_url}/oauth2/token",
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(document, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _print_hint(ctx: Context, path: Path) -> None:
    """How to connect. The secret itself is never printed: stdout ends up in service logs, and
    the credentials file (mode 0600) is where it is kept."""
    base = ctx.settings.base_url
    key_id = "<KEY_ID>"
    with contextlib.suppress(OSError, ValueError, KeyError):
        key_id = json.loads(path.read_text())["serviceAccount"]["keyId"]
    lines = [
        "",
        f"Conduit is serving {base}",
        f"  credentials: {path.resolve()} (the organization admin's key id and secret)",
        f'  curl -u "{key_id}:$SECRET" {base}/v2/projects  # SECRET: serviceAccount.secret there',
        "  python (disruptive):",
        f'    import os; os.environ["DT_CREDENTIALS_FILE"] = "{path.resolve()}"',
        "    import disruptive as dt",
        f'    dt.base_url = dt.emulator_base_url = "{base}/v2"',
        "",
    ]
    print("\n".join(lines), file=sys.stdout, flush=True)
