"""Delivery benchmark: events a real server pushes per second, end to end, and how fast.

Three processes, all real: `conduit serve` (SQLite, durable commits), a receiver (aiohttp, in its
own process, answers 200 and records when each push arrived), and this driver, which publishes
through the REST API with a Bearer token fetched once. Every push is signed (the connector has a
secret) and carries a label, like production traffic.

1. throughput: publish N events as fast as 64 publishers can; delivered/s = N / (last arrival -
   first publish). The proof: every published value arrived (duplicates counted).
2. latency: an open-loop 500 publishes/s for 10 s; latency = arrival at the receiver - the
   publish's scheduled send time (one wall clock, one machine).
3. backlog (`--backlog N`, e.g. 1000000): N queued deliveries for a dead receiver (written straight
   into the queue while the server is stopped — publishing a million events would take minutes and
   measure publishing), server restarted against the dead receiver: its RSS; then the receiver
   comes back: drain rate and peak RSS.

    .venv/bin/python bench/deliver.py                    # phases 1 and 2, well under a minute
    .venv/bin/python bench/deliver.py --backlog 1000000  # and phase 3

On PostgreSQL (`--database postgresql://...`, the URL of a server where the benchmark may create and
drop a database of its own) it runs the same phases against `--nodes N` identical nodes, publishing
round-robin to all of them, and also reports what predicts scale: CPU-µs per delivered event spent
in the nodes, in PostgreSQL and elsewhere, and PostgreSQL commits and rows written per event.
`--compare` runs SQLite, PostgreSQL with 1 node and with 2 nodes in one invocation:

    .venv/bin/python bench/deliver.py --database postgresql://postgres@127.0.0.1/test --compare
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from cryptography.fernet import Fernet

from bench_common import free_port, percentile, sign_in

SECRET = "bench-signature-secret"


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    parts = stat[stat.rindex(")") + 2 :].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def pids_named(comm: str) -> set[int]:
    """Every process on the machine whose command name is `comm`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == comm:
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def postgres_pids() -> set[int]:
    """Every PostgreSQL server process on the machine (the postmaster and its backends)."""
    return pids_named("postgres")


class CpuMeter:
    """CPU seconds used per group of processes (the nodes with their sender processes, the
    receiver, this client, PostgreSQL), and by everything else on the machine, so a result
    disturbed by other load says so."""

    def __init__(self, groups: dict[str, Callable[[], set[int]]]) -> None:
        self.groups = groups
        self._start = self._sample()

    def _pids(self) -> dict[str, set[int]]:
        return {name: find() for name, find in self.groups.items()}

    def _sample(self) -> tuple[float, float, dict[str, dict[int, float]]]:
        hz = os.sysconf("SC_CLK_TCK")
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4)) / hz
        used: dict[str, dict[int, float]] = {}
        for name, pids in self._pids().items():
            used[name] = {}
            for pid in pids:
                seconds = cpu_seconds(pid)
                if seconds is not None:
                    used[name][pid] = seconds
        return time.monotonic(), busy, used

    def report(self) -> tuple[float, float, dict[str, float]]:
        """(our cores, other cores, CPU seconds per group) since creation (1.0 = one core)."""
        t1, busy1, used1 = self._sample()
        t0, busy0, used0 = self._start
        elapsed = max(1e-9, t1 - t0)
        per_group = {
            name: sum(v - used0.get(name, {}).get(pid, 0.0) for pid, v in pids.items())
            for name, pids in used1.items()
        }
        ours = sum(per_group.values()) / elapsed
        return ours, max(0.0, (busy1 - busy0) / elapsed - ours), per_group


async def pg_counters(url: str) -> tuple[int, int]:
    """(commits, rows inserted + updated + deleted) of the database so far."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        commits = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        rows = await conn.fetchval(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables"
        )
        return int(commits), int(rows)
    finally:
        await conn.close()


def children_rss_mb(pid: int) -> float:
    return sum(rss_mb(child) for child in children(pid))


# ---- the receiver process ------------------------------------------------------------------------


def receiver_main(port: int) -> None:
    """Answer every push 200 and remember when each value arrived; `GET /stats` reports.

    A lean HTTP/1.1 server (uvloop + httptools, keep-alive), so the benchmark spends its CPU on
    Conduit rather than on its receiver (the calibration figures used nginx the same way).
    """
    import httptools
    import uvloop

    arrivals: dict[int, float] = {}
    counts: Counter[int] = Counter()
    state: dict[str, Any] = {"total": 0, "first": 0.0, "last": 0.0, "record": True}
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"

    def answer(url: bytes, body: bytes) -> bytes:
        if url.startswith(b"/push"):
            now = time.time()
            state["total"] += 1
            if not state["first"]:
                state["first"] = now
            state["last"] = now
            if state["record"]:
                value = int(orjson.loads(body)["event"]["data"]["temperature"]["value"])
                counts[value] += 1
                arrivals.setdefault(value, now)
            return ok
        if url.startswith(b"/reset"):
            arrivals.clear()
            counts.clear()
            state.update(total=0, first=0.0, last=0.0, record=b"record=0" not in url)
            return ok
        report: dict[str, Any] = {k: state[k] for k in ("total", "first", "last")}
        if b"arrivals" in url:
            report["arrivals"] = arrivals
            report["duplicates"] = sum(n - 1 for n in counts.values())
        payload = orjson.dumps(report, option=orjson.OPT_NON_STR_KEYS)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        return head % len(payload) + payload

    class Connection(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport
            self.parser = httptools.HttpRequestParser(self)
            self.url = b""
            self.body: list[bytes] = []

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_url(self, url: bytes) -> None:
            self.url = url

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            self.transport.write(answer(self.url, b"".join(self.body)))
            self.body = []

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Connection, "127.0.0.1", port, backlog=1024)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()

    uvloop.run(serve())


class ReceiverProcess:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "receiver", "--port", str(self.port)]
        )
        _wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGINT)


def stop_process(
    proc: subprocess.Popen[bytes] | None, sig: signal.Signals, timeout: float = 10.0
) -> None:
    """Ask a helper process to stop with `sig`; kill it if it has not within `timeout`."""
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text() if log else "process exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# ---- the server process --------------------------------------------------------------------------


@dataclass
class Server:
    data_dir: Path
    port: int
    extra: list[str]
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "conduit", "serve", "--data-dir", str(self.data_dir),
            "--port", str(self.port), "--allow-network", "127.0.0.0/8",
            "--log-level", "warning", *self.extra,
        ]  # fmt: skip

    def start(self) -> None:
        log_path = self.data_dir / "server.log"
        log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
        env = {**os.environ, **(self.env or {})}
        self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        _wait_for_port(self.port, self.proc, log_path)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Setup:
    api: str
    project_id: str
    connector_id: str
    devices: list[str]
    apis: list[str]  # every node's API: publishes go round-robin

    def publish_url(self, n: int) -> str:
        device = self.devices[n % len(self.devices)]
        api = self.apis[n % len(self.apis)]
        return f"{api}/projects/{self.project_id}/devices/{device}:publish"


async def setup(
    http: aiohttp.ClientSession, servers: list[Server], receiver: ReceiverProcess
) -> Setup:
    api = f"{servers[0].url}/v2"
    async with http.get(f"{api}/projects") as res:
        project_id = (await res.json())["projects"][0]["name"].split("/")[1]
    connector = {
        "type": "HTTP_PUSH",
        "displayName": "bench",
        "labels": ["name"],
        "httpConfig": {"url": f"{receiver.url}/push", "signatureSecret": SECRET},
    }
    async with http.post(f"{api}/projects/{project_id}/dataconnectors", json=connector) as res:
        res.raise_for_status()
        connector_id = (await res.json())["name"].split("/")[-1]
    devices = []
    for n in range(20):
        device = {"type": "temperature", "labels": {"name": f"bench sensor {n}"}}
        async with http.post(f"{api}/projects/{project_id}/devices", json=device) as res:
            res.raise_for_status()
            devices.append((await res.json())["name"].split("/")[-1])
    return Setup(api, project_id, connector_id, devices, [f"{s.url}/v2" for s in servers])


async def publish(http: aiohttp.ClientSession, setup: Setup, n: int) -> bool:
    body = b'{"temperature":{"value":%d}}' % n
    try:
        async with http.post(setup.publish_url(n), data=body) as res:
            await res.read()
            return res.status == 200
    except aiohttp.ClientError:
        return False


async def receiver_stats(
    http: aiohttp.ClientSession, receiver: ReceiverProcess, arrivals: bool = False
) -> dict[str, Any]:
    params = {"arrivals": "1"} if arrivals else {}
    async with http.get(f"{receiver.url}/stats", params=params) as res:
        return orjson.loads(await res.read())  # type: ignore[no-any-return]


async def wait_delivered(
    http: aiohttp.ClientSession, receiver: ReceiverProcess, count: int, within: float
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        stats = await receiver_stats(http, receiver)
        if stats["total"] >= count or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.05)


# ---- phases --------------------------------------------------------------------------------------


async def throughput(
    http: aiohttp.ClientSession,
    setup: Setup,
    receiver: ReceiverProcess,
    events: int,
    workers: int,
    groups: dict[str, Callable[[], set[int]]],
    database: str | None = None,
) -> dict[str, Any]:
    async with http.post(f"{receiver.url}/reset") as res:
        await res.read()
    accepted: list[int] = []
    counters = await pg_counters(database) if database else None
    meter = CpuMeter(groups)
    started = time.time()

    async def worker(k: int) -> None:
        for n in range(k, events, workers):
            if await publish(http, setup, n):
                accepted.append(n)

    await asyncio.gather(*(worker(k) for k in range(workers)))
    published = time.time()
    stats = await wait_delivered(http, receiver, len(accepted), within=120)
    ours, others, per_group = meter.report()
    full = await receiver_stats(http, receiver, arrivals=True)
    arrived = {int(k) for k in full["arrivals"]}
    delivered = max(1, stats["total"])
    per_event: dict[str, float] = {k: v / delivered * 1e6 for k, v in per_group.items()}
    if database and counters:
        await asyncio.sleep(1.5)  # PostgreSQL publishes its statistics at most once a second
        commits, rows = await pg_counters(database)
        per_event["commits"] = (commits - counters[0]) / delivered
        per_event["rows written"] = (rows - counters[1]) / delivered
    return {
        "per_event": per_event,
        "cpu_ours": ours,
        "cpu_others": others,
        "accepted": len(accepted),
        "publish_rate": len(accepted) / (published - started),
        "delivered_rate": stats["total"] / (stats["last"] - started),
        "missing": len(set(accepted) - arrived),
        "duplicates": full["duplicates"],
    }


async def paced(
    http: aiohttp.ClientSession,
    setup: Setup,
    receiver: ReceiverProcess,
    rate: float,
    seconds: float,
    groups: dict[str, Callable[[], set[int]]],
) -> dict[str, Any]:
    async with http.post(f"{receiver.url}/reset") as res:
        await res.read()
    total = int(rate * seconds)
    meter = CpuMeter(groups)
    scheduled: dict[int, float] = {}
    ok: list[bool] = []
    start = time.time() + 0.1
    tasks = []

    async def one(n: int) -> None:
        ok.append(await publish(http, setup, n))

    for n in range(total):
        at = start + n / rate
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        scheduled[n] = at
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    await wait_delivered(http, receiver, sum(ok), within=60)
    ours, others, _ = meter.report()
    full = await receiver_stats(http, receiver, arrivals=True)
    latencies = [t - scheduled[int(n)] for n, t in full["arrivals"].items() if int(n) in scheduled]
    return {
        "cpu_ours": ours,
        "cpu_others": others,
        "sent": total,
        "errors": ok.count(False),
        "delivered": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies) if latencies else float("nan"),
    }


def fill_queue(database: Path, setup: Setup, count: int) -> None:
    """Write `count` queued deliveries (real push bodies) into the stopped server's queue."""
    from conduit.delivery.request import build_body

    conn = sqlite3.connect(database)
    now = time.time()
    device = setup.devices[0]
    conn.execute("BEGIN")
    batch = []
    for n in range(count):
        event_id = f"backlog{n:013d}"
        timestamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now))
        envelope = {
            "eventId": event_id,
            "targetName": f"projects/{setup.project_id}/devices/{device}",
            "eventType": "temperature",
            "data": {"temperature": {"value": n, "updateTime": timestamp,
                                     "samples": [{"value": n, "sampleTime": timestamp}],
                                     "isBackfilled": False}},
            "timestamp": timestamp,
        }  # fmt: skip
        metadata = {"deviceId": device, "projectId": setup.project_id,
                    "deviceType": "temperature", "productNumber": ""}  # fmt: skip
        body = build_body(envelope, {"name": "bench sensor 0"}, metadata)
        batch.append((setup.connector_id, event_id, now, body, now))
        if len(batch) == 20000:
            conn.executemany(
                "INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts,"
                " next_attempt) VALUES (?, ?, ?, ?, 0, ?)",
                batch,
            )
            batch.clear()
    if batch:
        conn.executemany(
            "INSERT INTO deliveries(connector_id, event_id, event_time, body, attempts,"
            " next_attempt) VALUES (?, ?, ?, ?, 0, ?)",
            batch,
        )
    conn.execute("COMMIT")
    conn.close()


async def backlog(
    http: aiohttp.ClientSession,
    server: Server,
    setup: Setup,
    receiver: ReceiverProcess,
    count: int,
    drain_seconds: float,
) -> dict[str, Any]:
    receiver.stop()  # the receiver is dead from here on
    server.stop()
    started = time.monotonic()
    fill_queue(server.data_dir / "conduit.db", setup, count)
    fill_seconds = time.monotonic() - started
    server.start()
    assert server.proc is not None
    pid = server.proc.pid
    peak_dead = peak_dead_senders = 0.0
    for _ in range(50):  # 10 s against the dead receiver: it probes, one at a time
        peak_dead = max(peak_dead, rss_mb(pid))
        peak_dead_senders = max(peak_dead_senders, children_rss_mb(pid))
        await asyncio.sleep(0.2)
    receiver.start()
    async with http.post(f"{receiver.url}/reset", params={"record": "0"}) as res:
        await res.read()
    peak_drain = peak_drain_senders = 0.0
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + drain_seconds + 330  # the next probe can be up to 5 min away
    while time.monotonic() < deadline:
        peak_drain = max(peak_drain, rss_mb(pid))
        peak_drain_senders = max(peak_drain_senders, children_rss_mb(pid))
        stats = await receiver_stats(http, receiver)
        samples.append((time.time(), stats["total"]))
        if stats["total"] >= count:
            break
        if stats["first"] and time.time() - stats["first"] > drain_seconds:
            break
        await asyncio.sleep(0.5)
    stats = await receiver_stats(http, receiver)
    drained = stats["total"]
    rate = drained / (stats["last"] - stats["first"]) if drained > 1 else float("nan")
    return {
        "queued": count,
        "fill_seconds": fill_seconds,
        "rss_dead": peak_dead,
        "rss_drain": peak_drain,
        "rss_senders": max(peak_dead_senders, peak_drain_senders),
        "drained": drained,
        "drain_rate": rate,
    }


async def bench_database(admin_url: str) -> str:
    """A new database for one run, on the server `admin_url` points at; returns its URL."""
    import asyncpg

    name = f"conduit_bench_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {url.rpartition('/')[2]} WITH (FORCE)")
    finally:
        await conn.close()


async def run(args: argparse.Namespace, database: str | None, nodes: int) -> dict[str, Any]:
    """Phases 1 and 2 (and 3 on SQLite) against `nodes` servers on `database` (None: SQLite)."""
    root = Path(args.data_dir or tempfile.mkdtemp(prefix="conduit-deliver-bench-"))
    url = await bench_database(database) if database else None
    key = {"CONDUIT_SECRET_KEY": Fernet.generate_key().decode()}
    servers = [
        Server(
            root / f"node{i}" if nodes > 1 or database else root,
            (args.port or free_port()) if i == 0 else free_port(),
            [*(args.server_arg or []), *(["--database", url] if url else [])],
            env=key,
        )
        for i in range(nodes)
    ]
    receiver = ReceiverProcess(free_port())
    receiver.start()
    for server in servers:
        server.data_dir.mkdir(parents=True, exist_ok=True)
        server.start()
    result: dict[str, Any] = {"command": shlex.join(servers[0].command), "nodes": nodes}
    try:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        async with aiohttp.ClientSession(connector=connector) as http:
            await sign_in(http, servers[0].data_dir)
            bench = await setup(http, servers, receiver)
            assert receiver.proc is not None
            roots = [s.proc.pid for s in servers if s.proc is not None]
            receiver_pid = receiver.proc.pid

            def node_pids() -> set[int]:
                return {*roots, *(c for pid in roots for c in children(pid))}

            groups: dict[str, Callable[[], set[int]]] = {
                "nodes": node_pids,
                "receiver": lambda: {receiver_pid},
                "client": lambda: {os.getpid()},
            }
            if url:
                groups["postgres"] = postgres_pids
            await throughput(http, bench, receiver, 500, args.concurrency, groups)  # warm up
            result["throughput"] = await throughput(
                http, bench, receiver, args.events, args.concurrency, groups, url
            )
            result["paced"] = await paced(
                http, bench, receiver, args.rate, args.rate_duration, groups
            )
            if args.backlog and not url:
                result["backlog"] = await backlog(
                    http, servers[0], bench, receiver, args.backlog, args.drain_seconds
                )
    finally:
        for server in servers:
            server.stop()
        receiver.stop()
        if database and url:
            await drop_database(database, url)
    return result


def compare(results: list[tuple[str, dict[str, Any]]]) -> None:
    """One table, one column per configuration, from one invocation (one machine state)."""
    names = [name for name, _ in results]
    groups = ["nodes", "postgres", "receiver", "client"]
    through = [r["throughput"] for _, r in results]
    rows: list[tuple[str, list[str]]] = [
        ("delivered events/s, end to end", [f"{t['delivered_rate']:,.0f}" for t in through]),
        (
            "publish -> receiver p99 at the paced rate",
            [f"{r['paced']['p99'] * 1000:.1f} ms" for _, r in results],
        ),
        (
            "missing / duplicate deliveries",
            [f"{t['missing']} / {t['duplicates']}" for t in through],
        ),
    ]
    for group in groups:
        rows.append(
            (
                f"CPU-µs per delivered event: {group}",
                [
                    f"{r['throughput']['per_event'][group]:.0f}"
                    if group in r["throughput"]["per_event"]
                    else "-"
                    for _, r in results
                ],
            )
        )
    for counter in ("commits", "rows written"):
        rows.append(
            (
                f"PostgreSQL {counter} per delivered event",
                [
                    f"{r['throughput']['per_event'][counter]:.2f}"
                    if counter in r["throughput"]["per_event"]
                    else "-"
                    for _, r in results
                ],
            )
        )
    sqlite_rate = results[0][1]["throughput"]["delivered_rate"]
    rows.append(
        (
            "rate relative to SQLite",
            [f"{r['throughput']['delivered_rate'] / sqlite_rate:.0%}" for _, r in results],
        )
    )
    width = max(len(r[0]) for r in rows)
    print("\n| " + "metric".ljust(width) + " | " + " | ".join(names) + " |")
    print("|" + "-" * (width + 2) + "|" + "|".join("-" * (len(n) + 2) for n in names) + "|")
    for name, values in rows:
        print(f"| {name.ljust(width)} | " + " | ".join(values) + " |")


def report(args: argparse.Namespace, result: dict[str, Any], elapsed: float) -> bool:
    ms = 1000.0
    t, p = result["throughput"], result["paced"]
    rows = [
        (f"delivered events/s, end to end ({t['accepted']:,} events, signed)",
         f"{t['delivered_rate']:,.0f}", ">= 2,000"),
        ("  publishes accepted/s meanwhile", f"{t['publish_rate']:,.0f}", ""),
        ("  missing / duplicate deliveries", f"{t['missing']} / {t['duplicates']}", "0 / -"),
        ("  CPU cores used: benchmark processes / everything else",
         f"{t['cpu_ours']:.2f} / {t['cpu_others']:.2f}", ""),
        *((f"  CPU-µs per delivered event: {k}" if k in ("nodes", "postgres", "receiver", "client")
           else f"  {k} per delivered event", f"{v:,.2f}", "")
          for k, v in t["per_event"].items()),
        (f"publish -> receiver latency at {args.rate:g}/s: p50", f"{p['p50'] * ms:.1f} ms", ""),
        ("  p99", f"{p['p99'] * ms:.1f} ms", "< 25 ms"),
        ("  max", f"{p['max'] * ms:.1f} ms", ""),
        ("  delivered / sent (publish errors)",
         f"{p['delivered']:,} / {p['sent']:,} ({p['errors']})", ""),
        ("  CPU cores used: benchmark processes / everything else",
         f"{p['cpu_ours']:.2f} / {p['cpu_others']:.2f}", ""),
    ]  # fmt: skip
    ok = t["missing"] == 0 and p["delivered"] == p["sent"] - p["errors"]
    if "backlog" in result:
        b = result["backlog"]
        rows += [
            (f"server RSS, {b['queued']:,} queued for a dead receiver", f"{b['rss_dead']:.0f} MB",
             "< 300 MB"),
            ("  peak RSS while draining", f"{b['rss_drain']:.0f} MB", "< 300 MB"),
            ("  sender processes' RSS (peak, all together)", f"{b['rss_senders']:.0f} MB", ""),
            ("  drain rate after the receiver recovers", f"{b['drain_rate']:,.0f}/s",
             ">= 2,000/s"),
            ("  drained in the measured window", f"{b['drained']:,}", ""),
        ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    store = (
        f"PostgreSQL, {result['nodes']} node(s)"
        if "--database" in result["command"]
        else ("SQLite WAL, synchronous=FULL")
    )
    print(f"\nConduit delivery benchmark ({store}), {os.cpu_count()} CPUs")
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    print("server:  " + result["command"])
    print(f"| {'metric'.ljust(width)} | value | target |")
    print(f"|{'-' * (width + 2)}|-------|--------|")
    for name, value, target in rows:
        print(f"| {name.ljust(width)} | {value} | {target} |")
    print(f"(ran {elapsed:.1f} s)")
    return ok


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "receiver":
        receiver_main(int(sys.argv[sys.argv.index("--port") + 1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=20000, help="throughput phase events")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent publishers")
    parser.add_argument("--rate", type=float, default=500.0, help="paced phase, publishes/s")
    parser.add_argument("--rate-duration", type=float, default=10.0, help="paced phase, s")
    parser.add_argument("--backlog", type=int, default=0, help="queued deliveries (phase 3)")
    parser.add_argument("--drain-seconds", type=float, default=60.0, help="drain window, s")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--server-arg", action="append", help="extra `conduit serve` argument")
    parser.add_argument(
        "--database", default=None, help="a PostgreSQL server URL (the bench makes its own db)"
    )
    parser.add_argument("--nodes", type=int, default=1, help="nodes on PostgreSQL")
    parser.add_argument(
        "--compare", action="store_true", help="SQLite, then PostgreSQL with 1 and 2 nodes"
    )
    args = parser.parse_args()
    started = time.monotonic()
    if args.compare:
        if not args.database:
            parser.error("--compare needs --database postgresql://...")
        configs = [
            ("SQLite", None, 1),
            ("PG, 1 node", args.database, 1),
            ("PG, 2 nodes", args.database, 2),
        ]
        results = []
        ok = True
        for name, database, nodes in configs:
            result = asyncio.run(run(args, database, nodes))
            print(f"\n## {name}")
            ok = report(args, result, time.monotonic() - started) and ok
            results.append((name, result))
        print(
            "\n## Comparison (one invocation)\ncommand: " + shlex.join([sys.executable, *sys.argv])
        )
        compare(results)
    else:
        result = asyncio.run(run(args, args.database, args.nodes))
        ok = report(args, result, time.monotonic() - started)
    if not ok:
        print("FAILED: an accepted publish was not delivered")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
