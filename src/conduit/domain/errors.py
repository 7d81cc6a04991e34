"""The API's error vocabulary.

Every failure a client can see is one of these, rendered as DT Cloud's error body
`{"error": <summary>, "code": <status>, "help": <link>}` by the app's exception handlers. Domain
rules raise them directly, so a rule and the status code it earns are written in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class ApiError(Exception):
    status = 500
    summary = "internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message or self.summary)
        self.message = message or self.summary
        self.headers = headers or {}
        # The input field the error is about (a JSON path such as `httpConfig.url`), rendered as
        # the body's `field` so a form can show the error beside its control.
        self.field = field


class BadRequest(ApiError):
    status = 400
    summary = "bad request"


class Unauthorized(ApiError):
    status = 401
    summary = "unauthorized"


class Forbidden(ApiError):
    status = 403
    summary = "forbidden"


class NotFound(ApiError):
    status = 404
    summary = "not found"


class MethodNotAllowed(ApiError):
    status = 405
    summary = "method not allowed"


class Conflict(ApiError):
    status = 409
    summary = "already exists"


class PayloadTooLarge(ApiError):
    status = 413
    summary = "request body too large"


class UnsupportedMediaType(ApiError):
    status = 415
    summary = "unsupported media type"


class TooManyRequests(ApiError):
    status = 429
    summary = "too many requests"


class ServiceUnavailable(ApiError):
    status = 503
    summary = "service unavailable"


@contextlib.contextmanager
def about_field(field: str) -> Iterator[None]:
    """A 400 raised inside is about `field`, unless it already names a more precise one."""
    try:
        yield
    except BadRequest as exc:
        exc.field = exc.field or field
        raise
