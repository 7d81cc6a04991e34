"""Prometheus instruments of the delivery engine, and the `/metrics` exposition.

Counters and histograms live in the process (prometheus_client's default registry, which also
carries the process collector: RSS, CPU, open files). Recording is on the hot path, so the labelled
children are looked up once and cached. Queue depth is not tracked incrementally: it is counted from
the store when scraped (an index scan, run off the event loop), so it is exact and costs nothing per
event.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_E2E_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0, 300.0, 3600.0, 43200.0)

ATTEMPTS = Counter(
    "conduit_delivery_attempts",
    "Delivery attempts by outcome: success, or the error class of the failure",
    ["outcome"],
)
LATENCY = Histogram(
    "conduit_delivery_latency_seconds",
    "Duration of successful delivery attempts (request sent to response read)",
    buckets=_LATENCY_BUCKETS,
)
END_TO_END = Histogram(
    "conduit_delivery_end_to_end_seconds",
    "From an event's receipt to its acknowledgement by the receiver",
    buckets=_E2E_BUCKETS,
)
EXPIRED = Counter("conduit_delivery_expired", "Deliveries dropped undelivered after 12 hours")
DROPPED = Counter(
    "conduit_delivery_dropped", "Queued deliveries discarded because their connector was disabled"
)
IN_FLIGHT = Gauge("conduit_delivery_in_flight", "Delivery attempts currently in flight")
FAILING = Gauge("conduit_delivery_failing_connectors", "Connectors whose last attempt failed")


class Observed(Protocol):
    @property
    def in_flight(self) -> int: ...

    def failing_connectors(self) -> int: ...


# Gauges read the live dispatchers when scraped, instead of being updated on every attempt.
_observed: weakref.WeakSet[Observed] = weakref.WeakSet()
IN_FLIGHT.set_function(lambda: sum(d.in_flight for d in list(_observed)))
FAILING.set_function(lambda: sum(d.failing_connectors() for d in list(_observed)))


def watch(dispatcher: Observed) -> None:
    _observed.add(dispatcher)


_outcomes: dict[str, Counter] = {}


def count_attempt(outcome: str) -> None:
    child = _outcomes.get(outcome)
    if child is None:
        child = _outcomes[outcome] = ATTEMPTS.labels(outcome)
    child.inc()


class QueueDepthCollector(Collector):
    """`conduit_delivery_queue_depth{connector=...}`, counted from the store at scrape time."""

    def __init__(self, depths: Callable[[], dict[str, int]]) -> None:
        self._depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "conduit_delivery_queue_depth", "Deliveries queued per connector", labels=["connector"]
        )
        for connector_id, depth in sorted(self._depths().items()):
            family.add_metric([connector_id], depth)
        yield family


def exposition(depths: Callable[[], dict[str, int]]) -> bytes:
    """The Prometheus text format: the process's instruments plus the queue depths given."""
    store_registry = CollectorRegistry(auto_describe=False)
    store_registry.register(QueueDepthCollector(depths))
    return generate_latest(REGISTRY) + generate_latest(store_registry)
