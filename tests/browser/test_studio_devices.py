"""Studio's Devices pages in a real browser: the list kept current by the event stream, and a
device's page with its labels (edited through the page, checked through the REST API) and its event
history as a table and a chart."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from conduit.domain.times import rfc3339
from tests.browser.conftest import (
    Api,
    Shot,
    Studio,
    open_view,
    sign_in,
    unique,
)
from tests.harness.users import add_user


def device_id(device: dict[str, object]) -> str:
    return str(device["name"]).split("/")[-1]


def test_the_device_list_updates_live_from_the_event_stream(
    studio_page: Page, project: str, api: Api, shot: Shot
) -> None:
    page = studio_page
    name = unique("Cold room")
    fridge = device_id(
        api.post("devices", {"type": "temperature", "labels": {"name": name, "site": "north"}})
    )
    door = device_id(api.post("devices", {"type": "contact", "labels": {}}))  # no name: its id
    api.publish(fridge, {"temperature": {"value": 4.25}})

    open_view(page, project, "devices")
    expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    fridge_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(fridge_row).to_contain_text("Temperature")
    expect(fridge_row).to_contain_text("site: north")
    expect(fridge_row).to_contain_text("4.25 °C")
    door_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=door))
    expect(door_row).to_contain_text("Nothing reported yet")
    expect(page.get_by_text("Live updates: on")).to_be_visible()

    # Published through the API while the page is open: the rows change, the page is not reloaded.
    page.evaluate("window.sameDocument = true")
    api.publish(fridge, {"temperature": {"value": 21.5}})
    api.publish(door, {"contact": {"state": "OPEN"}})
    expect(fridge_row).to_contain_text("21.5 °C")
    expect(fridge_row).not_to_contain_text("4.25 °C")
    expect(door_row).to_contain_text("Contact: Open")
    api.post(
        "devices:batchUpdate",
        {"devices": [f"projects/{project}/devices/{door}"], "addLabels": {"name": "Back door"}},
    )
    expect(page.get_by_role("link", name="Back door")).to_be_visible()
    # A device made while the page is open shows up too.
    late = unique("Late sensor")
    late_id = device_id(api.post("devices", {"type": "humidity", "labels": {"name": late}}))
    api.publish(late_id, {"humidity": {"temperature": 20, "relativeHumidity": 45}})
    late_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=late))
    expect(late_row).to_contain_text("45 %")
    assert page.evaluate("window.sameDocument") is True
    shot(page, "devices")

    fridge_row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_the_device_page_edits_labels_and_charts_the_history(
    studio_page: Page, project: str, api: Api, shot: Shot
) -> None:
    page = studio_page
    name = unique("Freezer")
    fridge = device_id(
        api.post(
            "devices",
            {"type": "temperature", "labels": {"name": name, "description": "By the dock"}},
        )
    )
    now = time.time()
    for minutes_ago, value in ((50, -18.5), (30, -17.25), (10, -19)):
        measured = rfc3339(now - minutes_ago * 60)
        api.publish(fridge, {"temperature": {"value": value, "updateTime": measured}})

    open_view(page, project, f"devices/{fridge}")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_text("By the dock")).to_be_visible()

    # History: a row per event (newest first) and a line through the three values.
    history = page.get_by_role("table", name="Events, newest first")
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("-19 °C")
    expect(rows.nth(1)).to_contain_text("-17.25 °C")
    expect(rows.nth(2)).to_contain_text("-18.5 °C")
    chart = page.get_by_role("img", name=re.compile(r"^Temperature \(°C\), last hour"))
    expect(chart).to_be_visible()
    expect(chart.locator("polyline")).to_have_attribute(
        "points", re.compile(r"^(\S+,\S+ ){2}\S+,\S+$")
    )
    page.get_by_label("Time range").select_option(label="Last 7 days")
    chart = page.get_by_role("img", name=re.compile(r"^Temperature \(°C\), last 7 days"))
    expect(chart).to_be_visible()
    expect(rows).to_have_count(3)

    # A new event arrives on the open page: in the table, the chart and the latest values.
    page.get_by_text("Live updates: on").wait_for()
    api.publish(fridge, {"temperature": {"value": -16}})
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("-16 °C")
    expect(chart.locator("polyline")).to_have_attribute(
        "points", re.compile(r"^(\S+,\S+ ){3}\S+,\S+$")
    )
    latest = page.get_by_role("region", name="Latest values")
    expect(latest).to_contain_text("Temperature: -16 °C")

    # Labels: add, edit (the display name too), remove; each change is the device's through the API.
    status = page.get_by_role("status")
    page.get_by_label("Label key").fill("site")
    page.get_by_label("Label value").fill("north")
    page.get_by_role("button", name="Add label").click()
    expect(status).to_have_text("Label site added.")
    assert api.get(f"devices/{fridge}")["labels"]["site"] == "north"

    page.get_by_label("Value of label site").fill("south")
    page.get_by_role("button", name="Save label site").click()
    expect(status).to_have_text("Label site saved.")
    assert api.get(f"devices/{fridge}")["labels"]["site"] == "south"

    renamed = unique("Blast freezer")
    page.get_by_label("Value of label name").fill(renamed)
    page.get_by_role("button", name="Save label name").click()
    expect(page.get_by_role("heading", name=renamed, level=1)).to_be_visible()
    assert api.get(f"devices/{fridge}")["labels"]["name"] == renamed

    page.get_by_role("button", name="Remove label site").click()
    expect(status).to_have_text("Label site removed.")
    expect(page.get_by_label("Value of label site")).to_have_count(0)
    assert "site" not in api.get(f"devices/{fridge}")["labels"]

    # The label changes are events of the device too.
    page.get_by_label("Event type").select_option(label="Labels changed")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("removed site")
    page.get_by_label("Event type").select_option(label="All event types")
    page.get_by_label("Time range").select_option(label="Last hour")
    expect(
        page.get_by_role("img", name=re.compile(r"^Temperature \(°C\), last hour"))
    ).to_be_visible()
    expect(rows).to_have_count(8)
    shot(page, "device")


def test_a_bad_label_key_is_refused_next_to_the_field(
    studio_page: Page, project: str, api: Api
) -> None:
    page = studio_page
    fridge = device_id(api.post("devices", {"type": "touch", "labels": {"name": unique("Desk")}}))
    open_view(page, project, f"devices/{fridge}")
    key = page.get_by_label("Label key")
    key.fill("not a valid key!")
    page.get_by_role("button", name="Add label").click()
    error = page.locator(".field-error").filter(has_text=re.compile(".+"))
    expect(error).to_be_visible()
    expect(key).to_have_attribute("aria-invalid", "true")
    assert set(api.get(f"devices/{fridge}")["labels"]) == {"name", "virtual-sensor"}


def test_a_project_user_sees_the_device_without_label_controls(
    page: Page, studio: Studio, project: str, api: Api
) -> None:
    name = unique("Shelf")
    shelf = device_id(api.post("devices", {"type": "humidity", "labels": {"name": name}}))
    email, password = add_user(studio.server, "project.user", project)
    sign_in(page, email, password)
    open_view(page, project, f"devices/{shelf}")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    labels = page.get_by_role("region", name="Labels")
    expect(labels).to_contain_text(name)
    expect(labels.get_by_role("textbox")).to_have_count(0)
    expect(labels.get_by_role("button")).to_have_count(0)
    # Reading is allowed: the history, and live events on this user's own session.
    page.get_by_text("Live updates: on").wait_for()
    api.publish(shelf, {"humidity": {"temperature": 21, "relativeHumidity": 55.5}})
    expect(page.get_by_role("region", name="Latest values")).to_contain_text("55.5 % (21 °C)")
    expect(page.get_by_role("img", name=re.compile(r"^Relative humidity \(%\)"))).to_be_visible()
