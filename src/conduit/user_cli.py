"""`conduit user add` and `conduit user passwd`: the operator's way to let people into Studio.

They write to the database directly, as `conduit migrate` does, because creating the first people
is what the API cannot do for itself. On SQLite they work beside a running server (its lock
stays its own; SQLite orders the few writes), on PostgreSQL like any node. The password is asked
for twice at a terminal, or read from stdin with `--password-stdin` (first line) for scripts; it
never appears in arguments, where `ps` would show it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any

from conduit.auth.passwords import hash_password
from conduit.clock import SystemClock
from conduit.config import Settings, env
from conduit.domain.accounts import ORGANIZATION_SCOPE, PROJECT_SCOPE
from conduit.domain.errors import ApiError
from conduit.domain.roles import ORGANIZATION_ROLES, PROJECT_ROLES
from conduit.domain.users import Grant, display_name_for, new_password, user_email
from conduit.store import make_store
from conduit.store.contract import Store
from conduit.store.sqlite.database import DatabaseLocked

ROLES = (*PROJECT_ROLES, *ORGANIZATION_ROLES)


class Refused(Exception):
    """What the operator asked for cannot be done; the message says why."""


def add_commands(sub: Any) -> None:
    user = sub.add_parser("user", help="people who sign in to Studio")
    commands = user.add_subparsers(dest="user_command", required=True)
    add = commands.add_parser("add", help="create a user with a role")
    _database_arguments(add)
    add.add_argument("--email", required=True)
    add.add_argument(
        "--role",
        required=True,
        help="roles/project.user|developer|admin (in --project) or roles/organization.admin"
        " (short forms such as project.admin work too)",
    )
    add.add_argument("--project", help="project id (default: the only project, if there is one)")
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd = commands.add_parser("passwd", help="set a user's password (ends their sessions)")
    _database_arguments(passwd)
    passwd.add_argument("--email", required=True)
    passwd.add_argument("--password-stdin", action="store_true")


def _database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path(env("DATA_DIR") or "./conduit-data"))
    parser.add_argument("--database", default=env("DATABASE"), help="default: the data dir's file")


def run(args: argparse.Namespace) -> int:
    try:
        password = _password(args.password_stdin)
        print(asyncio.run(_run(args, password)))
    except (Refused, ApiError) as exc:
        print(f"conduit user: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise Refused("no terminal to ask for the password at: use --password-stdin")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise Refused("the two passwords differ")
    return new_password(password)


async def _run(args: argparse.Namespace, password: str) -> str:
    target = Settings(data_dir=args.data_dir, database=args.database).database_target
    store = make_store(target, SystemClock())
    try:
        await store.open()
    except DatabaseLocked:
        store = make_store(target, SystemClock(), beside_server=True)
        await store.open()
    try:
        if args.user_command == "add":
            return await _add(store, args, password)
        return await _passwd(store, args, password)
    finally:
        await store.close()


async def _add(store: Store, args: argparse.Namespace, password: str) -> str:
    email = user_email(args.email)
    role = args.role if args.role.startswith("roles/") else f"roles/{args.role}"
    if role not in ROLES:
        raise Refused(f"unknown role {args.role!r}; one of {', '.join(ROLES)}")
    if role in ORGANIZATION_ROLES:
        organizations = await store.list_organizations()
        if len(organizations) != 1:
            raise Refused("expected exactly one organization")
        grant = Grant(ORGANIZATION_SCOPE, organizations[0].id, (role,))
        where = f"organization {organizations[0].id}"
    else:
        project_id = args.project or await _only_project(store)
        if await store.get_project(project_id) is None:
            raise Refused(f"no project {project_id}")
        grant = Grant(PROJECT_SCOPE, project_id, (role,))
        where = f"project {project_id}"
    user = await store.create_user(
        email, display_name_for(args.display_name, email), hash_password(password), [grant]
    )
    return f"created user {user.email} (member id {user.id}) with {role} in {where}"


async def _only_project(store: Store) -> str:
    projects = await store.list_projects()
    if len(projects) != 1:
        raise Refused(f"there are {len(projects)} projects: name one with --project ID")
    return projects[0].id


async def _passwd(store: Store, args: argparse.Namespace, password: str) -> str:
    user = await store.user_by_email(user_email(args.email))
    if user is None or not await store.set_user_password(user.id, hash_password(password)):
        raise Refused(f"no user {args.email}")
    return f"password of {user.email} changed; their sessions have ended"
