"""Budget caps and leases (functions.licensing.logic.budget) under a deterministic interleaving scheduler.

Each actor (delivery instances, the metering consumer, a clock, a dead holder) is a thread whose every store call is
a scheduling point; the scheduler lets exactly one actor run from one point to the next, choosing by a seeded random
schedule, so every run is reproducible from its seed and hundreds of interleavings are explored per test (90 in all by
default, 350 with IMPRIMATUR_DEEP=1, which `make test` sets: tests/unit/depth.py). The store
is an in-memory model of ``functions.licensing.dal.budget.DynamoBudgetStore`` (each method one atomic conditional
write, as in DynamoDB; tests/integration/licensing/test_budget_store.py checks the DynamoDB store against the same
expectations). Invariants checked after every step:

- charged <= cap (the sum of everything charged on the licence: what the metering consumer booked);
- reserved <= cap;
- at quiescence (every lease expired and reclaimed, every message metered): reserved == charged (no budget lost);
- a delivery is refused only when the unreserved remainder plus expired leases cannot cover its price.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import count

import pytest

from functions.licensing.logic import budget as b
from tests.unit.depth import examples


# ----------------------------------------------------------------------------- an in-memory store, atomic per call
@dataclass
class Model:
    cap: int
    reserved: int = 0
    open_leases: int = 0
    charges: set[str] = field(default_factory=set)
    leases: dict[str, b.Lease] = field(default_factory=dict)
    charged: int = 0  # what the metering consumer booked on the licence
    written_off: int = 0
    late: int = 0  # charged after the lease was released (reserved on the budget directly)


class Scheduler:
    """Runs actor threads one at a time, switching only at ``point()`` calls, in an order drawn from ``seed``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cv = threading.Condition()
        self.turn: str | None = None
        self.waiting: set[str] = set()
        self.done: set[str] = set()
        self.names: list[str] = []
        self.errors: list[BaseException] = []
        self.after_step: Callable[[], None] = lambda: None

    def point(self) -> None:
        me = threading.current_thread().name
        with self.cv:
            self.waiting.add(me)
            if self.turn == me:
                self.turn = None
            self.cv.notify_all()
            self.cv.wait_for(lambda: self.turn == me)
            self.waiting.discard(me)

    def run(self, actors: dict[str, Callable[[], None]]) -> None:
        def body(name: str, fn: Callable[[], None]) -> None:
            try:
                self.point()
                fn()
            except BaseException as exc:  # surfaced by run()
                self.errors.append(exc)
            finally:
                with self.cv:
                    self.done.add(name)
                    if self.turn == name:
                        self.turn = None
                    self.cv.notify_all()

        threads = [threading.Thread(target=body, args=(n, f), name=n, daemon=True) for n, f in actors.items()]
        for t in threads:
            t.start()
        names = list(actors)
        while True:
            with self.cv:
                ok = self.cv.wait_for(
                    lambda: self.turn is None and all(n in self.waiting or n in self.done for n in names), timeout=10
                )
                assert ok, "an actor is stuck"
                ready = sorted(n for n in names if n in self.waiting and n not in self.done)
                if not ready:
                    break
                self.turn = self.rng.choice(ready)
                self.cv.notify_all()
            with self.cv:
                self.cv.wait_for(lambda: self.turn is None, timeout=10)
            self.after_step()
        for t in threads:
            t.join(5)
        if self.errors:
            raise self.errors[0]


class MemoryStore:
    """``BudgetStore`` over ``Model``: each call is one scheduling point, then one atomic step (as DynamoDB is)."""

    def __init__(self, model: Model, sched: Scheduler, license_id: str = "lic_1") -> None:
        self.m, self.s, self.license_id = model, sched, license_id
        self.lock = threading.Lock()

    def get(self, license_id: str) -> b.Budget | None:
        self.s.point()
        with self.lock:
            return b.Budget(license_id, self.m.cap, self.m.reserved, self.m.open_leases)

    def take_lease(self, lease: b.Lease) -> bool:
        self.s.point()
        with self.lock:
            if self.m.cap - self.m.reserved < lease.amount:
                return False
            self.m.reserved += lease.amount
            self.m.open_leases += 1
            self.m.leases[lease.lease_id] = lease
            return True

    def leases(self, license_id: str) -> list[b.Lease]:
        self.s.point()
        with self.lock:
            return [lease for lease in self.m.leases.values() if not lease.released]

    def release(self, license_id: str, leases: list[b.Lease]) -> bool:
        self.s.point()
        with self.lock:
            for seen in leases:
                now = self.m.leases[seen.lease_id]
                if now.released or now.used != seen.used:
                    return False
            for seen in leases:
                self.m.leases[seen.lease_id] = replace(seen, released=True)
                self.m.reserved -= seen.amount - seen.used
                self.m.open_leases -= 1
            return True

    def reserve(self, license_id: str, amount: int, charge_id: str | None = None) -> b.Reservation:
        self.s.point()
        with self.lock:
            if charge_id in self.m.charges:
                return "already"
            if self.m.cap - self.m.reserved < amount:
                return "insufficient"
            self.m.reserved += amount
            if charge_id:
                self.m.charges.add(charge_id)
            return "reserved"

    def coverable(self, now: float) -> int:
        """The unreserved remainder plus the unused part of expired leases, now (no scheduling point)."""
        with self.lock:
            back = sum(lease.amount - lease.used for lease in b.expired(list(self.m.leases.values()), now))
            return self.m.cap - self.m.reserved + back

    # the metering consumer's transaction for one delivery message (functions.metering.dal.store.commit)
    def book(self, lease_id: str, price: int) -> None:
        self.s.point()
        with self.lock:
            lease = self.m.leases[lease_id]
            if not lease.released:
                self.m.leases[lease_id] = replace(lease, used=lease.used + price)
                self.m.charged += price
            elif self.m.cap - self.m.reserved >= price:  # late: reserved on the budget directly
                self.m.reserved += price
                self.m.charged += price
                self.m.late += price
            else:
                self.m.written_off += price


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def check(m: Model) -> None:
    assert m.charged <= m.cap, f"charged {m.charged} > cap {m.cap}"
    assert 0 <= m.reserved <= m.cap, f"reserved {m.reserved} outside [0, {m.cap}]"
    for lease in m.leases.values():
        if not lease.released:
            assert lease.used <= lease.amount, f"lease {lease.lease_id} used past its amount"


def world(seed: int, cap: int) -> tuple[Model, Scheduler, MemoryStore, Clock, list[tuple[str, int]]]:
    m = Model(cap=cap)
    s = Scheduler(seed)
    s.after_step = lambda: check(m)
    return m, s, MemoryStore(m, s), Clock(), []


ids = count(1)


def new_lease_id() -> str:
    return f"lse_{next(ids)}"


def delivery_actor(
    store: MemoryStore, clock: Clock, queue: list[tuple[str, int]], price: int, n: int, refused: list[float]
) -> Callable[[], None]:
    def run() -> None:
        holder = b.Holder()
        for _ in range(n):
            lease = holder.spend(store.license_id, price, clock())
            if lease is None:
                asked_at = clock()
                lease = b.acquire(store, store.license_id, price, asked_at, new_lease_id)
                if lease is None:
                    # refused only when the unreserved remainder plus what expired leases return cannot cover it
                    # (expired when it asked: a lease that expires while the request runs is the next one's)
                    assert store.coverable(asked_at) < price
                    refused.append(clock())
                    continue
                holder.hold(lease)
            queue.append((lease.lease_id, price))
            store.s.point()  # the delivery's SQS send: another scheduling point

    return run


def consumer_actor(
    store: MemoryStore, queue: list[tuple[str, int]], producers_done: Callable[[], bool]
) -> Callable[[], None]:
    def run() -> None:
        while True:
            if queue:
                lease_id, price = queue.pop(0)
                store.book(lease_id, price)
            elif producers_done():
                return
            else:
                store.s.point()

    return run


def clock_actor(store: MemoryStore, clock: Clock, ticks: int, step: float) -> Callable[[], None]:
    def run() -> None:
        for _ in range(ticks):
            store.s.point()
            clock.t += step

    return run


def quiesce(m: Model, store: MemoryStore, clock: Clock) -> None:
    """Every lease past its TTL, reclaimed; then nothing reserved may be left that was not charged."""
    store.s.point = lambda: None  # type: ignore[method-assign]
    clock.t += b.LEASE_TTL_S + 1
    b.reclaim(store, store.license_id, clock())
    assert m.reserved == m.charged, f"reserved {m.reserved} != charged {m.charged}: budget lost"


@pytest.mark.parametrize("seed", range(examples(40, 150)))
def test_parallel_deliveries_never_exceed_the_cap(seed: int) -> None:
    # Given a cap of 7 accesses and three delivery instances that want 5 each (v1 let 4 parallel deliveries through a
    # cap of one), a consumer metering concurrently, and a clock
    price = 10_000
    m, s, store, clock, queue = world(seed, cap=7 * price + 5_000)
    refused: list[float] = []
    producers = [f"delivery-{i}" for i in range(3)]
    actors: dict[str, Callable[[], None]] = {
        p: delivery_actor(store, clock, queue, price, 5, refused) for p in producers
    }
    actors["consumer"] = consumer_actor(store, queue, lambda: all(p in s.done for p in producers))
    actors["clock"] = clock_actor(store, clock, 20, 7.0)
    # When every interleaving the seed draws runs (the invariants are checked after each step)
    s.run(actors)
    # Then at most 7 accesses were delivered and charged, none written off while leases were live, none lost
    assert not queue
    assert m.charged <= 7 * price
    quiesce(m, store, clock)
    delivered = 15 - len(refused)
    assert m.charged + m.written_off == delivered * price


@pytest.mark.parametrize("seed", range(examples(25, 100)))
def test_a_dead_holders_budget_returns_within_the_lease_ttl(seed: int) -> None:
    # Given a holder that takes a lease, delivers twice and dies, while another instance keeps delivering
    price = 1_000
    m, s, store, clock, queue = world(seed, cap=10 * price)
    refused: list[float] = []
    delivered_by_dead: list[int] = []

    def dead() -> None:
        holder = b.Holder()
        lease = b.acquire(store, store.license_id, price, clock(), new_lease_id)
        if lease is None:  # the live instance took it all first
            delivered_by_dead.append(0)
            return
        holder.hold(lease)
        queue.append((lease.lease_id, price))
        if holder.spend(store.license_id, price, clock()) is not None:
            queue.append((lease.lease_id, price))
        delivered_by_dead.append(len([q for q in queue if q[0] == lease.lease_id]))
        # then the instance is gone: its lease is never used again

    actors = {
        "dead": dead,
        "live": delivery_actor(store, clock, queue, price, 12, refused),
        "consumer": consumer_actor(store, queue, lambda: {"dead", "live"} <= s.done),
        "clock": clock_actor(store, clock, 30, 5.0),
    }
    s.run(actors)
    quiesce(m, store, clock)
    # Then all ten accesses of the cap were usable (the dead holder's unused part came back) or the clock ran out first
    delivered = delivered_by_dead[0] + 12 - len(refused)
    assert m.charged + m.written_off == delivered * price <= 10 * price


@pytest.mark.parametrize("seed", range(examples(25, 100)))
def test_late_metering_after_release_is_reserved_or_written_off_never_over_the_cap(seed: int) -> None:
    # Given deliveries whose messages are metered only after their lease expired and was reclaimed by another instance
    price = 1_000
    m, s, store, clock, queue = world(seed, cap=6 * price)
    held: list[tuple[str, int]] = []
    refused: list[float] = []

    reclaimed_at: list[float] = []
    slow_holder = delivery_actor(store, clock, held, price, 4, refused)  # sent, but its messages are slow

    def late_consumer() -> None:
        while "slow" not in s.done:
            store.s.point()
        clock.t += b.LEASE_TTL_S + 1
        reclaimed_at.append(clock())
        while b.expired(store.leases(store.license_id), clock()):  # a reservation returns the unused part first
            b.reclaim(store, store.license_id, clock())  # (retried when a booking raced it)
        for lease_id, p in held:  # ...then the messages arrive
            store.book(lease_id, p)

    actors = {
        "slow": slow_holder,
        "other": delivery_actor(store, clock, queue, price, 6, refused),
        "consumer": consumer_actor(store, queue, lambda: {"other", "late"} <= s.done),
        "late": late_consumer,
    }
    s.run(actors)
    quiesce(m, store, clock)
    assert m.charged <= m.cap
    # every slow message met a released lease: booked late within the cap, or written off when the cap was spent
    expired_first = [p for lid, p in held if m.leases[lid].expires_at <= reclaimed_at[0]]
    assert m.late + m.written_off >= sum(expired_first)  # (the other instance's messages may be late too)


def test_lease_size_halves_the_remainder_and_ends_at_one_price() -> None:
    assert b.lease_accesses(100 * 10, 10) == 50
    assert b.lease_accesses(3 * 10, 10) == 2
    assert b.lease_accesses(10, 10) == 1
    assert b.lease_accesses(9, 10) == 0
    assert b.lease_accesses(10**12, 1) == b.MAX_LEASE_ACCESSES


def test_writes_per_thousand_deliveries_while_the_remainder_covers_a_hundred() -> None:
    # One instance delivering 1,000 times from a cap of 1,100 accesses (the remainder never falls under 100)
    m = Model(cap=1_100 * 7)
    sched = Scheduler(0)
    sched.point = lambda: None  # type: ignore[method-assign]
    store = MemoryStore(m, sched)
    writes = 0
    take = store.take_lease

    def counted(lease: b.Lease) -> bool:
        nonlocal writes
        writes += 2  # the budget update and the lease record
        return take(lease)

    store.take_lease = counted  # type: ignore[method-assign]
    holder, clock = b.Holder(), Clock()
    for _ in range(1_000):
        lease = holder.spend(store.license_id, 7, clock())
        if lease is None:
            lease = b.acquire(store, store.license_id, 7, clock(), new_lease_id)
            assert lease is not None
            holder.hold(lease)
        clock.t += 0.001
    assert writes <= 20, writes
