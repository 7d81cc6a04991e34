"""How often CPython's cycle collector runs in the long-lived processes (the server, the senders).

Why: at the default thresholds the collector was 5-7 % of the server's CPU per delivered event
(measured with `gc.callbacks` during `bench/celery_baseline.py`'s Conduit phase: 0.41 s of collector
time over 21,000 events, ≈ 19 µs each). Generation 0 is collected whenever tracked allocations
exceed deallocations by 700; with 64 requests in flight their live objects alone cross that line
hundreds of times a second, so each collection finds nothing to free and promotes live request
objects, and every full collection then walked the ~54,000 objects made at import (≈ 25 ms each,
a pause on the event loop). Request objects are freed by reference counting, not by the collector.

So: the objects that exist once the process is set up are frozen (never scanned again; they live as
long as the process anyway), and generation 0 waits for 10,000 net allocations. Cyclic garbage is
still collected: it never gets deallocated, so it counts towards those 10,000 and triggers a
collection itself. Measured: 0.41 s → 0.01 s of collector time in the same run
(docs/performance.md).
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 10)


def tune_for_serving() -> None:
    """Call once the process has imported and built what it keeps for its whole life."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
