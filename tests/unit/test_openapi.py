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
    handlers = {r.endpoint.__name__ for r in routing.all_routes() if isinstance(r, Route)}
    assert handlers == set(OPERATIONS)
    operations = [op for ops in _document()["paths"].values() for op in ops.values()]
    assert len(operations) == 59
    assert len({op["operationId"] for op in operations}) == len(operations)
    for op in operations:
        assert op["responses"]["200"]["content"], op["operationId"]


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
