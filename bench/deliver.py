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
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench_common import access_token, free_port, percentile

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


class CpuMeter:
    """CPU seconds used by the benchmark's processes, and by everything else on the machine, so a
    result disturbed by other load says so."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._start = self._sample()

    @staticmethod
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

    def _sample(self) -> tuple[float, float, float]:
        hz = os.sysconf("SC_CLK_TCK")
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4)) / hz
        ours = 0.0
        pids = set(self.pids)
        for pid in self.pids:
            pids.update(self.children(pid))
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            parts = stat[stat.rindex(")") + 2 :].split()
            ours += (int(parts[11]) + int(parts[12])) / hz
        return time.monotonic(), busy, ours

    def report(self) -> tuple[float, float]:
        """(our CPU, other CPU) since creation, in cores (1.0 = one core busy)."""
        t1, busy1, ours1 = self._sample()
        t0, busy0, ours0 = self._start
        elapsed = max(1e-9, t1 - t0)
        ours = (ours1 - ours0) / elapsed
        return ours, max(0.0, (busy1 - busy0) / elapsed - ours)


def children_rss_mb(pid: int) -> float:
    return sum(rss_mb(child) for child in CpuMeter.children(pid))


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
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


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
        self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
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

    def publish_url(self, n: int) -> str:
        device = self.devices[n % len(self.devices)]
        return f"{self.api}/projects/{self.project_id}/devices/{device}:publish"


async def setup(http: aiohttp.ClientSession, server: Server, receiver: ReceiverProcess) -> Setup:
    api = f"{server.url}/v2"
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
    return Setup(api, project_id, connector_id, devices)


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
    pids: list[int],
) -> dict[str, Any]:
    async with http.post(f"{receiver.url}/reset") as res:
        await res.read()
    accepted: list[int] = []
    meter = CpuMeter(pids)
    started = time.time()

    async def worker(k: int) -> None:
        for n in range(k, events, workers):
            if await publish(http, setup, n):
                accepted.append(n)

    await asyncio.gather(*(worker(k) for k in range(workers)))
    published = time.time()
    stats = await wait_delivered(http, receiver, len(accepted), within=120)
    ours, others = meter.report()
    full = await receiver_stats(http, receiver, arrivals=True)
    arrived = {int(k) for k in full["arrivals"]}
    return {
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
    pids: list[int],
) -> dict[str, Any]:
    async with http.post(f"{receiver.url}/reset") as res:
        await res.read()
    total = int(rate * seconds)
    meter = CpuMeter(pids)
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
    ours, others = meter.report()
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


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="conduit-deliver-bench-"))
    server = Server(data_dir, args.port or free_port(), args.server_arg or [])
    receiver = ReceiverProcess(free_port())
    receiver.start()
    server.start()
    result: dict[str, Any] = {"command": shlex.join(server.command)}
    try:
        credentials = json.loads((data_dir / "credentials.json").read_text())["serviceAccount"]
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        async with aiohttp.ClientSession(connector=connector) as http:
            token = await access_token(http, credentials)
            http.headers.update(
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            )
            bench = await setup(http, server, receiver)
            assert server.proc is not None and receiver.proc is not None
            pids = [os.getpid(), server.proc.pid, receiver.proc.pid]
            await throughput(http, bench, receiver, 500, args.concurrency, pids)  # warm up
            result["throughput"] = await throughput(
                http, bench, receiver, args.events, args.concurrency, pids
            )
            result["paced"] = await paced(
                http, bench, receiver, args.rate, args.rate_duration, pids
            )
            if args.backlog:
                result["backlog"] = await backlog(
                    http, server, bench, receiver, args.backlog, args.drain_seconds
                )
    finally:
        server.stop()
        receiver.stop()
    return result


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
    print(f"\nConduit delivery benchmark (SQLite WAL, synchronous=FULL), {os.cpu_count()} CPUs")
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
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(run(args))
    ok = report(args, result, time.monotonic() - started)
    if not ok:
        print("FAILED: an accepted publish was not delivered")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
