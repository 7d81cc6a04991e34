"""Several `conduit serve` nodes on one PostgreSQL, and a PostgreSQL of the test's own to restart.

The chaos tests kill nodes and restart the database under load. They never touch the machine's
shared PostgreSQL: `PrivatePostgres` runs a throw-away cluster (initdb in a temporary directory, on
a free port, owned by the `postgres` user as PostgreSQL requires) that a test may stop and start at
will.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from tests.harness.server import ServerProcess, free_port


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL cluster of one test: `start()`, `stop(mode)`, `url`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="conduit-pg-", dir="/tmp"))
        shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres(
            _pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects everyone and shuts down cleanly; `immediate` is a crash."""
        self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _as_postgres(*command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True
        )


@dataclass
class Cluster:
    """`size` nodes sharing one database and one server key; node 0 bootstraps."""

    root: Path
    database: str
    size: int = 3
    extra_args: list[str] = field(default_factory=list)
    key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    nodes: list[ServerProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        for i in range(self.size):
            self.nodes.append(
                ServerProcess(
                    data_dir=self.root / f"node{i}",
                    database=self.database,
                    extra_args=list(self.extra_args),
                    env={"CONDUIT_SECRET_KEY": self.key},
                )
            )

    def start(self) -> Cluster:
        self.nodes[0].start()  # the first node bootstraps and writes credentials.json
        for node in self.nodes[1:]:
            node.start()
        return self

    def session(self) -> requests.Session:
        """Basic auth with the bootstrap key (valid on every node: they share the database)."""
        return self.nodes[0].session()

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
