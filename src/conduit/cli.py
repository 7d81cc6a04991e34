"""`conduit serve | demo | receive`: the command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from conduit import __version__
from conduit.config import Settings, env, parse_networks
from conduit.connector_cli import add_commands as add_connector_commands
from conduit.connector_cli import run as run_connector_command
from conduit.user_cli import add_commands as add_user_commands
from conduit.user_cli import run as run_user_command


def _network(value: str) -> str:
    try:
        parse_networks([value])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a network in CIDR notation: {value!r}") from exc
    return value


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=env("DATA_DIR", "./conduit-data"))
    parser.add_argument("--host", default=env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env("PORT", "8080"))
    parser.add_argument(
        "--database",
        default=env("DATABASE"),
        help="a SQLite file (default: conduit.db in the data dir) or a postgresql:// URL",
    )
    parser.add_argument(
        "--role",
        choices=("all", "api", "delivery"),
        default=env("ROLE", "all"),
        help="what this node runs: the REST API, the delivery of pushes, or both",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=env("LEASE_SECONDS", "30"),
        help="how long a claimed push stays another node's (extended while its request runs)",
    )
    parser.add_argument(
        "--allow-network",
        action="append",
        type=_network,
        default=None,
        metavar="CIDR",
        help="a network outbound pushes may reach besides the public internet (repeatable)",
    )
    parser.add_argument(
        "--public-url", default=env("PUBLIC_URL"), help="the URL clients use to reach this server"
    )
    parser.add_argument("--ca-bundle", default=env("CA_BUNDLE"), help="CA certificates for pushes")
    parser.add_argument("--retention-days", type=float, default=env("RETENTION_DAYS", "31"))
    parser.add_argument("--delivery-timeout", type=float, default=env("DELIVERY_TIMEOUT", "10"))
    parser.add_argument("--max-in-flight", type=int, default=env("MAX_IN_FLIGHT", "1024"))
    parser.add_argument(
        "--max-in-flight-per-connector",
        type=int,
        default=env("MAX_IN_FLIGHT_PER_CONNECTOR", "256"),
    )
    parser.add_argument(
        "--delivery-workers",
        type=int,
        default=env("DELIVERY_WORKERS", "1"),
        help="processes that send pushes (0: send from the server process itself)",
    )
    parser.add_argument("--log-level", default=env("LOG_LEVEL", "info"))
    parser.add_argument(
        "--rate-limit",
        action="store_true",
        default=_flag(env("RATE_LIMIT")),
        help="limit each account to 25 requests per 5 s with bursts (429 + Retry-After beyond)",
    )
    parser.add_argument(
        "--metrics-token",
        default=env("METRICS_TOKEN"),
        help="require `Authorization: Bearer TOKEN` on /metrics (default: open)",
    )
    parser.add_argument(
        "--redact-secrets",
        action="store_true",
        default=_flag(env("REDACT_SECRETS")),
        help="hide connectors' signature secrets and header values from read-only callers",
    )
    parser.add_argument(
        "--max-streams-per-account",
        type=int,
        default=env("MAX_STREAMS_PER_ACCOUNT", "10"),
        help="open :stream connections one account may hold at once",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=env("MAX_CONNECTIONS", "1000"),
        help="open connections the server accepts at once (beyond: 503 and close)",
    )
    parser.add_argument(
        "--request-head-timeout",
        type=float,
        default=env("REQUEST_HEAD_TIMEOUT", "10"),
        help="seconds a client has to send a request's line and headers (slowloris)",
    )


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def settings_from(args: argparse.Namespace) -> Settings:
    networks = args.allow_network
    if networks is None:
        networks = [_network(n) for n in (env("ALLOW_NETWORK") or "").split(",") if n.strip()]
    return Settings(
        data_dir=Path(args.data_dir),
        host=args.host,
        port=args.port,
        database=args.database,
        allow_network=parse_networks(networks),
        log_level=args.log_level,
        public_url=args.public_url,
        retention_days=args.retention_days,
        ca_bundle=args.ca_bundle,
        delivery_timeout=args.delivery_timeout,
        max_in_flight=args.max_in_flight,
        max_in_flight_per_connector=args.max_in_flight_per_connector,
        delivery_workers=args.delivery_workers,
        rate_limit=args.rate_limit,
        role=args.role,
        lease_seconds=args.lease_seconds,
        metrics_token=args.metrics_token or None,
        redact_secrets=args.redact_secrets,
        max_streams_per_account=args.max_streams_per_account,
        max_connections=args.max_connections,
        request_head_timeout=args.request_head_timeout,
    )


def _settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    """Settings, or a one-line usage error (exit 2) for a bad value from the environment."""
    try:
        return settings_from(args)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"CONDUIT_ALLOW_NETWORK: {exc}")


def serve(settings: Settings) -> int:
    import asyncio

    import uvicorn

    from conduit.api.publish_fast_path import PublishFastPath
    from conduit.app import create_app
    from conduit.gc_policy import tune_for_serving
    from conduit.http_guard import guarded_protocol
    from conduit.startup import StartupRefused, preflight

    try:
        asyncio.run(preflight(settings))
    except StartupRefused as exc:
        print(f"conduit: refusing to start: {exc}", file=sys.stderr)
        return 2

    app = PublishFastPath(create_app(settings))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
        http=guarded_protocol(settings),
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once shutdown is complete; with these handlers in
    # place that re-raise is a no-op, so a clean SIGTERM/Ctrl-C shutdown exits 0, not by the signal.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    tune_for_serving()
    server.run()
    return 0


def migrate(database: str) -> int:
    """Apply pending migrations and report them; other nodes may keep running meanwhile (every
    migration is additive, applied under an advisory lock)."""
    import asyncio

    from conduit.store import apply_migrations

    try:
        applied = asyncio.run(apply_migrations(database))
    except Exception as exc:
        print(f"conduit migrate: {exc}", file=sys.stderr)
        return 1
    print("\n".join(f"applied {name}" for name in applied) or "the schema is up to date")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["dt"]:
        # Everything after `dt` belongs to disruptive-cli (its own --help included), so argparse
        # must not see it; the `dt` subparser below exists only to list the command in --help.
        from conduit.dtcli import main as dt_main

        return dt_main(arguments[1:])
    parser = argparse.ArgumentParser(prog="conduit", description="Conduit event platform")
    parser.add_argument("--version", action="version", version=f"conduit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run the API server and delivery workers")
    _serve_arguments(serve_parser)
    demo_parser = sub.add_parser(
        "demo", help="the server, an emulated fleet, a local receiver and a connector to it"
    )
    _serve_arguments(demo_parser)
    demo_parser.add_argument("--receiver-port", type=int, default=env("RECEIVER_PORT", "8081"))
    demo_parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between fleet rounds"
    )
    migrate_parser = sub.add_parser(
        "migrate", help="apply the database's pending schema migrations (before a rolling upgrade)"
    )
    migrate_parser.add_argument(
        "--database", default=env("DATABASE"), required=env("DATABASE") is None
    )
    receive_parser = sub.add_parser(
        "receive", help="a local endpoint that verifies and pretty-prints every push"
    )
    receive_parser.add_argument("--port", type=int, default=8081)
    receive_parser.add_argument("--host", default="127.0.0.1")
    receive_parser.add_argument("--secret", default=env("RECEIVE_SECRET"), help="signature secret")
    add_connector_commands(sub)
    add_user_commands(sub)
    sub.add_parser(
        "dt",
        add_help=False,
        help="the official disruptive-cli (`dt ...`) against a Conduit server"
        " (options: --server URL, --credentials FILE)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return serve(_settings(parser, args))
    if args.command == "demo":
        import asyncio

        from conduit.demo import run_demo

        asyncio.run(run_demo(_settings(parser, args), args.receiver_port, args.interval))
        return 0
    if args.command == "migrate":
        return migrate(args.database)
    if args.command in ("dead-letters", "replay"):
        return run_connector_command(args)
    if args.command == "user":
        return run_user_command(args)
    if args.command == "receive":
        import asyncio

        from conduit.receive_endpoint import run

        asyncio.run(run(args.host, args.port, args.secret))
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
