"""Hard budget caps (API v1.1 "Budget caps are hard"; ARCHITECTURE.md, the budget exception): the rules, without I/O.

A capped licence has one budget record owned by licensing: ``cap``, ``reserved`` (everything reserved against the
cap) and the ``charges`` already reserved by id. Every charge on the licence reserves on it first, with a
conditional write, so ``reserved <= cap`` always holds, and every charge the ledger books was reserved:
``charged <= reserved <= cap``.

- grants (flat, subscription) and renewals reserve their price by charge id (a retry reserves nothing twice);
- reported units reserve their price at ``POST /v1/usage``, in the transaction that records the event ids;
- deliveries reserve in **leases**: a lease is a record with an expiry that sets aside ``n x price``; the delivery
  instance that took it spends it in memory (no write per delivery). The metering consumer adds what each
  delivery charged to the lease (``used``). A holder stops using a lease ``LEASE_USE_S`` after taking it; from
  ``LEASE_TTL_S`` on, the next reservation on the licence (any instance) returns its unused part
  (``amount - used``) and marks it released, so a dead holder's budget comes back within ``LEASE_TTL_S``. A
  delivery the consumer meters after its lease was released reserves on the budget directly; if the budget cannot
  cover it any more it is written off (booked at zero: the cap is a promise to the buyer).

Lease size halves the unreserved remainder (in accesses), capped at ``MAX_LEASE_ACCESSES``: large while plenty
remains (few writes), one price near the cap. A delivery is refused ``budget_exhausted`` only when the unreserved
remainder plus what expired leases return cannot cover its price.

The store (``BudgetStore``) performs each method as one atomic, conditional DynamoDB write or read; the
interleavings of these calls are what ``tests/unit/licensing/test_budget_interleavings.py`` explores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

LEASE_USE_S = 30
"""A holder spends a lease for at most this long after taking it."""
LEASE_TTL_S = 60
"""From this age on, a lease's unused part may be returned by anyone (the holder stopped LEASE_TTL_S - LEASE_USE_S
seconds before: time for its last usage messages to be metered)."""
MAX_LEASE_ACCESSES = 1000
MAX_ATTEMPTS = 8

Reservation = Literal["reserved", "already", "insufficient", "uncapped"]


@dataclass(frozen=True)
class Budget:
    license_id: str
    cap: int
    reserved: int
    open_leases: int = 0

    @property
    def available(self) -> int:
        return self.cap - self.reserved


@dataclass(frozen=True)
class Lease:
    lease_id: str
    license_id: str
    price: int
    amount: int  # micros set aside: accesses x price
    taken_at: float
    used: int = 0  # micros the metering consumer has booked on it
    released: bool = False

    @property
    def accesses(self) -> int:
        return self.amount // self.price if self.price else 0

    @property
    def expires_at(self) -> float:
        return self.taken_at + LEASE_TTL_S

    @property
    def use_until(self) -> float:
        return self.taken_at + LEASE_USE_S


class BudgetStore(Protocol):
    def get(self, license_id: str) -> Budget | None:
        """The budget record, read consistently (None: the licence is not capped)."""

    def take_lease(self, lease: Lease) -> bool:
        """Atomically: reserve ``lease.amount`` if ``cap - reserved >= amount``, and record the lease. False when the
        remainder does not cover it (nothing written)."""

    def leases(self, license_id: str) -> list[Lease]:
        """The licence's unreleased leases (consistent read)."""

    def release(self, license_id: str, leases: list[Lease]) -> bool:
        """Atomically, for leases seen as given: mark each released and return ``amount - used`` to the budget, on
        condition that no lease was released or used since it was read. False when a condition failed."""

    def reserve(self, license_id: str, amount: int, charge_id: str | None = None) -> Reservation:
        """Atomically reserve ``amount`` (once per ``charge_id`` when given)."""


def lease_accesses(available: int, price: int) -> int:
    """How many accesses the next lease sets aside: half the unreserved remainder, at least one, at most
    ``MAX_LEASE_ACCESSES``; 0 when not even one access fits."""
    if price <= 0:
        return 0
    fits = available // price
    if fits <= 0:
        return 0
    return min(MAX_LEASE_ACCESSES, max(1, -(-fits // 2)))


def expired(leases: list[Lease], now: float) -> list[Lease]:
    return [lease for lease in leases if not lease.released and lease.expires_at <= now]


def acquire(
    store: BudgetStore,
    license_id: str,
    price: int,
    now: float,
    new_id: Callable[[], str],
    budget: Budget | None = None,
) -> Lease | None:
    """Take a lease for deliveries at ``price`` on a capped licence; None when the budget is exhausted (the unreserved
    remainder plus what expired leases return cannot cover one access). ``budget`` is a recent read, if any."""
    current = budget if budget is not None else store.get(license_id)
    for _ in range(MAX_ATTEMPTS):
        if current is None:
            raise LookupError(f"no budget record for {license_id}")
        n = lease_accesses(current.available, price)
        if n:
            lease = Lease(new_id(), license_id, price, n * price, now)
            if store.take_lease(lease):
                return lease
        elif current.open_leases <= 0:
            return None
        else:
            stale = expired(store.leases(license_id), now)
            if stale:
                store.release(license_id, stale)  # a lost race is fine: someone else returned them, or used them
            else:  # none expired, or another instance just returned them: only a fresh read can tell
                fresh = store.get(license_id)
                if fresh is None or not lease_accesses(fresh.available, price):
                    return None
                current = fresh
                continue
        current = store.get(license_id)
    return None


def reclaim(store: BudgetStore, license_id: str, now: float) -> bool:
    """Return the unused part of every expired lease of the licence (the metering consumer's sweep)."""
    stale = expired(store.leases(license_id), now)
    return bool(stale) and store.release(license_id, stale)


@dataclass
class _Held:
    lease: Lease
    left: int  # accesses not yet spent


class Holder:
    """The leases one delivery instance holds, spent in memory. Thread-safe (the local gateway runs handlers in
    threads; a Lambda instance runs one request at a time, and then holds at most one lease per licence)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, list[_Held]] = {}

    def spend(self, license_id: str, price: int, now: float) -> Lease | None:
        """One access from a live lease of the licence at this price, or None (take a new lease)."""
        with self._lock:
            live = [
                h
                for h in self._held.get(license_id, [])
                if h.left > 0 and now < h.lease.use_until and h.lease.price == price
            ]
            if not live:
                self._held.pop(license_id, None)
                return None
            self._held[license_id] = live
            live[0].left -= 1
            return live[0].lease

    def hold(self, lease: Lease) -> None:
        """Keep a new lease, one access of which the caller is spending now."""
        with self._lock:
            self._held.setdefault(lease.license_id, []).append(_Held(lease, lease.accesses - 1))

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
