"""The Emulator API through the official client: create, publish every event type, delete.

Emulator and REST API share the server's one `/v2` base, so `dt.emulator_base_url` is the same URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from conduit.domain.event_types import DEVICE_TYPE_EVENTS
from tests.harness.accounts import make_account
from tests.harness.events import CLIENT_EVENTS, create_device, history, publish
from tests.harness.receivers import Receiver, tls_files
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error


def test_create_an_emulated_device_of_every_type(dt: Any, project_id: str) -> None:
    for device_type in DEVICE_TYPE_EVENTS:
        device = dt.Emulator.create_device(
            project_id, device_type, display_name=f"my {device_type}", labels={"site": "x"}
        )
        assert device.is_emulated and device.device_id.startswith("emu")
        assert len(device.device_id) == 23
        assert device.project_id == project_id
        assert device.device_type == device_type
        assert device.display_name == f"my {device_type}"
        assert device.labels == {"site": "x", "name": f"my {device_type}", "virtual-sensor": ""}
        assert device.product_number == ""
        # `reported` names every event type the type reports, null until first seen
        assert device.raw["reported"] == {t: None for t in DEVICE_TYPE_EVENTS[device_type]}
        fetched = dt.Device.get_device(device.device_id, project_id)
        assert fetched.raw == device.raw
    listed = dt.Device.list_devices(project_id)
    assert sorted(d.device_type for d in listed) == sorted(DEVICE_TYPE_EVENTS)


@pytest.mark.parametrize("device_type", sorted(DEVICE_TYPE_EVENTS))
def test_publish_every_event_type_the_device_type_reports(
    dt: Any, project_id: str, device_type: str
) -> None:
    device = create_device(dt, project_id, device_type)
    event_types = DEVICE_TYPE_EVENTS[device_type]
    for event_type in event_types:
        dt.Emulator.publish_event(device.device_id, project_id, CLIENT_EVENTS[event_type])

    # every emitted event parses with the client's own parser, in publish order
    events = dt.EventHistory.list_events(device.device_id, project_id)
    assert [e.event_type for e in events] == list(event_types)
    for event, event_type in zip(events, event_types, strict=True):
        assert type(event.data) is type(CLIENT_EVENTS[event_type])
        assert event.device_id == device.device_id and event.project_id == project_id
        assert event.data.raw["updateTime"] == event.raw["timestamp"]

    # `reported` holds the latest full data of each type, parsed by the client's Reported
    reported = dt.Device.get_device(device.device_id, project_id).reported
    for event, event_type in zip(events, event_types, strict=True):
        assert event.raw["data"][event_type] == reported.raw[event_type]
    if "temperature" in event_types:
        assert reported.temperature.celsius == 4.5
        assert reported.temperature.samples[0].celsius == 4.5
    if "networkStatus" in event_types:
        assert reported.network_status.signal_strength == 80
        assert reported.network_status.cloud_connectors[0].rssi == -70


def test_publish_keeps_only_the_latest_of_each_type(dt: Any, project_id: str) -> None:
    device = create_device(dt, project_id, "temperature")
    for celsius in (1.0, 2.0, 3.0):
        dt.Emulator.publish_event(
            device.device_id, project_id, dt.events.Temperature(celsius=celsius)
        )
    dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
    reported = dt.Device.get_device(device.device_id, project_id).reported
    assert reported.temperature.celsius == 3.0
    assert reported.touch is not None and reported.battery_status is None


def test_publish_answers_an_empty_object_on_the_wire(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touch")
    res = publish(api, server, project_id, device.device_id, {"touch": {}})
    assert res.status_code == 200 and res.json() == {}
    assert res.headers["content-type"] == "application/json"


def _state(
    api: requests.Session, server: ServerProcess, project_id: str, device_id: str
) -> tuple[Any, list[dict[str, Any]]]:
    device = api.get(f"{server.api}/projects/{project_id}/devices/{device_id}").json()
    return device, history(api, server, project_id, device_id)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"temperature": {"value": 3}}, 400),  # a touch sensor does not report temperature
        ({"labelsChanged": {"added": {}, "modified": {}, "removed": []}}, 400),
        ({"sneeze": {}}, 400),
        ({"touch": {"updateTime": "noon"}}, 400),
        ({"touch": {"extra": True}}, 400),
        ({"touch": {}, "networkStatus": {"signalStrength": 1, "rssi": -1}}, 400),
        ({"networkStatus": {"signalStrength": "strong", "rssi": -60}}, 400),
        ({"batteryStatus": {"percentage": 150}}, 400),
        ({}, 400),
        ({"touch": {"padding": "x" * 70_000}}, 413),
    ],
)
def test_bad_publish_is_refused_and_changes_nothing(
    api: requests.Session,
    server: ServerProcess,
    dt: Any,
    project_id: str,
    body: dict[str, Any],
    status: int,
) -> None:
    device = create_device(dt, project_id, "touch")
    dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
    before = _state(api, server, project_id, device.device_id)
    res = publish(api, server, project_id, device.device_id, body)
    assert_error(res, status)
    assert _state(api, server, project_id, device.device_id) == before


def test_malformed_publish_bodies_are_400(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touch")
    url = f"{server.api}/projects/{project_id}/devices/{device.device_id}:publish"
    for raw in (b"{not json", b"[1, 2]", b'"touch"', b""):
        res = api.post(url, data=raw, headers={"Content-Type": "application/json"})
        assert_error(res, 400)
    assert history(api, server, project_id, device.device_id) == []


def test_the_official_client_sees_bad_requests_as_bad_requests(dt: Any, project_id: str) -> None:
    device = create_device(dt, project_id, "touch")
    with pytest.raises(dt.errors.BadRequest):
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Co2(ppm=400))
    with pytest.raises(dt.errors.BadRequest):
        dt.Emulator.create_device(project_id, "toaster", labels={})


def test_publish_to_unknown_or_foreign_devices_is_404(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    assert_error(publish(api, server, project_id, "emunosuchdevice00000000", {"touch": {}}), 404)
    assert_error(publish(api, server, "nosuchproject0000000", "emuxyz", {"touch": {}}), 404)


def test_delete_an_emulated_device_removes_it_and_its_history(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touch", name="doomed")
    dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
    res = api.delete(f"{server.api}/projects/{project_id}/devices/{device.device_id}")
    assert res.status_code == 200 and res.json() == {}
    with pytest.raises(dt.errors.NotFound):
        dt.Device.get_device(device.device_id, project_id)
    events_url = f"{server.api}/projects/{project_id}/devices/{device.device_id}/events"
    assert_error(api.get(events_url), 404)
    assert_error(publish(api, server, project_id, device.device_id, {"touch": {}}), 404)
    with pytest.raises(dt.errors.NotFound):
        dt.Emulator.delete_device(device.device_id, project_id)
    assert dt.Device.list_devices(project_id) == []


def test_create_validates_type_labels_and_fields(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    url = f"{server.api}/projects/{project_id}/devices"
    bad_bodies: list[Any] = [
        {"type": "toaster"},
        {"labels": {"name": "no type"}},
        {"type": "touch", "labels": {"bad key": "x"}},
        {"type": "touch", "labels": {"name": "v" * 1025}},
        {"type": "touch", "labels": ["name"]},
        {"type": "touch", "labels": {f"k{i}": "" for i in range(100)}},  # + virtual-sensor = 101
        {"type": "touch", "colour": "red"},
        {"type": 5},
    ]
    for body in bad_bodies:
        assert_error(api.post(url, json=body), 400)
    assert api.get(url).json() == {"devices": [], "nextPageToken": ""}
    # output-only fields a client may echo back are ignored
    res = api.post(url, json={"type": "touch", "name": "projects/x/devices/y", "reported": {}})
    assert res.status_code == 200, res.text
    assert res.json()["name"].startswith(f"projects/{project_id}/devices/emu")


def test_put_replaces_labels_and_emits_labels_changed(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touch", name="a", old="1")
    url = f"{server.api}/projects/{project_id}/devices/{device.device_id}"
    res = api.put(url, json={"type": "touch", "labels": {"name": "b", "new": "2"}})
    assert res.status_code == 200, res.text
    assert res.json()["labels"] == {"name": "b", "new": "2", "virtual-sensor": ""}
    (event,) = dt.EventHistory.list_events(device.device_id, project_id)
    assert event.event_type == "labelsChanged"
    assert (event.data.added, event.data.modified, event.data.removed) == (
        {"new": "2"},
        {"name": "b"},
        ["old"],
    )
    assert_error(api.put(url, json={"type": "co2", "labels": {}}), 400)


def test_emulator_needs_project_developer(server: ServerProcess, dt: Any, project_id: str) -> None:
    user = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    developer = make_account(server, project_id, role=dt.Role.PROJECT_DEVELOPER)
    device = create_device(dt, project_id, "touch")

    with pytest.raises(dt.errors.Forbidden):
        dt.Emulator.create_device(project_id, "touch", labels={}, auth=user.auth)
    with pytest.raises(dt.errors.Forbidden):
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch(), auth=user.auth)
    with pytest.raises(dt.errors.Forbidden):
        dt.Emulator.delete_device(device.device_id, project_id, auth=user.auth)
    # a project user may still read devices and history
    assert dt.Device.get_device(device.device_id, project_id, auth=user.auth).device_id
    assert dt.EventHistory.list_events(device.device_id, project_id, auth=user.auth) == []

    created = dt.Emulator.create_device(project_id, "touch", labels={}, auth=developer.auth)
    dt.Emulator.publish_event(created.device_id, project_id, dt.events.Touch(), auth=developer.auth)
    dt.Emulator.delete_device(created.device_id, project_id, auth=developer.auth)


def test_another_projects_member_sees_404(server: ServerProcess, dt: Any, project_id: str) -> None:
    device = create_device(dt, project_id, "touch")
    org = dt.Project.get_project(project_id).organization_id
    other = dt.Project.create_project(org, "other")
    outsider = make_account(server, other.project_id, role=dt.Role.PROJECT_ADMIN)
    with pytest.raises(dt.errors.NotFound):
        dt.Emulator.publish_event(
            device.device_id, project_id, dt.events.Touch(), auth=outsider.auth
        )
    with pytest.raises(dt.errors.NotFound):
        dt.Device.get_device(device.device_id, project_id, auth=outsider.auth)
    with pytest.raises(dt.errors.NotFound):
        dt.Device.get_device(device.device_id, auth=outsider.auth)  # wildcard project


def test_published_and_label_events_reach_a_data_connector(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    """End to end through the real server: publish and label changes enqueue pushes."""
    tls = tls_files(tmp_path)
    with Receiver(tls=tls.server) as receiver:
        fresh_server.extra_args = ["--ca-bundle", str(tls.ca_path)]
        server = fresh_server.start()
        api = server.session()
        project_id = api.get(f"{server.api}/projects").json()["projects"][0]["name"][9:]
        res = api.post(
            f"{server.api}/projects/{project_id}/dataconnectors",
            json={"type": "HTTP_PUSH", "labels": ["name"], "httpConfig": {"url": receiver.url}},
        )
        assert res.status_code == 200, res.text
        res = api.post(
            f"{server.api}/projects/{project_id}/devices",
            json={"type": "touch", "labels": {"name": "button", "secret": "x"}},
        )
        device_id = res.json()["name"].rsplit("/", 1)[-1]
        assert publish(api, server, project_id, device_id, {"touch": {}}).status_code == 200
        res = api.post(
            f"{server.api}/projects/{project_id}/devices:batchUpdate",
            json={
                "devices": [f"projects/{project_id}/devices/{device_id}"],
                "addLabels": {"name": "big button"},
            },
        )
        assert res.json() == {"batchErrors": []}
        pushes = sorted(
            (orjson.loads(r.body) for r in receiver.wait_for(2)),
            key=lambda p: p["event"]["timestamp"],
        )
        stored = history(api, server, project_id, device_id)
    assert [p["event"] for p in pushes] == stored, "pushes carry exactly the stored events"
    assert [p["event"]["eventType"] for p in pushes] == ["touch", "labelsChanged"]
    assert [p["labels"] for p in pushes] == [{"name": "button"}, {"name": "big button"}]
    assert pushes[0]["metadata"] == {
        "deviceId": device_id,
        "projectId": project_id,
        "deviceType": "touch",
        "productNumber": "",
    }
