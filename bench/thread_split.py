"""Where a delivered event's CPU goes, per process and per thread, against a baseline checkout.

The machine this runs on is noisy: its speed drifts by a third within an hour, which moves every
CPU-µs figure together. So a change is measured against the code before it, in alternating runs of
the same phase, and the benchmark client's own CPU (code that does not change) is printed as the
control: a change is real when Conduit's figure moves and the client's does not.

One run is `celery_baseline.conduit_phase` (64 publishers → `:publish` → signed push → nginx-light)
after a 1,000-event warm-up, with CPU read from `/proc/<pid>/task/<tid>/stat` before and after.

    cd bench && ../.venv/bin/python thread_split.py                         # this checkout, 3 runs
    git worktree add /tmp/before <rev>
    cd bench && ../.venv/bin/python thread_split.py --baseline /tmp/before/src --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from bench_common import free_port, sign_in
from celery_baseline import Nginx, conduit_phase
from deliver import Server, children, setup

BENCH = Path(__file__).resolve().parent


def thread_times(pids: list[int]) -> dict[tuple[int, str, str], float]:
    """CPU seconds (user + system) of every thread of `pids`, by (pid, tid, thread name)."""
    ticks = os.sysconf("SC_CLK_TCK")
    times: dict[tuple[int, str, str], float] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except FileNotFoundError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            times[(pid, tid, name)] = (int(fields[11]) + int(fields[12])) / ticks
    return times


async def one_run(events: int) -> dict[str, Any]:
    """The Conduit phase once, in a fresh data dir, with this interpreter's PYTHONPATH."""
    root = Path(tempfile.mkdtemp(prefix="conduit-thread-split-"))
    key = {"CONDUIT_SECRET_KEY": Fernet.generate_key().decode()}
    server = Server(root / "conduit", free_port(), [], env=key)
    server.data_dir.mkdir(parents=True)
    nginx = Nginx(root / "nginx")
    nginx.start()
    server.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await sign_in(http, server.data_dir)
            bench = await setup(http, [server], nginx)  # type: ignore[arg-type]
            pid = server.proc.pid  # type: ignore[union-attr]
            groups = {
                "server + senders": lambda: {pid, *children(pid)},
                "client": lambda: {os.getpid()},
                "nginx": nginx.pids,
            }
            await conduit_phase(http, bench, nginx, 1000, groups)  # warm up
            pids = [pid, *children(pid)]
            before = thread_times(pids)
            result = await conduit_phase(http, bench, nginx, events, groups)
            after = thread_times(pids)
    finally:
        server.stop()
        nginx.stop()
    delivered = max(1, result["delivered"])
    threads: dict[str, float] = {}
    for (owner, tid, name), seconds in after.items():
        spent = (seconds - before.get((owner, tid, name), 0.0)) / delivered * 1e6
        role = "server" if owner == pid else "senders"
        if tid == str(owner):
            label = f"{role}: event loop"
        elif role == "server":
            label = "server: other threads (SQLite writer, pools)"
        else:
            label = f"senders: {name} threads"
        threads[label] = threads.get(label, 0.0) + spent
    return {"rate": result["rate"], "cpu": result["cpu"], "threads": threads}


def run_with(src: str | None, events: int) -> dict[str, Any]:
    """One run in a child interpreter, whose servers import Conduit from `src` if given."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    out = subprocess.run(
        [sys.executable, __file__, "--one", "--events", str(events)],
        cwd=BENCH,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def show(name: str, runs: list[dict[str, Any]]) -> None:
    rates = [r["rate"] for r in runs]
    print(f"{name}: events/s {' / '.join(f'{x:.0f}' for x in rates)}")
    for group in runs[0]["cpu"]:
        values = [r["cpu"][group] for r in runs]
        listed = " / ".join(f"{v:.0f}" for v in values)
        print(f"  {group:<28} {listed:<28} median {statistics.median(values):6.0f} CPU-µs/event")
    for label in runs[0]["threads"]:
        values = [r["threads"].get(label, 0.0) for r in runs]
        listed = " / ".join(f"{v:.0f}" for v in values)
        print(f"    {label:<26} {listed:<28} median {statistics.median(values):6.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="a checkout's src directory to compare against")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(one_run(args.events))))
        return 0
    current: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    for _ in range(args.runs):  # alternating, so drift hits both alike
        current.append(run_with(None, args.events))
        if args.baseline:
            baseline.append(run_with(args.baseline, args.events))
    show("this checkout", current)
    if args.baseline:
        show(f"baseline {args.baseline}", baseline)
        for group in current[0]["cpu"]:
            now = statistics.median(r["cpu"][group] for r in current)
            then = statistics.median(r["cpu"][group] for r in baseline)
            print(
                f"  {group}: {then:.0f} → {now:.0f} CPU-µs/event ({(now / then - 1) * 100:+.0f} %)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
