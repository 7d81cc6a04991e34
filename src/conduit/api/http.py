"""Request and response plumbing shared by every REST resource: JSON in and out, limits,
pagination."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from conduit.domain.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BODY = 64 * 1024
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
T = TypeVar("T")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(content: Any = None) -> JSON:
    """Every success is 200 with a JSON body (DT clients treat any other status as an error)."""
    return JSON({} if content is None else content)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(f"request body exceeds {limit // 1024} KiB")
        except ValueError as exc:
            raise BadRequest("invalid Content-Length") from exc
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds {limit // 1024} KiB")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; anything else is a 400 (or 413 when too large)."""
    content_type = request.headers.get("content-type", "")
    raw = await read_body(request)
    if not raw.strip():
        if allow_empty:
            return {}
        raise BadRequest("request body must be a JSON object")
    if content_type and "json" not in content_type and "text/plain" not in content_type:
        raise UnsupportedMediaType("request body must be application/json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("request body is not valid JSON") from exc
    if b"\\u0000" in raw:
        # No name, label or URL holds a NUL, and PostgreSQL's text cannot store one: refuse it
        # here, the same on every backend, rather than deep in a write.
        raise BadRequest("strings in the request body must not contain NUL characters")
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def query_param(request: Request, *names: str) -> str | None:
    """The first of several spellings present (DT clients mix camelCase and snake_case)."""
    for name in names:
        value = request.query_params.get(name)
        if value is not None:
            return value
    return None


def query_list(request: Request, *names: str) -> list[str]:
    """A repeated or comma-separated query parameter, under any of its spellings."""
    values: list[str] = []
    for name in names:
        for raw in request.query_params.getlist(name):
            values.extend(v for v in raw.split(",") if v)
    return values


def page_size(request: Request) -> int:
    raw = query_param(request, "pageSize", "page_size")
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError as exc:
        raise BadRequest("pageSize must be an integer") from exc
    if size < 0:
        raise BadRequest("pageSize must not be negative")
    return min(size, MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def page_offset(request: Request) -> int:
    token = query_param(request, "pageToken", "page_token")
    if not token:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, number = decoded.partition(":")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("invalid page token") from exc
    if kind != "o" or offset < 0:
        raise BadRequest("invalid page token")
    return offset


# Keyset tokens name the last row of a page as (position, row id). The row id is bound as a SQLite
# INTEGER, so anything outside its range (or a position that is not a finite number) cannot be a
# token this server issued: it is a 400, never a database error.
MAX_ROW_ID = 2**63 - 1


def encode_keyset_token(position: float, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"k:{position!r}:{row_id}".encode()).decode().rstrip("=")


def decode_keyset_token(token: str) -> tuple[float, int]:
    """The (position, row id) of a keyset page token; 400 for anything this server never issued."""
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, position, row_id = decoded.split(":")
        keyset = (float(position), int(row_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("invalid page token") from exc
    if kind != "k" or not math.isfinite(keyset[0]) or not 0 <= keyset[1] <= MAX_ROW_ID:
        raise BadRequest("invalid page token")
    return keyset


def paginate(request: Request, items: Sequence[T]) -> tuple[Sequence[T], str]:
    """Slice an already-filtered, stably-ordered list into one page and the token for the next."""
    size = page_size(request)
    offset = page_offset(request)
    page = items[offset : offset + size]
    more = offset + size < len(items)
    return page, encode_page_token(offset + size) if more else ""


def page_response(key: str, items: list[Any], next_token: str) -> JSON:
    return ok({key: items, "nextPageToken": next_token})
