"""The fair share of in-flight slots (issue 7, hole 3), as pure arithmetic."""

from __future__ import annotations

from conduit.delivery.connector_state import ConnectorState
from conduit.delivery.slot_shares import SlotShares


def _connector(project: str, name: str) -> ConnectorState:
    return ConnectorState(
        id=name,
        project_id=project,
        fingerprint=("ACTIVE", 0.0, "", "", None),
        active=True,
        target=None,
        headers={},
        secret=None,
    )


def _fill(shares: SlotShares, state: ConnectorState) -> int:
    """Start requests for `state` until its share is used up; how many it took."""
    taken = 0
    while shares.free(state) > 0:
        shares.take(state)
        taken += 1
    return taken


def test_defaults_let_one_connector_alone_use_its_per_connector_cap() -> None:
    shares = SlotShares(1024, 256)
    assert _fill(shares, _connector("p", "a")) == 256
    assert _fill(shares, _connector("p", "b")) == 512 // 3  # the sibling, while `a` is busy
    assert shares.in_flight == 256 + 170


def test_a_project_alone_keeps_half_of_the_slots_free() -> None:
    shares = SlotShares(8, 8)
    states = [_connector("p", str(i)) for i in range(8)]
    assert sum(_fill(shares, s) for s in states) <= 4
    assert shares.free(_connector("q", "newcomer")) >= 1


def test_a_newcomer_finds_a_free_slot_however_many_tenants_are_slow() -> None:
    """Once the busy tenants' requests have cycled (each re-taking slots at its current share),
    they hold at most half of the slots together (or one each, when there are more than half as
    many of them as slots), so a new project starts at once while fewer tenants than slots are
    busy."""
    for cap in (4, 8, 64, 1024):
        for tenants in sorted({n for n in (1, 2, 3, 5, 10, 50, cap - 1) if n < cap}):
            shares = SlotShares(cap, cap)
            slow = [_connector(f"slow{i}", "c") for i in range(tenants)]
            for _ in range(6):  # requests end (at the latest at their timeout) and are re-sent
                for state in slow:
                    for _ in range(state.in_flight):
                        shares.give(state)
                    _fill(shares, state)
            assert shares.in_flight <= max(cap // 2, tenants)
            assert shares.free(_connector("newcomer", "c")) >= 1, (cap, tenants)


def test_the_cap_is_never_exceeded_however_many_tenants_ask() -> None:
    shares = SlotShares(4, 4)
    states = [_connector(f"p{i % 7}", f"c{i}") for i in range(40)]
    for _ in range(3):
        for state in states:
            _fill(shares, state)
    assert shares.in_flight == 4
    assert all(shares.free(s) == 0 for s in states)


def test_a_failing_connector_gets_one_probe() -> None:
    shares = SlotShares(1024, 256)
    state = _connector("p", "a")
    state.consecutive_failures = 3
    assert _fill(shares, state) == 1


def test_shares_grow_back_as_other_tenants_finish() -> None:
    shares = SlotShares(12, 12)
    slow, other = _connector("slow", "c"), _connector("other", "c")
    shares.take(other)
    assert _fill(shares, slow) == 12 // 3 // 2  # another tenant is busy
    shares.give(other)
    assert shares.free(slow) == 12 // 2 // 2 - 2  # alone again: its connector share is 3
    for _ in range(slow.in_flight):
        shares.give(slow)
    assert shares.in_flight == 0 and shares.free(slow) == 3


def test_retries_keep_part_of_each_share_for_first_attempts() -> None:
    shares = SlotShares(1024, 256)
    state = _connector("p", "a")
    assert shares.free_retries(state) == 192
    state.in_flight_retries = 192
    assert shares.free_retries(state) == 0
