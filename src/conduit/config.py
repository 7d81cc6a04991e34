"""One settings object, from flags > environment (`CONDUIT_<NAME>`) > defaults."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Settings:
    data_dir: Path = Path("./conduit-data")
    host: str = "127.0.0.1"
    port: int = 8080
    database: str | None = None
    allow_network: list[Network] = field(default_factory=list)
    log_level: str = "info"
    public_url: str | None = None
    retention_days: float = 31.0
    ca_bundle: str | None = None
    delivery_timeout: float = 10.0
    max_in_flight: int = 1024
    max_in_flight_per_connector: int = 256
    delivery_workers: int = 0  # sender processes for outbound pushes; 0 = in the server process
    rate_limit: bool = False
    # What this node runs: "api" (REST only), "delivery" (dispatcher only) or "all".
    role: str = "all"
    # How long a claimed delivery stays invisible to other nodes' claims (extended while in flight).
    lease_seconds: float = 30.0
    # A bearer token `/metrics` requires; None leaves it open, as Prometheus scrapers expect.
    metrics_token: str | None = None
    # Hide connectors' signature secrets and header values from callers who cannot update them.
    redact_secrets: bool = False
    # Open `:stream` connections one account may hold at once.
    max_streams_per_account: int = 10
    # Open connections the server accepts at once; beyond it a new one gets 503 and is closed.
    max_connections: int = 1000
    # Seconds a client has to send a whole request head (request line and headers): slowloris.
    request_head_timeout: float = 10.0

    @property
    def database_target(self) -> str | Path:
        """A PostgreSQL URL as given, else the SQLite file's path."""
        if self.database and self.database.startswith(("postgresql://", "postgres://")):
            return self.database
        return self.database_path

    @property
    def runs_api(self) -> bool:
        return self.role in ("all", "api")

    @property
    def runs_delivery(self) -> bool:
        return self.role in ("all", "delivery")

    @property
    def database_path(self) -> Path:
        if self.database:
            return Path(self.database.removeprefix("sqlite:///").removeprefix("sqlite://"))
        return self.data_dir / "conduit.db"

    @property
    def base_url(self) -> str:
        """The URL clients reach this server at (printed in hints, written to credentials.json)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CONDUIT_{name.upper()}", default)


def parse_networks(values: list[str]) -> list[Network]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]
