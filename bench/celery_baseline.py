"""Conduit against a Celery baseline: one run, the same cores, the same receiver (issue 10).

What someone would build instead of Conduit: a Celery worker (`bench/celery_tasks.py`, Redis at
127.0.0.1:6379 as the broker, `--concurrency 2`) running one task per event that builds the same
signed body, POSTs it with `requests` (10 s timeout) and retries with exponential backoff. Both
systems deliver the same events to the same receiver, Debian's `nginx-light` answering 200 and
counting requests in its access log:

1. Conduit: `--events` events published through the REST API by 64 publishers (`:publish`), each
   pushed, signed, to nginx; rate = events / (last counted - first publish).
2. Celery: the same number of tasks enqueued by this driver, each delivered to nginx by the worker.
3. Verification: a few hundred events through each system to a receiver that records every pushed
   value (`bench/deliver.py`'s), counting missing and duplicate events (both must be 0).

It prints both rates, their ratio, and the CPU-µs per delivered event of every process group read
from `/proc` (Conduit's server with its sender processes, the client, nginx; Celery's worker pool,
Redis, the client, nginx). `--quick` runs the verification only (CI: correctness, not speed).

    .venv/bin/python bench/celery_baseline.py            # 20,000 events each
    .venv/bin/python bench/celery_baseline.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from bench_common import free_port, sign_in
from deliver import (
    SECRET,
    CpuMeter,
    ReceiverProcess,
    Server,
    Setup,
    _wait_for_port,
    children,
    pids_named,
    publish,
    receiver_stats,
    setup,
    stop_process,
    wait_delivered,
)

BENCH = Path(__file__).resolve().parent
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok"; }}
    }}
}}
"""


class Nginx:
    """nginx-light answering 200 to everything and logging each request: the shared receiver."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._read = 0  # bytes of the access log counted
        self._counts: dict[str, int] = {}  # requests per path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise SystemExit("nginx not found: apt-get install nginx-light")
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=self.root, port=self.port))
        self.proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(self.root)])
        _wait_for_port(self.port, self.proc)

    def count(self, path: str) -> int:
        """Requests for `path` so far (one access-log line each), reading only what is new."""
        try:
            with open(self.root / "access.log", "rb") as log:
                log.seek(self._read)
                new = log.read()
        except FileNotFoundError:
            return 0
        complete = new[: new.rfind(b"\n") + 1]
        self._read += len(complete)
        for line in complete.splitlines():
            request = line.split(b'"', 2)[1] if line.count(b'"') >= 2 else b""
            parts = request.split(b" ")
            if len(parts) >= 2:
                logged = parts[1].decode(errors="replace")
                self._counts[logged] = self._counts.get(logged, 0) + 1
        return self._counts.get(path, 0)

    def pids(self) -> set[int]:
        return {self.proc.pid, *children(self.proc.pid)} if self.proc else set()

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGQUIT)


class CeleryWorker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.root / "celery.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_tasks",
                "worker",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BENCH,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        from celery_tasks import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "celery.log").read_text())
            replies = app.control.ping(timeout=0.5)
            if replies:
                return
        raise RuntimeError("the Celery worker did not answer a ping within 60 s")

    def pids(self) -> set[int]:
        if self.proc is None:
            return set()
        found = {self.proc.pid}
        for pid in list(found):
            found.update(children(pid))
        return found

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM, timeout=30)


def redis_pids() -> set[int]:
    return pids_named("redis-server")


def _envelope(bench: Setup, n: int) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """An event as Conduit would push it: the same body for the Celery task to build."""
    device = bench.devices[n % len(bench.devices)]
    envelope = {
        "eventId": f"celery{n:012d}",
        "targetName": f"projects/{bench.project_id}/devices/{device}",
        "eventType": "temperature",
        "data": {"temperature": {"value": n, "updateTime": "2026-12-05T00:00:00.000000Z"}},
        "timestamp": "2026-12-05T00:00:00.000000Z",
    }
    metadata = {
        "deviceId": device,
        "projectId": bench.project_id,
        "deviceType": "temperature",
        "productNumber": "",
    }
    return envelope, {"name": f"bench sensor {n % len(bench.devices)}"}, metadata


def _per_event(meter: CpuMeter, delivered: int) -> dict[str, float]:
    _, _, per_group = meter.report()
    return {name: seconds / max(1, delivered) * 1e6 for name, seconds in per_group.items()}


async def conduit_phase(
    http: aiohttp.ClientSession,
    bench: Setup,
    nginx: Nginx,
    events: int,
    groups: dict[str, Callable[[], set[int]]],
) -> dict[str, Any]:
    before = nginx.count("/push")
    meter = CpuMeter(groups)
    started = time.time()
    queue = iter(range(events))

    async def publisher() -> None:
        for n in queue:
            await publish(http, bench, n)

    await asyncio.gather(*(publisher() for _ in range(64)))
    while nginx.count("/push") - before < events:
        if time.time() - started > 300:
            break
        await asyncio.sleep(0.02)
    elapsed = time.time() - started
    delivered = nginx.count("/push") - before
    return {
        "rate": delivered / elapsed,
        "delivered": delivered,
        "cpu": _per_event(meter, delivered),
    }


def celery_phase(
    bench: Setup, url: str, events: int, groups: dict[str, Callable[[], set[int]]], count: Any
) -> dict[str, Any]:
    from celery_tasks import deliver

    before = count()
    meter = CpuMeter(groups)
    started = time.time()
    for n in range(events):
        envelope, labels, metadata = _envelope(bench, n)
        deliver.delay(url, envelope, labels, metadata, SECRET)
    while count() - before < events:
        if time.time() - started > 600:
            break
        time.sleep(0.02)
    elapsed = time.time() - started
    delivered = count() - before
    return {
        "rate": delivered / elapsed,
        "delivered": delivered,
        "cpu": _per_event(meter, delivered),
    }


async def verify(
    http: aiohttp.ClientSession, bench: Setup, receiver: ReceiverProcess, events: int
) -> dict[str, dict[str, int]]:
    """Missing and duplicate events of each system, at a receiver that records every value."""
    from celery_tasks import deliver

    results = {}
    item = f"{bench.api}/projects/{bench.project_id}/dataconnectors/{bench.connector_id}"
    for system in ("conduit", "celery"):
        async with http.get(f"{receiver.url}/reset") as res:
            await res.read()
        if system == "conduit":
            body = {"httpConfig": {"url": f"{receiver.url}/push", "signatureSecret": SECRET}}
            async with http.patch(item, json=body) as res:
                res.raise_for_status()
            for n in range(events):
                await publish(http, bench, n)
        else:
            for n in range(events):
                envelope, labels, metadata = _envelope(bench, n)
                deliver.delay(f"{receiver.url}/push", envelope, labels, metadata, SECRET)
        await wait_delivered(http, receiver, events, within=120)
        stats = await receiver_stats(http, receiver, arrivals=True)
        arrived = {int(k) for k in stats["arrivals"]}
        results[system] = {
            "missing": len(set(range(events)) - arrived),
            "duplicates": int(stats["duplicates"]),
        }
    return results


async def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="conduit-celery-bench-"))
    key = {"CONDUIT_SECRET_KEY": Fernet.generate_key().decode()}
    server = Server(root / "conduit", free_port(), [], env=key)
    server.data_dir.mkdir(parents=True)
    nginx = Nginx(root / "nginx")
    receiver = ReceiverProcess(free_port())
    worker = CeleryWorker(root)
    result: dict[str, Any] = {"command": shlex.join(server.command)}
    from celery_tasks import app

    app.control.purge()
    try:
        nginx.start()
        receiver.start()
        server.start()
        worker.start()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await sign_in(http, server.data_dir)
            bench = await setup(http, [server], nginx)  # type: ignore[arg-type]
            me = os.getpid()
            conduit_groups: dict[str, Callable[[], set[int]]] = {
                "conduit server + senders": lambda: {
                    server.proc.pid,  # type: ignore[union-attr]
                    *children(server.proc.pid),  # type: ignore[union-attr]
                },
                "client": lambda: {me},
                "nginx": nginx.pids,
            }
            celery_groups: dict[str, Callable[[], set[int]]] = {
                "celery worker": worker.pids,
                "redis": redis_pids,
                "client": lambda: {me},
                "nginx": nginx.pids,
            }
            if not args.quick:
                await conduit_phase(http, bench, nginx, 500, conduit_groups)  # warm up
                result["conduit"] = await conduit_phase(
                    http, bench, nginx, args.events, conduit_groups
                )
                result["celery"] = await asyncio.to_thread(
                    celery_phase,
                    bench,
                    f"{nginx.url}/celery",
                    args.events,
                    celery_groups,
                    lambda: nginx.count("/celery"),
                )
            result["verify"] = await verify(http, bench, receiver, args.verify_events)
    finally:
        worker.stop()
        server.stop()
        receiver.stop()
        nginx.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--verify-events", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="the verification only")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"server: {result['command']}")
    if not args.quick:
        conduit, celery = result["conduit"], result["celery"]
        print(f"{args.events} events each, delivered to nginx-light")
        print(f"  Conduit: {conduit['rate']:8.0f} events/s ({conduit['delivered']} delivered)")
        print(f"  Celery:  {celery['rate']:8.0f} events/s ({celery['delivered']} delivered)")
        print(f"  ratio:   {conduit['rate'] / max(celery['rate'], 1e-9):8.1f}")
        for name, system in (("Conduit", conduit), ("Celery", celery)):
            parts = ", ".join(f"{k} {v:.0f}" for k, v in system["cpu"].items())
            print(f"  CPU-µs per delivered event, {name}: {parts}")
    ok = True
    for name, found in result["verify"].items():
        print(f"  verify {name}: missing {found['missing']}, duplicates {found['duplicates']}")
        ok = ok and found["missing"] == 0 and found["duplicates"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
