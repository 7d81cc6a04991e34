"""`/docs`: the OpenAPI document rendered as a readable reference, from this server's files only."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path

import requests
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from tests.browser.conftest import Studio


def test_the_reference_shows_the_data_connector_operations(
    page: Page, studio: Studio, shot: Callable[[Page, str], Path]
) -> None:
    origin = studio.server.url
    elsewhere: list[str] = []
    refused: list[str] = []

    def outside(request: Request) -> None:
        if not request.url.startswith((origin, "data:")):
            elsewhere.append(request.url)

    def csp(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("request", outside)
    page.on("console", csp)
    page.goto("/docs")

    expect(page).to_have_title("Conduit API reference")
    expect(page.get_by_role("heading", name=re.compile("Conduit API"))).to_be_visible()
    connectors = page.get_by_role("heading", name=re.compile("^Data Connectors"))
    expect(connectors).to_be_visible()
    sync = page.get_by_text("/v2/projects/{project}/dataconnectors/{dataconnector}:sync")
    expect(sync).to_be_visible()
    metrics = page.get_by_text("/v2/projects/{project}/dataconnectors/{dataconnector}:metrics")
    expect(metrics).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Devices and events"))).to_be_visible()

    # An operation opens to its summary, parameters and response schema.
    metrics.click()
    operation = page.locator(".opblock", has=metrics)
    expect(operation.get_by_text("Delivery attempts of the last 3 hours")).to_be_visible()
    expect(operation.get_by_text("series", exact=True).first).to_be_visible()
    shot(page, "api-reference")

    assert elsewhere == [], f"the reference fetched from elsewhere: {elsewhere}"
    assert refused == [], f"the page broke its own Content-Security-Policy: {refused}"


def test_a_signed_in_user_tries_out_a_write_with_the_session(
    signed_in_page: Page, studio: Studio
) -> None:
    """ "Try it out" sends the Studio session's cookie and CSRF token: a write goes through."""
    page = signed_in_page
    name = f"from-the-reference-{secrets.token_hex(3)}"
    page.goto("/docs")
    create = (
        page.locator(".opblock")
        .filter(has=page.get_by_text("/v2/projects/{project}/serviceaccounts", exact=True))
        .filter(has=page.get_by_text("POST", exact=True))
    )
    create.get_by_text("/v2/projects/{project}/serviceaccounts", exact=True).click()
    create.get_by_role("button", name="Try it out").click()
    create.get_by_placeholder("project").fill(studio.project_id)
    create.locator("textarea.body-param__text").fill(f'{{"displayName": "{name}"}}')
    create.get_by_role("button", name="Execute").click()
    expect(create.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")

    api = studio.server.session()
    listed = api.get(f"{studio.server.api}/projects/{studio.project_id}/serviceaccounts").json()
    (made,) = [a for a in listed["serviceAccounts"] if a["displayName"] == name]
    assert api.delete(f"{studio.server.api}/{made['name']}").status_code == 200


def test_the_reference_serves_only_its_own_files(studio: Studio) -> None:
    page = requests.get(f"{studio.server.url}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    script = requests.get(f"{studio.server.url}/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    for name in ("index.j2", "swagger-initializer.js", "..%2F..%2Freference.py", "nothing.js"):
        missing = requests.get(f"{studio.server.url}/docs/assets/{name}", timeout=10)
        assert missing.status_code == 404, name
        assert missing.headers["content-type"] == "application/json"
    # The error page every error body links to is still there.
    errors = requests.get(f"{studio.server.url}/docs/errors", timeout=10)
    assert errors.status_code == 200 and "404" in errors.text
