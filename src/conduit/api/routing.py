"""Collects every resource's routes in matching order, and the path-segment convertor they share.

Path segments use the `seg` convertor (no `/` and no `:`), so `devices/{device:seg}` never swallows
`devices/{d}:publish`, and DT's custom-method suffixes (`:stream`, `:sync`, `:metrics`) route
cleanly.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute


class SegmentConvertor(Convertor[str]):
    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("seg", SegmentConvertor())


def all_routes() -> list[BaseRoute]:
    from conduit.api import (
        dataconnectors,
        devices,
        emulator,
        events,
        health,
        metrics,
        oauth2,
        openapi,
        organizations,
        projects,
        reference,
        roles,
        serviceaccounts,
        session,
        stream,
    )
    from conduit.studio import routes as studio

    # The publish path is the hottest route: match it (and its neighbours) first.
    modules = [
        emulator,
        devices,
        events,
        stream,
        dataconnectors,
        health,
        metrics,
        oauth2,
        openapi,
        organizations,
        projects,
        reference,
        roles,
        serviceaccounts,
        session,
        studio,  # last: the /v2 routes above are matched first
    ]
    routes: list[BaseRoute] = []
    for module in modules:
        routes.extend(module.routes)
    return routes


def operator_routes() -> list[BaseRoute]:
    """What a node without the API (`--role delivery`) serves: health checks and metrics."""
    from conduit.api import health, metrics

    return [*health.routes, *metrics.routes]
