"""`conduit demo`: the server, an emulated fleet, a local receiver and a connector to it.

A new user should see signed events arriving within seconds, so the demo drives the server only
through its public API (as an integration would): it creates emulated devices, a Data Connector
pointing at a receiver on 127.0.0.1, and publishes realistic events — temperature drifting, touches,
a door contact, humidity and network-status heartbeats. The receiver verifies every push's signature
with `conduit.receiver` and prints one line per push.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import secrets
import signal
from dataclasses import dataclass
from typing import Any

import aiohttp
import uvicorn
from aiohttp import web

from conduit.api.publish_fast_path import PublishFastPath
from conduit.app import create_app
from conduit.config import Settings, parse_networks
from conduit.gc_policy import tune_for_serving
from conduit.receiver import PushVerificationError, verify_push

FLEET: list[tuple[str, str]] = [
    ("temperature", "Fridge 1"),
    ("temperature", "Server room"),
    ("humidity", "Greenhouse"),
    ("touch", "Reception button"),
    ("contact", "Front door"),
    ("co2", "Meeting room"),
]


@dataclass
class DemoReceiver:
    secret: str
    received: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            push = verify_push(dict(request.headers), body, self.secret)
        except PushVerificationError as exc:
            print(f"  receiver: REJECTED push ({exc})", flush=True)
            return web.Response(status=401, text=str(exc))
        self.received += 1
        event = push.event
        name = push.labels.get("name", event["targetName"].rsplit("/", 1)[-1])
        data = event["data"].get(event["eventType"], event["data"])
        summary = json.dumps(
            {k: v for k, v in (data or {}).items() if k not in ("updateTime", "samples")}
        )
        print(
            f"  receiver: #{self.received:<5} verified  "
            f"{event['eventType']:<14} {name:<18} {summary}",
            flush=True,
        )
        return web.Response(status=200, text="ok")


async def _start_receiver(receiver: DemoReceiver, port: int) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _event_for(device_type: str, step: int, state: dict[str, Any]) -> dict[str, Any]:
    if device_type == "temperature":
        state["t"] = state.get("t", random.uniform(3.0, 22.0)) + random.uniform(-0.3, 0.3)
        return {"temperature": {"value": round(state["t"], 2)}}
    if device_type == "humidity":
        return {
            "humidity": {
                "temperature": round(21 + math.sin(step / 7), 2),
                "relativeHumidity": round(55 + 10 * math.sin(step / 11), 1),
            }
        }
    if device_type == "co2":
        return {"co2": {"ppm": int(450 + 300 * abs(math.sin(step / 13)))}}
    if device_type == "contact":
        state["open"] = not state.get("open", False)
        return {"contact": {"state": "OPEN" if state["open"] else "CLOSED"}}
    return {"touch": {}}


def _heartbeat() -> dict[str, Any]:
    rssi = random.randint(-95, -60)
    return {"networkStatus": {"signalStrength": max(0, min(100, 2 * (rssi + 100))), "rssi": rssi}}


async def _ensure_fleet(
    http: aiohttp.ClientSession, api: str, project: str
) -> list[tuple[str, str]]:
    """The demo's devices, created on the first run and reused on later ones (label `site=demo`)."""
    async with http.get(
        f"{api}/projects/{project}/devices", params={"label_filters": "site=demo"}
    ) as res:
        existing = {d["labels"].get("name"): d for d in (await res.json())["devices"]}
    devices = []
    for device_type, name in FLEET:
        device = existing.get(name)
        if device is None or device["type"] != device_type:
            async with http.post(
                f"{api}/projects/{project}/devices",
                json={"type": device_type, "labels": {"name": name, "site": "demo"}},
            ) as res:
                device = await res.json()
        devices.append((device["name"].rsplit("/", 1)[-1], device_type))
    return devices


async def _ensure_connector(
    http: aiohttp.ClientSession, api: str, project: str, receiver_url: str, secret: str
) -> dict[str, Any]:
    """One connector named "demo receiver", pointed at this run's receiver and secret."""
    config = {
        "displayName": "demo receiver",
        "status": "ACTIVE",
        "labels": ["name", "site"],
        "httpConfig": {"url": receiver_url, "signatureSecret": secret},
    }
    async with http.get(f"{api}/projects/{project}/dataconnectors") as res:
        for connector in (await res.json())["dataConnectors"]:
            if connector["displayName"] == "demo receiver":
                async with http.patch(f"{api}/{connector['name']}", json=config) as updated:
                    result: dict[str, Any] = await updated.json()
                    return result
    async with http.post(
        f"{api}/projects/{project}/dataconnectors", json={"type": "HTTP_PUSH", **config}
    ) as res:
        created: dict[str, Any] = await res.json()
        return created


async def _run_fleet(
    api: str,
    auth: aiohttp.BasicAuth,
    project: str,
    receiver_url: str,
    secret: str,
    interval: float,
    stop: asyncio.Event,
) -> None:
    async with aiohttp.ClientSession(auth=auth, raise_for_status=True) as http:
        devices = await _ensure_fleet(http, api, project)
        connector = await _ensure_connector(http, api, project, receiver_url, secret)
        print(f"  demo: {len(devices)} emulated devices, connector {connector['name']}", flush=True)
        print(f"  demo: pushes go to {receiver_url}, signed with secret {secret!r}\n", flush=True)
        states: dict[str, dict[str, Any]] = {d: {} for d, _ in devices}
        step = 0
        while not stop.is_set():
            for device_id, device_type in devices:
                publish = f"{api}/projects/{project}/devices/{device_id}:publish"
                async with http.post(
                    publish, json=_event_for(device_type, step, states[device_id])
                ):
                    pass
                if step % 5 == 0:
                    async with http.post(publish, json=_heartbeat()):
                        pass
            step += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


async def run_demo(settings: Settings, receiver_port: int, interval: float) -> None:
    loopback = parse_networks(["127.0.0.0/8"])[0]
    if loopback not in settings.allow_network:
        settings.allow_network.append(loopback)
    # At least 32 bytes: HS256 with a shorter key is weak, and the receiver's JWT library says so by
    # printing an insecure-key-length warning into the demo's output.
    secret = secrets.token_urlsafe(32)
    receiver = DemoReceiver(secret)
    runner = await _start_receiver(receiver, receiver_port)
    app = PublishFastPath(create_app(settings))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    # The demo handles Ctrl-C itself (to stop the fleet first), so uvicorn must not capture signals.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.05)
    tune_for_serving()
    creds = json.loads((settings.data_dir / "credentials.json").read_text())["serviceAccount"]
    auth = aiohttp.BasicAuth(creds["keyId"], creds["secret"])
    api = f"{settings.base_url}/v2"
    async with aiohttp.ClientSession(auth=auth) as http, http.get(f"{api}/projects") as res:
        project = (await res.json())["projects"][0]["name"].rsplit("/", 1)[-1]
    fleet = asyncio.create_task(
        _run_fleet(api, auth, project, f"http://127.0.0.1:{receiver_port}/", secret, interval, stop)
    )
    print("  demo: running; Ctrl-C to stop\n", flush=True)
    await stop.wait()
    fleet.cancel()
    server.should_exit = True
    await asyncio.gather(serving, fleet, return_exceptions=True)
    await runner.cleanup()
    print(f"\n  demo: stopped after {receiver.received} verified pushes", flush=True)
