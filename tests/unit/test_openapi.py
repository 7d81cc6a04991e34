"""The OpenAPI document gives every operation its schemas, and every reference resolves."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.routing import Route

from conduit.api import routing
from conduit.api.openapi import build_document
from conduit.api.schemas import OPERATIONS
from conduit.domain.event_types import SHAPES, publish_schema


def _document() -> dict[str, Any]:
    return build_document(routing.all_routes())


def test_every_route_has_its_schemas() -> None:
    routes = [r for r in routing.all_routes() if isinstance(r, Route)]
    handlers = {r.endpoint.__name__ for r in routes if r.include_in_schema}
    assert handlers == set(OPERATIONS)
    # Left out only: Studio's pages, which are not API operations.
    assert {r.path for r in routes if not r.include_in_schema} == {
        "/",
        "/studio",
        "/studio/",
        "/studio/assets/{path:path}",
    }
    operations = [op for ops in _document()["paths"].values() for op in ops.values()]
    assert len(operations) == 63
    assert len({op["operationId"] for op in operations}) == len(operations)
    for op in operations:
        assert op["responses"]["200"]["content"], op["operationId"]


def test_operations_are_grouped_by_their_resource() -> None:
    """`/docs` shows one section per declared tag, Data Connectors first."""
    doc = _document()
    declared = [tag["name"] for tag in doc["tags"]]
    assert declared[0] == "Data Connectors" and len(set(declared)) == len(declared)
    tags = {
        (method, path): op["tags"]
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }
    assert all(len(t) == 1 and t[0] in declared for t in tags.values())
    assert tags["post", "/v2/projects/{project}/dataconnectors/{dataconnector}:sync"] == [
        "Data Connectors"
    ]
    assert tags["get", "/v2/projects/{project}/devices:stream"] == ["Devices and events"]
    assert tags["get", "/v2/projects/{project}/permissions"] == ["Members and roles"]
    assert tags["get", "/docs"] == ["Server"]
    assert "security" not in doc["paths"]["/docs"]["get"]


def test_every_reference_resolves() -> None:
    doc = _document()
    text = json.dumps(doc)
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert name in doc["components"]["schemas"], name


def test_writes_document_their_bodies() -> None:
    doc = _document()
    for path, ops in doc["paths"].items():
        for method in ("post", "put", "patch"):
            if method in ops:
                assert "requestBody" in ops[method], f"{method.upper()} {path}"


def test_the_publish_schema_is_the_validators_shapes() -> None:
    variants = publish_schema()["oneOf"]
    assert [next(iter(v["properties"])) for v in variants] == list(SHAPES)
    temperature = next(v for v in variants if "temperature" in v["properties"])
    data = temperature["properties"]["temperature"]
    assert data["required"] == ["value"] and data["additionalProperties"] is False
    network = next(v for v in variants if "networkStatus" in v["properties"])
    strength = network["properties"]["networkStatus"]["properties"]["signalStrength"]
    assert strength == {"type": "integer", "minimum": 0, "maximum": 100}
