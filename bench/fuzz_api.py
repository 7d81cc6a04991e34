"""Fuzz every operation of a real Conduit server with schemathesis, with and without credentials.

    python bench/fuzz_api.py --max-time 300            # the long mode (about 5 minutes)
    python bench/fuzz_api.py --max-examples 3 --seed 1 # CI: tests/integration/test_fuzz.py

The server gets one project with a device, a connector, a service account with a key and a member,
and schemathesis gets their ids as path parameters, so requests reach the handlers instead of
stopping at 404. Destructive operations (DELETE) run in a pass of their own, last, so they do not
remove the fixtures from under the others; `:stream` responses never end, so they are left out.
Checks: no server error (5xx), responses match their documented schema and content type.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness.server import ServerProcess  # noqa: E402

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
STREAMS = r":stream$"


@dataclass
class PassResult:
    name: str
    cases: int
    failures: int
    server_errors: int
    schema_mismatches: int
    output: str


def prepare(server: ServerProcess) -> dict[str, str]:
    """Resources for the path parameters; returns schemathesis' `path.<name>` values."""
    api = server.session()
    org = api.get(f"{server.api}/organizations").json()["organizations"][0]["name"]
    project = api.post(
        f"{server.api}/projects", json={"displayName": "fuzz", "organization": org}
    ).json()["name"]
    device = api.post(f"{server.api}/{project}/devices", json={"type": "temperature"}).json()
    connector = api.post(
        f"{server.api}/{project}/dataconnectors",
        json={"displayName": "fuzz", "httpConfig": {"url": "http://127.0.0.1:9/fuzz"}},
    ).json()
    account = api.post(f"{server.api}/{project}/serviceaccounts", json={}).json()
    key = api.post(f"{server.api}/{account['name']}/keys", json={}).json()["key"]
    api.post(
        f"{server.api}/{project}/members",
        json={"email": account["email"], "roles": ["roles/project.user"]},
    ).raise_for_status()
    return {
        "path.organization": org.split("/")[1],
        "path.project": project.split("/")[1],
        "path.device": device["name"].split("/")[-1],
        "path.dataconnector": connector["name"].split("/")[-1],
        "path.account": account["name"].split("/")[-1],
        "path.key": key["id"],
        "path.member": account["name"].split("/")[-1],
        "path.role": "project.user",
    }


def _config(parameters: dict[str, str], directory: Path) -> Path:
    lines = ["[parameters]", *(f'"{k}" = "{v}"' for k, v in parameters.items())]
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_pass(
    server: ServerProcess,
    name: str,
    config: Path,
    *,
    credentials: bool,
    only_deletes: bool,
    seed: int,
    max_examples: int | None,
    max_time: float | None,
) -> PassResult:
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{server.api}/openapi.json",
        "--checks",
        CHECKS,
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--exclude-path-regex",
        STREAMS,
        "--no-color",
        "--generation-deterministic" if max_time is None else "--no-shrink",
        "--continue-on-failure",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
    ]
    cmd += ["--include-method", "DELETE"] if only_deletes else ["--exclude-method", "DELETE"]
    if credentials:
        creds = server.credentials
        cmd += ["--auth", f"{creds['keyId']}:{creds['secret']}"]
    if max_examples is not None:
        cmd += ["--max-examples", str(max_examples)]
    if max_time is not None:
        cmd += ["--max-time", str(max(1, int(max_time)))]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=config.parent, check=False)
    output = done.stdout + done.stderr
    return PassResult(
        name=name,
        cases=_count(r"(\d+) generated", output),
        failures=_count(r"(\d+) unique failures?", output),
        server_errors=len(re.findall(r"Server error", output)),
        schema_mismatches=len(re.findall(r"Response violates schema", output)),
        output=output,
    )


def _count(pattern: str, text: str) -> int:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else 0


def fuzz(
    data_dir: Path,
    *,
    seed: int = 1,
    max_examples: int | None = None,
    max_time: float | None = None,
) -> list[PassResult]:
    """Start a server and fuzz it: with and without credentials, writes, then deletes."""
    if str(ROOT) not in sys.path:  # run as a script: the harness lives in the repository's tests/
        sys.path.insert(0, str(ROOT))
    from tests.harness.server import ServerProcess

    server = ServerProcess(data_dir=data_dir, database="").start()
    try:
        config = _config(prepare(server), data_dir)
        return [
            run_pass(
                server,
                f"{'credentials' if creds else 'anonymous'}, {'DELETE' if deletes else 'others'}",
                config,
                credentials=creds,
                only_deletes=deletes,
                seed=seed,
                max_examples=max_examples,
                max_time=None if max_time is None else max_time * (0.1 if deletes else 0.4),
            )
            for creds in (True, False)
            for deletes in (False, True)
        ]
    finally:
        server.stop()
        log = server.log()
        if "Traceback" in log:
            print("server log has tracebacks:\n" + log[-4000:], file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-examples", type=int, default=None, help="per operation")
    parser.add_argument("--max-time", type=float, default=None, help="seconds, over all passes")
    parser.add_argument("--verbose", action="store_true", help="print schemathesis' output")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = fuzz(
            Path(tmp) / "conduit",
            seed=args.seed,
            max_examples=args.max_examples,
            max_time=args.max_time,
        )
    for result in results:
        if args.verbose or result.failures:
            print(result.output)
    summary = [
        {
            "pass": r.name,
            "cases": r.cases,
            "failures": r.failures,
            "server_errors": r.server_errors,
            "schema_mismatches": r.schema_mismatches,
        }
        for r in results
    ]
    print(json.dumps(summary, indent=2))
    return 1 if any(r.failures or not r.cases for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
