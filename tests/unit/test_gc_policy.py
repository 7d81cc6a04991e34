"""The serving processes' collector policy: fewer collections, but cyclic garbage still goes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from conduit.gc_policy import THRESHOLDS, tune_for_serving


class Cycle:
    def __init__(self) -> None:
        self.me = self  # reference counting alone never frees it


@pytest.fixture
def serving_policy() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        tune_for_serving()
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_what_exists_at_setup_is_frozen(serving_policy: None) -> None:
    assert gc.get_threshold() == THRESHOLDS
    assert gc.get_freeze_count() > 1000  # this test process's modules, classes, functions


def test_cyclic_garbage_triggers_a_collection_by_itself(serving_policy: None) -> None:
    collections: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collections.append(info["generation"])

    first = Cycle()
    gone = weakref.ref(first)
    del first
    gc.callbacks.append(seen)
    try:
        for _ in range(THRESHOLDS[0] * 2):  # no gc.collect(): only the thresholds act
            Cycle()
    finally:
        gc.callbacks.remove(seen)
    assert collections, "no collection ran"
    assert gone() is None
