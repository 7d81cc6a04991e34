"""`dt project | service-account | role ...` (PyPI `disruptive-cli`) against a real server.

The CLI runs unmodified; a three-line launcher sets `disruptive.base_url` first, because the CLI has
no option for it (see test_dataconnectors_cli.py); credentials come from `DT_CREDENTIALS_FILE`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness.server import ServerProcess

LAUNCHER = (
    "import os, disruptive\n"
    "disruptive.base_url = disruptive.emulator_base_url = os.environ['CONDUIT_API']\n"
    "from dtcli.cli import entry_point\n"
    "entry_point()\n"
)


def dt_cli(server: ServerProcess, home: Path, *args: str) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "DT_CREDENTIALS_FILE": str(server.credentials_path),
        "CONDUIT_API": server.api,
        "HOME": str(home),
    }
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_the_cli_manages_projects_accounts_and_members(
    server: ServerProcess, tmp_path: Path, organization_id: str
) -> None:
    [project] = dt_cli(server, tmp_path, "project", "create", organization_id, "from the cli")
    pid = project["name"].split("/")[1]
    assert (project["displayName"], project["organization"]) == (
        "from the cli",
        f"organizations/{organization_id}",
    )

    [account] = dt_cli(
        server,
        tmp_path,
        "service-account",
        "create",
        pid,
        "--display-name",
        "cli",
        "--basic-auth",
        "1",
    )
    said = account["name"].split("/")[-1]
    assert account["enableBasicAuth"] is True
    [key] = dt_cli(server, tmp_path, "service-account", "key", "create", said, pid)
    assert key["secret"] and key["id"]

    [member] = dt_cli(
        server, tmp_path, "project", "member", "add", pid, account["email"], "project.user"
    )
    assert (member["roles"], member["accountType"]) == (["roles/project.user"], "SERVICE_ACCOUNT")
    listed = dt_cli(server, tmp_path, "project", "member", "list", pid)
    assert [m["name"] for m in listed] == [f"projects/{pid}/members/{said}"]

    roles = dt_cli(server, tmp_path, "role", "list")
    assert [r["name"] for r in roles] == [
        "roles/project.user",
        "roles/project.developer",
        "roles/project.admin",
        "roles/organization.admin",
    ]
    dt_cli(server, tmp_path, "project", "delete", pid)
    remaining = dt_cli(server, tmp_path, "project", "list", "--query", "from the cli")
    assert pid not in [p["name"].split("/")[1] for p in remaining]
