"""`docs/api-compatibility.md` cannot drift: its tables are checked against the clients and server.

The page's tables are found by their header rows. The client table must name every public call of
`disruptive.resources`; what it marks served must be a route of the running server's
`/v2/openapi.json` (method + path template), and what it marks not served must be absent from it and
answered 404; every route of the server must appear on the page; the CLI table must list every
command of the installed `disruptive-cli`, served as the call it makes is; and the receiver entry
points marked served must verify a real push from the server.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from tests.harness.receivers import Receiver
from tests.harness.server import ServerProcess

DOC = Path(__file__).resolve().parents[2] / "docs" / "api-compatibility.md"
SERVED = ("yes", "partially", "no")
CLIENT = ("call", "HTTP method + path", "served", "notes")
CLI = ("command", "client call", "served", "notes")
RECEIVER = ("receiver API", "served", "notes")
EXTRA = ("HTTP method + path", "what it is")
NO_CALL = "—"
SECRET = "a-signature-secret-of-32-bytes-or-more"
_PARAM = re.compile(r"{[^}]*}")
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @classmethod
    def parse(cls, cell: str) -> Route:
        method, _, path = code(cell).partition(" ")
        assert method in ("GET", "POST", "PATCH", "PUT", "DELETE"), cell
        assert path.startswith("/"), cell
        return cls(method, path)

    @property
    def shape(self) -> tuple[str, str]:
        """Method and path with parameter names erased: `{project}` and `{p}` are the same route."""
        return self.method, _PARAM.sub("{}", self.path)


def code(cell: str) -> str:
    """The first `code span` of a cell (cells name things in backticks)."""
    match = _CODE.search(cell)
    assert match, f"no `code` in table cell {cell!r}"
    return match.group(1)


def split_row(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|"), line
    return [cell.strip() for cell in line[1:-1].split("|")]


def tables(text: str) -> dict[tuple[str, ...], list[dict[str, str]]]:
    """Every markdown table of the page, keyed by its header, rows as {column: cell}."""
    found: dict[tuple[str, ...], list[dict[str, str]]] = {}
    lines = [line.strip() for line in text.splitlines()]
    i = 0
    while i < len(lines) - 1:
        if lines[i].startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1]):
            header = tuple(split_row(lines[i]))
            rows = found.setdefault(header, [])
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = split_row(lines[i])
                assert len(cells) == len(header), f"wrong number of cells: {lines[i]}"
                rows.append(dict(zip(header, cells, strict=True)))
                i += 1
        else:
            i += 1
    return found


@pytest.fixture(scope="module")
def page() -> dict[tuple[str, ...], list[dict[str, str]]]:
    found = tables(DOC.read_text())
    for header in (CLIENT, CLI, RECEIVER, EXTRA):
        assert found.get(header), f"no table with header {header}"
    for header in (CLIENT, CLI, RECEIVER):
        for row in found[header]:
            assert row["served"] in SERVED, row
    return found


@pytest.fixture
def openapi_routes(server: ServerProcess) -> set[tuple[str, str]]:
    res = requests.get(f"{server.api}/openapi.json", timeout=10)
    assert res.status_code == 200, res.text
    return {
        Route(method.upper(), path).shape
        for path, operations in res.json()["paths"].items()
        for method in operations
    }


def client_rows(page: dict[tuple[str, ...], list[dict[str, str]]]) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for row in page[CLIENT]:
        call = code(row["call"])
        assert call not in rows, f"{call} listed twice"
        rows[call] = row
    return rows


def public_client_calls() -> set[str]:
    """`dt.<Class>.<method>` for every public class- or static method in `disruptive.resources`."""
    import disruptive.resources

    calls: set[str] = set()
    for info in pkgutil.iter_modules(disruptive.resources.__path__):
        module = importlib.import_module(f"disruptive.resources.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, attr in vars(cls).items():
                if not name.startswith("_") and isinstance(attr, classmethod | staticmethod):
                    calls.add(f"dt.{cls.__qualname__}.{name}")
    return calls


def test_every_public_call_of_the_client_has_a_row(page: Any) -> None:
    listed = {call for call in client_rows(page) if not call.startswith("dt.Auth.")}
    actual = public_client_calls()
    assert len(actual) > 50  # the walk found the resources at all
    assert sorted(actual - listed) == [], "calls missing from the table"
    assert sorted(listed - actual) == [], "rows for calls the client does not have"


def test_rows_marked_served_are_routes_the_server_lists(
    page: Any, openapi_routes: set[tuple[str, str]]
) -> None:
    served = [r for r in client_rows(page).values() if r["served"] != "no"]
    assert len(served) > 50
    missing = [
        (code(r["call"]), code(r["HTTP method + path"]))
        for r in served
        if Route.parse(r["HTTP method + path"]).shape not in openapi_routes
    ]
    assert missing == [], "marked served, but the server has no such route"


def test_rows_marked_not_served_are_answered_404(
    page: Any,
    openapi_routes: set[tuple[str, str]],
    api: requests.Session,
    server: ServerProcess,
    project_id: str,
) -> None:
    unserved = [r for r in client_rows(page).values() if r["served"] == "no"]
    assert {code(r["call"]) for r in unserved} == {"dt.Claim.claim_info", "dt.Claim.claim"}
    for row in unserved:
        route = Route.parse(row["HTTP method + path"])
        assert route.shape not in openapi_routes, row
        path = route.path.replace("{project}", project_id)
        res = api.request(route.method, server.url + path, json={})
        assert res.status_code == 404, res.text
        body = res.json()
        assert set(body) == {"error", "code", "help"} and body["code"] == 404
        assert body["error"] == f"no such resource: {path}"
        assert body["error"] in row["notes"] or "the same error body" in row["notes"]


def test_every_route_of_the_server_is_on_the_page(
    page: Any, openapi_routes: set[tuple[str, str]]
) -> None:
    called = {Route.parse(r["HTTP method + path"]).shape for r in client_rows(page).values()}
    extras = [Route.parse(r["HTTP method + path"]).shape for r in page[EXTRA]]
    assert len(extras) == len(set(extras))
    assert sorted(called & set(extras)) == [], "an extra route that the client does call"
    assert sorted(set(extras) - openapi_routes) == [], "extra routes the server does not have"
    assert sorted(openapi_routes - called - set(extras)) == [], (
        "server routes missing from the page"
    )


def dt_commands() -> set[str]:
    """Every leaf command of the installed CLI (`dt device label set`), from its own parsers."""
    import dtcli
    from dtcli.cli import _common_opts

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for name in (
        "device",
        "data_connector",
        "project",
        "organization",
        "service_account",
        "role",
        "event",
        "emulator",
        "claim",
    ):
        getattr(dtcli.commands, name).add(sub, _common_opts)
    dtcli.commands.config.add(sub)

    def leaves(p: argparse.ArgumentParser, prefix: str) -> set[str]:
        groups = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not groups:
            return {prefix}
        return {
            leaf
            for group in groups
            for name, child in group.choices.items()
            for leaf in leaves(child, f"{prefix} {name}")
        }

    return leaves(parser, "dt")


def test_every_cli_command_has_a_row_consistent_with_its_call(page: Any) -> None:
    calls = client_rows(page)
    rows = {code(r["command"]): r for r in page[CLI]}
    assert len(rows) == len(page[CLI]), "a command listed twice"
    commands = dt_commands()
    assert len(commands) > 60
    assert sorted(commands - set(rows)) == [], "commands missing from the table"
    assert sorted(set(rows) - commands) == [], "rows for commands the CLI does not have"
    for command, row in rows.items():
        if row["client call"] == NO_CALL:
            assert row["served"] == "yes", row  # local-only commands always work
            continue
        call = code(row["client call"])
        assert call in calls, f"{command}: {call} is not in the client table"
        assert row["served"] == calls[call]["served"], f"{command} is served as {call} is"


class Headers:
    """Header pairs iterated like Flask's and Cloud Functions' header objects."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def __iter__(self) -> Any:
        return iter(self.pairs)


def provider_request(provider: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    """A request shaped as `provider`'s framework hands it over (the parts dtintegrations reads)."""
    if provider == "flask":
        return SimpleNamespace(headers=Headers(headers), data=body)
    if provider == "gcloud":
        return SimpleNamespace(headers=Headers(headers), get_data=lambda: body)
    if provider == "django":
        return SimpleNamespace(headers=dict(headers), body=body)
    if provider == "azure":
        return SimpleNamespace(headers=dict(headers), get_body=lambda: body)
    if provider == "lambda":
        return {"headers": dict(headers), "body": body.decode()}
    raise AssertionError(f"no request shape for provider {provider}")


def test_dtintegrations_verifies_a_real_push_through_every_entry_point_marked_served(
    page: Any, dt: Any, project_id: str
) -> None:
    from dtintegrations import data_connector, provider

    rows = {code(r["receiver API"]): r for r in page[RECEIVER]}
    providers = {
        match.group(1): rows[api]["served"]
        for api in rows
        if (match := re.fullmatch(r'HttpPush\.from_provider\(request, "(\w+)", secret\)', api))
    }
    assert set(providers) == set(provider.PROVIDERS), "one row per provider dtintegrations knows"
    from_provider = {name for name, served in providers.items() if served == "yes"}
    assert rows["dtintegrations.data_connector.HttpPush"]["served"] == "yes"

    with Receiver() as receiver:
        device = dt.Emulator.create_device(
            project_id, "touch", display_name="door", labels={"room": "7"}
        )
        dt.DataConnector.create_data_connector(
            project_id,
            dt.DataConnector.HttpPushConfig(url=receiver.url, signature_secret=SECRET),
            labels=["name"],
        )
        dt.Emulator.publish_event(device.device_id, project_id, dt.events.Touch())
        [got] = receiver.wait_for(1)

    pushes = [data_connector.HttpPush(headers=got.header_dict, body=got.body, secret=SECRET)]
    for name in sorted(from_provider):
        request = provider_request(name, got.headers, got.body)
        pushes.append(data_connector.HttpPush.from_provider(request, name, SECRET))
    for push in pushes:
        assert push.event.event_type == "touch" and push.event.device_id == device.device_id
        assert push.labels == {"name": "door"}
        metadata = push.get_device_metadata()
        assert metadata is not None
        assert (metadata.device_id, metadata.project_id) == (device.device_id, project_id)
        assert (metadata.device_type, metadata.product_number) == ("touch", "")
    assert len({p.event.event_id for p in pushes}) == 1
