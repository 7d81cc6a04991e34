"""The devices resource through the official client: list filters, ordering, labels, transfer."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.harness.accounts import make_account
from tests.harness.events import create_device, history
from tests.harness.server import ServerProcess
from tests.harness.wire import assert_error


def ids(devices: list[Any]) -> list[str]:
    return [d.device_id for d in devices]


@pytest.fixture
def fleet(dt: Any, project_id: str) -> dict[str, Any]:
    """Four devices with distinct types, labels and reported temperatures."""
    fridge = create_device(dt, project_id, "temperature", name="fridge", room="kitchen")
    freezer = create_device(dt, project_id, "temperature", name="freezer", room="kitchen")
    oven = create_device(dt, project_id, "temperature", name="oven", room="bakery")
    button = create_device(dt, project_id, "touch", name="button", floor="2")
    for device, celsius in ((fridge, 4.0), (freezer, -18.0), (oven, 180.0)):
        dt.Emulator.publish_event(
            device.device_id, project_id, dt.events.Temperature(celsius=celsius)
        )
    return {"fridge": fridge, "freezer": freezer, "oven": oven, "button": button}


def test_list_filters(dt: Any, project_id: str, fleet: dict[str, Any]) -> None:
    everything = dt.Device.list_devices(project_id)
    assert sorted(ids(everything)) == sorted(d.device_id for d in fleet.values())

    def names(**filters: Any) -> set[str]:
        return {d.display_name for d in dt.Device.list_devices(project_id, **filters)}

    assert names(device_types=["touch"]) == {"button"}
    assert names(device_types=["touch", "temperature"]) == {"fridge", "freezer", "oven", "button"}
    assert names(label_filters={"room": "kitchen"}) == {"fridge", "freezer"}
    assert names(label_filters={"room": "kitchen", "name": "fridge"}) == {"fridge"}
    assert names(label_filters={"floor": ""}) == {"button"}, "a key alone matches any value"
    assert names(device_ids=[fleet["oven"].device_id, fleet["button"].device_id]) == {
        "oven",
        "button",
    }
    assert names(query="kitchen") == {"fridge", "freezer"}
    assert names(query="FRIDGE kitchen") == {"fridge"}
    assert names(query=fleet["oven"].device_id) == {"oven"}
    assert names(query="touch") == {"button"}
    assert names(query="nothing-like-this") == set()


def test_order_by(dt: Any, project_id: str, fleet: dict[str, Any]) -> None:
    def order(order_by: str) -> list[str]:
        return [d.display_name for d in dt.Device.list_devices(project_id, order_by=order_by)]

    # devices that never reported the value come last, whatever the direction
    assert order("reported.temperature.value") == ["freezer", "fridge", "oven", "button"]
    assert order("-reported.temperature.value") == ["oven", "fridge", "freezer", "button"]
    assert order("labels.name") == ["button", "freezer", "fridge", "oven"]
    assert order("-labels.name") == ["oven", "fridge", "freezer", "button"]
    assert order("type")[-1] == "button"


def test_bad_list_parameters_are_400(
    api: requests.Session, server: ServerProcess, project_id: str, fleet: dict[str, Any]
) -> None:
    url = f"{server.api}/projects/{project_id}/devices"
    for params in (
        {"order_by": "colour"},
        {"order_by": "reported"},
        {"device_types": "toaster"},
        {"label_filters": "bad key=1"},
        {"pageSize": "many"},
        {"pageToken": "not-a-token"},
    ):
        assert_error(api.get(url, params=params), 400)


def test_pagination(
    api: requests.Session, server: ServerProcess, project_id: str, fleet: dict[str, Any]
) -> None:
    url = f"{server.api}/projects/{project_id}/devices"
    seen: list[str] = []
    params: dict[str, Any] = {"pageSize": 3, "order_by": "labels.name"}
    pages = 0
    while True:
        body = api.get(url, params=params).json()
        pages += 1
        seen += [d["labels"]["name"] for d in body["devices"]]
        if not body["nextPageToken"]:
            break
        params["pageToken"] = body["nextPageToken"]
    assert pages == 2
    assert seen == ["button", "freezer", "fridge", "oven"]


def test_wildcard_project_lists_and_gets_across_projects(
    dt: Any, project_id: str, fleet: dict[str, Any]
) -> None:
    org = dt.Project.get_project(project_id).organization_id
    other = dt.Project.create_project(org, "second")
    elsewhere = create_device(dt, other.project_id, "co2", name="elsewhere")

    everywhere = ids(dt.Device.list_devices("-", organization_id=org))
    assert elsewhere.device_id in everywhere
    assert fleet["oven"].device_id in everywhere
    only_other = dt.Device.list_devices("-", organization_id=org, project_ids=[other.project_id])
    assert ids(only_other) == [elsewhere.device_id]

    found = dt.Device.get_device(elsewhere.device_id)  # project `-`
    assert found.project_id == other.project_id and found.display_name == "elsewhere"


def test_set_and_remove_labels_emit_labels_changed(dt: Any, project_id: str) -> None:
    device = create_device(dt, project_id, "touch", name="before")
    assert dt.Device.set_label(device.device_id, project_id, "room", "99") == []
    assert dt.Device.set_label(device.device_id, project_id, "name", "after") == []
    assert dt.Device.set_label(device.device_id, project_id, "name", "after") == []  # no change
    assert dt.Device.remove_label(device.device_id, project_id, "room") == []
    assert dt.Device.remove_label(device.device_id, project_id, "room") == []  # already gone

    fetched = dt.Device.get_device(device.device_id, project_id)
    assert fetched.labels == {"name": "after", "virtual-sensor": ""}
    assert fetched.display_name == "after"
    changes = dt.EventHistory.list_events(device.device_id, project_id)
    assert [(e.data.added, e.data.modified, e.data.removed) for e in changes] == [
        ({"room": "99"}, {}, []),
        ({}, {"name": "after"}, []),
        ({}, {}, ["room"]),
    ]
    assert all(e.event_type == "labelsChanged" for e in changes)


def test_batch_update_reports_per_device_errors(dt: Any, project_id: str) -> None:
    a = create_device(dt, project_id, "touch", name="a")
    full = create_device(dt, project_id, "touch", **{f"k{i}": "" for i in range(98)})
    assert len(full.labels) == 99  # 98 + virtual-sensor
    errors = dt.Device.batch_update_labels(
        [a.device_id, full.device_id, "emunosuchdevice000000000"],
        project_id,
        set_labels={"group": "red", "zone": "1"},
        remove_labels=["name"],
    )
    assert sorted((e.device_id, e.status_code) for e in errors) == sorted(
        [(full.device_id, "INVALID_ARGUMENT"), ("emunosuchdevice000000000", "NOT_FOUND")]
    )
    assert next(e for e in errors if e.device_id == full.device_id).message == (
        "Max labels reached for device."
    )
    assert dt.Device.get_device(a.device_id, project_id).labels == {
        "virtual-sensor": "",
        "group": "red",
        "zone": "1",
    }
    assert len(dt.Device.get_device(full.device_id, project_id).labels) == 99, "unchanged"
    assert dt.EventHistory.list_events(full.device_id, project_id) == []


def test_bad_batch_updates_are_400_and_change_nothing(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    device = create_device(dt, project_id, "touch", name="n")
    name = f"projects/{project_id}/devices/{device.device_id}"
    url = f"{server.api}/projects/{project_id}/devices:batchUpdate"
    for body in (
        {"devices": [name]},  # neither add nor remove
        {"devices": [name], "addLabels": {"bad key": "1"}},
        {"devices": [name], "addLabels": {"k": "v" * 1025}},
        {"devices": [name], "addLabels": {"k": 1}},
        {"devices": [name], "addLabels": {"k": "v"}, "removeLabels": ["k"]},
        {"devices": [name], "removeLabels": "name"},
        {"devices": [], "addLabels": {"k": "v"}},
        {"devices": "all", "addLabels": {"k": "v"}},
        {"devices": ["emuxyz"], "addLabels": {"k": "v"}},
        {"devices": [name], "addLabels": {"k": "v"}, "labels": {}},
    ):
        assert_error(api.post(url, json=body), 400)
    assert dt.Device.get_device(device.device_id, project_id).labels == {
        "name": "n",
        "virtual-sensor": "",
    }
    assert history(api, server, project_id, device.device_id) == []


def test_label_changes_need_device_update(server: ServerProcess, dt: Any, project_id: str) -> None:
    device = create_device(dt, project_id, "touch")
    user = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    with pytest.raises(dt.errors.Forbidden):
        dt.Device.set_label(device.device_id, project_id, "k", "v", auth=user.auth)
    assert dt.Device.list_devices(project_id, auth=user.auth)[0].device_id == device.device_id


def test_transfer_between_projects(
    api: requests.Session, server: ServerProcess, dt: Any, project_id: str
) -> None:
    org = dt.Project.get_project(project_id).organization_id
    target = dt.Project.create_project(org, "target").project_id
    moving = create_device(dt, project_id, "touch", name="moving")
    staying = create_device(dt, project_id, "touch", name="staying")
    dt.Emulator.publish_event(moving.device_id, project_id, dt.events.Touch())

    errors = dt.Device.transfer_devices(
        [moving.device_id, "emunosuchdevice000000000"], project_id, target
    )
    assert [(e.device_id, e.status_code) for e in errors] == [
        ("emunosuchdevice000000000", "NOT_FOUND")
    ]
    assert ids(dt.Device.list_devices(target)) == [moving.device_id]
    assert ids(dt.Device.list_devices(project_id)) == [staying.device_id]
    moved = dt.Device.get_device(moving.device_id, target)
    assert moved.project_id == target and moved.display_name == "moving"
    # its history moved with it; new events carry the new project in targetName
    dt.Emulator.publish_event(moving.device_id, target, dt.events.Touch())
    events = dt.EventHistory.list_events(moving.device_id, target)
    assert [e.project_id for e in events] == [project_id, target]

    res = api.post(
        f"{server.api}/projects/{target}/devices:transfer",
        json={"devices": [f"projects/{target}/devices/{moving.device_id}"]},
    )
    assert res.status_code == 200, res.text
    assert res.json() == {
        "transferredDevices": [f"projects/{target}/devices/{moving.device_id}"],
        "transferErrors": [],
    }, "transferring a device to where it already is is a no-op"


def test_transfer_needs_device_transfer_in_both_projects(
    server: ServerProcess, dt: Any, project_id: str
) -> None:
    org = dt.Project.get_project(project_id).organization_id
    target = dt.Project.create_project(org, "target").project_id
    device = create_device(dt, project_id, "touch")
    admin_of_target = make_account(server, target, role=dt.Role.PROJECT_ADMIN)
    dt.Project.add_member(project_id, admin_of_target.email, [dt.Role.PROJECT_DEVELOPER])

    errors = dt.Device.transfer_devices(
        [device.device_id], project_id, target, auth=admin_of_target.auth
    )
    assert [e.status_code for e in errors] == ["PERMISSION_DENIED"]
    assert dt.Device.get_device(device.device_id, project_id).project_id == project_id

    developer = make_account(server, project_id, role=dt.Role.PROJECT_DEVELOPER)
    dt.Project.add_member(target, developer.email, [dt.Role.PROJECT_DEVELOPER])
    with pytest.raises(dt.errors.Forbidden):
        dt.Device.transfer_devices([device.device_id], project_id, target, auth=developer.auth)


def test_unknown_devices_and_projects_are_404(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    assert_error(api.get(f"{server.api}/projects/{project_id}/devices/emunope"), 404)
    assert_error(api.get(f"{server.api}/projects/nosuchproject/devices"), 404)
    assert_error(api.get(f"{server.api}/projects/-/devices/emunope"), 404)


def test_page_size_defaults_to_and_is_capped_at_100(
    api: requests.Session, server: ServerProcess, project_id: str
) -> None:
    url = f"{server.api}/projects/{project_id}/devices"
    for n in range(105):
        res = api.post(url, json={"type": "touch", "labels": {"name": f"d{n:03}"}})
        assert res.status_code == 200, res.text
    for params in ({}, {"pageSize": 500}, {"page_size": 0}):
        first = api.get(url, params=params).json()
        assert len(first["devices"]) == 100, params
        assert first["nextPageToken"], params
        rest = api.get(url, params={"pageToken": first["nextPageToken"]}).json()
        assert len(rest["devices"]) == 5 and rest["nextPageToken"] == ""
        names = {d["name"] for d in first["devices"]} | {d["name"] for d in rest["devices"]}
        assert len(names) == 105, "no device on two pages, none missed"
