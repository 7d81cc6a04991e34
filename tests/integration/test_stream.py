"""Live streams: the official client's stream, raw NDJSON and SSE, filters, pings, shutdown."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
import requests

from tests.harness.events import ClientStream, RawStream, create_device, open_stream, publish
from tests.harness.server import ServerProcess


def publish_ok(
    api: requests.Session, server: ServerProcess, project_id: str, device_id: str, body: Any
) -> None:
    res = publish(api, server, project_id, device_id, body)
    assert res.status_code == 200, res.text


def test_the_official_client_streams_events_in_order(dt: Any, project_id: str) -> None:
    warmup = create_device(dt, project_id, "touch", name="warm-up")
    sensor = create_device(dt, project_id, "temperature", name="sensor")
    stream = ClientStream(dt, project_id)
    stream.wait_until_live(warmup.device_id)

    for celsius in (1.0, 2.0, 3.0):
        dt.Emulator.publish_event(
            sensor.device_id, project_id, dt.events.Temperature(celsius=celsius)
        )
    dt.Device.set_label(sensor.device_id, project_id, "room", "7")
    events = stream.take(4, ignore_device=warmup.device_id)
    assert [e.event_type for e in events] == ["temperature"] * 3 + ["labelsChanged"]
    assert [e.data.celsius for e in events[:3]] == [1.0, 2.0, 3.0]
    assert events[3].data.added == {"room": "7"}
    # the stream carries exactly what history stores
    stored = dt.EventHistory.list_events(sensor.device_id, project_id)
    assert [e.raw for e in stored] == [e.raw for e in events]


def test_raw_ndjson_lines(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touch")
    stream = open_stream(api, server, f"projects/{project_id}/devices:stream")
    try:
        assert stream.response.headers["content-type"].startswith("application/x-ndjson")
        publish_ok(api, server, project_id, device.device_id, {"touch": {}})
        line = next(stream.response.iter_lines())
        assert line.startswith(b'{"result":{"event":{"eventId":"')
        event = dt.events.Event(orjson.loads(line)["result"]["event"])
        assert event.device_id == device.device_id and event.event_type == "touch"
    finally:
        stream.close()


def test_server_sent_events(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "contact")
    stream = open_stream(api, server, f"projects/{project_id}/devices:stream", sse=True)
    try:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        publish_ok(api, server, project_id, device.device_id, {"contact": {"state": "OPEN"}})
        publish_ok(api, server, project_id, device.device_id, {"contact": {"state": "CLOSED"}})
        events = [dt.events.Event(stream.next_event()) for _ in range(2)]
        assert [e.data.state for e in events] == ["OPEN", "CLOSED"]
    finally:
        stream.close()


def test_sse_frames_are_data_lines_then_a_blank_line(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "motion")
    stream = open_stream(api, server, f"projects/{project_id}/devices:stream", sse=True)
    try:
        publish_ok(
            api, server, project_id, device.device_id, {"motion": {"state": "MOTION_DETECTED"}}
        )
        lines = stream.response.iter_lines()
        first, second = next(lines), next(lines)
        assert first.startswith(b'data: {"result":{"event":') and first.endswith(b"}}")
        assert second == b""
    finally:
        stream.close()


def test_filters(api: requests.Session, server: ServerProcess, dt: Any, project_id: str) -> None:
    kitchen = create_device(dt, project_id, "temperature", room="kitchen")
    hall = create_device(dt, project_id, "temperature", room="hall")
    button = create_device(dt, project_id, "touch", room="kitchen")
    path = f"projects/{project_id}/devices:stream"
    pings = {"ping_interval": "0.3s"}
    streams = {
        "kitchen": open_stream(api, server, path, label_filters=["room=kitchen"], **pings),
        "has-room": open_stream(api, server, path, label_filters=["room"], **pings),
        "touch-type": open_stream(api, server, path, device_types="touch", **pings),
        "touch-events": open_stream(api, server, path, event_types=["touch"], **pings),
        "two-devices": open_stream(
            api, server, path, device_ids=f"{hall.device_id},{button.device_id}", **pings
        ),
        "hall-only": open_stream(
            api, server, f"projects/{project_id}/devices/{hall.device_id}:stream", **pings
        ),
    }
    try:
        for device, body in (
            (kitchen, {"temperature": {"value": 1}}),
            (hall, {"temperature": {"value": 2}}),
            (button, {"touch": {}}),
            (kitchen, {"touch": {}}),
        ):
            publish_ok(api, server, project_id, device.device_id, body)
        expected = {
            "kitchen": [kitchen, button, kitchen],
            "has-room": [kitchen, hall, button, kitchen],
            "touch-type": [button],
            "touch-events": [button, kitchen],
            "two-devices": [hall, button],
            "hall-only": [hall],
        }
        for name, stream in streams.items():
            got = [stream.next_event()["targetName"].rsplit("/", 1)[-1] for _ in expected[name]]
            assert got == [d.device_id for d in expected[name]], name
            # every publish had been fanned out before it was answered, so the next thing on an
            # idle stream is a ping: nothing else matched
            assert stream.next_event(skip_pings=False)["eventType"] == "ping", name
    finally:
        for stream in streams.values():
            stream.close()


def test_pings_keep_an_idle_stream_alive(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    stream = open_stream(api, server, f"projects/{project_id}/devices:stream", ping_interval="0.2s")
    try:
        started = time.monotonic()
        ping = stream.next_event(skip_pings=False)
        assert ping["eventType"] == "ping"
        assert ping["data"] is None and ping["targetName"] == f"projects/{project_id}"
        assert set(ping) == {"eventId", "targetName", "eventType", "data", "timestamp"}
        assert stream.next_event(skip_pings=False)["eventType"] == "ping"
        assert time.monotonic() - started < 3
    finally:
        stream.close()


def test_stream_errors_are_readable_by_the_official_client(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    path = f"{server.api}/projects/{project_id}/devices:stream"
    for params in ({"ping_interval": "often"}, {"event_types": "sneeze"}, {"device_types": "x"}):
        res = api.get(path, params=params)
        assert res.status_code == 400
        body = res.json()
        assert body["code"] == 400 and body["help"]
        assert body["error"]["code"] == 400 and body["error"]["message"]
    missing = api.get(f"{server.api}/projects/{project_id}/devices/emunope:stream")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404
    unknown = api.get(f"{server.api}/projects/nosuchproject/devices:stream")
    assert unknown.status_code == 404
    anonymous = requests.get(path, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == 401


def test_a_reader_that_is_not_reading_never_slows_publishing(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touchCounter")
    idle = open_stream(api, server, f"projects/{project_id}/devices:stream")
    closed = open_stream(api, server, f"projects/{project_id}/devices:stream")
    closed.close()
    try:
        slowest = 0.0
        for total in range(200):
            started = time.monotonic()
            publish_ok(api, server, project_id, device.device_id, {"touchCount": {"total": total}})
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0, f"a publish took {slowest:.3f} s"
        totals = [idle.next_event()["data"]["touchCount"]["total"] for _ in range(200)]
        assert totals == list(range(200)), "buffered for the reader, in order"
    finally:
        idle.close()


def test_sigterm_ends_open_streams_and_exits_promptly(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    api = fresh_server.session()
    project_id = api.get(f"{fresh_server.api}/projects").json()["projects"][0]["name"][9:]
    streams: list[RawStream] = [
        open_stream(api, fresh_server, f"projects/{project_id}/devices:stream"),
        open_stream(api, fresh_server, f"projects/{project_id}/devices:stream", sse=True),
    ]
    ended: list[bool] = []

    def read_to_end(stream: RawStream) -> None:
        try:
            stream.next_payload()
        except EOFError:
            ended.append(True)

    readers = [threading.Thread(target=read_to_end, args=(s,), daemon=True) for s in streams]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    assert fresh_server.stop() == 0
    assert time.monotonic() - started < 5, "an open stream must not hold up shutdown"
    for reader in readers:
        reader.join(timeout=5)
    assert ended == [True, True], "each stream ended cleanly (no error line, no reset)"
    assert "Traceback" not in fresh_server.log()
