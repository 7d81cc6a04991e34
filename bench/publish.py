"""Publish benchmark: accepted `:publish` requests per second, and latency at a fixed rate.

Starts a real `conduit serve` (SQLite, durable commits: WAL + synchronous=FULL) in its own
process, then drives it from this process with aiohttp (keep-alive connections, a Bearer token
fetched once up front):

1. throughput: N concurrent publishers, each publishing back-to-back for D seconds;
2. latency: an open-loop schedule of R publishes per second for D seconds (latency counts from each
   request's scheduled time, so a server that falls behind shows it);
3. proof: the event history holds exactly the accepted publishes (read back through the API).

Prints a table and the command line that produced it. Runs in well under a minute with the defaults:

    .venv/bin/python bench/publish.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench_common import access_token, free_port, percentile

DEVICE_TYPES = ("temperature", "touch", "humidity", "co2", "contact")


@dataclass
class Server:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - handed to the child
        cmd = [
            sys.executable,
            "-m",
            "conduit",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.data_dir / "server.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class Fleet:
    project_id: str
    devices: list[tuple[str, str]]  # (device id, device type)
    counter: int = 0

    def body(self, device_type: str) -> bytes:
        """A realistic publish body for the device type, as the official client sends it."""
        self.counter += 1
        n = self.counter
        if device_type == "temperature":
            return json.dumps({"temperature": {"value": 20 + n % 100 / 10}}).encode()
        if device_type == "humidity":
            return json.dumps(
                {"humidity": {"temperature": 21.5, "relativeHumidity": n % 100}}
            ).encode()
        if device_type == "co2":
            return json.dumps({"co2": {"ppm": 400 + n % 600}}).encode()
        if device_type == "contact":
            return json.dumps({"contact": {"state": "OPEN" if n % 2 else "CLOSED"}}).encode()
        return b'{"touch": {}}'


async def make_fleet(http: aiohttp.ClientSession, api: str, count: int) -> Fleet:
    async with http.get(f"{api}/projects") as res:
        project_id = (await res.json())["projects"][0]["name"].split("/")[1]
    devices = []
    for n in range(count):
        device_type = DEVICE_TYPES[n % len(DEVICE_TYPES)]
        async with http.post(
            f"{api}/projects/{project_id}/devices",
            json={"type": device_type, "labels": {"name": f"bench {n}"}},
        ) as res:
            res.raise_for_status()
            devices.append(((await res.json())["name"].split("/")[-1], device_type))
    return Fleet(project_id, devices)


@dataclass
class Tally:
    accepted: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


async def publish_once(
    http: aiohttp.ClientSession, api: str, fleet: Fleet, index: int, tally: Tally, since: float
) -> None:
    device_id, device_type = fleet.devices[index % len(fleet.devices)]
    url = f"{api}/projects/{fleet.project_id}/devices/{device_id}:publish"
    try:
        async with http.post(url, data=fleet.body(device_type)) as res:
            await res.read()
            ok = res.status == 200
    except aiohttp.ClientError:
        ok = False
    if ok:
        tally.accepted += 1
        tally.latencies.append(time.perf_counter() - since)
    else:
        tally.errors += 1


async def closed_loop(
    http: aiohttp.ClientSession, api: str, fleet: Fleet, workers: int, seconds: float
) -> Tally:
    """`workers` publishers back to back: the most the server accepts per second."""
    tally = Tally()
    end = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        i = n
        while time.perf_counter() < end:
            await publish_once(http, api, fleet, i, tally, time.perf_counter())
            i += workers

    await asyncio.gather(*(worker(n) for n in range(workers)))
    return tally


async def open_loop(
    http: aiohttp.ClientSession, api: str, fleet: Fleet, rate: float, seconds: float
) -> Tally:
    """`rate` publishes per second on a fixed schedule, each timed from its scheduled start."""
    tally = Tally()
    start = time.perf_counter()
    total = int(rate * seconds)
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(publish_once(http, api, fleet, i, tally, scheduled)))
    await asyncio.gather(*tasks)
    return tally


async def stored_events(http: aiohttp.ClientSession, api: str, fleet: Fleet) -> int:
    """How many events the history holds for the fleet (read back page by page)."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))

    async def count(device_id: str) -> int:
        n, token = 0, ""
        while True:
            params = {"startTime": start, "pageSize": "100"}
            if token:
                params["pageToken"] = token
            url = f"{api}/projects/{fleet.project_id}/devices/{device_id}/events"
            async with http.get(url, params=params) as res:
                body = await res.json()
            n += len(body["events"])
            token = body["nextPageToken"]
            if not token:
                return n

    counts = await asyncio.gather(*(count(d) for d, _ in fleet.devices))
    return sum(counts)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="conduit-bench-"))
    server = Server(data_dir, args.port or free_port())
    server.start()
    try:
        credentials = json.loads((data_dir / "credentials.json").read_text())["serviceAccount"]
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        async with aiohttp.ClientSession(connector=connector) as http:
            token = await access_token(http, credentials)
            http.headers.update(
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            )
            api = f"{server.url}/v2"
            fleet = await make_fleet(http, api, args.devices)
            warmup = await closed_loop(http, api, fleet, args.concurrency, 1.0)
            throughput = await closed_loop(http, api, fleet, args.concurrency, args.duration)
            paced = await open_loop(http, api, fleet, args.rate, args.rate_duration)
            stored = await stored_events(http, api, fleet)
    finally:
        server.stop()
    return {
        "throughput": throughput.accepted / args.duration,
        "throughput_errors": throughput.errors,
        "throughput_p50": percentile(throughput.latencies, 0.50),
        "throughput_p99": percentile(throughput.latencies, 0.99),
        "paced_accepted": paced.accepted,
        "paced_errors": paced.errors,
        "p50": percentile(paced.latencies, 0.50),
        "p99": percentile(paced.latencies, 0.99),
        "mean": statistics.fmean(paced.latencies) if paced.latencies else float("nan"),
        "accepted_total": warmup.accepted + throughput.accepted + paced.accepted,
        "errors_total": warmup.errors + throughput.errors + paced.errors,
        "stored": stored,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=64, help="closed-loop publishers")
    parser.add_argument("--duration", type=float, default=10.0, help="throughput phase, s")
    parser.add_argument("--rate", type=float, default=500.0, help="paced phase, publishes/s")
    parser.add_argument("--rate-duration", type=float, default=10.0, help="paced phase, s")
    parser.add_argument("--devices", type=int, default=50, help="emulated devices to publish from")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="keep the server's data here")
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(run(args))
    elapsed = time.monotonic() - started
    ms = 1000.0
    rows = [
        (
            f"accepted publishes/s ({args.concurrency} concurrent, {args.duration:g} s)",
            f"{result['throughput']:,.0f}",
        ),
        (
            "  latency p50 / p99 under that load",
            f"{result['throughput_p50'] * ms:.1f} / {result['throughput_p99'] * ms:.1f} ms",
        ),
        ("  errors", str(result["throughput_errors"])),
        (
            f"latency at {args.rate:g}/s for {args.rate_duration:g} s: p50",
            f"{result['p50'] * ms:.2f} ms",
        ),
        ("  p99", f"{result['p99'] * ms:.2f} ms"),
        ("  accepted / errors", f"{result['paced_accepted']} / {result['paced_errors']}"),
        (
            "events in history / publishes accepted (all phases)",
            f"{result['stored']:,} / {result['accepted_total']:,}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\nConduit publish benchmark (SQLite WAL, synchronous=FULL), {os.cpu_count()} CPUs")
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    print(f"| {'metric'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")
    print(f"(ran {elapsed:.1f} s)")
    if result["stored"] != result["accepted_total"] or result["errors_total"]:
        print("FAILED: errors, or history does not hold exactly the accepted publishes")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
