"""How the in-flight slots are shared between projects, and between a project's connectors.

A slot is held for as long as the receiver takes to answer, and a request in flight cannot be taken
back. So fairness cannot wait until slots run out: a tenant whose receiver answers 2xx after eight
seconds would by then hold every slot, and another project's event would wait eight seconds for
its first attempt (the hole found by probing, issue 7). The rule therefore keeps room free up front:

- a project may hold at most `cap // (p + 2)` slots, where `p` is the number of *other* projects
  with requests in flight: alone it may use half of the server's slots, and one share is always
  left for a project that has nothing in flight yet;
- within its project, a connector may hold at most `project_share // (c + 2)` slots, `c` being its
  project's other connectors with requests in flight (and never more than its own per-connector
  cap, or one probe while failing).

With the defaults (1,024 slots), one project alone sends up to 512 requests at once and one
connector alone 256, the per-connector default. Shares are recomputed at every start: they shrink
as more tenants are busy and grow back as their requests finish, and slots that free up go
round-robin to the connectors waiting for one (the dispatcher's loop rotates where it starts).
Once the busy tenants' requests have cycled (a slow request ends at the delivery timeout at the
latest), they hold at most half of the slots together, so a new project's first attempt starts at
once while fewer projects than slots are busy. Only in the first seconds after many tenants turned
slow together can the larger shares the first of them took while alone still fill the server.
"""

from __future__ import annotations

from conduit.delivery import policy
from conduit.delivery.connector_state import ConnectorState


class SlotShares:
    def __init__(self, cap: int, connector_cap: int) -> None:
        self.cap = max(1, cap)
        self.connector_cap = max(1, connector_cap)
        self.in_flight = 0
        # Only projects holding slots: project id -> (slots held, connectors holding slots).
        self._held: dict[str, list[int]] = {}

    def take(self, state: ConnectorState, n: int = 1) -> None:
        """`state` now holds `n` more slots (a request started, or slots reserved for a claim)."""
        if n <= 0:
            return
        held = self._held.setdefault(state.project_id, [0, 0])
        if state.in_flight == 0:
            held[1] += 1
        held[0] += n
        state.in_flight += n
        self.in_flight += n

    def give(self, state: ConnectorState, n: int = 1) -> None:
        """`state` holds `n` slots fewer."""
        if n <= 0:
            return
        state.in_flight -= n
        self.in_flight -= n
        held = self._held[state.project_id]
        held[0] -= n
        if state.in_flight == 0:
            held[1] -= 1
        if held[0] <= 0:
            del self._held[state.project_id]

    def project_share(self, project_id: str) -> int:
        others = len(self._held) - (1 if project_id in self._held else 0)
        return max(1, self.cap // (others + 2))

    def connector_share(self, state: ConnectorState) -> int:
        held = self._held.get(state.project_id)
        others = (held[1] if held else 0) - (1 if state.in_flight > 0 else 0)
        share = max(1, self.project_share(state.project_id) // (others + 2))
        return min(share, state.limit(self.connector_cap))

    def free(self, state: ConnectorState) -> int:
        """How many more requests `state` may start now."""
        held = self._held.get(state.project_id)
        project_free = self.project_share(state.project_id) - (held[0] if held else 0)
        connector_free = self.connector_share(state) - state.in_flight
        return max(0, min(self.cap - self.in_flight, project_free, connector_free))

    def free_retries(self, state: ConnectorState) -> int:
        """How many of `state`'s free slots a retry may take: part of each share is kept for first
        attempts (`policy.retry_limit`)."""
        limit = policy.retry_limit(self.connector_share(state))
        return max(0, limit - state.in_flight_retries)
