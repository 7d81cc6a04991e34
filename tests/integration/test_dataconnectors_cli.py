"""`dt data-connector ...` (PyPI `disruptive-cli`) against a real server.

The CLI has no option or environment variable for the API base URL: it uses `disruptive.base_url`,
hard-coded to DT Cloud. So the CLI runs unmodified, started by Conduit's launcher (`conduit dt`,
here as `python -m conduit.dtcli`), which sets the base URL and `DT_CREDENTIALS_FILE` before calling
the CLI's own entry point — what a user does too (docs/api-compatibility.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness.server import ServerProcess

URL = "https://127.0.0.1:9/hook"


class Cli:
    def __init__(self, server: ServerProcess, home: Path) -> None:
        self.launcher = [sys.executable, "-m", "conduit.dtcli", "--server", server.url]
        self.launcher += ["--credentials", str(server.credentials_path)]
        self.env = {
            **os.environ,
            "HOME": str(home),  # the CLI reads ~/.config/disruptive/dt-cli.yaml
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.launcher, "data-connector", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def json(self, *args: str) -> list[dict[str, Any]]:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture
def cli(server: ServerProcess, tmp_path: Path) -> Cli:
    return Cli(server, tmp_path)


def test_the_cli_manages_a_connector_end_to_end(cli: Cli, project_id: str) -> None:
    [created] = cli.json(
        "create",
        "http-push",
        project_id,
        URL,
        "--signature-secret",
        "cli-secret",
        "--headers",
        "x-api-key=abc,x-team=ops",
        "--display-name",
        "from-cli",
        "--event-types",
        "touch,temperature",
        "--labels",
        "name,room",
    )
    dc = created["name"].split("/")[-1]
    assert created == {
        "name": f"projects/{project_id}/dataconnectors/{dc}",
        "displayName": "from-cli",
        "type": "HTTP_PUSH",
        "status": "ACTIVE",
        "events": ["touch", "temperature"],
        "labels": ["name", "room"],
        "httpConfig": {
            "url": URL,
            "signatureSecret": "cli-secret",
            "headers": {"x-api-key": "abc", "x-team": "ops"},
        },
        # Conduit's extensions: the CLI passes through what it does not know (issue 9).
        "signatureScheme": "DT_JWT",
        "disableOnGone": False,
        "rateLimit": 0.0,
    }
    assert cli.json("get", dc, project_id) == [created]
    assert cli.json("list", project_id) == [created]

    # `update http-push` always sends "httpConfig": {} when no URL/secret/header flag is given
    [renamed] = cli.json("update", "http-push", dc, project_id, "--display-name", "renamed")
    assert renamed == {**created, "displayName": "renamed"}
    [disabled] = cli.json("update", "http-push", dc, project_id, "--status", "USER_DISABLED")
    assert disabled["status"] == "USER_DISABLED" and disabled["httpConfig"] == created["httpConfig"]
    [moved] = cli.json(
        "update",
        "http-push",
        dc,
        project_id,
        "--url",
        "https://127.0.0.2:9/new",
        "--headers",
        "x-only=1",
        "--event-types",
        "co2",
    )
    assert moved["httpConfig"] == {
        "url": "https://127.0.0.2:9/new",
        "signatureSecret": "cli-secret",
        "headers": {"x-only": "1"},
    }
    assert moved["events"] == ["co2"] and moved["displayName"] == "renamed"

    [enabled] = cli.json("update", "http-push", dc, project_id, "--status", "ACTIVE")
    assert enabled["status"] == "ACTIVE"
    [metrics] = cli.json("metrics", dc, project_id)
    assert metrics["metrics"] == {"successCount": 0, "errorCount": 0, "latency99p": "0s"}
    assert len(metrics["series"]) == 18  # Conduit's extension, printed as the API answers it
    done = cli.run("sync", dc, project_id)
    assert done.returncode == 0, done.stderr

    done = cli.run("delete", dc, project_id)
    assert done.returncode == 0, done.stderr
    assert cli.json("list", project_id) == []
    gone = cli.run("get", dc, project_id)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_the_cli_table_lists_several_connectors(cli: Cli, project_id: str) -> None:
    ids = [
        cli.json("create", "http-push", project_id, URL, "--display-name", f"dc{i}")[0]["name"]
        for i in range(2)
    ]
    done = cli.run("list", project_id)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split()[:3] == ["DATA-CONNECTOR-ID", "PROJECT-ID", "DISPLAY-NAME"]
    assert [row.split()[0] for row in rows] == [name.split("/")[-1] for name in ids]


def test_the_cli_reports_a_refused_url(cli: Cli, project_id: str) -> None:
    done = cli.run("create", "http-push", project_id, "http://8.8.8.8/hook")
    assert done.returncode != 0
    assert "BadRequest" in done.stderr and "https://" in done.stderr
    assert cli.json("list", project_id) == []
