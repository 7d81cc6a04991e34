"""`GET /v2/projects/-/devices` looks only at the caller's projects (issue 7, 9).

Loading every project of the database for any caller, even one without a role anywhere, made each
such request cost the whole projects table; the answer was filtered, so only the store calls tell.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.requests import Request

import conduit.api.routing  # noqa: F401  (registers the `seg` path convertor the routes use)
from conduit.api.devices import _listed_projects
from conduit.auth.principal import Principal


class VisibleOnlyStore:
    """Answers for the caller's own projects; asking for all of them fails the test."""

    def __init__(self, visible: dict[str, tuple[str, ...]]) -> None:
        self.visible = visible

    async def list_projects(self, organization_id: str | None = None) -> list[Any]:
        raise AssertionError("listed every project in the database")

    async def list_projects_visible_to(
        self, member_id: str, organization_id: str | None = None
    ) -> list[Any]:
        return [SimpleNamespace(id=p) for p in self.visible]

    async def roles_in_project(
        self, member_id: str, project_id: str
    ) -> tuple[tuple[str, ...], str | None]:
        return self.visible.get(project_id, ()), "org"


def _request(query: bytes = b"") -> Request:
    scope = {"type": "http", "path_params": {"project": "-"}, "query_string": query, "headers": []}
    return Request(scope)


async def test_the_wildcard_lists_only_visible_projects_with_device_read() -> None:
    store = VisibleOnlyStore({"p1": ("roles/project.user",), "p2": ()})
    ctx = SimpleNamespace(store=store)
    principal = Principal("caller", ctx)
    assert await _listed_projects(_request(), principal, ctx) == ["p1"]  # type: ignore[arg-type]
    wanted = await _listed_projects(_request(b"projects=projects/p2"), principal, ctx)  # type: ignore[arg-type]
    assert wanted == []
