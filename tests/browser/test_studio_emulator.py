"""Studio's Emulator page in a real browser: emulated devices made, touched, published from and
deleted through the page, and what the server then holds checked through the REST API."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, Shot, Studio, open_view, sign_in, unique
from tests.harness.users import add_user


def create_device(page: Page, device_type: str, name: str = "") -> None:
    page.get_by_label("Device type").select_option(device_type)
    page.get_by_label("Display name").fill(name)
    page.get_by_role("button", name="Create device").click()
    expect(page.get_by_role("status")).to_contain_text(f"Created the emulated {device_type} device")


def device_ids(api: Api) -> dict[str, str]:
    """Emulated devices of the project: display name (or id) → id."""
    devices = api.get("devices")["devices"]
    return {
        d["labels"].get("name") or d["name"].split("/")[-1]: d["name"].split("/")[-1]
        for d in devices
    }


def test_create_touch_publish_and_delete_emulated_devices(
    studio_page: Page, project: str, api: Api, shot: Shot
) -> None:
    page = studio_page
    door = unique("Door")
    open_view(page, project, "emulator")
    expect(page.get_by_role("heading", name="Emulator", level=1)).to_be_visible()
    expect(page.get_by_text("No emulated devices yet.")).to_be_visible()

    create_device(page, "touch", door)
    create_device(page, "ccon")  # no display name: shown by its id
    ids = device_ids(api)
    assert set(ids) >= {door}
    door_id = ids[door]
    (gateway_id,) = (i for n, i in ids.items() if n != door)
    door_device = api.get(f"devices/{door_id}")
    assert door_device["type"] == "touch"
    assert door_device["labels"] == {"name": door, "virtual-sensor": ""}

    table = page.get_by_role("table", name="Emulated devices")
    expect(table.get_by_role("row").filter(has_text=gateway_id)).to_contain_text("ccon")
    # A Cloud Connector reports no touch events: no Touch button for it.
    expect(table.get_by_role("button", name=gateway_id)).to_have_count(1)  # only Delete
    expect(table.get_by_role("button", name=f"Touch {gateway_id}")).to_have_count(0)

    page.get_by_role("button", name=f"Touch {door}").click()
    expect(page.get_by_role("status")).to_have_text(f"Published a touch event from “{door}”.")
    (event,) = api.get(f"devices/{door_id}/events")["events"]
    assert event["eventType"] == "touch"

    # The form offers only what the chosen device reports, with its data fields.
    page.get_by_label("Device", exact=True).select_option(gateway_id)
    options = page.get_by_label("Event type").locator("option")
    expect(options).to_have_text(["connectionStatus", "ethernetStatus", "cellularStatus"])
    page.get_by_label("Event type").select_option("connectionStatus")
    page.get_by_label("Connection").select_option("ETHERNET")
    page.get_by_role("button", name="Publish event").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Published a connectionStatus event from “{gateway_id}”."
    )
    gateway = api.get(f"devices/{gateway_id}")
    assert gateway["reported"]["connectionStatus"]["connection"] == "ETHERNET"
    shot(page, "emulator")

    page.get_by_role("button", name=f"Delete {door}").click()
    dialog = page.get_by_role("dialog", name="Delete emulated device?")
    expect(dialog).to_contain_text(door)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert door in device_ids(api)

    page.get_by_role("button", name=f"Delete {door}").click()
    page.get_by_role("dialog", name="Delete emulated device?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.get_by_role("status")).to_have_text(f"Deleted the emulated device “{door}”.")
    expect(page.get_by_role("button", name=f"Touch {door}")).to_have_count(0)
    assert set(device_ids(api)) == {gateway_id}


def test_a_refused_value_shows_next_to_its_data_field(
    studio_page: Page, project: str, api: Api
) -> None:
    page = studio_page
    name = unique("Greenhouse")
    open_view(page, project, "emulator")
    create_device(page, "humidity", name)
    device_id = device_ids(api)[name]

    page.get_by_label("Event type").select_option("humidity")
    humidity = page.get_by_label("Relative humidity")
    page.get_by_label("Temperature").fill("24")
    humidity.fill("150")
    page.get_by_role("button", name="Publish event").click()
    expect(humidity).to_have_accessible_description(
        re.compile("relativeHumidity must be between 0 and 100")
    )
    expect(humidity).to_have_value("150")
    assert api.get(f"devices/{device_id}/events")["events"] == []

    humidity.fill("55")
    page.get_by_role("button", name="Publish event").click()
    expect(page.get_by_role("status")).to_have_text(f"Published a humidity event from “{name}”.")
    expect(humidity).not_to_have_attribute("aria-invalid", "true")
    reported = api.get(f"devices/{device_id}")["reported"]["humidity"]
    assert (reported["temperature"], reported["relativeHumidity"]) == (24, 55)


def test_a_project_user_sees_emulated_devices_without_controls(
    page: Page, studio: Studio, project: str, api: Api
) -> None:
    name = unique("Shelf")
    api.emulated_device("touch", name)
    email, password = add_user(studio.server, "project.user", project)
    sign_in(page, email, password)
    open_view(page, project, "emulator")
    expect(page.get_by_role("table", name="Emulated devices")).to_contain_text(name)
    expect(page.get_by_text("can view emulated devices but not change them")).to_be_visible()
    expect(page.get_by_role("button")).to_have_text(["Sign out"])  # nothing else to press
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_role("combobox")).to_have_count(1)  # the project selector
