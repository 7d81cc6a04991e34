"""Whether an open `:stream` may go on: its caller's access, re-checked while it runs.

A request is authorized once, but a stream lives for hours: without a re-check a member removed
from the project, a deleted key or account, Basic auth switched off, or an expired access token
would keep receiving events and label values. So a stream re-checks what opened it every
`RECHECK_SECONDS` (other nodes' changes reach it that way), at once when an access change is made
through this node (`access_changed`), and ends when the token it opened with expires.
"""

from __future__ import annotations

from starlette.requests import Request

from conduit.auth.principal import Principal
from conduit.context import context_of
from conduit.domain.errors import ApiError, Forbidden, Unauthorized

RECHECK_SECONDS = 2.0


class StreamAccess:
    def __init__(self, principal: Principal, project_id: str, permission: str) -> None:
        self.principal = principal
        self.project_id = project_id
        self.permission = permission

    @property
    def expires(self) -> float | None:
        return self.principal.expires

    async def revoked(self, now: float) -> ApiError | None:
        """Why the stream must end now, or None while its caller may still read it."""
        if self.expires is not None and now >= self.expires:
            return Unauthorized("the access token this stream opened with has expired; reconnect")
        if not await self.principal.still_valid():
            return Unauthorized("the credentials this stream opened with are no longer valid")
        if self.permission not in await self.principal.project_permissions(self.project_id):
            return Forbidden(f"access to project {self.project_id} was revoked")
        return None


def access_changed(request: Request) -> None:
    """Tell this node's open streams that roles, keys or accounts changed (after the change)."""
    hub = context_of(request).workers.get("stream_hub")
    if hub is not None:
        hub.access_changed()
