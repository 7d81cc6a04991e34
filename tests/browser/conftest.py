"""Studio in a real browser: Debian's Chromium driven by Playwright against a real `conduit serve`.

One server (SQLite) serves every browser test of a run; each test that needs one gets a project of
its own (`project`), so its connectors see only its own devices (`:sync` then sends a known number
of pushes) and its lists start empty. The browser is the machine's own `/usr/bin/chromium` (no
Playwright download). Screenshots of each main page go to `test-artifacts/studio/` (override with
`CONDUIT_ARTIFACTS`).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.harness.receivers import Receiver
from tests.harness.server import ServerProcess

ADMIN_EMAIL = "admin@conduit.local"
CHROMIUM = os.environ.get("CONDUIT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("CONDUIT_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


@dataclass
class Studio:
    server: ServerProcess
    admin_email: str
    admin_password: str
    project_id: str

    @property
    def url(self) -> str:
        return f"{self.server.url}/studio"


@pytest.fixture(scope="package")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    password = secrets.token_urlsafe(16)
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("studio"),
        database="",
        env={"CONDUIT_ADMIN_EMAIL": ADMIN_EMAIL, "CONDUIT_ADMIN_PASSWORD": password},
    ).start()
    try:
        projects = server.session().get(f"{server.api}/projects").json()["projects"]
        default = next(p for p in projects if p["displayName"] == "default")
        yield Studio(server, ADMIN_EMAIL, password, default["name"].split("/")[-1])
    finally:
        server.stop()


# Package scope, not session: Playwright's sync API keeps an event loop running on the main thread
# while it is started, and the tests after this package call `asyncio.run`.
@pytest.fixture(scope="package")
def _playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package (see .ci/run)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, studio: Studio) -> Iterator[Page]:
    context = browser.new_context(
        base_url=studio.server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the form and wait until the navigation shows the signed-in user."""
    page.goto("/studio")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def signed_in_page(page: Page, studio: Studio) -> Page:
    sign_in(page, studio.admin_email, studio.admin_password)
    return page


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


@pytest.fixture
def shot() -> Shot:
    """`shot(page, name)`: a full-page PNG of the page as it is now, kept as a test artifact."""
    directory = ARTIFACTS / "studio"
    directory.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = directory / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


Shot = Callable[[Page, str], Path]


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@contextmanager
def fresh_project(studio: Studio) -> Iterator[str]:
    """A new project in the default project's organization; its connectors are deleted after, so
    they stop pushing to receivers that are gone (the project itself may stay)."""
    session = studio.server.session()
    default = session.get(f"{studio.server.api}/projects/{studio.project_id}").json()
    made = session.post(
        f"{studio.server.api}/projects",
        json={"displayName": unique("studio-test"), "organization": default["organization"]},
    )
    made.raise_for_status()
    project_id = str(made.json()["name"].split("/")[-1])
    try:
        yield project_id
    finally:
        listed = session.get(f"{studio.server.api}/projects/{project_id}/dataconnectors").json()
        for connector in listed["dataConnectors"]:
            session.delete(f"{studio.server.api}/{connector['name']}")


class Api:
    """The test's view of its project through the REST API, as the bootstrap service account."""

    def __init__(self, studio: Studio, project: str) -> None:
        self.session: requests.Session = studio.server.session()
        self.base = f"{studio.server.api}/projects/{project}"

    def get(self, path: str) -> Any:
        answer = self.session.get(f"{self.base}/{path}")
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.session.post(f"{self.base}/{path}", json=body)
        answer.raise_for_status()
        return answer.json()

    def connectors(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get("dataconnectors")["dataConnectors"]
        return found

    def connector(self, connector_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.get(f"dataconnectors/{connector_id}")
        return found

    def create_connector(self, name: str, url: str, **fields: Any) -> str:
        body = {"displayName": name, "httpConfig": {"url": url}, **fields}
        return str(self.post("dataconnectors", body)["name"].split("/")[-1])

    def emulated_device(self, device_type: str, name: str) -> str:
        body = {"type": device_type, "labels": {"name": name}}
        return str(self.post("devices", body)["name"].split("/")[-1])

    def publish(self, device_id: str, event: dict[str, Any]) -> None:
        self.post(f"devices/{device_id}:publish", event)


def open_view(page: Page, project: str, view: str) -> None:
    """Go to a Studio view by its address (`dataconnectors`, `emulator`, ...)."""
    page.goto(f"/studio#/p/{project}/{view}")


@pytest.fixture
def project(studio: Studio) -> Iterator[str]:
    with fresh_project(studio) as project_id:
        yield project_id


@pytest.fixture
def studio_page(page: Page, studio: Studio, project: str) -> Page:
    """Signed in as the admin after the test's project exists (Studio lists projects at sign-in)."""
    sign_in(page, studio.admin_email, studio.admin_password)
    return page


@pytest.fixture
def api(studio: Studio, project: str) -> Api:
    return Api(studio, project)
