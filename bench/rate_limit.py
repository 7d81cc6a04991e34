"""Rate-limit benchmark (issue 9): does a connector's `rateLimit` hold under a burst, measured at
the receiver?

Real processes, as in `bench/deliver.py` (whose server, receiver and setup it reuses): `conduit
serve`, a receiver that records when each pushed value first arrived, and this driver, which sets
the connector's `rateLimit`, publishes `--events` events as fast as 64 publishers can, then waits
until every one has arrived. It prints the publish time, the delivery rate after the initial burst
(a token bucket lets one second's worth through at once), the most pushes that arrived in any one
second after the first, and the missing and duplicate counts (both must be 0: events wait, they
are never dropped for the limit).

    .venv/bin/python bench/rate_limit.py                           # 5,000 events at 50/s: ~100 s
    .venv/bin/python bench/rate_limit.py --database postgresql://postgres@127.0.0.1/test --nodes 2

With `--nodes N` on PostgreSQL every node runs a dispatcher and publishes go round-robin: the
bucket is the connector row's, so the limit holds for the cluster, not per node.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import shlex
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from bench_common import free_port, sign_in
from deliver import ReceiverProcess, Server, bench_database, drop_database, publish, setup


async def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="conduit-rate-bench-"))
    url = await bench_database(args.database) if args.database else None
    key = {"CONDUIT_SECRET_KEY": Fernet.generate_key().decode()}
    servers = [
        Server(root / f"node{i}", free_port(), ["--database", url] if url else [], env=key)
        for i in range(args.nodes)
    ]
    receiver = ReceiverProcess(free_port())
    receiver.start()
    for server in servers:
        server.data_dir.mkdir(parents=True)
        server.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await sign_in(http, servers[0].data_dir)
            bench = await setup(http, servers, receiver)
            item = f"{bench.api}/projects/{bench.project_id}/dataconnectors/{bench.connector_id}"
            async with http.patch(item, json={"rateLimit": args.rate}) as res:
                res.raise_for_status()
            async with http.get(f"{receiver.url}/reset") as res:
                await res.read()

            started = time.time()
            queue = iter(range(args.events))

            async def publisher() -> None:
                for n in queue:
                    for _ in range(100):  # a publish the server refused is sent again
                        if await publish(http, bench, n):
                            break
                        await asyncio.sleep(0.05)
                    else:
                        raise RuntimeError(f"publishing event {n} failed 100 times")

            await asyncio.gather(*(publisher() for _ in range(64)))
            published = time.time() - started
            deadline = time.monotonic() + args.events / args.rate * 2 + 60
            while True:
                async with http.get(f"{receiver.url}/stats", params={"arrivals": "1"}) as res:
                    stats = await res.json()
                if len(stats["arrivals"]) >= args.events or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
    finally:
        for server in servers:
            server.stop()
        receiver.stop()
        if args.database and url:
            await drop_database(args.database, url)
    times = sorted(stats["arrivals"].values())
    first = times[0] if times else started
    after_burst = [t for t in times if t >= first + 1.0]
    most_in_a_second = max(
        (bisect.bisect_left(after_burst, t + 1.0) - i for i, t in enumerate(after_burst)),
        default=0,
    )
    sustained = (
        (len(after_burst) - 1) / (after_burst[-1] - after_burst[0]) if len(after_burst) > 1 else 0
    )
    return {
        "command": shlex.join(servers[0].command),
        "published_s": published,
        "delivery_s": (times[-1] - first) if times else 0.0,
        "first_second": len(times) - len(after_burst),
        "most_in_any_second_after": most_in_a_second,
        "sustained_per_s": sustained,
        "missing": args.events - len(stats["arrivals"]),
        "duplicates": stats["duplicates"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=50.0, help="the connector's rateLimit")
    parser.add_argument("--database", default=None, help="a PostgreSQL server URL")
    parser.add_argument("--nodes", type=int, default=1, help="nodes (PostgreSQL only)")
    args = parser.parse_args()
    if args.nodes > 1 and not args.database:
        parser.error("--nodes needs --database postgresql://...")
    result = asyncio.run(run(args))
    print(f"server: {result['command']}")
    print(f"{args.events} events published in {result['published_s']:.1f} s")
    print(f"rateLimit {args.rate:g}/s, nodes {args.nodes}")
    print(f"  delivered over           {result['delivery_s']:.1f} s")
    print(f"  in the first second      {result['first_second']} (the bucket's burst)")
    print(f"  sustained after it       {result['sustained_per_s']:.1f}/s")
    print(f"  most in any 1 s after it {result['most_in_any_second_after']}")
    print(f"  missing {result['missing']}, duplicates {result['duplicates']}")
    held = result["most_in_any_second_after"] <= args.rate * 1.05 + 1  # arrival jitter
    return 0 if held and result["missing"] == 0 and result["duplicates"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
