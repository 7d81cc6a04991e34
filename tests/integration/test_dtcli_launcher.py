"""`conduit dt ...`: the unmodified `disruptive-cli`, launched against a real Conduit server.

Every test runs the launcher as a user would, in a subprocess (`conduit dt` or `python -m
conduit.dtcli`), against the shared session server, with a private HOME (the CLI reads
`~/.config/disruptive/dt-cli.yaml`) and none of the outer environment's DT/Conduit settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.harness.resources import new_project
from tests.harness.server import ServerProcess, free_port

CONDUIT = [sys.executable, "-m", "conduit"]  # the `conduit` console script, without relying on PATH
LAUNCHER = [sys.executable, "-m", "conduit.dtcli"]
# The CLI's own entry point with only the base URL set: no page-token fix (to show the client bug).
BARE_CLI = (
    "import os, disruptive\n"
    "disruptive.base_url = disruptive.emulator_base_url = os.environ['CONDUIT_API']\n"
    "from dtcli.cli import entry_point\n"
    "entry_point()\n"
)
HOOK = "https://127.0.0.1:9/hook"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DT_", "CONDUIT_")) and k not in ("HOME",)
    }
    return {**env, "HOME": str(home), **extra}


def run(
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def json_lines(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def explicit(server: ServerProcess) -> list[str]:
    return ["--server", server.url, "--credentials", str(server.credentials_path)]


def create_connector(
    api: requests.Session, server: ServerProcess, project_id: str, name: str
) -> str:
    res = api.post(
        f"{server.api}/projects/{project_id}/dataconnectors",
        json={"displayName": name, "httpConfig": {"url": HOOK}},
    )
    assert res.status_code == 200, res.text
    return str(res.json()["name"])


def test_conduit_dt_lists_the_default_project(
    server: ServerProcess, api: requests.Session, home: Path
) -> None:
    done = run(
        [*CONDUIT, "dt", *explicit(server), "project", "list", "--json"], clean_env(home), home
    )
    projects = json_lines(done)
    default = [p for p in projects if p["displayName"] == "default"]
    assert len(default) == 1
    assert default[0]["name"] == api.get(f"{server.api}/projects").json()["projects"][0]["name"]

    table = run([*CONDUIT, "dt", *explicit(server), "project", "list"], clean_env(home), home)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:2] == ["PROJECT-ID", "DISPLAY-NAME"]
    assert default[0]["name"].split("/")[1] in {row.split()[0] for row in rows}


def test_data_connector_list_through_python_m(
    server: ServerProcess, api: requests.Session, project_id: str, home: Path
) -> None:
    name = create_connector(api, server, project_id, "listed")
    done = run(
        [*LAUNCHER, "data-connector", "list", project_id, *explicit(server), "--json"],
        clean_env(home),
        home,
    )
    [listed] = json_lines(done)
    assert listed["name"] == name and listed["displayName"] == "listed"
    assert listed["httpConfig"]["url"] == HOOK


def test_server_comes_from_the_credentials_and_credentials_from_the_environment(
    server: ServerProcess, project_id: str, home: Path
) -> None:
    """No flags: DT_CREDENTIALS_FILE names the file, whose tokenEndpoint names the server."""
    env = clean_env(home, DT_CREDENTIALS_FILE=str(server.credentials_path))
    done = run([*LAUNCHER, "project", "get", project_id, "--json"], env, home)
    [project] = json_lines(done)
    assert project["name"] == f"projects/{project_id}"


def test_credentials_default_to_the_data_dir_and_server_to_conduit_server(
    server: ServerProcess, project_id: str, home: Path
) -> None:
    env = clean_env(home, CONDUIT_DATA_DIR=str(server.data_dir), CONDUIT_SERVER=server.url + "/v2/")
    done = run([*CONDUIT, "dt", "project", "get", project_id, "--json"], env, home)
    assert json_lines(done)[0]["name"] == f"projects/{project_id}"


def test_the_server_flag_wins_over_the_environment(
    server: ServerProcess, project_id: str, home: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = clean_env(home, CONDUIT_SERVER=nowhere, DT_CREDENTIALS_FILE="/nonexistent.json")
    done = run(
        [*CONDUIT, "dt", "project", "get", project_id, "--json", *explicit(server)], env, home
    )
    assert json_lines(done)[0]["name"] == f"projects/{project_id}"


def test_arguments_after_a_double_dash_go_to_dt_verbatim(server: ServerProcess, home: Path) -> None:
    done = run(
        [*CONDUIT, "dt", *explicit(server), "--", "role", "get", "project.user", "--server"],
        clean_env(home),
        home,
    )
    assert done.returncode == 2  # dt's own argparse refuses the flag it does not know
    assert "unrecognized arguments: --server" in done.stderr


def test_an_api_error_is_one_line_without_a_traceback(
    server: ServerProcess, project_id: str, home: Path
) -> None:
    done = run(
        [
            *CONDUIT,
            "dt",
            *explicit(server),
            "device",
            "get",
            "emunosuchdevice0000000",
            "--project-id",
            project_id,
        ],
        clean_env(home),
        home,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    message = f"device emunosuchdevice0000000 not found in project {project_id}"
    assert done.stderr.strip().splitlines() == [f"conduit dt: NotFound: {message} (404)"]


def test_claim_commands_are_answered_not_found(server: ServerProcess, home: Path) -> None:
    done = run([*CONDUIT, "dt", *explicit(server), "claim", "info", "abc"], clean_env(home), home)
    assert done.returncode == 1
    assert done.stderr.strip() == "conduit dt: NotFound: no such resource: /v2/claimInfo (404)"


def test_missing_credentials_file_is_a_clear_error(home: Path) -> None:
    missing = home / "nope.json"
    done = run(
        [*CONDUIT, "dt", "--credentials", str(missing), "role", "list"], clean_env(home), home
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"conduit dt: credentials file {missing} not found")
    assert "Traceback" not in done.stderr


def test_malformed_credentials_file_is_a_clear_error(home: Path) -> None:
    broken = home / "creds.json"
    broken.write_text(json.dumps({"serviceAccount": {"keyId": "k", "secret": "s"}}))
    done = run([*LAUNCHER, "role", "list"], clean_env(home, DT_CREDENTIALS_FILE=str(broken)), home)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"conduit dt: credentials file {broken} lacks email, algorithm, tokenEndpoint"
    )


@pytest.mark.parametrize("server_url", ["ftp://127.0.0.1:8080", "127.0.0.1:8080", "http://"])
def test_a_bad_server_url_is_a_clear_error(
    server: ServerProcess, home: Path, server_url: str
) -> None:
    done = run(
        [
            *LAUNCHER,
            "--server",
            server_url,
            "--credentials",
            str(server.credentials_path),
            "role",
            "list",
        ],
        clean_env(home),
        home,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("conduit dt: --server must be an http(s) URL")


def test_a_server_that_is_not_running_is_named(server: ServerProcess, home: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = run(
        [
            *LAUNCHER,
            "--server",
            nowhere,
            "--credentials",
            str(server.credentials_path),
            "role",
            "list",
        ],
        clean_env(home),
        home,
    )
    assert done.returncode == 1
    assert done.stderr.strip().endswith(f"is Conduit running at {nowhere}/v2?")
    assert "ConnectionError" in done.stderr and "Traceback" not in done.stderr


def test_without_any_credentials_api_commands_say_so(home: Path) -> None:
    done = run([*LAUNCHER, "--server", "http://127.0.0.1:9", "role", "list"], clean_env(home), home)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "conduit dt: Unauthorized: no credentials: pass --credentials FILE (Conduit writes"
        " credentials.json to its data directory), set DT_CREDENTIALS_FILE or CONDUIT_DATA_DIR"
    )


def test_bad_credentials_are_refused_by_the_server(server: ServerProcess, home: Path) -> None:
    forged = home / "forged.json"
    document = json.loads(server.credentials_path.read_text())
    document["serviceAccount"]["secret"] = "0" * 32
    forged.write_text(json.dumps(document))
    done = run([*LAUNCHER, "--credentials", str(forged), "role", "list"], clean_env(home), home)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "conduit dt: Unauthorized: Could not authenticate with the provided credentials."
    )


def test_help_version_and_local_commands_need_no_server(home: Path) -> None:
    version = run([*CONDUIT, "dt", "--version"], clean_env(home), home)
    assert (version.returncode, version.stdout.strip()) == (0, "0.5.1")
    helped = run([*CONDUIT, "dt", "--help"], clean_env(home), home)
    assert helped.returncode == 0 and "data-connector" in helped.stdout
    assert helped.stdout.startswith("usage: conduit dt")
    padded = run([*CONDUIT, "dt", "config", "padding", "5"], clean_env(home), home)
    assert padded.returncode == 0, padded.stderr
    assert "padding: 5" in (home / ".config" / "disruptive" / "dt-cli.yaml").read_text()
    listed = run([*CONDUIT, "--help"], clean_env(home), home)
    assert listed.returncode == 0 and "disruptive-cli" in listed.stdout


def test_missing_disruptive_cli_is_a_clear_error(home: Path) -> None:
    """`sys.modules[name] = None` is Python's own way to make a package unimportable."""
    code = (
        "import sys; sys.modules['dtcli'] = None\n"
        "from conduit.dtcli import main\n"
        "sys.exit(main(['--server', 'http://127.0.0.1:9', 'role', 'list']))\n"
    )
    done = run([sys.executable, "-c", code], clean_env(home), home)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "conduit dt: disruptive-cli is not installed: pip install 'conduit[cli]'"
    )


def test_piped_listings_do_not_inherit_a_stale_page_token(
    server: ServerProcess, api: requests.Session, organization_id: str, home: Path
) -> None:
    """`dt data-connector list -` lists each project id read from stdin in one process.

    After a listing of more than one page, `disruptive` 1.7.3 keeps the last `pageToken` in a shared
    default argument, so the CLI alone skips the next project's first 100 connectors; `conduit dt`
    gives every listing its own parameters."""

    big = new_project(api, server, organization_id, "paging")
    small = new_project(api, server, organization_id, "paging")
    for i in range(101):
        create_connector(api, server, big, f"big{i}")
    only = create_connector(api, server, small, "small")
    stdin = f"{big}\n{small}\n"

    fixed = run(
        [*LAUNCHER, *explicit(server), "data-connector", "list", "-", "--json"],
        clean_env(home),
        home,
        stdin,
    )
    names = [c["name"] for c in json_lines(fixed)]
    assert len(names) == 102 and names[-1] == only

    bare = run(
        [sys.executable, "-c", BARE_CLI, "data-connector", "list", "-", "--json"],
        clean_env(home, DT_CREDENTIALS_FILE=str(server.credentials_path), CONDUIT_API=server.api),
        home,
        stdin,
    )
    bare_names = [c["name"] for c in json_lines(bare)]
    assert len(bare_names) == 101 and only not in bare_names  # the client bug the launcher fixes
