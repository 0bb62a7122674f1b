"""Pool distributions (API v1.1, "pool revenue follows the use that earned it, and is never lost"). Pure: no I/O.

For each currency, each pool licence's net revenue of the period is split among the member assets used under that
same licence in the period: usage revenue (per_access, per_unit) pro rata to what each use was charged, charge
revenue (flat, subscription) pro rata to the accesses made under the licence. A charge with no use under its licence
is carried forward (reason ``unattributed``); once it has seen three periods without use it is split pro rata to every
member asset's attributed revenue of those periods, or equally between the member assets when there was none (with no
member at all it stays carried). Integer micros, largest remainder, ties by asset id. For every currency:
``shares + carried forward = net revenue + carried in``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from functions.shared import money

STALE_AFTER_PERIODS = 3  # periods without use after which carried revenue is split across the pool
REMAINDER_RULE = (
    "largest remainder: each split gives floor(amount x weight / total weight) and the micros left over go one each "
    "to the largest remainders, ties broken by asset id"
)


@dataclass(frozen=True)
class Revenue:
    """A pool licence's net revenue in the period (``POOLREV`` ``L#`` row)."""

    license_id: str
    currency: str
    usage_net: int  # from deliveries and reported units
    charge_net: int  # from flat and subscription charges


@dataclass(frozen=True)
class Use:
    """Use of one member asset under one pool licence in the period (``POOLREV`` ``U#`` row)."""

    license_id: str
    asset_id: str
    publisher_id: str
    currency: str
    charged: int  # gross micros its uses were charged
    accesses: int


@dataclass(frozen=True)
class Carry:
    license_id: str
    currency: str
    amount: int
    since: str  # the period that earned it


@dataclass
class Member:
    asset_id: str
    publisher_id: str
    accesses: int = 0
    charged: int = 0
    attributed: int = 0
    carried_share: int = 0

    @property
    def share(self) -> int:
        return self.attributed + self.carried_share


@dataclass
class CurrencySplit:
    currency: str
    net: int = 0
    carried_in: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    carried: list[Carry] = field(default_factory=list)

    @property
    def shares(self) -> int:
        return sum(m.share for m in self.members.values())

    @property
    def carried_forward(self) -> int:
        return sum(c.amount for c in self.carried)

    def postings(self, pool_id: str) -> list[tuple[str, int]]:
        """(account, micros): the pool pays out the shares; each publisher receives its assets' shares."""
        per_publisher: dict[str, int] = defaultdict(int)
        for m in self.members.values():
            if m.share:
                per_publisher[m.publisher_id] += m.share
        if not per_publisher:
            return []
        return [(pool_id, -self.shares), *sorted(per_publisher.items())]


def periods_between(first: str, last: str) -> int:
    """How many periods from ``first`` to ``last``, both included (``2026-01``..``2026-03`` is 3)."""
    y1, m1 = (int(x) for x in first.split("-"))
    y2, m2 = (int(x) for x in last.split("-"))
    return (y2 * 12 + m2) - (y1 * 12 + m1) + 1


def split(
    period: str,
    revenue: list[Revenue],
    uses: list[Use],
    carried_in: list[Carry],
    attributed_history: Callable[[str, str], Mapping[str, tuple[str, int]]],
    members: list[tuple[str, str]],
) -> tuple[list[CurrencySplit], list[Carry]]:
    """Split the pool's revenue of ``period``.

    ``carried_in``: the pool's open carries (only those earned before ``period`` are used; the rest are returned
    untouched). ``attributed_history(currency, since)``: per asset, ``(publisher, attributed micros)`` in the
    distributions of the periods from ``since`` up to (not including) ``period``. ``members``: the pool's member assets
    ``(asset, publisher)`` at the end of the period (for the equal split). Returns the splits per currency (sorted) and
    the pool's open carries afterwards."""
    untouched = [c for c in carried_in if c.since >= period]
    usable = [c for c in carried_in if c.since < period]
    currencies = sorted({r.currency for r in revenue} | {c.currency for c in usable})
    out: list[CurrencySplit] = []
    for cur in currencies:
        cs = CurrencySplit(cur)
        rev = {r.license_id: r for r in revenue if r.currency == cur}
        cs.net = sum(r.usage_net + r.charge_net for r in rev.values())
        old = [c for c in usable if c.currency == cur]
        cs.carried_in = sum(c.amount for c in old)
        uses_of: dict[str, list[Use]] = defaultdict(list)
        for u in uses:
            if u.currency == cur:
                uses_of[u.license_id].append(u)
                m = cs.members.setdefault(u.asset_id, Member(u.asset_id, u.publisher_id))
                m.accesses += u.accesses
                m.charged += u.charged
        stale: list[Carry] = []
        for lic in sorted(set(rev) | {c.license_id for c in old}):
            r = rev.get(lic)
            by_charge = {u.asset_id: u.charged for u in uses_of[lic]}
            by_access = {u.asset_id: u.accesses for u in uses_of[lic]}
            pot = r.charge_net if r else 0  # attributed by accesses
            if r and r.usage_net:
                if sum(by_charge.values()) > 0:
                    _give(cs, money.pro_rata(r.usage_net, by_charge), "attributed")
                else:  # usage revenue with nothing charged to weigh it by: treat it as a charge
                    pot += r.usage_net
            mine = [c for c in old if c.license_id == lic]
            if sum(by_access.values()) > 0:
                _give(cs, money.pro_rata(pot + sum(c.amount for c in mine), by_access), "attributed")
                continue
            if pot:
                cs.carried.append(Carry(lic, cur, pot, period))
            for c in mine:
                (stale if periods_between(c.since, period) >= STALE_AFTER_PERIODS else cs.carried).append(c)
        for c in sorted(stale, key=lambda c: (c.since, c.license_id)):
            weights: dict[str, int] = defaultdict(int)
            for asset, (publisher, micros) in attributed_history(cur, c.since).items():
                cs.members.setdefault(asset, Member(asset, publisher))
                weights[asset] += micros
            for m in cs.members.values():
                weights[m.asset_id] += m.attributed
            if sum(weights.values()) <= 0:
                weights = defaultdict(int)
                for asset, publisher in members:
                    cs.members.setdefault(asset, Member(asset, publisher))
                    weights[asset] = 1
            if sum(weights.values()) <= 0:
                cs.carried.append(c)  # no member to give it to: never lost, still carried
                continue
            _give(cs, money.pro_rata(c.amount, weights), "carried_share")
        assert cs.shares + cs.carried_forward == cs.net + cs.carried_in, "pool split does not conserve"
        out.append(cs)
    carries = untouched + [c for cs in out for c in cs.carried]
    return out, carries


def _give(cs: CurrencySplit, shares: Mapping[str, int], kind: str) -> None:
    for asset, micros in shares.items():
        m = cs.members[asset]
        setattr(m, kind, getattr(m, kind) + micros)
