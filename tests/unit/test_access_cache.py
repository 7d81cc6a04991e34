"""The access cache: remembered briefly, bounded, and never outliving a write's invalidation."""

from __future__ import annotations

from conduit.store.access_cache import AccessCache


class Loader:
    """Answers from a dict the test changes, counting how often the database was asked."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls = 0

    def __call__(self, key: str) -> str:
        self.calls += 1
        return self.answers[key]


def test_an_answer_is_remembered_for_at_most_the_ttl() -> None:
    cache: AccessCache[str] = AccessCache(ttl=1.0)
    db = Loader({"k": "v1"})
    assert cache.get_or_load("k", 100.0, lambda: db("k")) == "v1"
    db.answers["k"] = "v2"  # changed by another process: no invalidation here
    assert cache.get_or_load("k", 100.9, lambda: db("k")) == "v1"
    assert db.calls == 1
    assert cache.get_or_load("k", 101.0, lambda: db("k")) == "v2", "stale for at most the TTL"
    assert db.calls == 2


def test_invalidate_forgets_at_once() -> None:
    cache: AccessCache[str] = AccessCache()
    db = Loader({"k": "v1"})
    cache.get_or_load("k", 0.0, lambda: db("k"))
    db.answers["k"] = "v2"
    cache.invalidate()
    assert cache.get_or_load("k", 0.0, lambda: db("k")) == "v2"
    assert len(cache) == 1


def test_a_read_that_raced_a_write_is_not_served_after_the_write() -> None:
    cache: AccessCache[str] = AccessCache()

    def read_then_the_write_commits() -> str:
        stale = "before the write"  # what the database said when this read ran
        cache.invalidate()  # the write commits and invalidates while the read is in flight
        return stale

    assert cache.get_or_load("k", 0.0, read_then_the_write_commits) == "before the write"
    assert cache.get_or_load("k", 0.0, lambda: "after the write") == "after the write"


def test_answers_not_worth_keeping_are_not_kept() -> None:
    cache: AccessCache[str | None] = AccessCache()
    calls = []
    for _ in range(3):
        cache.get_or_load("nowhere", 0.0, lambda: calls.append(1), remember=lambda v: v is not None)
    assert len(calls) == 3 and len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_oldest() -> None:
    cache: AccessCache[int] = AccessCache(max_entries=3)
    for n in range(5):
        cache.get_or_load(n, 0.0, lambda n=n: n)  # type: ignore[misc]
    assert len(cache) == 3
    reloaded = []
    cache.get_or_load(0, 0.0, lambda: reloaded.append(0) or 0)
    cache.get_or_load(4, 0.0, lambda: reloaded.append(4) or 4)
    assert reloaded == [0], "the oldest went, the newest stayed"
