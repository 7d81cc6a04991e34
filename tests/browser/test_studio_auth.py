"""Signing in to Studio in a real browser: the form, wrong passwords, CSRF, expiry, sign-out, and
what a Project User is (not) offered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import Studio, sign_in
from tests.harness.stored import arrange
from tests.harness.users import add_user


def test_a_wrong_password_is_refused_on_the_form(
    page: Page, studio: Studio, shot: Callable[[Page, str], Path]
) -> None:
    page.goto("/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shot(page, "signin")
    page.get_by_label("Email").fill(studio.admin_email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert not [c for c in page.context.cookies() if c["name"] == "conduit_session"]


def test_signing_in_works_from_the_keyboard_alone(page: Page, studio: Studio) -> None:
    page.goto("/studio")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(studio.admin_email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(studio.admin_password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The navigation is reachable with Tab: some press lands on the Data Connectors link.
    reached = set()
    for _ in range(15):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.textContent.trim()"))
    assert {"Data Connectors", "Devices", "Emulator", "Project settings"} <= reached, reached


def test_the_session_cookie_is_out_of_reach_of_page_scripts(
    signed_in_page: Page, studio: Studio
) -> None:
    [cookie] = [c for c in signed_in_page.context.cookies() if c["name"] == "conduit_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "conduit_session" not in signed_in_page.evaluate("document.cookie")


def test_a_write_without_the_csrf_token_is_refused_and_changes_nothing(
    signed_in_page: Page, studio: Studio
) -> None:
    url = f"/v2/projects/{studio.project_id}/dataconnectors"
    status = signed_in_page.evaluate(
        """async (url) => (await fetch(url, {method: "POST", headers: {"content-type":
        "application/json"}, body: JSON.stringify({displayName: "forged", httpConfig: {url:
        "http://127.0.0.1:9/x"}})})).status""",
        url,
    )
    assert status == 403
    names = [
        c["displayName"]
        for c in studio.server.session().get(f"{studio.server.url}{url}").json()["dataConnectors"]
    ]
    assert "forged" not in names


def test_an_expired_session_sends_the_browser_back_to_sign_in(page: Page, studio: Studio) -> None:
    email, password = add_user(studio.server, "project.user", studio.project_id)
    sign_in(page, email, password)
    arrange(
        studio.server,
        "UPDATE user_sessions SET expire_time = create_time - 1 WHERE user_id IN"
        " (SELECT id FROM users WHERE email = ?)",
        "",
        email,
    )
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_sign_out_ends_the_session(page: Page, studio: Studio) -> None:
    email, password = add_user(studio.server, "project.user", studio.project_id)
    sign_in(page, email, password)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "conduit_session"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    replayed = requests.get(
        f"{studio.server.api}/projects", cookies={"conduit_session": cookie["value"]}
    )
    assert replayed.status_code == 401


def test_a_project_user_sees_connectors_without_edit_controls_and_the_api_refuses_edits(
    page: Page, studio: Studio
) -> None:
    admin = studio.server.session()
    base = f"{studio.server.api}/projects/{studio.project_id}/dataconnectors"
    made = admin.post(
        base, json={"displayName": "read only view", "httpConfig": {"url": "http://127.0.0.1:9/x"}}
    )
    assert made.status_code == 200, made.text
    connector = made.json()["name"].split("/")[-1]
    email, password = add_user(studio.server, "project.user", studio.project_id)
    sign_in(page, email, password)
    page.goto(f"/studio#/p/{studio.project_id}/dataconnectors")
    expect(page.get_by_role("link", name="read only view")).to_be_visible()
    expect(page.get_by_role("button", name="Add Data Connector")).to_have_count(0)
    page.get_by_role("link", name="read only view").click()
    expect(
        page.get_by_role("heading", name="Connection Status and Activity Overview")
    ).to_be_visible()
    for button in ("Update Data Connector", "Synchronize Data Connector", "Delete Data Connector"):
        expect(page.get_by_role("button", name=button)).to_have_count(0)
    expect(page.get_by_role("textbox", name="Display name")).to_have_count(0)
    # The API refuses what the page does not offer, with this browser's own session and token.
    status = page.evaluate(
        """async ([url]) => {
            const session = await (await fetch("/auth/session")).json();
            return (await fetch(url, {method: "PATCH", headers: {
                "content-type": "application/json", "x-csrf-token": session.csrfToken},
                body: JSON.stringify({status: "USER_DISABLED"})})).status;
        }""",
        [f"/v2/projects/{studio.project_id}/dataconnectors/{connector}"],
    )
    assert status == 403
    assert admin.get(f"{base}/{connector}").json()["status"] == "ACTIVE"
