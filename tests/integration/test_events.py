"""Event history: oldest first, filters, time windows, stable keyset pagination, bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.harness.events import create_device, history, publish
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error


def publish_ok(
    api: requests.Session, server: ServerProcess, project_id: str, device_id: str, body: Any
) -> None:
    res = publish(api, server, project_id, device_id, body)
    assert res.status_code == 200, res.text


def test_history_is_oldest_first_and_parsed_by_the_client(dt: Any, project_id: str) -> None:
    device = create_device(dt, project_id, "temperature")
    for celsius in range(5):
        dt.Emulator.publish_event(
            device.device_id, project_id, dt.events.Temperature(celsius=celsius)
        )
    events = dt.EventHistory.list_events(device.device_id, project_id)
    assert [e.data.celsius for e in events] == [0, 1, 2, 3, 4]
    stamps = [e.raw["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    assert len({e.event_id for e in events}) == 5


def test_event_type_filter_repeated_or_comma_separated(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "temperature")
    for body in (
        {"temperature": {"value": 1}},
        {"touch": {}},
        {"batteryStatus": {"percentage": 50}},
        {"touch": {}},
    ):
        publish_ok(api, server, project_id, device.device_id, body)
    touches = dt.EventHistory.list_events(device.device_id, project_id, event_types=["touch"])
    assert [e.event_type for e in touches] == ["touch", "touch"]
    both = history(api, server, project_id, device.device_id, eventTypes="touch,batteryStatus")
    assert [e["eventType"] for e in both] == ["touch", "batteryStatus", "touch"]
    repeated = history(
        api, server, project_id, device.device_id, eventTypes=["temperature", "batteryStatus"]
    )
    assert [e["eventType"] for e in repeated] == ["temperature", "batteryStatus"]


def test_time_window_is_inclusive_and_defaults_to_the_last_day(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touch")
    for _ in range(3):
        publish_ok(api, server, project_id, device.device_id, {"touch": {}})
    events = history(api, server, project_id, device.device_id)
    assert len(events) == 3
    first, middle, last = (e["timestamp"] for e in events)

    window = history(api, server, project_id, device.device_id, startTime=middle, endTime=middle)
    assert [e["timestamp"] for e in window] == [middle], "a timestamp finds its own event"
    assert [
        e["timestamp"] for e in history(api, server, project_id, device.device_id, startTime=middle)
    ] == [middle, last]
    assert [
        e["timestamp"] for e in history(api, server, project_id, device.device_id, endTime=middle)
    ] == [first, middle]

    now = datetime.now(UTC)
    client_events = dt.EventHistory.list_events(
        device.device_id,
        project_id,
        start_time=now - timedelta(days=7),
        end_time=now + timedelta(minutes=1),
    )
    assert len(client_events) == 3
    past = dt.EventHistory.list_events(
        device.device_id, project_id, end_time=now - timedelta(hours=1)
    )
    assert past == []


def test_pagination_is_stable_while_events_arrive(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touchCounter")
    for total in range(7):
        publish_ok(api, server, project_id, device.device_id, {"touchCount": {"total": total}})
    url = f"{server.api}/projects/{project_id}/devices/{device.device_id}/events"
    first = api.get(url, params={"pageSize": 3}).json()
    assert [e["data"]["touchCount"]["total"] for e in first["events"]] == [0, 1, 2]
    # events published between pages neither shift nor repeat what the client pages through
    publish_ok(api, server, project_id, device.device_id, {"touchCount": {"total": 7}})
    totals = [e["data"]["touchCount"]["total"] for e in first["events"]]
    token = first["nextPageToken"]
    while token:
        page = api.get(url, params={"pageSize": 3, "page_token": token}).json()
        totals += [e["data"]["touchCount"]["total"] for e in page["events"]]
        token = page["nextPageToken"]
    assert totals == list(range(8))
    # the official client follows the tokens itself (default page size 100)
    assert len(dt.EventHistory.list_events(device.device_id, project_id)) == 8


def test_concurrent_publishes_to_one_device_lose_nothing(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "co2")
    bodies: list[dict[str, Any]] = [
        {"co2": {"ppm": 400}},
        {"pressure": {"pascal": 99_000}},
        {"temperature": {"value": 21.5}},
        {"humidity": {"temperature": 21.5, "relativeHumidity": 40}},
        {"touch": {}},
        {"networkStatus": {"signalStrength": 60, "rssi": -75}},
        {"batteryStatus": {"percentage": 88}},
    ] * 6
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        statuses = list(
            pool.map(
                lambda b: publish(api, server, project_id, device.device_id, b).status_code,
                bodies,
            )
        )
    assert statuses == [200] * len(bodies)
    reported = api.get(f"{server.api}/projects/{project_id}/devices/{device.device_id}").json()[
        "reported"
    ]
    assert all(value is not None for value in reported.values()), reported
    assert len(history(api, server, project_id, device.device_id)) == len(bodies)


@pytest.mark.parametrize(
    "params",
    [
        {"eventTypes": "sneeze"},
        {"startTime": "yesterday"},
        {"endTime": "2026-13-40T00:00:00Z"},
        {"startTime": "2026-01-02T00:00:00Z", "endTime": "2026-01-01T00:00:00Z"},
        {"pageToken": "garbage!"},
        {"pageToken": "bzoxOjI"},  # base64 of another kind of token
        {"pageSize": "-1"},
    ],
)
def test_bad_history_queries_are_400(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str, params: Any
) -> None:
    device = create_device(dt, project_id, "touch")
    url = f"{server.api}/projects/{project_id}/devices/{device.device_id}/events"
    assert_error(api.get(url, params=params), 400)


def test_history_of_unknown_devices_is_404(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    assert_error(api.get(f"{server.api}/projects/{project_id}/devices/emunope/events"), 404)
    assert_error(api.get(f"{server.api}/projects/nosuchproject/devices/emunope/events"), 404)
