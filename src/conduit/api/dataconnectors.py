"""The Data Connectors REST resource: `/v2/projects/{p}/dataconnectors[/{d}]`, `:sync`, `:metrics`,
`/attempts`.

Wire-compatible with DT Cloud (SPEC §4): every response carries the full HTTP_PUSH shape the
official clients read without defaults, DELETE and `:sync` answer `{}`, and PATCH follows the merge
rules in `domain/dataconnector_rules.py`. `/attempts` is a Conduit extension
(docs/dataconnectors.md).
Order of checks in every handler: who is calling (401/404/403), does the connector exist (404), is
the input valid (400) — then one write, so a rejected request has changed nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import (
    decode_keyset_token,
    encode_keyset_token,
    ok,
    page_response,
    page_size,
    paginate,
    query_param,
    read_json,
)
from conduit.auth.principal import authenticate
from conduit.context import Context, context_of
from conduit.delivery.addresses import check_url
from conduit.delivery.metrics import DROPPED
from conduit.domain.dataconnector_rules import (
    apply_rotation,
    apply_update,
    parse_create,
    parse_replay,
    parse_rotation,
    parse_update,
    parse_update_mask,
)
from conduit.domain.dataconnectors import SYSTEM_DISABLED, DataConnector
from conduit.domain.errors import BadRequest, NotFound, about_field
from conduit.domain.times import parse_rfc3339, rfc3339
from conduit.store.records import DEAD_LETTER_REASONS, Attempt, DeadLetter

UPDATE_MASK_PARAMS = ("update_mask", "updateMask")


# ---- rendering -----------------------------------------------------------------------------------


REDACTED = "<redacted>"


def should_redact(ctx: Context, granted: set[str]) -> bool:
    """DT returns the secret and headers to every reader; an operator may hide them from callers who
    cannot change them anyway (`--redact-secrets`), so a read-only key cannot leak them."""
    return ctx.settings.redact_secrets and "dataconnector.update" not in granted


def dataconnector_json(
    ctx: Context, connector: DataConnector, *, redact: bool = False
) -> dict[str, Any]:
    """The full resource, as DT Cloud returns it: the signature secret included, `""` when unset.

    `redact` replaces a set secret and every header value with `<redacted>`.
    """
    encrypted = connector.signature_secret_encrypted
    headers = ctx.secrets.open_headers(connector.headers_sealed)
    if redact:
        secret = REDACTED if encrypted else ""
        headers = dict.fromkeys(headers, REDACTED)
    else:
        secret = ctx.secrets.decrypt(encrypted) if encrypted else ""
    resource: dict[str, Any] = {
        "name": f"projects/{connector.project_id}/dataconnectors/{connector.id}",
        "displayName": connector.display_name,
        "type": connector.type,
        "status": connector.status,
        "events": list(connector.events),
        "labels": list(connector.labels),
        "httpConfig": {
            "url": connector.url,
            "signatureSecret": secret,
            "headers": headers,
        },
        # Conduit's extensions (clients that do not know them ignore them).
        "signatureScheme": connector.signature_scheme,
        "disableOnGone": connector.disable_on_gone,
        "rateLimit": connector.rate_limit,
    }
    if connector.status == SYSTEM_DISABLED and connector.status_reason:
        resource["statusReason"] = connector.status_reason
    if connector.previous_secret_encrypted and connector.previous_secret_until > ctx.clock.now():
        resource["previousSecretExpireTime"] = rfc3339(connector.previous_secret_until)
    return resource


def duration_json(seconds: float) -> str:
    """A protobuf Duration in JSON (`"0.239s"`): 0, 3 or 6 fractional digits, as precision needs."""
    micros = round(seconds * 1_000_000)
    if micros <= 0:
        return "0s"
    whole, fraction = divmod(micros, 1_000_000)
    if fraction == 0:
        return f"{whole}s"
    if fraction % 1000 == 0:
        return f"{whole}.{fraction // 1000:03d}s"
    return f"{whole}.{fraction:06d}s"


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "eventId": attempt.event_id,
        "attempt": attempt.attempt,
        "time": rfc3339(attempt.at),
        "success": attempt.success,
        "statusCode": attempt.status_code,
        "error": attempt.error,
        "latency": duration_json(attempt.latency),
    }


# ---- shared steps --------------------------------------------------------------------------------


async def _existing(ctx: Context, project_id: str, connector_id: str) -> DataConnector:
    connector = await ctx.store.get_dataconnector(project_id, connector_id)
    if connector is None:
        raise NotFound(f"data connector {connector_id} not found")
    return connector


async def _check_url(ctx: Context, url: str) -> None:
    """The SSRF rule at write time; it resolves DNS, so it runs off the event loop."""
    with about_field("httpConfig.url"):
        await asyncio.to_thread(check_url, url, ctx.settings.allow_network)


def _update_mask(request: Request) -> list[str] | None:
    values: list[str] = []
    for name in UPDATE_MASK_PARAMS:
        values.extend(request.query_params.getlist(name))
    return parse_update_mask(values)


# ---- handlers ------------------------------------------------------------------------------------


async def list_dataconnectors(request: Request) -> Response:
    """List a project's connectors, oldest first (paginated, key `dataConnectors`)."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    granted = await principal.require_project(project_id, "dataconnector.read")
    redact = should_redact(ctx, granted)
    page, token = paginate(request, await ctx.store.list_dataconnectors(project_id))
    listed = [dataconnector_json(ctx, c, redact=redact) for c in page]
    return page_response("dataConnectors", listed, token)


async def create_dataconnector(request: Request) -> Response:
    """Create an HTTP_PUSH connector; it starts forwarding new events as soon as this returns."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.create")
    new = parse_create(await read_json(request))
    await _check_url(ctx, new.url)
    connector = await ctx.store.create_dataconnector(
        DataConnector(
            id="",
            project_id=project_id,
            display_name=new.display_name,
            status=new.status,
            events=new.events,
            labels=new.labels,
            url=new.url,
            signature_secret_encrypted=(
                ctx.secrets.encrypt(new.signature_secret) if new.signature_secret else None
            ),
            headers_sealed=ctx.secrets.seal_headers(new.headers),
            signature_scheme=new.signature_scheme,
            disable_on_gone=new.disable_on_gone,
            rate_limit=new.rate_limit,
        )
    )
    return ok(dataconnector_json(ctx, connector))


async def get_dataconnector(request: Request) -> Response:
    """One Data Connector: its configuration and status (secrets shown only to those who may
    update it, when the server redacts them)."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    granted = await principal.require_project(project_id, "dataconnector.read")
    connector = await _existing(ctx, project_id, request.path_params["dataconnector"])
    return ok(dataconnector_json(ctx, connector, redact=should_redact(ctx, granted)))


async def update_dataconnector(request: Request) -> Response:
    """PATCH: with a non-empty `update_mask` exactly those paths, else every field present."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    connector_id = request.path_params["dataconnector"]
    await principal.require_project(project_id, "dataconnector.update")
    await _existing(ctx, project_id, connector_id)
    mask = _update_mask(request)
    update = parse_update(await read_json(request, allow_empty=True), mask)
    if update.url is not None:
        await _check_url(ctx, update.url)
    connector, dropped = await ctx.store.update_dataconnector(
        project_id,
        connector_id,
        lambda current: apply_update(
            current,
            update,
            encrypt=ctx.secrets.encrypt,
            seal_headers=ctx.secrets.seal_headers,
            now=ctx.clock.now(),
        ),
    )
    if dropped:
        DROPPED.inc(dropped)
    return ok(dataconnector_json(ctx, connector))


async def delete_dataconnector(request: Request) -> Response:
    """Delete a connector; whatever was still queued for it is dropped with it."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.delete")
    await ctx.store.delete_dataconnector(project_id, request.path_params["dataconnector"])
    return ok({})


async def rotate_dataconnector_secret(request: Request) -> Response:
    """Set a new signature secret and keep the current one signing beside it for `gracePeriod`
    (default 24 h), so receivers switch without a window of failed verifications."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.update")
    rotation = parse_rotation(await read_json(request))
    connector, _ = await ctx.store.update_dataconnector(
        project_id,
        request.path_params["dataconnector"],
        lambda current: apply_rotation(
            current, rotation, encrypt=ctx.secrets.encrypt, now=ctx.clock.now()
        ),
    )
    return ok(dataconnector_json(ctx, connector))


async def replay_dataconnector(request: Request) -> Response:
    """Conduit extension: queue the project's events of a window again for this connector (all
    its filter matches, or `onlyFailed`: its dead letters), delivered like any other with a fresh
    12-hour window; answers how many were queued."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.update")
    replay = parse_replay(await read_json(request))
    connector_id = request.path_params["dataconnector"]
    queued, already = await ctx.store.replay(project_id, connector_id, replay, ctx.clock.now())
    ctx.look_at([connector_id])
    return ok({"queued": queued, "alreadyQueued": already})


async def sync_dataconnector(request: Request) -> Response:
    """Re-push the latest event of each type of every device in the project, to this connector."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.update")
    await read_json(request, allow_empty=True)  # no parameters; a body, if any, must still be JSON
    now = ctx.clock.now()
    queued = await ctx.store.sync_dataconnector(
        project_id, request.path_params["dataconnector"], ctx.born_claimed_until(now)
    )
    ctx.offer_deliveries(queued)
    return ok({})


async def dataconnector_metrics(request: Request) -> Response:
    """Delivery attempts of the last 3 hours: successes, failures, p99 latency of the successes.

    Conduit adds `series`: the same attempts per 10-minute bucket, 18 buckets aligned to the
    clock, oldest first, empty ones included (docs/dataconnectors.md)."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.read")
    connector = await _existing(ctx, project_id, request.path_params["dataconnector"])
    now = ctx.clock.now()
    successes, errors, latency99p = await ctx.store.dataconnector_metrics(connector.id, now)
    series = await ctx.store.dataconnector_series(connector.id, now)
    return ok(
        {
            "metrics": {
                "successCount": successes,
                "errorCount": errors,
                "latency99p": duration_json(latency99p),
            },
            # Conduit extension: the same window per 10 minutes, for a chart (DT's clients read
            # only `metrics`).
            "series": [
                {
                    "startTime": rfc3339(bucket.start),
                    "successCount": bucket.successes,
                    "errorCount": bucket.errors,
                }
                for bucket in series
            ],
        }
    )


async def list_attempts(request: Request) -> Response:
    """Conduit extension: the delivery attempt log, newest first (key `attempts`)."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.read")
    connector = await _existing(ctx, project_id, request.path_params["dataconnector"])
    size = page_size(request)
    token = query_param(request, "pageToken", "page_token")
    cursor = decode_keyset_token(token) if token else None
    found = await ctx.store.list_delivery_attempts(connector.id, size + 1, cursor)
    page = found[:size]
    next_token = encode_keyset_token(page[-1].at, page[-1].id) if len(found) > size else ""
    return page_response("attempts", [attempt_json(a) for a in page], next_token)


def dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    return {
        "eventId": letter.event_id,
        "reason": letter.reason,
        "attempts": letter.attempts,
        "lastError": letter.last_error,
        "eventTime": rfc3339(letter.event_time),
        "createTime": rfc3339(letter.at),
    }


async def list_dead_letters(request: Request) -> Response:
    """Conduit extension: what left the queue without a 2xx, newest first (key `deadLetters`).
    Query: `startTime`/`endTime` (RFC 3339, on when it left the queue), `reason`."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "dataconnector.read")
    connector = await _existing(ctx, project_id, request.path_params["dataconnector"])
    start_raw = query_param(request, "startTime", "start_time")
    end_raw = query_param(request, "endTime", "end_time")
    start = parse_rfc3339(start_raw, "startTime") if start_raw else None
    end = parse_rfc3339(end_raw, "endTime") if end_raw else None
    if start is not None and end is not None and start > end:
        raise BadRequest("startTime must not be after endTime")
    reason = query_param(request, "reason")
    if reason is not None and reason not in DEAD_LETTER_REASONS:
        raise BadRequest(f"reason must be one of {', '.join(DEAD_LETTER_REASONS)}")
    size = page_size(request)
    token = query_param(request, "pageToken", "page_token")
    found = await ctx.store.list_dead_letters(
        connector.id,
        size + 1,
        start=start,
        end=end,
        reason=reason,
        before=decode_keyset_token(token) if token else None,
    )
    page = found[:size]
    next_token = encode_keyset_token(page[-1].at, page[-1].id) if len(found) > size else ""
    return page_response("deadLetters", [dead_letter_json(d) for d in page], next_token)


_ITEM = "/v2/projects/{project:seg}/dataconnectors/{dataconnector:seg}"

routes: list[BaseRoute] = [
    Route(
        "/v2/projects/{project:seg}/dataconnectors",
        list_dataconnectors,
        methods=["GET"],
        name="list_dataconnectors",
    ),
    Route(
        "/v2/projects/{project:seg}/dataconnectors",
        create_dataconnector,
        methods=["POST"],
        name="create_dataconnector",
    ),
    Route(_ITEM + ":sync", sync_dataconnector, methods=["POST"]),
    Route(_ITEM + ":rotateSecret", rotate_dataconnector_secret, methods=["POST"]),
    Route(_ITEM + ":replay", replay_dataconnector, methods=["POST"]),
    Route(_ITEM + ":metrics", dataconnector_metrics, methods=["GET"]),
    Route(_ITEM + "/attempts", list_attempts, methods=["GET"]),
    Route(_ITEM + "/deadLetters", list_dead_letters, methods=["GET"]),
    Route(_ITEM, get_dataconnector, methods=["GET"]),
    Route(_ITEM, update_dataconnector, methods=["PATCH"]),
    Route(_ITEM, delete_dataconnector, methods=["DELETE"]),
]
