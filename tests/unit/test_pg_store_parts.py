"""The PostgreSQL accounts and devices parts against a real PostgreSQL, without a server.

The integration suite judges both backends through the API; these tests pin what only a direct call
can show quickly: that the rules the database must decide (bootstrap once, the last admin, the key
cap) hold under concurrent callers, that a publish and a label change commit what they promise, and
that history pages neither skip nor repeat events that share a timestamp.

One database per module (`conduit_t_<random>` on the local PostgreSQL, trust auth), emptied before
each test and dropped at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import orjson
import pytest

from conduit.clock import ManualClock
from conduit.domain.accounts import (
    MAX_KEYS_PER_SERVICE_ACCOUNT,
    ORGANIZATION_SCOPE,
    PROJECT_SCOPE,
    SERVICE_ACCOUNT,
    USER,
    Key,
    Membership,
    Organization,
    Project,
    ServiceAccount,
    service_account_email,
)
from conduit.domain.devices import DeviceRef
from conduit.domain.errors import BadRequest, Conflict, NotFound
from conduit.domain.event_types import LABELS_CHANGED, envelope
from conduit.domain.ids import new_id
from conduit.domain.labels import LabelChange, apply_changes
from conduit.store.postgres.accounts import PgAccounts
from conduit.store.postgres.database import Database
from conduit.store.postgres.devices import PgDevices
from conduit.store.records import Recorded

ADMIN_URL = os.environ.get("CONDUIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
START = 1_800_000_000.0
ADMIN_ROLE = "roles/organization.admin"

_TABLES = (
    "organizations, projects, service_accounts, service_account_keys, memberships, devices,"
    " events, dataconnectors, deliveries, delivery_attempts, delivery_counters"
)


class _Store(PgAccounts, PgDevices):
    """The two parts under test, put together the way `PostgresStore` puts all of them."""

    clock: ManualClock

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.clock = ManualClock(START)
        self.node_id = "n1"


def _admin(sql: str) -> None:
    """One statement on the admin database, from the sync module fixture (no loop runs yet)."""

    async def run() -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    name = f"conduit_t_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f"CREATE DATABASE {name}")
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {ADMIN_URL} cannot be reached ({exc})")
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[_Store]:
    """A store on the module's database (migrations applied by the first `open`), emptied first so
    every test starts with no organization at all."""
    s = _Store(database_url)
    await s.db.open()
    await s.db.pool.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY")
    try:
        yield s
    finally:
        await s.db.close()


# ---- helpers -------------------------------------------------------------------------------------


async def _org_with_admin(store: _Store) -> tuple[Organization, Project, ServiceAccount]:
    org = await store.create_organization("Org")
    project = await store.create_project(org.id, "P")
    account = await store.create_service_account(project.id, "admin")
    await store.put_membership(_admin_membership(org.id, account))
    return org, project, account


def _admin_membership(org_id: str, account: ServiceAccount) -> Membership:
    return Membership(
        scope_kind=ORGANIZATION_SCOPE,
        scope_id=org_id,
        member_id=account.id,
        account_type=SERVICE_ACCOUNT,
        email=account.email,
        display_name=account.display_name,
        roles=[ADMIN_ROLE],
    )


def _event(
    project_id: str, device_id: str, event_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    return envelope(new_id(START), project_id, device_id, event_type, data, "2027-01-15T08:00:00Z")


async def _publish(
    store: _Store, ref: DeviceRef, event_type: str, data: dict[str, Any], ts: float
) -> tuple[dict[str, Any], Recorded]:
    event = _event(ref.project_id, ref.id, event_type, data)
    recorded = await store.record_publish(
        ref, event, orjson.dumps(event), orjson.dumps(data).decode(), ts, START, 0.0
    )
    return event, recorded


async def _connector(store: _Store, project_id: str, events: list[str]) -> str:
    connector_id = new_id(START)
    await store.db.pool.execute(
        "INSERT INTO dataconnectors(id, project_id, url, events, create_time, update_time)"
        " VALUES ($1, $2, 'http://127.0.0.1:9/', $3, $4, $4)",
        connector_id,
        project_id,
        orjson.dumps(events).decode(),
        START,
    )
    return connector_id


# ---- accounts ------------------------------------------------------------------------------------


async def test_bootstrap_creates_the_first_organization_exactly_once(store: _Store) -> None:
    def attempt(n: int) -> tuple[Organization, Project, ServiceAccount, Key, bytes]:
        org = Organization(new_id(START), f"Org {n}", START)
        project = Project(new_id(START), org.id, org.display_name, f"P {n}", False, START)
        account_id = new_id(START)
        account = ServiceAccount(
            account_id,
            project.id,
            service_account_email(account_id, project.id),
            f"admin {n}",
            True,
            START,
            START,
        )
        return org, project, account, Key(new_id(START), account_id, START), b"secret %d" % n

    attempts = [attempt(n) for n in range(5)]
    results = await asyncio.gather(*(store.bootstrap_platform(*a) for a in attempts))

    assert sorted(results) == [False, False, False, False, True]
    org, project, account, key, secret = attempts[results.index(True)]
    assert await store.list_organizations() == [org]
    assert [p.id for p in await store.list_projects()] == [project.id]
    assert await store.get_service_account(account.id) == account
    assert await store.get_key_with_secret(key.id) == (key, secret)
    assert await store.roles_in_organization(account.id, org.id) == [ADMIN_ROLE]
    # once done, it stays done
    assert not await store.bootstrap_platform(*attempt(9))


async def test_projects_accounts_keys_and_memberships_round_trip(store: _Store) -> None:
    org = await store.create_organization("Org")
    assert await store.get_organization(org.id) == org
    assert await store.get_organization("nope") is None

    project = await store.create_project(org.id, "P", inventory=True)
    assert (project.organization_id, project.display_name, project.inventory) == (org.id, "P", True)
    assert await store.get_project(project.id) == project
    assert await store.list_projects(org.id) == [project]
    renamed = await store.rename_project(project.id, "P2")
    assert renamed is not None and renamed.display_name == "P2"
    assert await store.rename_project("nope", "x") is None

    account = await store.create_service_account(project.id, "sa")
    assert not account.enable_basic_auth
    assert await store.get_service_account_by_email(account.email) == account
    assert await store.list_service_accounts(project.id) == [account]
    store.clock.advance(5)
    updated = await store.update_service_account(account.id, enable_basic_auth=True)
    assert updated is not None
    assert (updated.display_name, updated.enable_basic_auth) == ("sa", True)
    assert updated.update_time == START + 5
    assert await store.update_service_account("nope", display_name="x") is None

    key = await store.create_key(account.id, b"\x00secret")
    assert await store.get_key(key.id) == key
    assert await store.get_key_with_secret(key.id) == (key, b"\x00secret")
    assert await store.list_keys(account.id) == [key]
    assert await store.account_holding_key(account.id, key.id) == updated
    # a deleted key is refused at once, though the answer above was cached
    assert await store.delete_key(key.id)
    assert not await store.delete_key(key.id)
    assert await store.account_holding_key(account.id, key.id) is None

    # memberships, and the roles they grant in a project
    member = Membership(
        PROJECT_SCOPE, project.id, account.id, SERVICE_ACCOUNT, account.email, "sa", ["r/a"]
    )
    assert await store.roles_in_project(account.id, project.id) == ((), org.id)
    added = await store.add_membership(member)
    assert (added.roles, added.create_time) == (["r/a"], START + 5)
    with pytest.raises(Conflict):
        await store.add_membership(member)
    assert await store.roles_in_project(account.id, project.id) == (("r/a",), org.id)
    changed = await store.set_membership_roles(PROJECT_SCOPE, project.id, account.id, ["r/b"])
    assert changed is not None and changed.roles == ["r/b"]
    assert await store.roles_in_project(account.id, project.id) == (("r/b",), org.id)
    assert await store.roles_in_project(account.id, "nope") == ((), None)
    assert await store.list_memberships(PROJECT_SCOPE, project.id) == [changed]
    assert await store.member_scopes(account.id) == [(PROJECT_SCOPE, project.id, ["r/b"])]
    assert [p.id for p in await store.list_projects_visible_to(account.id)] == [project.id]
    assert await store.list_organizations_visible_to(account.id) == [org]
    assert await store.organization_visible_to(account.id, org.id)

    user = Membership(
        ORGANIZATION_SCOPE, org.id, "u1", USER, "a@b.example", "A", ["r/o"], "PENDING"
    )
    await store.put_membership(user)
    assert await store.user_member_id("a@b.example") == "u1"
    assert await store.roles_in_organization("u1", org.id) == ["r/o"]
    assert await store.remove_membership(ORGANIZATION_SCOPE, org.id, "u1")
    assert not await store.remove_membership(ORGANIZATION_SCOPE, org.id, "u1")

    assert await store.delete_service_account(account.id)
    assert await store.get_service_account(account.id) is None
    assert await store.member_scopes(account.id) == []
    assert not await store.delete_service_account(account.id)


async def test_key_cap_holds_under_concurrent_creations(store: _Store) -> None:
    _, project, _ = await _org_with_admin(store)
    account = await store.create_service_account(project.id, "many keys")
    outcomes = await asyncio.gather(
        *(store.create_key(account.id, b"s") for _ in range(MAX_KEYS_PER_SERVICE_ACCOUNT + 4)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Key) for o in outcomes) == MAX_KEYS_PER_SERVICE_ACCOUNT
    assert sum(isinstance(o, BadRequest) for o in outcomes) == 4
    assert len(await store.list_keys(account.id)) == MAX_KEYS_PER_SERVICE_ACCOUNT


async def test_an_organization_keeps_its_last_admin(store: _Store) -> None:
    # Two concurrent removals of an organization's last two admins: exactly one passes. A race
    # shows only sometimes, so it is run on a few organizations at once.
    orgs = [await _org_with_admin(store) for _ in range(4)]
    seconds = []
    for org, project, _ in orgs:
        second = await store.create_service_account(project.id, "admin 2")
        await store.put_membership(_admin_membership(org.id, second))
        seconds.append(second)
    outcomes = await asyncio.gather(
        *(
            store.remove_membership(ORGANIZATION_SCOPE, org.id, account.id)
            for (org, _, first), second in zip(orgs, seconds, strict=True)
            for account in (first, second)
        ),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["BadRequest"] * 4 + ["bool"] * 4
    org, project, _ = orgs[0]
    remaining = await store.list_memberships(ORGANIZATION_SCOPE, org.id)
    assert len(remaining) == 1
    last = remaining[0].member_id

    with pytest.raises(BadRequest):
        await store.remove_membership(ORGANIZATION_SCOPE, org.id, last)
    with pytest.raises(BadRequest):
        await store.delete_service_account(last)
    # deleting the project that owns an organization member is refused as well
    with pytest.raises(BadRequest):
        await store.delete_project(project.id)
    assert await store.get_service_account(last) is not None


async def test_delete_project_takes_everything_in_it(store: _Store) -> None:
    org, _, _ = await _org_with_admin(store)
    project = await store.create_project(org.id, "doomed")
    account = await store.create_service_account(project.id, "sa")
    await store.create_key(account.id, b"s")
    await store.put_membership(
        Membership(PROJECT_SCOPE, project.id, account.id, SERVICE_ACCOUNT, account.email, "sa")
    )
    device = await store.create_device(project.id, "temperature", {}, emulated=True)
    ref = await store.device_ref(project.id, device.id)
    assert ref is not None
    connector_id = await _connector(store, project.id, [])
    await _publish(store, ref, "temperature", {"value": 1.0}, START)
    await store.db.pool.execute(
        "INSERT INTO delivery_attempts(connector_id, event_id, attempt, at, success, latency)"
        " VALUES ($1, 'e', 1, $2, true, 0.1)",
        connector_id,
        START,
    )
    await store.db.pool.execute(
        "INSERT INTO delivery_counters(connector_id, name, value) VALUES ($1, 'expired', 3)",
        connector_id,
    )

    assert await store.delete_project(project.id)
    assert not await store.delete_project(project.id)
    for table, column, value in [
        ("devices", "project_id", project.id),
        ("events", "project_id", project.id),
        ("service_accounts", "project_id", project.id),
        ("service_account_keys", "service_account_id", account.id),
        ("memberships", "scope_id", project.id),
        ("dataconnectors", "project_id", project.id),
        ("deliveries", "connector_id", connector_id),
        ("delivery_attempts", "connector_id", connector_id),
        ("delivery_counters", "connector_id", connector_id),
    ]:
        left = await store.db.pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} = $1", value
        )
        assert left == 0, table


# ---- devices -------------------------------------------------------------------------------------


async def test_publish_keeps_history_and_every_event_type(store: _Store) -> None:
    _, project, _ = await _org_with_admin(store)
    device = await store.create_device(project.id, "temperature", {"room": "a"}, emulated=False)
    ref = await store.device_ref(project.id, device.id)
    assert ref == DeviceRef(device.id, project.id, "temperature", "", False)
    connector_id = await _connector(store, project.id, ["temperature"])
    notices: list[str] = []
    store.db.listeners.append(notices.append)

    first, recorded = await _publish(store, ref, "temperature", {"value": 21.5}, START)
    second, _ = await _publish(store, ref, "touch", {"updateTime": "x"}, START + 1)
    newer, _ = await _publish(store, ref, "temperature", {"value": 22.0}, START + 2)

    assert [e.event_type for e in recorded.events] == ["temperature"]
    assert recorded.events[0].labels == {"room": "a"}
    assert [d.connector_id for d in recorded.deliveries] == [connector_id]
    stored = await store.get_device(project.id, device.id)
    assert stored is not None
    assert stored.reported == {"temperature": {"value": 22.0}, "touch": {"updateTime": "x"}}
    history = await store.list_events(
        device.id, start=START, end=START + 10, event_types=[], after=None, limit=10
    )
    assert [orjson.loads(body)["eventId"] for _, _, body in history] == [
        first["eventId"],
        second["eventId"],
        newer["eventId"],
    ]
    # the other nodes hear of the event once it has committed
    for _ in range(100):
        if any(first["eventId"] in n for n in notices):
            break
        await asyncio.sleep(0.02)
    assert any(first["eventId"] in n for n in notices)

    missing = DeviceRef("nope", project.id, "temperature", "", False)
    with pytest.raises(NotFound):
        await _publish(store, missing, "temperature", {"value": 1.0}, START)
    assert await store.db.pool.fetchval("SELECT count(*) FROM events") == 3


async def test_label_change_reports_a_missing_device_and_changes_the_others(
    store: _Store,
) -> None:
    _, project, _ = await _org_with_admin(store)
    a = await store.create_device(project.id, "touch", {"room": "a"}, emulated=True)
    b = await store.create_device(project.id, "touch", {}, emulated=True)
    same = await store.create_device(project.id, "touch", {"floor": "2"}, emulated=True)

    def compute(labels: dict[str, str]) -> LabelChange:
        return apply_changes(labels, {"floor": "2"}, [])

    targets = [(project.id, a.id), (project.id, "gone"), (project.id, b.id), (project.id, same.id)]
    recorded = await store.record_label_change(
        targets, compute, "2027-01-15T08:00:00Z", START, START, 0
    )

    assert [(f.device_id, f.code) for f in recorded.failures] == [("gone", "NOT_FOUND")]
    assert [(e.device_id, e.event_type) for e in recorded.events] == [
        (a.id, LABELS_CHANGED),
        (b.id, LABELS_CHANGED),
    ]
    devices = await store.list_devices([project.id], device_ids=[a.id, b.id, same.id])
    assert {d.id: d.labels for d in devices} == {
        a.id: {"room": "a", "floor": "2"},
        b.id: {"floor": "2"},
        same.id: {"floor": "2"},
    }
    history = await store.list_events(
        a.id, start=START, end=START, event_types=[LABELS_CHANGED], after=None, limit=10
    )
    assert [orjson.loads(body)["data"]["added"] for _, _, body in history] == [{"floor": "2"}]


async def test_label_changes_naming_devices_in_opposite_orders_do_not_deadlock(
    store: _Store,
) -> None:
    _, project, _ = await _org_with_admin(store)
    devices = [await store.create_device(project.id, "touch", {}, emulated=True) for _ in range(20)]
    targets = [(project.id, d.id) for d in devices]

    def setting(value: str) -> Callable[[dict[str, str]], LabelChange]:
        return lambda labels: apply_changes(labels, {"k": value}, [])

    for round_ in range(2):
        first, second = await asyncio.gather(
            store.record_label_change(targets, setting(f"a{round_}"), "t", START, START, 0),
            store.record_label_change(targets[::-1], setting(f"b{round_}"), "t", START, START, 0),
        )
        assert len(first.events) == len(second.events) == len(devices)
        # one batch ran entirely after the other: every device ends with the same value
        assert len({d.labels["k"] for d in await store.list_devices([project.id])}) == 1


async def _waiting(store: _Store, count: int, holder: asyncpg.Connection | None = None) -> None:
    """Wait until `count` sessions wait for a lock (that `holder` holds, if given)."""
    pids = [holder.get_server_pid()] if holder else None
    for _ in range(1000):
        waiting = await store.db.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
            " AND ($1::int[] IS NULL OR pg_blocking_pids(pid) && $1::int[])",
            pids,
        )
        if waiting == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {count} sessions waiting for a lock")


async def test_publish_batches_of_two_nodes_lock_devices_in_one_order(
    store: _Store, database_url: str
) -> None:
    """Node 1 commits a batch for devices [a, b], node 2 one for [b, a]. Devices are locked in id
    order, so the two wait for each other in line; locked in batch order they deadlock
    (PostgreSQL aborts one batch, failing its publishes). Two sessions hold a and b, so the
    interleaving that deadlocks is the one that happens."""
    _, project, _ = await _org_with_admin(store)
    made = [await store.create_device(project.id, "temperature", {}, emulated=True) for _ in "ab"]
    a, b = sorted(d.id for d in made)
    refs = {d: await store.device_ref(project.id, d) for d in (a, b)}
    # The plan a large devices table gets (an index lookup per batch row, in batch order); on two
    # rows the planner would otherwise scan the table in one order for both nodes.
    name = database_url.rsplit("/", 1)[1]
    await store.db.pool.execute(f"ALTER DATABASE {name} SET enable_hashjoin = off")
    await store.db.pool.execute(f"ALTER DATABASE {name} SET enable_mergejoin = off")
    nodes = [_Store(database_url), _Store(database_url)]  # sessions opened with that setting
    for node in nodes:
        await node.db.open()
    holders = {d: await asyncpg.connect(database_url) for d in (a, b)}
    both = list(holders.values())
    try:
        for device, holder in holders.items():
            await holder.execute("BEGIN")
            await holder.execute("SELECT 1 FROM devices WHERE id = $1 FOR UPDATE", device)

        def batch(node: _Store, order: list[str]) -> asyncio.Future[Any]:
            return asyncio.gather(
                *(_publish(node, refs[d], "temperature", {"value": 1.0}, START) for d in order)
            )

        first = batch(nodes[0], [a, b])
        await _waiting(store, 1)
        second = batch(nodes[1], [b, a])
        await _waiting(store, 2)
        await holders[a].execute("COMMIT")
        await _waiting(store, 1, holders[b])  # node 1 holds a and waits for b
        await holders[b].execute("COMMIT")
        results = await asyncio.wait_for(
            asyncio.gather(first, second, return_exceptions=True), timeout=20
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
    finally:
        for holder in both:
            await holder.close()
        for node in nodes:
            await node.db.close()
        await store.db.pool.execute(f"ALTER DATABASE {name} RESET enable_hashjoin")
        await store.db.pool.execute(f"ALTER DATABASE {name} RESET enable_mergejoin")


async def test_history_pages_neither_skip_nor_repeat(store: _Store) -> None:
    _, project, _ = await _org_with_admin(store)
    device = await store.create_device(project.id, "touch", {}, emulated=True)
    other = await store.create_device(project.id, "touch", {}, emulated=True)
    ref, other_ref = (
        await store.device_ref(project.id, device.id),
        await store.device_ref(project.id, other.id),
    )
    assert ref is not None and other_ref is not None
    # three events share a timestamp: only seq tells them apart
    times = [START, START + 1, START + 1, START + 1, START + 2, START + 3]
    published = []
    for n, ts in enumerate(times):
        kind = "touch" if n % 2 == 0 else "temperature"
        event, _ = await _publish(store, ref, kind, {"n": n}, ts)
        published.append((ts, event["eventId"], kind))
        await _publish(store, other_ref, kind, {"n": n}, ts)

    async def pages(event_types: list[str], start: float, end: float) -> list[list[str]]:
        found: list[list[str]] = []
        after: tuple[float, int] | None = None
        while True:
            rows = await store.list_events(
                device.id, start=start, end=end, event_types=event_types, after=after, limit=2
            )
            if not rows:
                return found
            found.append([orjson.loads(body)["eventId"] for _, _, body in rows])
            after = (rows[-1][0], rows[-1][1])

    everything = await pages([], START, START + 3)
    assert [len(p) for p in everything] == [2, 2, 2]
    assert list(itertools.chain(*everything)) == [e for _, e, _ in published]
    assert list(itertools.chain(*await pages(["touch"], START, START + 3))) == [
        e for _, e, k in published if k == "touch"
    ]
    assert list(itertools.chain(*await pages([], START + 1, START + 2))) == [
        e for ts, e, _ in published if START + 1 <= ts <= START + 2
    ]

    assert len(await store.list_devices([project.id], device_types=["touch"])) == 2
    assert await store.list_devices([project.id], device_types=["nope"]) == []
    # pruning takes the oldest first, up to the limit
    assert await store.prune_events(START + 1.5, 3) == 3
    assert await store.prune_events(START + 1.5, 100) == 5
    assert await store.db.pool.fetchval("SELECT min(ts) FROM events") == START + 2
