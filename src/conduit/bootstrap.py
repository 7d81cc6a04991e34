"""First start: an organization, a "default" project, an admin service account and its key.

The key's secret exists in the clear exactly once, in `<data-dir>/credentials.json` (mode 0600, DT's
credentials-file format), so the official client can use it with `DT_CREDENTIALS_FILE`.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from conduit.context import Context
from conduit.domain.accounts import Membership

CREDENTIALS_FILE = "credentials.json"


async def bootstrap(ctx: Context) -> None:
    store = ctx.store
    path = ctx.settings.data_dir / CREDENTIALS_FILE
    if await store.list_organizations():
        _print_hint(ctx, path, secret=None)
        return
    org = await store.create_organization("Conduit")
    project = await store.create_project(org.id, "default")
    account = await store.create_service_account(project.id, "admin", enable_basic_auth=True)
    await store.put_membership(
        Membership(
            scope_kind="organization",
            scope_id=org.id,
            member_id=account.id,
            account_type="SERVICE_ACCOUNT",
            email=account.email,
            display_name=account.display_name,
            roles=["roles/organization.admin"],
        )
    )
    secret = secrets.token_hex(16)
    key = await store.create_key(account.id, ctx.secrets.encrypt(secret))
    write_credentials(path, key.id, secret, account.email, ctx.settings.base_url)
    _print_hint(ctx, path, secret=secret)


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


def _print_hint(ctx: Context, path: Path, secret: str | None) -> None:
    base = ctx.settings.base_url
    key_id = "<KEY_ID>"
    try:
        key_id = json.loads(path.read_text())["serviceAccount"]["keyId"]
    except (OSError, ValueError, KeyError):
        pass
    shown = secret if secret is not None else "<SECRET from credentials.json>"
    lines = [
        "",
        f"Conduit is serving {base}",
        f"  credentials: {path.resolve()}",
        f'  curl -u "{key_id}:{shown}" {base}/v2/projects',
        "  python (disruptive):",
        f'    import os; os.environ["DT_CREDENTIALS_FILE"] = "{path.resolve()}"',
        "    import disruptive as dt",
        f'    dt.base_url = dt.emulator_base_url = "{base}/v2"',
        "",
    ]
    print("\n".join(lines), file=sys.stdout, flush=True)
