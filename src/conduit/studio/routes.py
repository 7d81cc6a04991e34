"""Serve Studio's files: `/` and `/studio` (the page), `/studio/assets/...` (scripts, styles).

Every answer carries the pages' security headers (`api/page_headers.py`: a strict
Content-Security-Policy, `nosniff`, `no-cache`).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from conduit.api.page_headers import PAGE_HEADERS
from conduit.domain.errors import NotFound

ASSETS = Path(__file__).resolve().parent / "assets"


# Declared here rather than guessed from the system's mime database, which differs between hosts
# (and a module script served with a wrong type does not run).
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def asset_file(relative: str) -> Path | None:
    """The file under `ASSETS` that `relative` names, or None: a name that would leave the
    directory (`..`, an absolute path, a symlink pointing out) or a type we do not serve is None."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
        return None
    path = (ASSETS / relative).resolve()
    if not path.is_relative_to(ASSETS) or not path.is_file():
        return None
    if path.suffix not in MEDIA_TYPES:
        return None
    return path


def _file(path: Path) -> Response:
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=PAGE_HEADERS)


async def root(request: Request) -> Response:
    """`/` has nothing of its own: people who open the server's address land in Studio."""
    return RedirectResponse("/studio", status_code=307, headers=PAGE_HEADERS)


async def index(request: Request) -> Response:
    """The one HTML page; the hash part of the URL picks the view (`js/app.js`)."""
    return _file(ASSETS / "index.html")


async def asset(request: Request) -> Response:
    path = asset_file(request.path_params["path"])
    if path is None:
        raise NotFound(f"no such resource: {request.url.path}", headers=PAGE_HEADERS)
    return _file(path)


# Pages, not API operations: left out of the OpenAPI document.
routes: list[BaseRoute] = [
    Route("/", root, methods=["GET", "HEAD"], include_in_schema=False),
    Route("/studio", index, methods=["GET", "HEAD"], include_in_schema=False),
    Route("/studio/", index, methods=["GET", "HEAD"], include_in_schema=False),
    Route("/studio/assets/{path:path}", asset, methods=["GET", "HEAD"], include_in_schema=False),
]
