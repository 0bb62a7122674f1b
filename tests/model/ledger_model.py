"""A reference model of Imprimatur's money rules (API v1.1), written from ../shared/API.md and nothing else.

It imports nothing from ``functions/``: it is the second, independent implementation that the model-based test
(tests/integration/test_money_model.py) compares the real handlers with after every step. Time is the test's virtual
clock in epoch seconds; money is integer micros; the platform fee is ``floor(gross * FEE_BPS / 10_000)``.

What it models: offers (per_access, per_unit, flat, subscription; asset, collection and pool scopes), licences with
optional budget caps (hard: nothing is charged past a cap), deliveries (named or not, with or without a crawler price
header, pay per crawl), reported usage with exact duplicates, cancellations and revocations, subscription renewals
(a renewal the cap cannot cover lapses the licence), cap changes (a raise reactivates a lapsed licence and pays its
running period), pool membership (an opt-out takes effect at the next month), balances per account and currency,
statement totals per account, period and currency, period closes and pool distributions (the pool rule of v1.1).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

FEE_BPS = 1000
DAY = 86400
PLATFORM = "platform"
USES_COVERED = {
    "all": {"all", "ai-all", "ai-train", "ai-input", "ai-index", "search"},
    "ai-all": {"ai-all", "ai-train", "ai-input", "ai-index"},
}


def covers_use(granted: str, wanted: str) -> bool:
    return wanted == granted or wanted in USES_COVERED.get(granted, set())


def period_of(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m")


def next_month_start(t: float) -> float:
    d = datetime.fromtimestamp(t, UTC)
    y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return datetime(y, m, 1, tzinfo=UTC).timestamp()


def period_end(period: str) -> float:
    y, m = (int(x) for x in period.split("-"))
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return datetime(y, m, 1, tzinfo=UTC).timestamp()


def months_between(first: str, last: str) -> int:
    """Periods from ``first`` to ``last``, both included."""
    y1, m1 = (int(x) for x in first.split("-"))
    y2, m2 = (int(x) for x in last.split("-"))
    return (y2 * 12 + m2) - (y1 * 12 + m1) + 1


def fee_split(gross: int) -> tuple[int, int]:
    fee = gross * FEE_BPS // 10_000
    return fee, gross - fee


def largest_remainder(total: int, weights: dict[str, int]) -> dict[str, int]:
    """``total`` split pro rata to positive integer weights: floors, then one micro each to the largest remainders,
    ties by key."""
    out = dict.fromkeys(weights, 0)
    wsum = sum(w for w in weights.values() if w > 0)
    if not wsum or not total:
        return out
    rems = []
    for k in sorted(weights):
        if weights[k] <= 0:
            continue
        q, r = divmod(total * weights[k], wsum)
        out[k] = q
        rems.append((-r, k))
    for _, k in sorted(rems)[: total - sum(out.values())]:
        out[k] += 1
    return out


@dataclass
class Offer:
    key: str
    id: str
    model: str  # per_access | per_unit | flat | subscription
    price: int
    currency: str
    scope: tuple[str, str]  # (asset|collection|pool, asset key / collection key / pool key)
    uses: tuple[str, ...]
    credited: str  # the account the net goes to: the publisher, or the pool
    period_days: int = 0
    created: float = 0.0


@dataclass
class Licence:
    id: str
    buyer: str
    offer: Offer
    use: str
    cap: int | None
    created: float
    status: str = "active"
    spent: int = 0
    ended_at: float | None = None
    ppc: bool = False
    charged_periods: set[int] = field(default_factory=set)
    renew_from: int = 0

    @property
    def access_price(self) -> int:
        return self.offer.price if self.offer.model == "per_access" else 0

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else self.cap - self.spent


@dataclass(frozen=True)
class Expect:
    """An expected answer: a status, a problem code, and for a 200 the licences any of which may have been used."""

    status: int
    code: str | None = None
    licences: tuple[str, ...] = ()
    new_ppc_offer: str | None = None  # a pay-per-crawl licence is granted on this offer


@dataclass
class Use:
    """One metered use under a pool licence: the asset, accesses, and what it was charged."""

    license_id: str
    asset: str
    accesses: int
    charged: int


class Model:
    def __init__(self) -> None:
        self.offers: dict[str, Offer] = {}
        self.licences: dict[str, Licence] = {}
        self.asset_collection: dict[str, str | None] = {}
        self.asset_publisher: dict[str, str] = {}
        self.members: dict[str, dict[str, float | None]] = defaultdict(dict)  # pool -> asset -> leaves_at
        self.history: dict[str, dict[str, list[list[float | None]]]] = defaultdict(lambda: defaultdict(list))
        self.balances: dict[tuple[str, str], int] = defaultdict(int)
        # (account, period, currency) -> [gross, fee, net, distributions]
        self.totals: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.reported: dict[str, set[str]] = defaultdict(set)
        self.events: dict[tuple[str, str], dict[str, object]] = {}  # (buyer, event id) -> the accepted event
        self.ppc: dict[tuple[str, str], str] = {}  # (buyer, offer key) -> licence id
        self.closed: set[str] = set()
        # pool revenue by booked period: (pool, period, currency) -> licence id -> [usage net, charge net]
        self.pool_revenue: dict[tuple[str, str, str], dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        self.pool_uses: dict[tuple[str, str], list[Use]] = defaultdict(list)  # (pool, period) -> uses
        self.carried: dict[str, list[dict[str, object]]] = defaultdict(list)  # pool -> open carried items
        self.distributed: dict[tuple[str, str], dict[str, object]] = {}

    # ------------------------------------------------------------------------------------------------ periods
    def booking_period(self, occurred: float, now: float) -> str:
        """Usage that arrives after its period closed is booked in the open period (the running one)."""
        p = period_of(occurred)
        return period_of(now) if p in self.closed else p

    # ------------------------------------------------------------------------------------------------ money
    def charge(
        self,
        lic: Licence,
        gross: int,
        occurred: float,
        now: float,
        *,
        asset: str | None = None,
        accesses: int = 0,
        units: int = 0,
    ) -> None:
        """Book one charge (or a free use, gross 0) on a licence: buyer -gross, credited +net, platform +fee."""
        assert lic.cap is None or lic.spent + gross <= lic.cap, "the model never charges past a cap"
        cur = lic.offer.currency
        fee, net = fee_split(gross)
        period = self.booking_period(occurred, now)
        lic.spent += gross
        self.balances[(lic.buyer, cur)] -= gross
        self.balances[(lic.offer.credited, cur)] += net
        self.balances[(PLATFORM, cur)] += fee
        for account in dict.fromkeys([lic.buyer, lic.offer.credited] + ([PLATFORM] if fee else [])):
            t = self.totals[(account, period, cur)]
            t[0] += gross
            t[1] += fee
            t[2] += net
        if lic.offer.scope[0] == "pool":
            pool = lic.offer.scope[1]
            rev = self.pool_revenue[(pool, period, cur)][lic.id]
            if lic.offer.model in ("per_access", "per_unit"):
                rev[0] += net
            else:
                rev[1] += net
            if asset is not None and (accesses or units):
                self.pool_uses[(pool, period)].append(Use(lic.id, asset, accesses, gross))

    # ------------------------------------------------------------------------------------------------ coverage
    def pools_of(self, asset: str, now: float) -> list[str]:
        return [p for p, m in self.members.items() if asset in m and (m[asset] is None or now < float(m[asset] or 0))]

    def covers_asset(self, lic: Licence, asset: str, now: float) -> bool:
        kind, key = lic.offer.scope
        if kind == "asset":
            return key == asset
        if kind == "collection":
            return self.asset_collection.get(asset) == key
        return key in self.pools_of(asset, now)

    def refusal(self, lic: Licence, asset: str, use: str, now: float) -> str | None:
        if lic.status != "active":
            return f"license_{lic.status}"
        if not self.covers_asset(lic, asset, now):
            return "license_scope"
        if not covers_use(lic.use, use):
            return "license_use"
        return None

    @staticmethod
    def fits(lic: Licence, limit: tuple[str, str, int] | None) -> bool:
        if limit is None:
            return True
        mode, currency, micros = limit
        price = lic.access_price
        same = price == 0 or lic.offer.currency == currency
        return same and (price == micros if mode == "exact" else price <= micros)

    @staticmethod
    def budget_ok(lic: Licence) -> bool:
        price = lic.access_price
        return lic.cap is None or price == 0 or lic.cap - lic.spent >= price

    def offers_for(self, asset: str, now: float) -> list[Offer]:
        col = self.asset_collection.get(asset)
        pools = self.pools_of(asset, now)
        return [
            o
            for o in self.offers.values()
            if (o.scope == ("asset", asset) or (col and o.scope == ("collection", col)))
            or (o.scope[0] == "pool" and o.scope[1] in pools)
        ]

    # ------------------------------------------------------------------------------------------------ delivery
    def expect_delivery(
        self, buyer: str, asset: str, use: str, named: str | None, limit: tuple[str, str, int] | None, now: float
    ) -> Expect:
        if named is not None:
            lic = self.licences[named]
            code = self.refusal(lic, asset, use, now)
            if code is None and not self.fits(lic, limit):
                return Expect(402, "payment_required")
            if code is None and not self.budget_ok(lic):
                code = "budget_exhausted"
            return Expect(403, code) if code else Expect(200, licences=(lic.id,))
        mine = [lic for lic in self.licences.values() if lic.buyer == buyer]
        covering = [
            lic
            for lic in mine
            if lic.status == "active" and self.covers_asset(lic, asset, now) and covers_use(lic.use, use)
        ]
        refused: list[Licence] = []
        for lic in sorted(covering, key=lambda x: (x.access_price, x.created)):
            if not self.fits(lic, limit):
                continue
            if not self.budget_ok(lic):
                refused.append(lic)
                continue
            return Expect(200, licences=(lic.id,))
        if limit is not None:
            mode, currency, micros = limit
            within = [
                o
                for o in self.offers_for(asset, now)
                if o.model == "per_access"
                and covers_use_any(o.uses, use)
                and o.currency == currency
                and (o.price == micros if mode == "exact" else o.price <= micros)
            ]
            if not within:
                return Expect(402, "payment_required")
            offer = min(within, key=lambda o: (o.price, o.created))
            existing = self.ppc.get((buyer, offer.key))
            if existing is not None:
                old = self.licences[existing]
                if old.status == "active" and self.refusal(old, asset, use, now) is None and self.fits(old, limit):
                    return Expect(200, licences=(old.id,))
                if old.status == "revoked":
                    return Expect(403, "license_revoked")
            return Expect(200, new_ppc_offer=offer.key)
        if refused:
            return Expect(403, "budget_exhausted")
        ended = [
            lic
            for lic in mine
            if lic.status in ("revoked", "cancelled", "lapsed")
            and self.covers_asset(lic, asset, now)
            and covers_use(lic.use, use)
        ]
        if ended:
            last = max(lic.ended_at or 0 for lic in ended)
            codes = {f"license_{lic.status}" for lic in ended if lic.ended_at == last}
            return Expect(403, codes.pop() if len(codes) == 1 else "|".join(sorted(codes)))
        return Expect(402, "payment_required")

    def delivered(self, lic_id: str, asset: str, now: float) -> None:
        lic = self.licences[lic_id]
        self.charge(lic, lic.access_price, now, now, asset=asset, accesses=1)

    # ------------------------------------------------------------------------------------------------ grants
    def expect_grant(self, offer: Offer, cap: int | None) -> Expect:
        upfront = offer.price if offer.model in ("flat", "subscription") else 0
        if cap is not None and upfront > cap:
            return Expect(422, "budget_below_price")
        return Expect(201)

    def granted(
        self, lic_id: str, buyer: str, offer: Offer, use: str, cap: int | None, now: float, ppc: bool = False
    ) -> Licence:
        lic = Licence(lic_id, buyer, offer, use, cap, now, ppc=ppc)
        self.licences[lic_id] = lic
        if ppc:
            self.ppc[(buyer, offer.key)] = lic_id
        if offer.model in ("flat", "subscription") and offer.price:
            self.charge(lic, offer.price, now, now)
            lic.charged_periods.add(0)
        return lic

    # ------------------------------------------------------------------------------------------------ ending
    def expect_end(self, lic: Licence, status: str) -> Expect:
        if lic.status == status or lic.status == "active":
            return Expect(200)
        return Expect(409, f"license_{lic.status}")

    def ended(self, lic: Licence, status: str, now: float) -> None:
        if lic.status == "active":
            lic.status, lic.ended_at = status, now

    # ------------------------------------------------------------------------------------------------ renewals
    def period_index(self, lic: Licence, now: float) -> int:
        days = lic.offer.period_days
        return max(0, int((now - lic.created) // (days * DAY))) if days else 0

    def renew(self, now: float) -> None:
        for lic in self.licences.values():
            if lic.status != "active" or lic.offer.model != "subscription":
                continue
            for n in range(lic.renew_from, self.period_index(lic, now) + 1):
                if n in lic.charged_periods:
                    continue
                if lic.cap is not None and lic.cap - lic.spent < lic.offer.price:
                    lic.status, lic.ended_at = "lapsed", now
                    break
                start = lic.created + n * lic.offer.period_days * DAY
                self.charge(lic, lic.offer.price, start, now)
                lic.charged_periods.add(n)

    # ------------------------------------------------------------------------------------------------ caps
    def expect_cap(self, lic: Licence, new_cap: int, now: float) -> Expect:
        if lic.cap is None:
            return Expect(422, "uncapped")
        if lic.status not in ("active", "lapsed"):
            return Expect(409, f"license_{lic.status}")
        if new_cap < lic.spent:
            return Expect(422, "cap_below_spent")
        if lic.status == "lapsed" and new_cap > lic.cap:
            n = self.period_index(lic, now)
            if n not in lic.charged_periods and new_cap - lic.spent < lic.offer.price:
                return Expect(422, "budget_below_price")
        return Expect(200)

    def cap_set(self, lic: Licence, new_cap: int, now: float) -> None:
        reactivate = lic.status == "lapsed" and new_cap > (lic.cap or 0)
        lic.cap = new_cap
        if reactivate:
            n = self.period_index(lic, now)
            lic.status, lic.ended_at, lic.renew_from = "active", None, n
            if n not in lic.charged_periods:
                start = lic.created + n * lic.offer.period_days * DAY
                self.charge(lic, lic.offer.price, start, now)
                lic.charged_periods.add(n)

    # ------------------------------------------------------------------------------------------------ usage
    def report(
        self, buyer: str, events: list[dict[str, object]], now: float
    ) -> tuple[int, int, list[dict[str, str]], list[dict[str, object]]]:
        """(accepted, duplicates, rejected, the accepted events) for one ``POST /v1/usage``; books nothing."""
        seen: set[str] = set()
        duplicates = 0
        rejected: list[dict[str, str]] = []
        candidates: list[dict[str, object]] = []
        for ev in events:
            eid = str(ev["event_id"])
            if eid in seen or eid in self.reported[buyer]:
                duplicates += 1
                continue
            seen.add(eid)
            lic = self.licences.get(str(ev["license_id"]))
            occurred = float(ev["t"])  # type: ignore[arg-type]
            code = None
            if lic is None or lic.buyer != buyer:
                code = "unknown_license"
            elif occurred < lic.created:
                code = "outside_term"
            elif lic.status != "active" and occurred >= (lic.ended_at or 0):
                code = "license_inactive"
            elif lic.offer.model != "per_unit":
                code = "not_unit_priced"
            elif not covers_use(lic.use, str(ev["use"])):
                code = "use_not_covered"
            elif not self.covers_asset(lic, str(ev["asset_id"]), now):
                code = "asset_not_covered"
            if code:
                rejected.append({"event_id": eid, "code": code})
            else:
                candidates.append(ev)
        accepted: list[dict[str, object]] = []
        held: dict[str, int] = defaultdict(int)
        exhausted: list[dict[str, str]] = []
        for ev in candidates:
            lic = self.licences[str(ev["license_id"])]
            cost = lic.offer.price * int(ev["units"])  # type: ignore[call-overload]
            if lic.cap is not None and lic.cap - lic.spent - held[lic.id] < cost:
                exhausted.append({"event_id": str(ev["event_id"]), "code": "budget_exhausted"})
                continue
            held[lic.id] += cost
            accepted.append(ev)
        return len(accepted), duplicates, rejected + exhausted, accepted

    def reported_events(self, buyer: str, accepted: list[dict[str, object]], now: float) -> None:
        for ev in accepted:
            self.reported[buyer].add(str(ev["event_id"]))
            self.events[(buyer, str(ev["event_id"]))] = ev
            lic = self.licences[str(ev["license_id"])]
            units = int(ev["units"])  # type: ignore[call-overload]
            self.charge(lic, lic.offer.price * units, float(ev["t"]), now, asset=str(ev["asset_id"]), units=units)  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------------ pools
    def join(self, pool: str, asset: str, now: float) -> None:
        spans = self.history[pool][asset]
        if not spans or (spans[-1][1] is not None and float(spans[-1][1]) <= now):
            spans.append([now, None])  # a new membership
        else:
            spans[-1][1] = None  # still a member: a pending opt-out is withdrawn
        self.members[pool][asset] = None

    def leave(self, pool: str, asset: str, now: float) -> float:
        current = self.members[pool].get(asset)
        leaves = current if current is not None else next_month_start(now)
        self.members[pool][asset] = leaves
        self.history[pool][asset][-1][1] = leaves
        return float(leaves)

    def members_at_end(self, pool: str, period: str) -> list[str]:
        """The pool's member assets at the end of ``period`` (for the equal split of stale carried revenue)."""
        end = period_end(period)
        return sorted(
            a
            for a, spans in self.history[pool].items()
            if any(float(j or 0) < end and (lv is None or float(lv) > end) for j, lv in spans)
        )

    # ------------------------------------------------------------------------------------------------ periods
    def expect_close(self, period: str, now: float) -> Expect:
        return Expect(422, "period_not_ended") if period >= period_of(now) else Expect(200)

    def close(self, period: str) -> None:
        self.closed.add(period)

    def expect_distribution(self, pool: str, period: str, now: float) -> Expect:
        if period > period_of(now):
            return Expect(422, "period_in_future")
        if period not in self.closed:
            return Expect(409, "period_open")
        return Expect(201)

    def distribute(self, pool: str, period: str, now: float) -> list[dict[str, object]]:
        """The pool rule of API v1.1 for a closed period (once: a second call answers the same), booked now."""
        if (pool, period) in self.distributed:
            return self.distributed[(pool, period)]["currencies"]  # type: ignore[return-value]
        booked = period_of(now)
        revenue = {k[2]: v for k, v in self.pool_revenue.items() if k[0] == pool and k[1] == period}
        uses = self.pool_uses.get((pool, period), [])
        usable = [c for c in self.carried[pool] if str(c["since"]) < period]
        untouched = [c for c in self.carried[pool] if str(c["since"]) >= period]
        earned = {c for c, v in revenue.items() if any(x[0] or x[1] for x in v.values())}  # free uses earn nothing
        currencies = sorted(earned | {str(c["currency"]) for c in usable})
        out: list[dict[str, object]] = []
        new_carried: list[dict[str, object]] = []
        for cur in currencies:
            rev = {lic: v for lic, v in revenue.get(cur, {}).items() if v[0] or v[1]}
            old = [c for c in usable if c["currency"] == cur]
            members: dict[str, dict[str, int]] = {}
            publisher: dict[str, str] = {}

            def member(
                asset: str,
                pub: str,
                members: dict[str, dict[str, int]] = members,
                publisher: dict[str, str] = publisher,
            ) -> dict[str, int]:
                publisher.setdefault(asset, pub)
                return members.setdefault(asset, {"accesses": 0, "charged": 0, "attributed": 0, "carried_share": 0})

            by_licence: dict[str, list[Use]] = defaultdict(list)
            for u in uses:
                if self.licences[u.license_id].offer.currency != cur:
                    continue
                by_licence[u.license_id].append(u)
                mm = member(u.asset, self.asset_publisher[u.asset])
                mm["accesses"] += u.accesses
                mm["charged"] += u.charged
            carried: list[dict[str, object]] = []
            stale: list[dict[str, object]] = []
            for lic in sorted(set(rev) | {str(c["license_id"]) for c in old}):
                usage_net, charge_net = rev.get(lic, [0, 0])
                charged_w: dict[str, int] = defaultdict(int)
                access_w: dict[str, int] = defaultdict(int)
                for u in by_licence[lic]:
                    charged_w[u.asset] += u.charged
                    access_w[u.asset] += u.accesses
                pot = charge_net
                if usage_net:
                    if sum(charged_w.values()) > 0:
                        for a, v in largest_remainder(usage_net, dict(charged_w)).items():
                            members[a]["attributed"] += v
                    else:
                        pot += usage_net
                mine = [c for c in old if c["license_id"] == lic]
                if sum(access_w.values()) > 0:
                    total = pot + sum(int(c["amount"]) for c in mine)  # type: ignore[call-overload]
                    for a, v in largest_remainder(total, dict(access_w)).items():
                        members[a]["attributed"] += v
                    continue
                if pot:
                    carried.append({"license_id": lic, "currency": cur, "amount": pot, "since": period})
                for c in mine:
                    (stale if months_between(str(c["since"]), period) >= 3 else carried).append(c)
            for c in sorted(stale, key=lambda c: (str(c["since"]), str(c["license_id"]))):
                weights: dict[str, int] = defaultdict(int)
                for (p, q), dist in self.distributed.items():
                    if p != pool or not (str(c["since"]) <= q < period):
                        continue
                    for cd in dist["currencies"]:  # type: ignore[attr-defined]
                        if cd["currency"] != cur:
                            continue
                        for mem in cd["members"]:
                            member(mem["asset_id"], mem["publisher_id"])
                            weights[mem["asset_id"]] += int(mem["attributed_micros"])
                for a, mm in members.items():
                    weights[a] += mm["attributed"]
                if sum(weights.values()) <= 0:
                    weights = defaultdict(int)
                    for a in self.members_at_end(pool, period):
                        member(a, self.asset_publisher[a])
                        weights[a] = 1
                if sum(weights.values()) <= 0:
                    carried.append(c)
                    continue
                for a, v in largest_remainder(int(c["amount"]), dict(weights)).items():  # type: ignore[call-overload]
                    members[a]["carried_share"] += v
            net = sum(v[0] + v[1] for v in rev.values())
            carried_in = sum(int(c["amount"]) for c in old)  # type: ignore[call-overload]
            shares = sum(mm["attributed"] + mm["carried_share"] for mm in members.values())
            forward = sum(int(c["amount"]) for c in carried)  # type: ignore[call-overload]
            assert shares + forward == net + carried_in
            out.append(
                {
                    "currency": cur,
                    "net_revenue_micros": net,
                    "carried_in_micros": carried_in,
                    "shares_micros": shares,
                    "carried_forward_micros": forward,
                    "members": [
                        {
                            "asset_id": a,
                            "publisher_id": publisher[a],
                            "accesses": mm["accesses"],
                            "charged_micros": mm["charged"],
                            "attributed_micros": mm["attributed"],
                            "carried_share_micros": mm["carried_share"],
                            "share_micros": mm["attributed"] + mm["carried_share"],
                        }
                        for a, mm in sorted(members.items())
                    ],
                    "carried": [
                        {
                            "license_id": c["license_id"],
                            "amount_micros": c["amount"],
                            "since_period": c["since"],
                            "reason": "unattributed",
                        }
                        for c in sorted(carried, key=lambda c: (str(c["since"]), str(c["license_id"])))
                    ],
                }
            )
            new_carried += carried
            # book it: the pool pays the shares out, each publisher receives its assets' shares (in the open period)
            per_publisher: dict[str, int] = defaultdict(int)
            for a, mm in members.items():
                per_publisher[publisher[a]] += mm["attributed"] + mm["carried_share"]
            if shares:
                self.balances[(pool, cur)] -= shares
                self.totals[(pool, booked, cur)][3] -= shares
                for pub, v in per_publisher.items():
                    if v:
                        self.balances[(pub, cur)] += v
                        self.totals[(pub, booked, cur)][3] += v
        self.carried[pool] = untouched + new_carried
        self.distributed[(pool, period)] = {"currencies": out, "booked": booked}
        return out

    # ------------------------------------------------------------------------------------------------ totals
    def totals_of(self, account: str, period: str) -> dict[str, tuple[int, int, int, int]]:
        out = {}
        for (acct, p, cur), t in self.totals.items():
            if acct == account and p == period and any(t):
                out[cur] = (t[0], t[1], t[2], t[3])
        return out

    def currency_sums(self) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for (_, cur), v in self.balances.items():
            sums[cur] += v
        return dict(sums)


def covers_use_any(granted: tuple[str, ...], wanted: str) -> bool:
    return any(covers_use(g, wanted) for g in granted)
