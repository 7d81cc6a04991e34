"""The devices REST resource: list, get, `:batchUpdate` (labels) and `:transfer`.

The same paths also serve the Emulator API (POST/DELETE/PUT and `:publish`, in `api/emulator.py`):
DT's two APIs share the `/v2` shape, and Conduit serves both at one base URL. Every device is listed
here, emulated or not. The project `-` is DT's wildcard: every project the caller may read.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.http import ok, page_response, paginate, query_list, query_param, read_json
from conduit.auth.principal import Principal, authenticate
from conduit.context import Context, context_of
from conduit.domain.devices import (
    Device,
    DeviceOrder,
    DeviceQuery,
    device_name,
    parse_device_name,
    reported_view,
)
from conduit.domain.errors import BadRequest, Forbidden, NotFound
from conduit.domain.event_types import check_device_type
from conduit.domain.labels import (
    apply_changes,
    check_label_keys,
    check_labels,
    parse_label_filters,
)
from conduit.publishing import change_labels

WILDCARD = "-"


def device_json(device: Device) -> dict[str, Any]:
    return {
        "name": device.name,
        "type": device.type,
        "productNumber": device.product_number,
        "labels": device.labels,
        "reported": reported_view(device.type, device.reported),
    }


def batch_error(name: str, code: str, message: str) -> dict[str, Any]:
    return {"device": name, "status": {"code": code, "message": message}}


def check_fields(
    body: dict[str, Any], allowed: frozenset[str], ignored: frozenset[str] = frozenset()
) -> None:
    """Unknown fields are a 400 (a typo must not be dropped); output-only ones are ignored."""
    for key in body:
        if key not in allowed and key not in ignored:
            raise BadRequest(f"unknown field {key!r}")


async def load_device(request: Request, principal: Principal, permission: str) -> Device:
    """The device in the path, visible to the caller with `permission` (the project may be `-`)."""
    ctx = context_of(request)
    project_id = request.path_params["project"]
    device_id = request.path_params["device"]
    if project_id == WILDCARD:
        device = await ctx.store.find_device(device_id)
        granted = await principal.project_permissions(device.project_id) if device else set()
        if device is None or not granted:
            raise NotFound(f"device {device_id} not found")
        if permission not in granted:
            raise Forbidden(f"missing permission {permission}")
        return device
    await principal.require_project(project_id, permission)
    device = await ctx.store.get_device(project_id, device_id)
    if device is None:
        raise NotFound(f"device {device_id} not found in project {project_id}")
    return device


async def _listed_projects(request: Request, principal: Principal, ctx: Context) -> list[str]:
    project_id = request.path_params["project"]
    if project_id != WILDCARD:
        await principal.require_project(project_id, "device.read")
        return [project_id]
    organization = query_param(request, "organization")
    org_id = organization.removeprefix("organizations/") if organization else None
    wanted = {p.removeprefix("projects/") for p in query_list(request, "projects")}
    # Only the caller's projects are loaded: listing every project in the database for any caller
    # (one with no role at all included) would let anyone make each request cost the whole table.
    return [
        p.id
        for p in await ctx.store.list_projects_visible_to(principal.id, org_id)
        if (not wanted or p.id in wanted)
        and "device.read" in await principal.project_permissions(p.id)
    ]


def _device_query(request: Request) -> DeviceQuery:
    device_types = query_list(request, "device_types", "deviceTypes")
    for device_type in device_types:
        check_device_type(device_type, "device_types")
    # label values may contain commas, so label filters are only ever repeated, never comma-split
    label_filters = [
        v for name in ("label_filters", "labelFilters") for v in request.query_params.getlist(name)
    ]
    return DeviceQuery(
        text=query_param(request, "query") or "",
        device_ids=frozenset(
            d.rsplit("/", 1)[-1] for d in query_list(request, "device_ids", "deviceIds")
        ),
        device_types=frozenset(device_types),
        product_numbers=frozenset(query_list(request, "product_numbers", "productNumbers")),
        label_filters=tuple(parse_label_filters(label_filters)),
    )


async def list_devices(request: Request) -> Response:
    """List devices (emulated ones included), with search, filters, ordering and pagination.

    Query: `query` (keywords), `device_ids`, `device_types`, `product_numbers`, `label_filters`
    (`key=value` or `key`), `order_by` (`reported.temperature.value`, `labels.name`, ...; `-` prefix
    = descending), `pageSize`, `pageToken`. With project `-`: also `organization` and `projects`.
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    query = _device_query(request)
    order = DeviceOrder.parse(query_param(request, "order_by", "orderBy"))
    project_ids = await _listed_projects(request, principal, ctx)
    devices = await ctx.store.list_devices(
        project_ids, sorted(query.device_ids) or None, sorted(query.device_types) or None
    )
    matching = [d for d in devices if query.matches(d)]
    if order is not None:
        matching = order.sort(matching)
    page, token = paginate(request, matching)
    return page_response("devices", [device_json(d) for d in page], token)


async def get_device(request: Request) -> Response:
    """Get one device (project `-` searches every project you can read)."""
    principal = await authenticate(request)
    return ok(device_json(await load_device(request, principal, "device.read")))


async def _targets(
    principal: Principal, path_project: str, names: Any, permission: str
) -> tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]:
    """Split the body's device names into (project, device) targets and per-device errors."""
    if not isinstance(names, list) or not names:
        raise BadRequest("devices must be a non-empty list of device names")
    targets: list[tuple[str, str]] = []
    errors: dict[str, dict[str, Any]] = {}
    for name in names:
        project_id, device_id = parse_device_name(name)
        if path_project not in (WILDCARD, project_id):
            errors[name] = batch_error(
                name, "INVALID_ARGUMENT", f"Device is not in project {path_project}."
            )
            continue
        granted = await principal.project_permissions(project_id)
        if not granted:
            errors[name] = batch_error(name, "NOT_FOUND", "Device not found.")
        elif permission not in granted:
            errors[name] = batch_error(
                name, "PERMISSION_DENIED", f"Missing permission {permission}."
            )
        else:
            targets.append((project_id, device_id))
    return targets, errors


async def batch_update(request: Request) -> Response:
    """Add, change or remove labels on many devices; per-device failures come back as `batchErrors`.

    Body: `{"devices": ["projects/p/devices/d", ...], "addLabels": {k: v}, "removeLabels": [k]}`.
    Every actual change emits a `labelsChanged` event (history, streams, Data Connectors).
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    if project_id != WILDCARD:
        await principal.require_project(project_id, "device.update")
    body = await read_json(request)
    check_fields(body, frozenset({"devices", "addLabels", "removeLabels"}))
    add = check_labels(body.get("addLabels", {}), "addLabels")
    remove = check_label_keys(body.get("removeLabels", []))
    if not add and not remove:
        raise BadRequest("give addLabels or removeLabels (or both)")
    both = sorted(set(add) & set(remove))
    if both:
        raise BadRequest(f"label {both[0]!r} cannot be both added and removed")
    targets, errors = await _targets(principal, project_id, body.get("devices"), "device.update")
    failures = await change_labels(
        ctx, targets, lambda current: apply_changes(current, add, remove)
    )
    for failure in failures:
        name = device_name(failure.project_id, failure.device_id)
        errors[name] = batch_error(name, failure.code, failure.message)
    ordered = [errors[n] for n in dict.fromkeys(body["devices"]) if n in errors]
    return ok({"batchErrors": ordered})


async def transfer_devices(request: Request) -> Response:
    """Move devices into the project in the path from projects where you hold `device.transfer`.

    Body: `{"devices": ["projects/<source>/devices/<d>", ...]}`. Answers `transferredDevices` (their
    new names) and per-device `transferErrors`.
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    target = request.path_params["project"]
    if target == WILDCARD:
        raise BadRequest("the target project cannot be the wildcard -")
    await principal.require_project(target, "device.transfer")
    body = await read_json(request)
    check_fields(body, frozenset({"devices"}))
    targets, errors = await _targets(principal, WILDCARD, body.get("devices"), "device.transfer")
    moves = [(p, d) for p, d in dict.fromkeys(targets) if p != target]
    moved = await ctx.store.move_devices(moves, target)
    transferred: list[str] = []
    for (source, device_id), success in zip(moves, moved, strict=True):
        if success:
            transferred.append(device_name(target, device_id))
        else:
            name = device_name(source, device_id)
            errors[name] = batch_error(name, "NOT_FOUND", "Device not found.")
    for source, device_id in targets:
        if source == target:  # already there: transferring is idempotent
            if await ctx.store.get_device(target, device_id) is not None:
                transferred.append(device_name(target, device_id))
            else:
                name = device_name(source, device_id)
                errors[name] = batch_error(name, "NOT_FOUND", "Device not found.")
    ordered = [errors[n] for n in dict.fromkeys(body["devices"]) if n in errors]
    return ok({"transferredDevices": list(dict.fromkeys(transferred)), "transferErrors": ordered})


routes: list[BaseRoute] = [
    Route("/v2/projects/{project:seg}/devices", list_devices, methods=["GET"]),
    Route("/v2/projects/{project:seg}/devices:batchUpdate", batch_update, methods=["POST"]),
    Route("/v2/projects/{project:seg}/devices:transfer", transfer_devices, methods=["POST"]),
    Route("/v2/projects/{project:seg}/devices/{device:seg}", get_device, methods=["GET"]),
]
