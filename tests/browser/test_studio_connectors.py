"""Studio's Data Connector pages in a real browser, against a real server and a real receiver.

Each test works in a project of its own (`studio_support.fresh_project`). Controls are found by
their role and label, as a screen reader finds them; what a page did is checked through the API.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import requests
from playwright.sync_api import Page, expect

from conduit.receiver import verify_push
from tests.browser.conftest import Api, Shot, Studio, open_view, unique
from tests.harness.receivers import Received, Receiver, always


def open_connector(page: Page, project: str, connector_id: str, name: str) -> None:
    open_view(page, project, f"dataconnectors/{connector_id}")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def update(page: Page) -> None:
    page.get_by_role("button", name="Update Data Connector").click()
    expect(page.get_by_role("status")).to_have_text("Data Connector updated.")


def events_of(requests_: list[Received], secret: str) -> list[dict[str, Any]]:
    """Every push verified with the connector's secret (raises on a bad signature), as events."""
    return [verify_push(r.headers, r.body, secret).event for r in requests_]


# ---- tests ---------------------------------------------------------------------------------------


def test_studio_is_served_with_a_strict_policy_and_nothing_outside_its_assets(
    studio: Studio,
) -> None:
    base = studio.server.url
    moved = requests.get(f"{base}/", allow_redirects=False, timeout=10)
    assert (moved.status_code, moved.headers["location"]) == (307, "/studio")
    for path in ("/studio", "/studio/", "/studio/assets/js/app.js", "/studio/assets/studio.css"):
        answer = requests.get(f"{base}{path}", timeout=10)
        assert answer.status_code == 200, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-cache"
    assert (
        requests.get(f"{base}/studio/assets/js/app.js", timeout=10)
        .headers["content-type"]
        .startswith("text/javascript")
    )
    for path in ("/studio/assets/nope.js", "/studio/assets/%2e%2e/routes.py", "/studio/assets/js"):
        missing = requests.get(f"{base}{path}", timeout=10)
        assert missing.status_code == 404, path
        assert missing.json()["code"] == 404
        assert missing.headers["x-content-type-options"] == "nosniff"


def test_sign_in_refuses_a_wrong_password_then_opens_studio(
    page: Page, studio: Studio, shot: Shot
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/studio#/signin$"))
    shot(page, "signin")
    page.get_by_label("Email").fill(studio.admin_email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")

    page.get_by_label("Password").fill(studio.admin_password)
    page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation", name="Studio")
    expect(nav.get_by_role("link", name="Data Connectors")).to_be_visible()
    expect(page.get_by_role("heading", name="Data Connectors", level=1)).to_be_visible()
    expect(page.get_by_text(studio.admin_email)).to_be_visible()


def test_a_connector_made_in_the_form_gets_signed_pushes_from_the_emulator(
    studio_page: Page, project: str, api: Api, receiver: Receiver, shot: Shot
) -> None:
    page = studio_page
    name = unique("orders")
    secret = secrets.token_urlsafe(24)

    open_view(page, project, "dataconnectors")
    expect(page.get_by_text("No Data Connectors yet.")).to_be_visible()
    page.get_by_role("button", name="Add Data Connector").click()
    expect(page.get_by_role("heading", name="Add Data Connector", level=1)).to_be_visible()
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Signature secret").fill(secret)
    expect(page.get_by_role("switch", name="Data Connector enabled")).to_be_checked()
    expect(page.get_by_role("switch", name="Forward All Events")).to_be_checked()
    shot(page, "dataconnector-new")
    page.get_by_role("button", name="Create Data Connector").click()
    expect(page.get_by_role("status")).to_have_text("Data Connector created.")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()

    (connector,) = api.connectors()
    assert connector["displayName"] == name
    assert connector["status"] == "ACTIVE"
    assert connector["httpConfig"]["url"] == receiver.url
    assert connector["httpConfig"]["signatureSecret"] == secret
    connector_id = connector["name"].split("/")[-1]

    # Publish from the Emulator page: a one-click touch, then a temperature from the form.
    open_view(page, project, "emulator")
    page.get_by_label("Device type").select_option("temperature")
    page.get_by_label("Display name").fill("Fridge")
    page.get_by_role("button", name="Create device").click()
    page.get_by_role("button", name="Touch Fridge").click()
    expect(page.get_by_role("status")).to_have_text("Published a touch event from “Fridge”.")
    (touch,) = events_of(receiver.wait_for(1), secret)
    assert touch["eventType"] == "touch"

    page.get_by_label("Event type").select_option("temperature")
    page.get_by_label("Value").fill("4.5")
    page.get_by_role("button", name="Publish event").click()
    expect(page.get_by_role("status")).to_have_text("Published a temperature event from “Fridge”.")
    pushes = events_of(receiver.wait_for(2), secret)
    temperature = pushes[1]
    assert temperature["eventType"] == "temperature"
    assert temperature["data"]["temperature"]["value"] == 4.5
    assert {p["targetName"] for p in pushes} == {touch["targetName"]}

    # Both deliveries show in the connector's activity overview.
    open_connector(page, project, connector_id, name)
    attempts = page.get_by_role("table", name="Recent attempts")
    for event in pushes:
        expect(attempts.get_by_role("row").filter(has_text=event["eventId"])).to_contain_text("200")
    overview = page.get_by_role("region", name="Connection Status and Activity Overview")
    expect(overview).to_contain_text("Active")
    expect(overview.get_by_role("img")).to_have_accessible_name(re.compile("Successes and errors"))
    shot(page, "dataconnector")

    open_view(page, project, "dataconnectors")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(receiver.url)
    expect(row.get_by_role("cell").nth(2)).to_have_text("2")  # successes (after the URL cell)
    shot(page, "dataconnectors")


def test_the_enabled_switch_turns_a_connector_off_and_on(
    studio_page: Page, project: str, api: Api, receiver: Receiver
) -> None:
    page = studio_page
    name = unique("switch")
    connector_id = api.create_connector(name, receiver.url)
    open_connector(page, project, connector_id, name)

    switch = page.get_by_role("switch", name="Data Connector enabled")
    switch.uncheck()
    update(page)
    assert api.connector(connector_id)["status"] == "USER_DISABLED"
    expect(page.get_by_role("switch", name="Data Connector enabled")).not_to_be_checked()
    expect(
        page.get_by_role("region", name="Connection Status and Activity Overview")
    ).to_contain_text("Disabled")

    page.get_by_role("switch", name="Data Connector enabled").check()
    update(page)
    assert api.connector(connector_id)["status"] == "ACTIVE"
    expect(page.get_by_role("switch", name="Data Connector enabled")).to_be_checked()


def test_payload_configuration_and_the_secret_are_saved_as_entered(
    studio_page: Page, project: str, api: Api, receiver: Receiver
) -> None:
    page = studio_page
    name = unique("payload")
    connector_id = api.create_connector(
        name, receiver.url, httpConfig={"url": receiver.url, "signatureSecret": "first-secret"}
    )
    open_connector(page, project, connector_id, name)

    page.get_by_role("switch", name="Forward All Events").uncheck()
    events = page.get_by_role("group", name="Event types to forward")
    events.get_by_label("temperature", exact=True).check()
    events.get_by_label("touch", exact=True).check()
    page.get_by_role("button", name="Add label key").click()
    page.get_by_label("Label key 1", exact=True).fill("room")
    page.get_by_role("button", name="Add label key").click()
    page.get_by_label("Label key 2", exact=True).fill("floor")
    page.get_by_role("button", name="Add header").click()
    page.get_by_label("Header name 1", exact=True).fill("X-Api-Key")
    page.get_by_label("Header value 1", exact=True).fill("k-123")
    update(page)  # the secret field left empty: the secret stays

    saved = api.connector(connector_id)
    assert saved["events"] == ["temperature", "touch"] or saved["events"] == [
        "touch",
        "temperature",
    ]
    assert saved["labels"] == ["room", "floor"]
    assert saved["httpConfig"]["headers"] == {"X-Api-Key": "k-123"}
    assert saved["httpConfig"]["signatureSecret"] == "first-secret"

    # The page shows what was saved; remove a label key and replace the secret.
    expect(page.get_by_role("switch", name="Forward All Events")).not_to_be_checked()
    expect(page.get_by_label("Label key 2", exact=True)).to_have_value("floor")
    page.get_by_role("button", name="Remove label key 1").click()
    expect(page.get_by_label("Label key 1", exact=True)).to_have_value("floor")
    page.get_by_label("Signature secret").fill("second-secret")
    update(page)
    saved = api.connector(connector_id)
    assert saved["labels"] == ["floor"]
    assert saved["httpConfig"]["signatureSecret"] == "second-secret"

    # Removing the secret is a separate, explicit choice; so is going back to all events.
    page.get_by_label("Remove the secret").check()
    page.get_by_role("switch", name="Forward All Events").check()
    page.get_by_role("button", name="Remove header 1").click()
    update(page)
    saved = api.connector(connector_id)
    assert saved["httpConfig"]["signatureSecret"] == ""
    assert saved["events"] == []
    assert saved["httpConfig"]["headers"] == {}


def test_a_connector_the_system_disabled_says_why_and_can_be_enabled_again(
    studio_page: Page, project: str, api: Api
) -> None:
    page = studio_page
    name = unique("gone")
    with Receiver(always(410)) as gone:
        connector_id = api.create_connector(name, gone.url, disableOnGone=True)
        device = api.emulated_device("touch", unique("gone-device"))
        open_connector(page, project, connector_id, name)
        api.publish(device, {"touch": {}})
        gone.wait_for(1)
        # The open page notices the change by itself.
        overview = page.get_by_role("region", name="Connection Status and Activity Overview")
        expect(overview).to_contain_text("Disabled by the system", timeout=15_000)
        expect(overview).to_contain_text("410 Gone")
    assert api.connector(connector_id)["status"] == "SYSTEM_DISABLED"

    open_view(page, project, "dataconnectors")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_contain_text("Disabled by the system")
    expect(row).to_contain_text("410 Gone")

    open_connector(page, project, connector_id, name)
    switch = page.get_by_role("switch", name="Data Connector enabled")
    expect(switch).not_to_be_checked()
    expect(page.get_by_text("The system disabled this Data Connector.")).to_be_visible()
    update(page)  # nothing changed: the status stays as the system set it
    assert api.connector(connector_id)["status"] == "SYSTEM_DISABLED"
    page.get_by_role("switch", name="Data Connector enabled").check()
    update(page)
    assert api.connector(connector_id)["status"] == "ACTIVE"


def test_synchronize_sends_the_latest_event_of_each_type_again(
    studio_page: Page, project: str, api: Api, receiver: Receiver
) -> None:
    page = studio_page
    device = api.emulated_device("temperature", unique("sync-device"))
    api.publish(device, {"temperature": {"value": 1.0}})
    api.publish(device, {"temperature": {"value": 2.0}})
    api.publish(device, {"touch": {}})
    name = unique("sync")
    secret = secrets.token_urlsafe(32)
    connector_id = api.create_connector(
        name, receiver.url, httpConfig={"url": receiver.url, "signatureSecret": secret}
    )
    open_connector(page, project, connector_id, name)
    assert receiver.count() == 0  # made after the events: it got none of them

    page.get_by_role("button", name="Synchronize Data Connector").click()
    expect(page.get_by_role("status")).to_contain_text("Synchronization started")
    pushes = events_of(receiver.wait_for(2), secret)
    assert sorted(p["eventType"] for p in pushes) == ["temperature", "touch"]
    temperature = next(p for p in pushes if p["eventType"] == "temperature")
    assert temperature["data"]["temperature"]["value"] == 2.0  # the latest one
    attempts = page.get_by_role("table", name="Recent attempts")
    expect(attempts.get_by_role("row").filter(has_text=temperature["eventId"])).to_be_visible(
        timeout=15_000
    )


def test_invalid_input_shows_next_to_its_field_and_changes_nothing(
    studio_page: Page, project: str, api: Api, receiver: Receiver
) -> None:
    page = studio_page
    name = unique("invalid")
    connector_id = api.create_connector(name, receiver.url)
    before = api.connector(connector_id)
    open_connector(page, project, connector_id, name)

    url = page.get_by_label("Endpoint URL")
    url.fill("ftp://x")
    page.get_by_role("button", name="Update Data Connector").click()
    expect(url).to_have_accessible_description(re.compile("httpConfig.url must be an https:// URL"))
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_value("ftp://x")  # the user's input stays to be corrected
    assert api.connector(connector_id) == before

    url.fill(receiver.url)
    page.get_by_role("button", name="Add header").click()
    page.get_by_label("Header name 1", exact=True).fill("Host")
    page.get_by_label("Header value 1", exact=True).fill("evil.example")
    page.get_by_role("button", name="Update Data Connector").click()
    expect(page.get_by_label("Header name 1", exact=True)).to_have_accessible_description(
        re.compile("'Host' is set by Conduit and cannot be overridden")
    )
    expect(page.get_by_role("group", name="Custom headers")).to_have_accessible_description(
        re.compile("'Host'")
    )
    expect(url).not_to_have_attribute("aria-invalid", "true")  # the earlier error is gone
    expect(page.get_by_label("Header value 1", exact=True)).to_have_value("evil.example")
    assert api.connector(connector_id) == before

    # A new connector with a URL that is no URL at all is not created.
    open_view(page, project, "dataconnectors/new")
    page.get_by_label("Display name").fill(unique("never"))
    page.get_by_label("Endpoint URL").fill("not a url")
    page.get_by_role("button", name="Create Data Connector").click()
    expect(page.get_by_label("Endpoint URL")).to_have_accessible_description(
        re.compile("httpConfig.url")
    )
    expect(page.locator(".field-error").filter(has_text="httpConfig.url")).to_be_visible()
    assert [c["displayName"] for c in api.connectors()] == [name]


def test_delete_asks_for_confirmation_first(
    studio_page: Page, project: str, api: Api, receiver: Receiver
) -> None:
    page = studio_page
    name = unique("delete")
    connector_id = api.create_connector(name, receiver.url)
    open_connector(page, project, connector_id, name)

    page.get_by_role("button", name="Delete Data Connector").click()
    dialog = page.get_by_role("dialog", name="Delete Data Connector?")
    expect(dialog).to_contain_text(name)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert api.connector(connector_id)["displayName"] == name

    page.get_by_role("button", name="Delete Data Connector").click()
    page.get_by_role("dialog", name="Delete Data Connector?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.get_by_role("heading", name="Data Connectors", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(f"Data Connector “{name}” deleted.")
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    assert api.connectors() == []


def test_names_from_the_api_are_text_never_markup(
    studio_page: Page, project: str, api: Api, receiver: Receiver
) -> None:
    """A display name is text: markup in it is shown, never run or parsed."""
    page = studio_page
    name = '<img src=x onerror="document.title=1">'
    connector_id = api.create_connector(name, receiver.url)
    open_view(page, project, "dataconnectors")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    open_connector(page, project, connector_id, name)
    assert page.locator("img").count() == 0
    assert page.title() == "Conduit Studio"  # the handler never ran
