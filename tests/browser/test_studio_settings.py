"""Studio's Project settings in a real browser: a service account and key made in the page (the
secret, shown once, then works against the API) and members added, changed and removed, each
checked through the REST API."""

from __future__ import annotations

import re
from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Api,
    Shot,
    Studio,
    open_view,
    sign_in,
    unique,
)
from tests.harness.users import add_user


def member(api: Api, email: str) -> dict[str, Any] | None:
    members: list[dict[str, Any]] = api.get("members")["members"]
    return next((m for m in members if m["email"] == email), None)


def test_a_new_key_s_secret_is_shown_once_and_works_once_its_account_is_a_member(
    studio_page: Page, studio: Studio, project: str, api: Api, shot: Shot
) -> None:
    page = studio_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    name = unique("ci-robot")
    devices_url = f"{studio.server.api}/projects/{project}/devices"

    open_view(page, project, "settings")
    expect(page.get_by_role("heading", name="Project settings", level=1)).to_be_visible()
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Allow Basic Auth").check()
    page.get_by_role("button", name="Create service account").click()
    expect(page.get_by_role("status")).to_have_text(f"Service account {name} created.")
    account = next(
        a for a in api.get("serviceaccounts")["serviceAccounts"] if a["displayName"] == name
    )
    assert account["enableBasicAuth"] is True
    card = page.get_by_role("region", name=name)
    expect(card).to_contain_text(account["email"])
    expect(card).to_contain_text("No keys.")

    card.get_by_role("button", name="Create key").click()
    secret_field = page.get_by_label("Secret", exact=True)
    expect(secret_field).to_have_attribute("readonly", "")
    secret = secret_field.input_value()
    key_id = page.get_by_label("Key ID").input_value()
    assert secret and key_id
    expect(card.get_by_role("table", name=f"Keys of {name}")).to_contain_text(key_id)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status")).to_have_text("Secret copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # The key authenticates, but the account has no role yet: nothing in the project is visible.
    credentials = (key_id, secret)
    assert requests.get(devices_url, auth=credentials, timeout=10).status_code in (403, 404)

    # Added as a member with a role, in the page: now the key reads the project's devices.
    page.get_by_label("Email", exact=True).fill(account["email"])
    page.get_by_label("Role", exact=True).select_option(label="Project developer")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text(f"{account['email']} added.")
    found = member(api, account["email"])
    assert found is not None
    assert found["roles"] == ["roles/project.developer"]
    assert found["accountType"] == "SERVICE_ACCOUNT"
    assert requests.get(devices_url, auth=credentials, timeout=10).status_code == 200
    row = page.get_by_role("row").filter(has_text=account["email"])
    expect(row).to_contain_text("Service account")
    expect(row).to_contain_text("Active")
    shot(page, "settings")

    # The secret is gone once dismissed, and never comes back.
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_label("Secret", exact=True)).to_have_count(0)
    page.reload()
    expect(page.get_by_role("region", name=name)).to_contain_text(key_id)
    expect(page.get_by_label("Secret", exact=True)).to_have_count(0)
    assert secret not in page.content()

    # Deleting the key (after confirming) ends its access at once.
    card = page.get_by_role("region", name=name)
    card.get_by_role("button", name=f"Delete key {key_id}").click()
    dialog = page.get_by_role("dialog", name="Delete key?")
    dialog.get_by_role("button", name="Delete key").click()
    expect(page.get_by_role("status")).to_have_text(f"Key {key_id} deleted.")
    assert requests.get(devices_url, auth=credentials, timeout=10).status_code == 401

    # And the account itself, with its membership.
    card.get_by_role("button", name="Delete service account").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete service account").click()
    expect(page.get_by_role("status")).to_have_text(f"Service account {name} deleted.")
    assert all(a["displayName"] != name for a in api.get("serviceaccounts")["serviceAccounts"])
    assert member(api, account["email"]) is None


def test_members_are_added_changed_and_removed(studio_page: Page, project: str, api: Api) -> None:
    page = studio_page
    email = f"{unique('someone')}@example.com"
    open_view(page, project, "settings")

    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option(label="Project user")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text(f"{email} added.")
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("User")
    expect(row).to_contain_text("Pending")  # no user with this email yet
    found = member(api, email)
    assert found is not None and found["roles"] == ["roles/project.user"]

    page.get_by_label(f"Role of {email}").select_option(label="Project admin")
    expect(page.get_by_role("status")).to_have_text(f"{email} is now Project admin.")
    found = member(api, email)
    assert found is not None and found["roles"] == ["roles/project.admin"]

    # A refused address is shown next to its field, and nothing is added.
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_label("Email", exact=True)).to_have_attribute("aria-invalid", "true")
    assert member(api, "not-an-email") is None

    page.get_by_role("button", name=f"Remove {email}").click()
    dialog = page.get_by_role("dialog", name="Remove member?")
    expect(dialog).to_contain_text(email)
    dialog.get_by_role("button", name="Cancel").click()
    assert member(api, email) is not None
    page.get_by_role("button", name=f"Remove {email}").click()
    page.get_by_role("dialog", name="Remove member?").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text(f"{email} removed.")
    expect(page.get_by_role("row").filter(has_text=email)).to_have_count(0)
    assert member(api, email) is None


def test_a_project_user_sees_accounts_and_members_without_controls(
    page: Page, studio: Studio, project: str, api: Api
) -> None:
    name = unique("reader-robot")
    api.post("serviceaccounts", {"displayName": name})
    email, password = add_user(studio.server, "project.user", project)
    sign_in(page, email, password)
    open_view(page, project, "settings")
    expect(page.get_by_role("region", name=name)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=email)).to_contain_text("Project user")
    for button in ("Create service account", "Create key", "Delete service account", "Add member"):
        expect(page.get_by_role("button", name=button)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
    expect(page.get_by_role("combobox")).to_have_count(1)  # only the project picker
