"""The Emulator API: create, replace and delete emulated devices, and publish events from them.

Served at the same `/v2` base as the REST API (SPEC §11), on the devices paths: GET is the devices
resource (`api/devices.py`), POST/PUT/DELETE and `:publish` are the emulator. Needs the `emulator.*`
permissions (Project Developer or higher). Only emulated devices can be changed or published from
here; anything else is 404, as if the emulator did not know it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conduit.api.devices import check_fields, device_json, load_device
from conduit.api.http import ok, read_json
from conduit.auth.principal import authenticate
from conduit.context import context_of
from conduit.domain.devices import Device
from conduit.domain.errors import BadRequest, NotFound
from conduit.domain.event_types import check_device_type
from conduit.domain.labels import (
    MAX_LABELS,
    VIRTUAL_SENSOR,
    TooManyLabels,
    check_labels,
    replace_labels,
)
from conduit.publishing import change_labels, publish_event

_CREATE_FIELDS = frozenset({"type", "labels"})
_OUTPUT_ONLY = frozenset({"name", "productNumber", "reported"})
_EMPTY = b"{}"


def _emulated_labels(raw: object) -> dict[str, str]:
    """The given labels plus `virtual-sensor: ""`, the mark of every emulated device (as in DT)."""
    labels = check_labels(raw if raw is not None else {})
    labels[VIRTUAL_SENSOR] = ""
    if len(labels) > MAX_LABELS:
        raise TooManyLabels()
    return labels


async def _emulated(request: Request, permission: str) -> Device:
    principal = await authenticate(request)
    device = await load_device(request, principal, permission)
    if not device.emulated:
        raise NotFound(f"emulated device {device.id} not found")
    return device


async def create_device(request: Request) -> Response:
    """Create an emulated device: `{"type": "temperature", "labels": {"name": "..."}}`."""
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    await principal.require_project(project_id, "emulator.create")
    body = await read_json(request)
    check_fields(body, _CREATE_FIELDS, _OUTPUT_ONLY)
    device_type = check_device_type(body.get("type"))
    labels = _emulated_labels(body.get("labels"))
    device = await ctx.store.create_device(project_id, device_type, labels, emulated=True)
    return ok(device_json(device))


async def replace_device(request: Request) -> Response:
    """Replace an emulated device's labels (its type cannot change); emits `labelsChanged`."""
    device = await _emulated(request, "emulator.update")
    ctx = context_of(request)
    body = await read_json(request)
    check_fields(body, _CREATE_FIELDS, _OUTPUT_ONLY)
    if "type" in body and body["type"] != device.type:
        raise BadRequest(f"an emulated device's type cannot change (it is {device.type})")
    labels = _emulated_labels(body.get("labels"))
    failures = await change_labels(
        ctx, [(device.project_id, device.id)], lambda current: replace_labels(current, labels)
    )
    if failures:
        raise NotFound(f"emulated device {device.id} not found")
    updated = await ctx.store.get_device(device.project_id, device.id)
    if updated is None:
        raise NotFound(f"emulated device {device.id} not found")
    return ok(device_json(updated))


async def delete_device(request: Request) -> Response:
    """Delete an emulated device and its event history."""
    device = await _emulated(request, "emulator.delete")
    if not await context_of(request).store.delete_device(device.project_id, device.id):
        raise NotFound(f"emulated device {device.id} not found")
    return ok()


async def publish(request: Request) -> Response:
    """Publish an event from an emulated device: `{"<eventType>": {...}}`, e.g. `{"touch": {}}`.

    The event must be of a type the device type reports; what the body leaves out (`updateTime`,
    samples, ...) is filled in. Answers `{}` once the event and its queued pushes are durable.
    """
    principal = await authenticate(request)
    ctx = context_of(request)
    project_id = request.path_params["project"]
    device_id = request.path_params["device"]
    await principal.require_project(project_id, "emulator.update")
    device = await ctx.store.device_ref(project_id, device_id)
    if device is None or not device.emulated:
        raise NotFound(f"emulated device {device_id} not found in project {project_id}")
    body = await read_json(request)
    await publish_event(ctx, device, body)
    return _ok_empty()


def _ok_empty() -> Response:
    """`{}` as pre-encoded bytes: the hot path skips the JSON encoder."""
    return Response(_EMPTY, media_type="application/json")


routes: list[BaseRoute] = [
    Route("/v2/projects/{project:seg}/devices", create_device, methods=["POST"]),
    Route("/v2/projects/{project:seg}/devices/{device:seg}:publish", publish, methods=["POST"]),
    Route("/v2/projects/{project:seg}/devices/{device:seg}", replace_device, methods=["PUT"]),
    Route("/v2/projects/{project:seg}/devices/{device:seg}", delete_device, methods=["DELETE"]),
]
