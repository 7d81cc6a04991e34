"""`/docs`: the API reference, Swagger UI rendering `/v2/openapi.json`, served by this server alone.

Swagger UI's files come from the installed `swagger-ui-bundle-v2` package (a maintained Python
packaging of the upstream swagger-ui-dist release), so nothing is fetched from a CDN and nothing is
vendored into this repository; the page and its small start script are ours
(`reference_files/`). Only the files named in `_ASSETS` are served, so a request cannot reach any
other file of either directory.

The page runs under Studio's strict Content-Security-Policy (`api/page_headers.py`: no inline
scripts, no connections elsewhere). Swagger UI sets some styles from script (React `style`
properties) and draws its icons from `data:` URLs, which `style-src 'self'` and
`img-src 'self' data:` allow.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from swagger_ui_bundle import (  # type: ignore[import-untyped]  # ships no py.typed
    swagger_ui_path,
)

from conduit.api.page_headers import PAGE_HEADERS
from conduit.domain.errors import NotFound

_OWN = Path(__file__).resolve().parent / "reference_files"
_SWAGGER_UI = Path(str(swagger_ui_path))


_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
# name under /docs/assets/ -> (file, media type)
_ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_SWAGGER_UI / "swagger-ui-bundle.js", _JS),
    "swagger-ui.css": (_SWAGGER_UI / "swagger-ui.css", _CSS),
    "favicon-32x32.png": (_SWAGGER_UI / "favicon-32x32.png", "image/png"),
    "reference.js": (_OWN / "reference.js", _JS),
    "reference.css": (_OWN / "reference.css", _CSS),
}


async def api_reference(request: Request) -> Response:
    """This API reference, as a web page (Swagger UI over `/v2/openapi.json`)."""
    return FileResponse(
        _OWN / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


async def reference_asset(request: Request) -> Response:
    found = _ASSETS.get(request.path_params["name"])
    if found is None:
        raise NotFound(f"no such resource: {request.url.path}", headers=PAGE_HEADERS)
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers=PAGE_HEADERS)


routes: list[BaseRoute] = [
    Route("/docs", api_reference, methods=["GET", "HEAD"]),
    # The page's files, not API operations: a Mount, so the OpenAPI document leaves them out.
    Mount("/docs/assets", routes=[Route("/{name:seg}", reference_asset, methods=["GET", "HEAD"])]),
]
