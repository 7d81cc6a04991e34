"""Issue 7, hole 3: one tenant's slow receiver cannot starve another tenant's deliveries.

The slow tenants' receivers hang (they answer only when the test ends), so their requests hold
their slots for the whole test: a fresh event of another project or connector that had to wait for
one of those slots would wait for the delivery timeout (30 s here), far past `within` (each test
failed that way before the slots were shared). The hung requests never finish while the
assertions run, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.engine import running_engine
from tests.harness.receivers import Receiver, eventually, hanging

SETTINGS = {"max_in_flight": 8, "delivery_timeout": 30.0}


@pytest.mark.parametrize("slow_tenants", [1, 3])
async def test_a_slow_tenant_never_delays_another_tenants_first_attempt(
    tmp_path: Path, slow_tenants: int
) -> None:
    with Receiver(hanging()) as hung, Receiver() as fast:
        async with running_engine(tmp_path, **SETTINGS) as engine:
            slow_projects = [await engine.new_project() for _ in range(slow_tenants)]
            slow_connectors = [
                await engine.connector(hung.url, project_id=p) for p in slow_projects
            ]
            for project in slow_projects:
                for _ in range(8):  # each slow tenant alone could fill all 8 slots
                    await engine.publish(project_id=project)
            await eventually(lambda: hung.active == engine.dispatcher.in_flight > 0)
            assert hung.active < SETTINGS["max_in_flight"]  # room was kept for someone else

            fast_connector = await engine.connector(fast.url)
            await engine.publish()
            await fast.wait(1, within=5)  # not after a slow request's 30 s timeout
            await eventually(lambda: engine.queued(fast_connector) == 0)
            # The slow tenants' events are all still queued, none lost or dropped.
            assert sum(engine.queued(c) for c in slow_connectors) == 8 * slow_tenants


async def test_a_slow_connector_never_delays_its_sibling_in_the_same_project(
    tmp_path: Path,
) -> None:
    with Receiver(hanging()) as hung, Receiver() as fast:
        async with running_engine(tmp_path, **SETTINGS) as engine:
            slow_connector = await engine.connector(hung.url, events=["touch"])
            fast_connector = await engine.connector(fast.url, events=["temperature"])
            for _ in range(8):
                await engine.publish("touch")
            await eventually(lambda: hung.active == engine.dispatcher.in_flight > 0)
            assert hung.active < SETTINGS["max_in_flight"]

            await engine.publish("temperature", {"value": 21.5})
            await fast.wait(1, within=5)
            await eventually(lambda: engine.queued(fast_connector) == 0)
            assert engine.queued(slow_connector) == 8
