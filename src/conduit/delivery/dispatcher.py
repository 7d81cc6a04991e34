"""Sends every queued delivery as its own signed HTTPS POST, in parallel, the moment it is
committed.

How work reaches the wire:

- *Fresh rows* are born claimed for this node's dispatcher (`store.record_publish`). A publish
  commits and hands the new rows to `offer()`, and the loop starts one attempt per row at once: no
  claim write, no read, no polling delay, no waiting for one delivery to start the next.
- *Backlog rows* (retries, rows a busy or failing connector could not take, rows of a crashed
  predecessor or of another node) are claimed per connector from the store in bounded pages
  (`store.claim_due`) when that connector has free slots; the loop knows when to look because it
  wrote their `next_attempt` itself, or another node's `NOTIFY` says so (and it re-checks every
  connector every few seconds as a safety net).

Slots: at most `settings.max_in_flight` attempts in flight, shared fairly between projects and
between a project's connectors (`slot_shares`: a share is always kept free for a project with
nothing in flight, so one tenant's slow receiver never delays another tenant's first attempt), and
at most `max_in_flight_per_connector` per connector; retries may hold only part of a share
(`policy.retry_limit`), the rest is kept for first attempts. A failing connector gets one probe at
a time, spaced by backoff (`policy`); its first success releases its backlog at full speed.

Outcomes are batched: acks (delete), reschedules, attempt-log rows and connector health go to the
store in one job per commit (`store.settle`). A row leaves the queue only on a 2xx or when it is 12
hours old. After a crash nothing is lost: un-acked rows are still in the store, and their claims
lapse (or, on SQLite, whose single dispatcher holds the database's exclusive lock, are released at
start). Claims of rows in flight are extended while their request runs, so a slow receiver never
gets the same event from two nodes at once.

Time comes from `ctx.clock` (so tests jump hours with a `ManualClock`); request latency is measured
with `time.perf_counter`.
"""

from __future__ import annotations

import asyncio
import logging
import random as random_module
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from conduit.context import Context
from conduit.delivery import metrics, policy
from conduit.delivery.connector_state import ConnectorState, fingerprint
from conduit.delivery.http import Outcome
from conduit.delivery.sender_pool import SenderPool
from conduit.delivery.senders import AttemptRequest, LocalSender, Sender
from conduit.delivery.slot_shares import SlotShares
from conduit.domain import token_bucket
from conduit.domain.dataconnectors import NO_SUCCESS_FOR_5_DAYS, RECEIVER_GONE
from conduit.domain.ids import new_id
from conduit.store.records import Delivery, Notice, Settlement

log = logging.getLogger("conduit.delivery")

PAGE = 512  # rows read or claimed per query
RESCAN_EVERY = 5.0  # seconds: the safety net that looks at every connector's queue
EXPIRE_EVERY = 60.0  # seconds between sweeps for rows past 12 hours
PRUNE_EVERY = 600.0  # seconds between prunes of the 24-hour attempt log
SWEEP_BATCH = 5000  # rows deleted per sweep job
PROBE_RECHECK = 1.0  # seconds before asking again for a probe another node holds
MAX_OFFERED = 4 * PAGE  # fresh rows kept waiting for a slot; beyond that they go back to the store


class Dispatcher:
    name = "dispatcher"

    def __init__(self, ctx: Context, random: policy.Random | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.store = ctx.store
        self.clock = ctx.clock
        self.random = random or random_module.Random().random
        self.client: Sender = (
            SenderPool(ctx.settings, ctx.settings.delivery_workers)
            if ctx.settings.delivery_workers > 0
            else LocalSender(ctx.settings)
        )
        self.cap = max(1, ctx.settings.max_in_flight)
        self.slots = SlotShares(self.cap, ctx.settings.max_in_flight_per_connector)
        self.retry_cap = policy.retry_limit(self.cap)
        self.lease = ctx.settings.lease_seconds
        self.connectors: dict[str, ConnectorState] = {}
        self.in_flight_retries = 0
        self._turn = 0  # where the next look at the backlogs starts (round-robin)
        # Delivery ids in flight, or settled and awaiting the commit of their settlement.
        self._sending: set[int] = set()
        self._offered: deque[Delivery] = deque()  # born claimed for us, not yet started
        self._noticed: set[str] = set()  # connectors another node says have claimable rows
        # Connectors whose health this dispatcher decided but has not yet seen committed.
        self._health_unwritten: set[str] = set()
        self._leases: dict[int, float] = {}  # in flight: delivery id -> its claim's end
        self._starved = False  # some work waits for a slot to free up
        self._pending = Settlement()
        self._pending_effects: list[Callable[[], None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runner: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._timer_at = 0.0
        self._stopping = False
        # Passes of the loop begun and completed: what tests await to know the dispatcher looked.
        self.passes_begun = 0
        self.passes = 0
        self._next_rescan = 0.0
        self._next_expire = 0.0
        self._next_prune = 0.0
        self._next_extend = 0.0
        self._sweeping = False
        ctx.workers[self.name] = self
        metrics.watch(self)

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Take over orphaned claims where the backend allows, then serve rows from here on."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        await self.client.start()
        self.store.on_notice(self._on_notice)
        released = await self.store.release_orphaned_claims()
        if released:
            log.info("released %d deliveries claimed before the last shutdown", released)
        now = self.clock.now()
        for connector_id in await self.store.active_connector_ids():
            state = await self._refresh(connector_id)
            if state is not None:
                state.note_backlog(now)
        self._next_rescan = now + RESCAN_EVERY
        self._next_expire = now
        self._next_prune = now
        self._runner = asyncio.create_task(self._run(), name="conduit-dispatcher")

    async def stop(self) -> None:
        """Stop sending; attempts in flight are abandoned (their rows are sent again next start)."""
        self._stopping = True
        self._wake.set()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.client.close()
        while self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        if self._pending:
            await self._flush_once()

    @property
    def in_flight(self) -> int:
        return self.slots.in_flight

    @property
    def running(self) -> bool:
        return self._runner is not None and not self._runner.done()

    def offer(self, rows: list[Delivery]) -> None:
        """Rows born claimed for this dispatcher have committed: start them now. Called on the
        loop's thread, right after the commit."""
        self._offered.extend(rows)
        self._wake.set()

    def look_at(self, connector_ids: list[str]) -> None:
        """These connectors have claimable rows this node queued unclaimed: look now."""
        self._noticed.update(connector_ids)
        self._wake.set()

    def _on_notice(self, notice: Notice) -> None:
        """Another node left rows nobody claims (or notices may have been missed): look."""
        if notice.everything:
            self._next_rescan = 0.0
        self._noticed.update(notice.connectors)
        self._wake.set()

    def notify(self) -> None:
        """The store may hold new claimable rows: look now. Safe to call from any thread, any
        number of times."""
        if self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    # ---- the loop -------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self.passes_begun += 1
            now = self.clock.now()
            try:
                self._starved = False
                await self._take_fresh(now)
                await self._take_backlogs(now)
                await self._sweep(now)
                self.passes += 1
            except Exception:  # a store error must not end delivery; the rows are safe in the store
                log.exception("dispatcher iteration failed; retrying in 1 s")
                await self._wait(now + 1.0, now)
                continue
            await self._wait(self._next_deadline(now), now)

    async def _wait(self, deadline: float, now: float) -> None:
        """Sleep until woken or until `deadline` (clock time). The timer is re-armed only when the
        deadline moves earlier, so a busy loop does not create a timer per iteration."""
        if self._wake.is_set() or self._stopping:
            return
        timer = self._timer
        if timer is None or timer.done() or self._timer_at > deadline:
            if timer is not None:
                timer.cancel()
            self._timer_at = deadline
            self._timer = asyncio.ensure_future(self._ring(max(0.0, deadline - now)))
        await self._wake.wait()

    async def _ring(self, delay: float) -> None:
        await self.clock.sleep(delay)
        self._wake.set()

    def _next_deadline(self, now: float) -> float:
        """The next time the loop must look without being woken. Work that is due now but waits for
        a slot is not a deadline: the attempt or commit that frees the slot wakes the loop."""
        deadline = self._next_rescan
        if self._leases:
            deadline = min(deadline, self._next_extend)
        if not self._sweeping:
            deadline = min(deadline, self._next_expire, self._next_prune)
        for state in self.connectors.values():
            if state.backlog_at is None or state.claiming or not state.active:
                continue
            at = max(state.backlog_at, state.probe_at) if state.failing else state.backlog_at
            if now < at < deadline:
                deadline = at
        return deadline

    # ---- fresh rows -----------------------------------------------------------------------------

    async def _take_fresh(self, now: float) -> None:
        """Start the rows offered since the last look, as far as slots allow; hand back to the
        store what cannot wait in memory."""
        offered = self._offered
        if not offered:
            return
        for connector_id in {r.connector_id for r in offered}:
            await self._refresh(connector_id)
        while offered and self.in_flight < self.cap:
            self._take_fresh_row(offered.popleft(), now)
        if offered:
            self._starved = True
        while len(offered) > MAX_OFFERED:
            self._hand_back(offered.pop())

    def _take_fresh_row(self, row: Delivery, now: float) -> None:
        state = self.connectors.get(row.connector_id)
        if state is None or not state.active or row.id in self._sending:
            return  # a disabled or deleted connector's rows leave with it
        if row.lease_until <= now:
            state.note_backlog(now)  # its birth claim has lapsed: the backlog path claims it
            return
        if policy.is_expired(row.event_time, now):
            self._settle_expired(row)
            return
        if state.failing or state.rate_limit or self.slots.free(state) <= 0:
            # A probe, a free slot or a token of its rate limit will take it from the store.
            self._hand_back(row)
            return
        self._start(state, row)

    def _hand_back(self, row: Delivery) -> None:
        """Release a born claim we will not use now, so the row is claimable by any dispatcher."""
        state = self.connectors.get(row.connector_id)
        self._sending.add(row.id)
        self._pending.released.append(row.id)
        self._pending_effects.append(lambda: self._released(state, row.id))
        self._request_flush()

    def _released(self, state: ConnectorState | None, row_id: int) -> None:
        self._sending.discard(row_id)
        if state is not None:
            state.note_backlog(self.clock.now())

    # ---- backlog rows ---------------------------------------------------------------------------

    async def _take_backlogs(self, now: float) -> None:
        while self._noticed:
            state = await self._refresh(self._noticed.pop())
            if state is not None and state.active:
                state.note_backlog(now)
        states = list(self.connectors.values())
        if states:
            # Round-robin: when slots are scarce, the connector looked at first changes every pass.
            first = self._turn % len(states)
            self._turn += 1
            states = states[first:] + states[:first]
        for state in states:
            if not state.active or state.claiming:
                continue
            if state.backlog_at is None or state.backlog_at > now:
                continue
            if state.failing and (state.probe_at > now or state.in_flight > 0):
                continue
            free = min(self.slots.free(state), PAGE)
            if free <= 0:
                self._starved = True
                continue
            retry_free = min(
                self.slots.free_retries(state), self.retry_cap - self.in_flight_retries
            )
            first_only = retry_free <= 0
            limit = free if first_only else min(free, retry_free)
            due = await self.store.count_due(state.id, now, limit, first_only)
            if due == 0:
                state.backlog_at = await self.store.next_due(state.id)
                if state.backlog_at is None and state.in_flight == 0:
                    state.idle = True  # nothing queued: idle, not failing (policy)
                if first_only and state.backlog_at is not None and state.backlog_at <= now:
                    self._starved = True  # only retries are due, and retries are at their cap
                continue
            # Reserve the slots while the claim is written, so fresh rows do not take them
            # meanwhile.
            state.claiming = True
            self.slots.take(state, due)
            self._spawn(self._claim(state, due, first_only, now))

    async def _claim(
        self, state: ConnectorState, reserved: int, first_only: bool, now: float
    ) -> None:
        """Claim up to `reserved` due rows of a connector (their slots are reserved); start them."""
        limit = reserved
        try:
            until = now + self.lease
            probing = state.failing
            if probing and not await self.store.try_probe(state.id, now, until):
                # Another node's probe is in flight, or the cluster's backoff has not passed.
                state.defer_backlog(now + PROBE_RECHECK)
                return
            if state.rate_limit:
                granted = await self.store.take_tokens(state.id, limit, now)
                self.slots.give(state, limit - granted)
                reserved = limit = granted
                if not granted:
                    state.defer_backlog(token_bucket.next_token_at(state.rate_limit, now))
                    if probing:
                        await self.store.settle(Settlement(probes={state.id: 0.0}), now)
                    return
            rows = await self.store.claim_due(
                state.id, now, until, limit, first_attempts_only=first_only
            )
            self.slots.give(state, reserved)
            reserved = 0
            current = await self._refresh(state.id)
            started = 0
            for row in rows:
                if current is None or not current.active:
                    break
                if row.id in self._sending:
                    continue
                if policy.is_expired(row.event_time, self.clock.now()):
                    self._settle_expired(row)
                    continue
                self._start(current, row)
                started += 1
            if probing and not started:
                # The probe right was taken but nothing went out (the row expired, or another
                # node took it): hand the right back, before this connector is looked at again,
                # rather than block probes until it lapses.
                await self.store.settle(Settlement(probes={state.id: 0.0}), now)
            if current is not None:
                # A full page means more may be due right now; otherwise look when the next row is.
                current.backlog_at = None
                if len(rows) >= limit:
                    current.note_backlog(now)
                else:
                    next_at = await self.store.next_due(state.id)
                    if next_at is not None:
                        current.note_backlog(next_at)
                    elif current.in_flight == 0:
                        current.idle = True  # nothing queued: idle, not failing (policy)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("claiming deliveries of connector %s failed", state.id)
            state.note_backlog(self.clock.now() + 1.0)
        finally:
            self.slots.give(state, reserved)
            state.claiming = False
            self._wake.set()

    # ---- attempts -------------------------------------------------------------------------------

    def _start(self, state: ConnectorState, row: Delivery) -> None:
        retry = row.attempts > 0 or row.replay  # a replay never takes a fresh event's slot
        probe = state.failing
        self.slots.take(state)
        if retry:
            state.in_flight_retries += 1
            self.in_flight_retries += 1
        self._sending.add(row.id)
        self._leases[row.id] = row.lease_until
        now = self.clock.now()
        request = AttemptRequest(
            state.target,
            row.body,
            state.headers,
            state.secret,
            int(now),
            new_id(now),
            state.scheme,
            state.previous_at(now),
            row.event_id,
        )

        def done(outcome: Outcome) -> None:
            self._leases.pop(row.id, None)
            self.slots.give(state)
            if retry:
                state.in_flight_retries -= 1
                self.in_flight_retries -= 1
            self._settle(state, row, outcome, probe)

        try:
            self.client.submit(request, done)
        except Exception:  # fail closed: a bug in handing the attempt over is a failed attempt
            log.exception("attempt to deliver %s failed unexpectedly", row.event_id)
            done(Outcome(False, None, "internal_error", 0.0))

    def _settle(self, state: ConnectorState, row: Delivery, outcome: Outcome, probe: bool) -> None:
        """Record an attempt's outcome. Only a probe's failure (or the first failure of a healthy
        connector) counts towards the connector's backoff: when 256 requests in flight fail together
        because the receiver went down, that is one failure of the connector, not 256."""
        now = self.clock.now()
        attempt = row.attempts + 1
        pending = self._pending
        pending.attempts.append(
            (
                row.connector_id,
                row.event_id,
                attempt,
                now,
                1 if outcome.success else 0,
                outcome.status,
                outcome.error,
                outcome.latency,
            )
        )
        counted_failure = False
        if outcome.success:
            metrics.count_attempt("success")
            metrics.LATENCY.observe(outcome.latency)
            metrics.END_TO_END.observe(max(0.0, now - row.event_time))
            state.on_success(now)
            pending.acked.append(row.id)
            self._pending_effects.append(lambda: self._sending.discard(row.id))
        else:
            metrics.count_attempt(outcome.error or "error")
            if not state.failing or probe:
                state.on_failure(now, self.random)
                counted_failure = True
            if outcome.retry_after is not None:
                # The receiver asked for a pause: no probe of this connector before it ends.
                state.probe_at = max(
                    state.probe_at, now + policy.honoured_pause(outcome.retry_after)
                )
                counted_failure = True
            retry_at = policy.next_attempt_after_failure(
                row.event_time, attempt, now, self.random, outcome.retry_after
            )
            pending.rescheduled.append((attempt, retry_at, row.id, outcome.error))
            self._pending_effects.append(lambda: self._rescheduled(state, row.id, retry_at))
            if state.active and policy.should_disable(state.failing_since, now):
                log.warning(
                    "connector %s has failed for 5 days without a success: SYSTEM_DISABLED",
                    state.id,
                )
                pending.disable[state.id] = NO_SUCCESS_FOR_5_DAYS
                state.active = False
            elif state.active and state.disable_on_gone and outcome.status == 410:
                log.warning(
                    "connector %s: the receiver answered 410 Gone: SYSTEM_DISABLED", state.id
                )
                pending.disable[state.id] = RECEIVER_GONE
                state.active = False
        pending.health[state.id] = state.health()
        self._health_unwritten.add(state.id)
        if counted_failure:
            pending.probes[state.id] = state.probe_at  # no node probes before the backoff ends
        elif probe:
            pending.probes[state.id] = 0.0
        self._request_flush()
        if self._starved or self._offered:
            self._wake.set()

    def _settle_expired(self, row: Delivery) -> None:
        self._sending.add(row.id)
        self._pending.expired.append((row.id, row.connector_id))
        self._pending_effects.append(lambda: self._expired_settled(row))
        self._request_flush()

    def _expired_settled(self, row: Delivery) -> None:
        """The expired row is gone: look at its connector's queue again now, so an emptied queue
        is seen as such (idle, not failing) at once, not at the next safety-net rescan."""
        self._sending.discard(row.id)
        state = self.connectors.get(row.connector_id)
        if state is not None:
            state.note_backlog(self.clock.now())

    def _rescheduled(self, state: ConnectorState, row_id: int, retry_at: float) -> None:
        self._sending.discard(row_id)
        state.note_backlog(retry_at)

    # ---- writing outcomes -----------------------------------------------------------------------

    def _request_flush(self) -> None:
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            while self._pending:
                await self._flush_once()
        finally:
            self._flushing = None

    async def _flush_once(self) -> None:
        batch, self._pending = self._pending, Settlement()
        effects, self._pending_effects = self._pending_effects, []
        now = self.clock.now()
        try:
            settled = await self.store.settle(batch, now)
        except Exception:
            # The rows keep their claims and become due again when those lapse: resent, not lost.
            log.exception("writing %d delivery outcomes failed", len(batch.attempts))
            for row_id in [*batch.acked, *batch.released, *(i for i, _ in batch.expired)]:
                self._sending.discard(row_id)
            for _, _, row_id, _ in batch.rescheduled:
                self._sending.discard(row_id)
            return
        self._health_unwritten = set(self._pending.health)
        if settled.expired:
            metrics.EXPIRED.inc(sum(settled.expired.values()))
        if settled.dropped:
            metrics.DROPPED.inc(settled.dropped)
        for effect in effects:
            effect()
        for connector_id in batch.disable:
            self.connectors.pop(connector_id, None)
        self._wake.set()

    # ---- connectors -----------------------------------------------------------------------------

    async def _refresh(self, connector_id: str) -> ConnectorState | None:
        """The connector's state, checked against its row (so updates apply to the next attempt)."""
        row = await self.store.connector_row(connector_id)
        state = self.connectors.get(connector_id)
        if row is None:
            if state is not None:
                state.active = False
                if state.in_flight == 0:
                    del self.connectors[connector_id]
            return None
        if state is None:
            state = ConnectorState.from_row(row, self.ctx.secrets)
            self.connectors[connector_id] = state
            return state
        if state.fingerprint != fingerprint(row):
            was_active = state.active
            state.apply_config(row, self.ctx.secrets)
            if (not was_active and state.active) or (
                state.failing and row.consecutive_failures == 0
            ):
                # Re-enabled (the lifecycle reset its health) or a user reset: start healthy.
                state.adopt_health(row)
        elif state.failing != (row.consecutive_failures > 0) and (
            connector_id not in self._health_unwritten
        ):
            # Another node's probe succeeded, or another node found the receiver failing: the
            # row is the cluster's record of the connector's health.
            state.adopt_health(row)
        return state

    # ---- housekeeping ---------------------------------------------------------------------------

    async def _sweep(self, now: float) -> None:
        if self._leases and now >= self._next_extend:
            self._next_extend = now + self.lease / 3
            self._spawn(self._extend_leases(now))
        if now >= self._next_rescan:
            self._next_rescan = now + RESCAN_EVERY
            active = set(await self.store.active_connector_ids())
            for connector_id in active | set(self.connectors):
                state = await self._refresh(connector_id)
                if state is not None and state.active:
                    state.note_backlog(now)
            # Another pass now: it runs after this one computed its deadline, and a backlog
            # noted as due now is not a deadline of its own (a rate-limited connector would
            # otherwise wait for the next rescan).
            self._wake.set()
        if self._sweeping:
            return
        expire, prune = now >= self._next_expire, now >= self._next_prune
        if expire:
            self._next_expire = now + EXPIRE_EVERY
        if prune:
            self._next_prune = now + PRUNE_EVERY
        if expire or prune:
            self._sweeping = True
            self._spawn(self._housekeeping(now, expire=expire, prune=prune))

    async def _housekeeping(self, now: float, *, expire: bool, prune: bool) -> None:
        """Expire rows past 12 hours and prune attempts past 24 hours, in bounded jobs."""
        try:
            while expire and not self._stopping:
                expired = await self.store.expire_old(now - policy.MAX_EVENT_AGE, SWEEP_BATCH, now)
                count = sum(expired.values())
                if count:
                    metrics.EXPIRED.inc(count)
                    log.info("expired %d deliveries older than 12 hours", count)
                expire = count == SWEEP_BATCH
            while prune and not self._stopping:
                pruned = await self.store.prune_attempts(
                    now - policy.ATTEMPT_LOG_RETENTION, SWEEP_BATCH
                )
                prune = pruned == SWEEP_BATCH
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery housekeeping failed; it runs again later")
        finally:
            self._sweeping = False
            self._wake.set()

    async def _extend_leases(self, now: float) -> None:
        """Keep the claims of rows still in flight from lapsing, so no other dispatcher takes a
        row whose request is still running (a receiver slower than the lease)."""
        soon = now + 2 * self.lease / 3
        ids = [i for i, until in self._leases.items() if until < soon]
        if not ids:
            return
        until = now + self.lease
        try:
            await self.store.extend_leases(ids, until)
        except Exception:
            log.exception("extending %d claims failed; retrying at the next pass", len(ids))
            return
        for i in ids:
            if i in self._leases:
                self._leases[i] = until

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- introspection (tests, metrics) ----------------------------------------------------------

    def failing_connectors(self) -> int:
        return sum(1 for s in self.connectors.values() if s.active and s.failing)
