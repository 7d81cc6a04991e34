"""A real `conduit serve` in a subprocess, on a free port, with its own data dir."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.harness import backends


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    # Networks pushes may reach besides the public internet; [] = the production rule (public only).
    allow_network: list[str] = field(default_factory=lambda: ["127.0.0.0/8"])
    # Added to the test's own environment; a value of None removes that variable.
    env: dict[str, str | None] = field(default_factory=dict)
    # False: pass no settings as flags (only `extra_args`), so `env` (CONDUIT_*) must carry them.
    flags: bool = True
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # None: the backend the running test is parametrized with (a fresh database on PostgreSQL);
    # "" for the SQLite file in the data dir, whatever the backend.
    database: str | None = None

    def __post_init__(self) -> None:
        if self.database is None:
            self.database = backends.database_for_current_backend() or ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/v2"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def credentials(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.credentials_path.read_text())["serviceAccount"]
        return data

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        settings = [
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            *(arg for network in self.allow_network for arg in ("--allow-network", network)),
            "--log-level",
            "warning",
            *(["--database", self.database] if self.database else []),
        ]
        cmd = [
            sys.executable,
            "-m",
            "conduit",
            "serve",
            *(settings if self.flags else []),
            *self.extra_args,
        ]
        env = {**os.environ}
        if self.database and not self.flags:
            env["CONDUIT_DATABASE"] = self.database
        for name, value in self.env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """kill -9: the crash the durability tests are about."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait: a clean shutdown."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode if self.proc else 0

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()

    def session(self) -> requests.Session:
        """A requests session authenticated with the bootstrap key over Basic auth."""
        s = requests.Session()
        creds = self.credentials
        s.auth = (creds["keyId"], creds["secret"])
        return s
