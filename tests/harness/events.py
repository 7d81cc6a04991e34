"""Helpers for the device, event and stream tests: emulated devices, publishing, reading live
streams.

A stream opened with raw HTTP is subscribed by the time its response headers arrive (the server
subscribes before it starts the response), so a test may publish right after `open_stream` returns.
The official client's stream runs in a thread and gives no such signal, so
`ClientStream.wait_until_live` publishes warm-up events from a dedicated device until one comes
through.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import disruptive as dt
import orjson
import requests

from tests.harness.server import ServerProcess

# What `dt.Emulator.publish_event` sends is `{data.event_type: data._raw}` of these objects.
CLIENT_EVENTS: dict[str, Any] = {
    "touch": dt.events.Touch(),
    "temperature": dt.events.Temperature(celsius=4.5),
    "objectPresent": dt.events.ObjectPresent(state="PRESENT"),
    "humidity": dt.events.Humidity(celsius=21.5, relative_humidity=40.0),
    "objectPresentCount": dt.events.ObjectPresentCount(total=7),
    "touchCount": dt.events.TouchCount(total=3),
    "waterPresent": dt.events.WaterPresent(state="NOT_PRESENT"),
    "networkStatus": dt.events.NetworkStatus(
        signal_strength=80,
        rssi=-70,
        cloud_connectors=[dt.events.NetworkStatusCloudConnector("bdkjbo2v0000uk377c4g", 75, -72)],
    ),
    "batteryStatus": dt.events.BatteryStatus(percentage=93),
    "connectionStatus": dt.events.ConnectionStatus(connection="ETHERNET", available=["ETHERNET"]),
    "ethernetStatus": dt.events.EthernetStatus(
        mac_address="f0:b5:b7:00:0a:08", ip_address="10.0.0.2"
    ),
    "cellularStatus": dt.events.CellularStatus(signal_strength=55),
    "co2": dt.events.Co2(ppm=612),
    "pressure": dt.events.Pressure(pascal=101_325.0),
    "motion": dt.events.Motion(state="MOTION_DETECTED"),
    "deskOccupancy": dt.events.DeskOccupancy(state="OCCUPIED"),
    "contact": dt.events.Contact(state="OPEN"),
    "probeWireStatus": dt.events.ProbeWireStatus(state="THREE_WIRE"),
}


def create_device(dt: Any, project_id: str, device_type: str, **labels: str) -> Any:
    """An emulated device via the official client (fresh labels: the client mutates its default)."""
    return dt.Emulator.create_device(project_id, device_type, labels=dict(labels))


def publish(
    api: requests.Session, server: ServerProcess, project_id: str, device_id: str, body: Any
) -> requests.Response:
    return api.post(
        f"{server.api}/projects/{project_id}/devices/{device_id}:publish", json=body, timeout=10
    )


def history(
    api: requests.Session, server: ServerProcess, project_id: str, device_id: str, **params: Any
) -> list[dict[str, Any]]:
    """Every page of a device's history, raw JSON, following nextPageToken."""
    events: list[dict[str, Any]] = []
    params = dict(params)
    while True:
        res = api.get(
            f"{server.api}/projects/{project_id}/devices/{device_id}/events",
            params=params,
            timeout=10,
        )
        assert res.status_code == 200, res.text
        body = res.json()
        events += body["events"]
        if not body["nextPageToken"]:
            return events
        params["pageToken"] = body["nextPageToken"]


@dataclass
class RawStream:
    """A live stream over raw HTTP; `next_event` returns the next `result.event`."""

    response: requests.Response
    sse: bool
    _lines: Iterator[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self._lines = self.response.iter_lines()

    def next_payload(self) -> dict[str, Any]:
        """The next payload (`{"result": ...}` or `{"error": ...}`); raises on end or timeout."""
        data: list[bytes] = []
        for line in self._lines:
            if not self.sse:
                if line:
                    payload: dict[str, Any] = orjson.loads(line)
                    return payload
                continue
            if line.startswith(b"data: "):
                data.append(line[len(b"data: ") :])
            elif line == b"" and data:
                payload = orjson.loads(b"\n".join(data))
                return payload
        raise EOFError("the stream ended")

    def next_event(self, skip_pings: bool = True) -> dict[str, Any]:
        while True:
            payload = self.next_payload()
            assert "result" in payload, payload
            event: dict[str, Any] = payload["result"]["event"]
            if not (skip_pings and event["eventType"] == "ping"):
                return event

    def close(self) -> None:
        self.response.close()


def open_stream(
    api: requests.Session,
    server: ServerProcess,
    path: str,
    *,
    sse: bool = False,
    read_timeout: float = 5.0,
    **params: Any,
) -> RawStream:
    """Open `/v2/projects/...:stream`; returns once subscribed (the headers have arrived)."""
    headers = {"Accept": "text/event-stream"} if sse else {}
    res = api.get(
        f"{server.api}/{path}",
        params=params,
        headers=headers,
        stream=True,
        timeout=(5, read_timeout),
    )
    assert res.status_code == 200, res.text
    return RawStream(res, sse)


class ClientStream:
    """`dt.Stream.event_stream(...)` consumed in a daemon thread, as an integration would."""

    def __init__(self, dt: Any, project_id: str, **filters: Any) -> None:
        self.dt = dt
        self.project_id = project_id
        self.events: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(filters,), daemon=True)
        self._thread.start()

    def _run(self, filters: dict[str, Any]) -> None:
        try:
            for event in self.dt.Stream.event_stream(self.project_id, **filters):
                self.events.put(event)
        except BaseException as exc:
            self.error = exc

    def wait_until_live(self, warmup_device_id: str, deadline: float = 10.0) -> None:
        """Publish touches from the warm-up device until the stream delivers one."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            assert self.error is None, self.error
            self.dt.Emulator.publish_event(
                warmup_device_id, self.project_id, self.dt.events.Touch()
            )
            try:
                self.events.get(timeout=0.1)
                return
            except queue.Empty:
                continue
        raise AssertionError("the client stream never delivered a warm-up event")

    def take(
        self, count: int, *, ignore_device: str | None = None, timeout: float = 10.0
    ) -> list[Any]:
        """The next `count` events, skipping those of `ignore_device` (the warm-up device)."""
        taken: list[Any] = []
        end = time.monotonic() + timeout
        while len(taken) < count:
            remaining = end - time.monotonic()
            assert remaining > 0, f"only {len(taken)} of {count} events arrived: {taken}"
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.device_id != ignore_device:
                taken.append(event)
        return taken
