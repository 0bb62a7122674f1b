"""Model-based test of the money rules (API v1.1, issue 14 item 3): hypothesis drives random sequences of grants,
deliveries (some in real threads over separate warm instances), crawler price headers, reported events and their
resends, revocations, cancellations, subscription renewals, cap changes, pool joins and leaves, period closes and
pool distributions through the real handlers on the embedded DynamoDB, and after every step compares what the
marketplace says with a reference model that imports nothing from ``functions/`` (tests/model/ledger_model.py), and
checks the ledger's invariants.

Each example is a fresh embedded AWS with two publishers, two buyers, three assets (two in a collection), a pool and
ten offers. Time is virtual: the marketplace's clock (``functions.shared.clock``) and ``time.time`` (budget leases)
move together, 61 s per step (every delivery lease of an earlier step has expired, so what a capped licence delivers
is exactly what its cap still covers) and by whole days when a rule says so, starting at 12:00 UTC on the 5th of a
month (no step lands near midnight, so the model knows each step's period).

Default: a fixed seed (``MONEY_MODEL_SEED``, printed on failure), a few examples of bounded length, under 2 minutes.
``MONEY_MODEL_DEEP=1``: many more examples and steps.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import HealthCheck, Phase, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.fixtures import Api, embedded_aws
from tests.model.ledger_model import DAY, PLATFORM, Expect, Licence, Model, Offer, period_of

SEED = int(os.environ.get("MONEY_MODEL_SEED", "20261129"))
DEEP = os.environ.get("MONEY_MODEL_DEEP") == "1"
EXAMPLES = int(os.environ.get("MONEY_MODEL_EXAMPLES", "200" if DEEP else "4"))
STEPS = int(os.environ.get("MONEY_MODEL_STEPS", "80" if DEEP else "25"))
STEP_S = 61  # > the budget lease TTL (60 s)
START = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
CURRENCIES = ("USD", "EUR")
USES = ("search", "ai-input", "ai-train", "ai-index")
HEADERS = (
    None,
    ("crawler-max-price", "max", "USD", 10_000),
    ("crawler-max-price", "max", "USD", 20_000),
    ("crawler-max-price", "max", "USD", 5_000),
    ("crawler-exact-price", "exact", "USD", 20_000),
    ("crawler-exact-price", "exact", "EUR", 7_000),
    ("crawler-max-price", "max", "USD", 1_000_000),
)
OFFERS = {
    # key: (model, price, currency, scope, uses, period_days)
    "pa_a1": ("per_access", 10_000, "USD", ("asset", "a1"), ("search", "ai-input"), 0),
    "pa_a1_dear": ("per_access", 1_000_000, "USD", ("asset", "a1"), ("ai-input",), 0),
    "pu_a1": ("per_unit", 1_000, "USD", ("asset", "a1"), ("ai-train",), 0),
    "flat_c1": ("flat", 50_000, "USD", ("collection", "c1"), ("ai-index",), 0),
    "sub_a3": ("subscription", 30_000, "USD", ("asset", "a3"), ("ai-input",), 30),
    "pa_a3_eur": ("per_access", 7_000, "EUR", ("asset", "a3"), ("search",), 0),
    "pa_pool": ("per_access", 20_000, "USD", ("pool", "pool"), ("search",), 0),
    "pu_pool": ("per_unit", 2_000, "EUR", ("pool", "pool"), ("ai-train",), 0),
    "flat_pool": ("flat", 40_000, "USD", ("pool", "pool"), ("ai-index",), 0),
    "sub_pool": ("subscription", 60_000, "EUR", ("pool", "pool"), ("ai-input",), 30),
}
SEEN: Counter[str] = Counter()  # what the run exercised (printed with -s)
CAP_FACTORS = (None, None, 0.5, 1, 2, 3.5, 10)


# ----------------------------------------------------------------------------------------------------- clock
class VirtualClock:
    """The marketplace's clock and ``time.time`` pinned to a virtual instant at each step."""

    def __init__(self, start: datetime) -> None:
        from functions.shared import clock

        self._clock = clock
        self._real = time.time
        self.t = start.timestamp()
        self.apply()

    def apply(self) -> None:
        offset = self.t - self._real()
        self._clock.set_offset(offset)
        real = self._real
        time.time = lambda: real() + offset  # type: ignore[assignment]

    def advance(self, seconds: float) -> None:
        self.t += seconds
        self.apply()

    def restore(self) -> None:
        self._clock.set_offset(0)
        time.time = self._real  # type: ignore[assignment]

    def iso(self, t: float | None = None) -> str:
        return (
            datetime.fromtimestamp(self.t if t is None else t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )


# ----------------------------------------------------------------------------------------------------- world
class World:
    """One fresh embedded AWS with the handlers' environment, the gateway and an admin (tests/fixtures.py's ``aws``,
    ``gw`` and ``admin`` fixtures, once per hypothesis example)."""

    def __init__(self) -> None:
        from local.gateway import LocalGateway
        from local.server import ensure_admin

        self._stack = contextlib.ExitStack()
        self.env = self._stack.enter_context(embedded_aws())  # fresh tables, clock and closed-period cache
        self.gw = LocalGateway()
        self.admin = Api(self.gw, ensure_admin(self.env, None))  # type: ignore[arg-type]
        self._instances: list[Api] = []

    def instances(self, key: str, n: int) -> list[Api]:
        from tests.integration.instances import InstanceGateway

        while len(self._instances) < n:
            self._instances.append(Api(InstanceGateway(), None))
        return [Api(i.gw, key) for i in self._instances[:n]]

    def meter(self) -> int:
        from local.dispatch import drain

        return drain(self.gw.invoke, self.env, ("usage", "licensing"))

    def job(self, name: str, **extra: Any) -> Any:
        from local.dispatch import run_job

        return run_job(self.gw.invoke, name, **extra)

    def close(self) -> None:
        from tests.integration.instances import forget_copies

        forget_copies()
        self._stack.close()


def scan(table: str) -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb")
    des = TypeDeserializer()
    items: list[dict[str, Any]] = []
    args: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        got = ddb.scan(**args)
        items += [{k: des.deserialize(v) for k, v in i.items()} for i in got.get("Items", [])]
        if "LastEvaluatedKey" not in got:
            return items
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


class Books:
    """What the tables hold after a step: balances per account and currency, spend and status per licence."""

    def __init__(self) -> None:
        self.balances: dict[tuple[str, str], int] = {}
        self.spend: dict[str, int] = {}
        self.status: dict[str, str] = {}


def jcs_sha256(body: dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 serialisation of a statement without ``sha256`` and ``closed_at`` (integers, strings,
    null, lists and objects with ASCII keys only: sorted keys, no whitespace, UTF-8)."""
    rest = {k: v for k, v in body.items() if k not in ("sha256", "closed_at")}
    canon = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def price_header(currency: str, micros: int) -> str:
    whole, frac = divmod(micros, 1_000_000)
    return f"{currency} {whole}.{frac:06d}"


# ----------------------------------------------------------------------------------------------------- machine
class MoneyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock(START)
        try:
            self.world = World()
            self.model = Model()
            self._setup()
        except BaseException:
            self.clock.restore()
            raise
        self.step = 0
        self.sent: dict[str, list[dict[str, Any]]] = defaultdict(list)  # buyer -> every event ever sent
        self.closed_statements: dict[tuple[str, str], dict[str, Any]] = {}
        self.cert_refs: dict[str, dict[str, Any]] = {}  # licence -> its status-list entry (from a certificate)
        self.event_seq = 0

    # ----------------------------------------------------------------------------- set-up
    def _account(self, name: str, roles: list[str]) -> tuple[Api, str]:
        r = self.world.admin.post("/v1/accounts", {"name": name, "email": f"{name}@example.com", "roles": roles})
        assert r.status == 201, r.body
        return self.world.admin.as_(r.json["api_key"]), r.json["account"]["id"]

    def _asset(self, pub: Api, pub_id: str, title: str, collection: str | None) -> str:
        data = f"{title}: the text.".encode()
        body: dict[str, Any] = {
            "title": title,
            "kind": "article",
            "media_type": "text/plain",
            "language": "en",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if collection:
            body["collection_id"] = collection
        r = pub.post("/v1/assets", body)
        assert r.status == 201, r.body
        asset = r.json["asset"]
        boto3.client("s3").put_object(
            Bucket=self.world.env["CONTENT_BUCKET"], Key=f"assets/{pub_id}/{asset['id']}", Body=data
        )
        assert pub.post(f"/v1/assets/{asset['id']}/complete").json["status"] == "available"
        return str(asset["id"])

    def _setup(self) -> None:
        m, admin = self.model, self.world.admin
        self.pub1, p1 = self._account("pub1", ["publisher"])
        self.pub2, p2 = self._account("pub2", ["publisher"])
        b1, self.b1 = self._account("buyer1", ["buyer"])
        b2, self.b2 = self._account("buyer2", ["buyer"])
        self.buyers = {self.b1: b1, self.b2: b2}
        self.publisher_of_id = {p1: self.pub1, p2: self.pub2}
        col = self.pub1.post("/v1/collections", {"title": "Harbour"})
        assert col.status == 201, col.body
        c1 = col.json["id"]
        self.assets = {
            "a1": self._asset(self.pub1, p1, "Sea wall", c1),
            "a2": self._asset(self.pub1, p1, "Tide tables", c1),
            "a3": self._asset(self.pub2, p2, "Ferry times", None),
        }
        self.asset_pub = {"a1": p1, "a2": p1, "a3": p2}
        pool = admin.post("/v1/pools", {"name": "Co-op", "description": "model"})
        assert pool.status == 201, pool.body
        self.pool = pool.json["id"]
        for a in ("a1", "a2", "a3"):
            m.asset_collection[self.assets[a]] = c1 if a != "a3" else None
            m.asset_publisher[self.assets[a]] = self.asset_pub[a]
        scope_ids = {"a1": self.assets["a1"], "a3": self.assets["a3"], "c1": c1, "pool": self.pool}
        owner = {"a1": (self.pub1, p1), "c1": (self.pub1, p1), "a3": (self.pub2, p2), "pool": (admin, self.pool)}
        for i, (key, (model, price, cur, (kind, ref), uses, days)) in enumerate(OFFERS.items()):
            client, credited = owner[ref]
            pricing: dict[str, Any] = {"model": model, "amount_micros": price, "currency": cur}
            if model == "per_unit":
                pricing["unit"] = "page"
            if days:
                pricing["period_days"] = days
            r = client.post("/v1/offers", {f"{kind}_id": scope_ids[ref], "uses": list(uses), "pricing": pricing})
            assert r.status == 201, r.body
            m.offers[key] = Offer(key, r.json["id"], model, price, cur, (kind, scope_ids[ref]), uses, credited, days, i)
        for a in ("a1", "a3"):
            self._join(a, initial=True)
        self.clock.advance(STEP_S)

    # ----------------------------------------------------------------------------- helpers
    @property
    def now(self) -> float:
        return self.clock.t

    def _pub_client(self, account_id: str) -> Api:
        return self.publisher_of_id[account_id]

    def _join(self, a: str, initial: bool = False) -> None:
        pub = self._pub_client(self.asset_pub[a])
        r = pub.post(f"/v1/pools/{self.pool}/members", {"asset_ids": [self.assets[a]]})
        assert r.status in (200, 201), r.body
        self.model.join(self.pool, self.assets[a], self.now)

    def _licence_list(self) -> list[Licence]:
        return list(self.model.licences.values())

    def _expect(self, r: Any, exp: Expect, what: str) -> None:
        got = (r.status, (r.json or {}).get("code") if r.status >= 400 else None)
        event(f"{what.split()[0]} {got[0]} {got[1] or ''}".strip())
        SEEN[f"{what.split()[0]} {got[0]} {got[1] or ''}".strip()] += 1
        want_codes = set((exp.code or "").split("|")) if exp.code else {None}
        assert got[0] == exp.status and got[1] in want_codes, (
            f"{what}: expected {exp.status} {exp.code}, got {r.status} {r.body[:300]!r}"
        )

    # ----------------------------------------------------------------------------- rules: licences
    @rule(
        buyer=st.integers(0, 1),
        offer=st.sampled_from(sorted(OFFERS)),
        use_i=st.integers(0, 3),
        cap_i=st.integers(0, len(CAP_FACTORS) - 1),
    )
    def grant(self, buyer: int, offer: str, use_i: int, cap_i: int) -> None:
        self._grant(buyer, offer, use_i, cap_i)

    @rule(
        buyer=st.integers(0, 1),
        offer=st.sampled_from(sorted(OFFERS)),
        use_i=st.integers(0, 3),
        cap_i=st.integers(0, len(CAP_FACTORS) - 1),
    )
    def grant_more(self, buyer: int, offer: str, use_i: int, cap_i: int) -> None:
        self._grant(buyer, offer, use_i, cap_i)

    @initialize(
        grants=st.lists(
            st.tuples(
                st.integers(0, 1),
                st.sampled_from(sorted(OFFERS)),
                st.integers(0, 3),
                st.integers(0, len(CAP_FACTORS) - 1),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def first_grants(self, grants: list[tuple[int, str, int, int]]) -> None:
        fixed = [
            (0, "pa_pool", 0, 0),
            (0, "pu_pool", 0, 0),
            (1, "flat_pool", 0, 0),
            (1, "pa_a1", 0, 4),
            (1, "pu_a1", 0, 4),
        ]
        for g in fixed + grants:
            self._grant(*g)

    def _grant(self, buyer: int, offer: str, use_i: int, cap_i: int) -> None:
        o = self.model.offers[offer]
        use = o.uses[use_i % len(o.uses)]
        factor = CAP_FACTORS[cap_i]
        cap = None if factor is None else int(o.price * (factor if o.model != "per_unit" else factor * 3))
        buyer_id = (self.b1, self.b2)[buyer]
        body: dict[str, Any] = {"offer_id": o.id, "use": use}
        if cap is not None:
            body["budget_cap_micros"] = cap
        note(f"step {self.step}: grant {offer} use={use} cap={cap} to {buyer_id}")
        r = self.buyers[buyer_id].post("/v1/licenses", body)
        exp = self.model.expect_grant(o, cap)
        self._expect(r, exp, f"grant {offer} cap {cap}")
        if r.status == 201:
            lic = r.json["license"]
            self.model.granted(lic["id"], buyer_id, o, use, cap, self.now)

    @rule(data=st.data())
    @precondition(lambda self: self.model.licences)
    def end_licence(self, data: st.DataObject) -> None:
        self._end_licence(data)

    @rule(data=st.data())
    @precondition(lambda self: self.model.licences)
    def end_another_licence(self, data: st.DataObject) -> None:
        self._end_licence(data)

    def _end_licence(self, data: st.DataObject) -> None:
        lic = data.draw(st.sampled_from(self._licence_list()), label="licence")
        how = data.draw(st.sampled_from(["cancel", "revoke"]), label="how")
        if how == "revoke" and lic.offer.scope[0] == "pool":
            how = "cancel"  # a pool licence's offer belongs to the admin
        note(f"step {self.step}: {how} {lic.id} ({lic.offer.key}, {lic.status})")
        status = "cancelled" if how == "cancel" else "revoked"
        exp = self.model.expect_end(lic, status)
        if how == "cancel":
            r = self.buyers[lic.buyer].post(f"/v1/licenses/{lic.id}/cancel")
        else:
            r = self._pub_client(lic.offer.credited).post(f"/v1/licenses/{lic.id}/revoke", {"reason": "model"})
        self._expect(r, exp, f"{how} {lic.id}")
        if r.status == 200:
            self.model.ended(lic, status, self.now)

    @rule(data=st.data())
    @precondition(lambda self: any(x.cap is not None for x in self.model.licences.values()))
    def change_cap(self, data: st.DataObject) -> None:
        lic = data.draw(st.sampled_from([x for x in self._licence_list() if x.cap is not None]), label="licence")
        unit = lic.offer.price or 1
        how = data.draw(st.sampled_from(["below_spent", "spent", "lower", "raise", "raise_lots"]), label="how")
        new_cap = {
            "below_spent": lic.spent - 1,
            "spent": lic.spent,
            "lower": max(lic.spent, (lic.cap or 0) - unit),
            "raise": (lic.cap or 0) + unit,
            "raise_lots": (lic.cap or 0) + 5 * unit,
        }[how]
        if new_cap < 1:  # a cap is at least 1 micro (422 validation_failed)
            return
        note(
            f"step {self.step}: cap {lic.id} ({lic.offer.key}, {lic.status}, spent {lic.spent}) {lic.cap} -> {new_cap}"
        )
        exp = self.model.expect_cap(lic, new_cap, self.now)
        r = self.buyers[lic.buyer].patch(f"/v1/licenses/{lic.id}", {"budget_cap_micros": new_cap})
        self._expect(r, exp, f"PATCH cap {lic.id} to {new_cap}")
        if r.status == 200:
            self.model.cap_set(lic, new_cap, self.now)

    @rule()
    def renew_subscriptions(self) -> None:
        note(f"step {self.step}: renew_subscriptions")
        self.world.job("renew_subscriptions")
        self.model.renew(self.now)

    @rule()
    @precondition(lambda self: self.step % 6 == 5)
    def month_passes(self) -> None:
        """A month passes; the previous one is closed and the pool's revenue of it distributed."""
        self.clock.advance(31 * DAY)
        self.close_period(1)
        self.distribute(1)

    @rule(days=st.sampled_from([1, 9, 16, 31]))
    def time_passes(self, days: int) -> None:
        note(f"step {self.step}: {days} days pass")
        self.clock.advance(days * DAY)

    # ----------------------------------------------------------------------------- rules: deliveries
    DELIVERY = {
        "buyer": st.integers(0, 1),
        "asset": st.sampled_from(["a1", "a2", "a3"]),
        "use": st.sampled_from(USES),
        "named": st.integers(-6, 40),
        "header": st.sampled_from(HEADERS),
    }

    @rule(**DELIVERY)
    def deliver(self, buyer: int, asset: str, use: str, named: int, header: Any) -> None:
        self._deliver(buyer, asset, use, named, header)

    @rule(**DELIVERY)
    def deliver_more(self, buyer: int, asset: str, use: str, named: int, header: Any) -> None:
        self._deliver(buyer, asset, use, named, header)

    @rule(**DELIVERY)
    def deliver_again(self, buyer: int, asset: str, use: str, named: int, header: Any) -> None:
        self._deliver(buyer, asset, use, named, header)

    @rule(data=st.data(), header=st.sampled_from(HEADERS), named=st.booleans())
    @precondition(lambda self: any(x.status != "active" for x in self.model.licences.values()))
    def deliver_after_end(self, data: st.DataObject, header: Any, named: bool) -> None:
        """A delivery for what an ended licence covered (named or not, with or without a price header)."""
        lic = data.draw(st.sampled_from([x for x in self._licence_list() if x.status != "active"]), label="ended")
        buyer = (self.b1, self.b2).index(lic.buyer)
        mine = [x for x in self._licence_list() if x.buyer == lic.buyer]
        covered = [a for a in ("a1", "a2", "a3") if self.model.covers_asset(lic, self.assets[a], self.now)] or ["a1"]
        asset = data.draw(st.sampled_from(covered), label="asset")
        idx = mine.index(lic)
        self._deliver(buyer, asset, lic.use, idx if named else -4 - 4 * idx, header)

    def _deliver(self, buyer: int, asset: str, use: str, named: int, header: Any) -> None:
        buyer_id = (self.b1, self.b2)[buyer]
        mine = [x for x in self._licence_list() if x.buyer == buyer_id]
        lic = mine[named % len(mine)] if named >= 0 and mine else None
        like = mine[named % len(mine)] if mine and named % 4 else None
        if like is not None:  # mostly a use and an asset some licence of the buyer covers (named or not)
            use = like.use
            covered = [a for a in ("a1", "a2", "a3") if self.model.covers_asset(like, self.assets[a], self.now)]
            asset = covered[named % len(covered)] if covered else asset
        asset_id = self.assets[asset]
        limit = (header[1], header[2], header[3]) if header else None
        headers = {header[0]: price_header(header[2], header[3])} if header else None
        note(f"step {self.step}: deliver {asset} use={use} licence={lic.id if lic else None} header={headers}")
        exp = self.model.expect_delivery(buyer_id, asset_id, use, lic.id if lic else None, limit, self.now)
        params = {"use": use, "license_id": lic.id if lic else None}
        r = self.buyers[buyer_id].get(f"/v1/assets/{asset_id}/content", params=params, headers=headers)
        self._expect(r, exp, f"delivery of {asset} for {use} ({exp})")
        if r.status == 200:
            got = r.json["license_id"]
            if exp.new_ppc_offer is not None:
                assert got not in self.model.licences, f"pay per crawl reused {got}, expected a fresh licence"
                offer = self.model.offers[exp.new_ppc_offer]
                self.model.granted(got, buyer_id, offer, use, None, self.now, ppc=True)
            else:
                assert got in exp.licences, f"delivered under {got}, expected one of {exp.licences}"
            charged = self.model.licences[got].access_price
            if limit is not None:
                cur = self.model.licences[got].offer.currency
                assert r.headers.get("crawler-charged") == price_header(cur, charged), r.headers
                mode, lcur, micros = limit
                assert charged == 0 or (cur == lcur and (charged == micros if mode == "exact" else charged <= micros))
            self.model.delivered(got, asset_id, self.now)
        elif r.status == 402:
            assert "license_id" not in (r.json or {})
            offers = [
                o
                for o in self.model.offers_for(asset_id, self.now)
                if o.model == "per_access" and any(u == use or (u in ("all", "ai-all")) for u in o.uses)
            ]
            if offers:
                cheapest = min(offers, key=lambda o: o.price)
                assert r.headers.get("crawler-price") == price_header(cheapest.currency, cheapest.price), r.headers
        elif r.status == 403:
            assert "license_id" not in (r.json or {})

    @rule(data=st.data(), threads=st.integers(2, 4), each=st.integers(1, 3))
    @precondition(lambda self: self.model.licences)
    def deliver_concurrently(self, data: st.DataObject, threads: int, each: int) -> None:
        from tests.integration.instances import flatten, in_threads, rounds

        lic = data.draw(st.sampled_from(self._licence_list()), label="licence")
        assets = [a for a in ("a1", "a2", "a3") if self.model.covers_asset(lic, self.assets[a], self.now)] or ["a1"]
        asset = data.draw(st.sampled_from(assets), label="asset")
        asset_id = self.assets[asset]
        note(f"step {self.step}: {threads} instances x {each} deliveries of {asset} under {lic.id} ({lic.offer.key})")
        exp = self.model.expect_delivery(lic.buyer, asset_id, lic.use, lic.id, None, self.now)
        key = self.buyers[lic.buyer].key
        assert key is not None
        clients = self.world.instances(key, threads)
        path, params = f"/v1/assets/{asset_id}/content", {"use": lic.use, "license_id": lic.id}
        results = list(flatten(in_threads([rounds(each, lambda c=c: c.get(path, params=params)) for c in clients])))
        SEEN[f"concurrent deliveries x{len(clients) * each}"] += 1
        codes = Counter((r.status, (r.json or {}).get("code") if r.status != 200 else None) for r in results)
        if exp.status != 200:
            assert codes == {(exp.status, exp.code): len(results)}, (exp, codes)
            return
        price = lic.access_price
        fits = len(results) if lic.cap is None or price == 0 else (lic.cap - lic.spent) // price
        delivered = codes.get((200, None), 0)
        assert 1 <= delivered <= fits, f"{delivered} delivered, the cap fits {fits}: {codes}"
        assert set(codes) <= {(200, None), (403, "budget_exhausted")}, codes
        if lic.cap is None or price == 0:
            assert delivered == len(results), codes
        for r in results:
            if r.status == 200:
                assert r.json["license_id"] == lic.id
                self.model.delivered(lic.id, asset_id, self.now)

    # ----------------------------------------------------------------------------- rules: reported usage
    def _event(self, data: st.DataObject, buyer_id: str) -> dict[str, Any]:
        sent = self.sent[buyer_id]
        if sent and data.draw(st.integers(0, 3), label="resend?") == 0:
            return dict(data.draw(st.sampled_from(sent), label="resent event"))
        lics = self._licence_list()
        per_unit = [x for x in lics if x.offer.model == "per_unit" and x.buyer == buyer_id]
        own = [x for x in lics if x.buyer == buyer_id] or lics
        which = data.draw(st.integers(0, 7), label="which licences?")
        pool = per_unit if per_unit and which < 6 else (own if which < 7 else lics)
        lic = data.draw(st.sampled_from(pool), label="licence")
        assets = [a for a in ("a1", "a2", "a3") if self.model.covers_asset(lic, self.assets[a], self.now)]
        asset = data.draw(st.sampled_from(assets or ["a1", "a2", "a3"]), label="asset")
        units = data.draw(st.sampled_from([1, 2, 3, 5, 30, 10**9]), label="units")
        t = self.now
        if data.draw(st.integers(0, 4), label="backdated?") == 0 and lic.created + 1 < self.now:
            t = lic.created + 1  # late: its period may be closed by now
        self.event_seq += 1
        use = lic.use if data.draw(st.integers(0, 5), label="other use?") else "search"
        return {
            "event_id": f"ev-{self.event_seq}",
            "license_id": lic.id,
            "asset_id": self.assets[asset],
            "use": use,
            "units": units,
            "t": t,
        }

    @rule(data=st.data(), buyer=st.integers(0, 1), n=st.integers(1, 4))
    @precondition(lambda self: self.model.licences)
    def report_usage(self, data: st.DataObject, buyer: int, n: int) -> None:
        buyer_id = (self.b1, self.b2)[buyer]
        events = [self._event(data, buyer_id) for _ in range(n)]
        if n > 1 and data.draw(st.integers(0, 4), label="repeat within?") == 0:
            events.append(dict(events[0]))
        self._report(buyer_id, events)

    def _report(self, buyer_id: str, events: list[dict[str, Any]]) -> None:
        note(f"step {self.step}: report {[(e['event_id'], e['license_id'], e['units'], e['t']) for e in events]}")
        accepted, duplicates, rejected, ok = self.model.report(buyer_id, events, self.now)
        body = {
            "events": [
                {k: v for k, v in e.items() if k != "t"} | {"occurred_at": self.clock.iso(e["t"])} for e in events
            ]
        }
        r = self.buyers[buyer_id].post("/v1/usage", body)
        assert r.status == 202, r.body
        SEEN["usage accepted"] += accepted
        SEEN["usage duplicates"] += duplicates
        for rej in rejected:
            SEEN[f"usage rejected {rej['code']}"] += 1
        assert r.json == {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}, (
            f"POST /v1/usage: expected {accepted}/{duplicates}/{rejected}, got {r.json}"
        )
        self.model.reported_events(buyer_id, ok, self.now)
        self.sent[buyer_id] += [e for e in events if e not in self.sent[buyer_id]]

    def _late_licences(self) -> list[Licence]:
        return [
            x
            for x in self._licence_list()
            if x.offer.model == "per_unit" and period_of(x.created) < period_of(self.now)
        ]

    @rule(data=st.data(), units=st.sampled_from([1, 2, 7]))
    @precondition(lambda self: self._late_licences())
    def report_late(self, data: st.DataObject, units: int) -> None:
        """An event that occurred in an earlier period (closed or not): a closed one never changes."""
        lic = data.draw(st.sampled_from(self._late_licences()), label="licence")
        assets = [a for a in ("a1", "a2", "a3") if self.model.covers_asset(lic, self.assets[a], self.now)] or ["a1"]
        self.event_seq += 1
        event = {
            "event_id": f"ev-{self.event_seq}",
            "license_id": lic.id,
            "asset_id": self.assets[data.draw(st.sampled_from(assets), label="asset")],
            "use": lic.use,
            "units": units,
            "t": lic.created + 1,
        }
        self._report(lic.buyer, [event])

    @rule(data=st.data(), threads=st.integers(2, 4))
    @precondition(lambda self: any(self.sent.values()))
    def resend_concurrently(self, data: st.DataObject, threads: int) -> None:
        from tests.integration.instances import in_threads

        buyer_id = data.draw(st.sampled_from([b for b in self.sent if self.sent[b]]), label="buyer")
        fresh = data.draw(st.booleans(), label="a fresh event?")
        event = self._event(data, buyer_id) if fresh else dict(data.draw(st.sampled_from(self.sent[buyer_id])))
        note(f"step {self.step}: {threads} instances send {event['event_id']} at once")
        accepted, duplicates, rejected, ok = self.model.report(buyer_id, [event], self.now)
        key = self.buyers[buyer_id].key
        assert key is not None
        body = {"events": [{k: v for k, v in event.items() if k != "t"} | {"occurred_at": self.clock.iso(event["t"])}]}
        results = in_threads([lambda c=c: c.post("/v1/usage", body) for c in self.world.instances(key, threads)])
        assert all(r.status == 202 for r in results), [r.body for r in results]
        got = [r.json for r in results]
        if accepted:
            assert sum(g["accepted"] for g in got) == 1, got
            assert sum(g["duplicates"] for g in got) == threads - 1, got
        else:
            assert all(g == {"accepted": 0, "duplicates": duplicates, "rejected": rejected} for g in got), got
        self.model.reported_events(buyer_id, ok, self.now)
        if event not in self.sent[buyer_id]:
            self.sent[buyer_id].append(event)

    # ----------------------------------------------------------------------------- rules: pools
    @rule(asset=st.sampled_from(["a1", "a2", "a3"]))
    def pool_join(self, asset: str) -> None:
        note(f"step {self.step}: {asset} joins the pool")
        self._join(asset)

    @rule(asset=st.sampled_from(["a1", "a2", "a3"]))
    def pool_leave(self, asset: str) -> None:
        asset_id = self.assets[asset]
        note(f"step {self.step}: {asset} leaves the pool")
        r = self._pub_client(self.asset_pub[asset]).delete(f"/v1/pools/{self.pool}/members/{asset_id}")
        if asset_id not in self.model.members[self.pool]:
            assert r.status == 404, r.body
            return
        assert r.status == 200, r.body
        leaves = self.model.leave(self.pool, asset_id, self.now)
        assert r.json["leaves_at"] == self.clock.iso(leaves), (r.json, self.clock.iso(leaves))

    # ----------------------------------------------------------------------------- rules: periods and pools
    def _periods(self) -> list[str]:
        """The periods of this example so far, and the running one."""
        out, t = [], START.timestamp()
        while period_of(t) <= period_of(self.now):
            out.append(period_of(t))
            t += 28 * DAY
        return sorted(set(out))

    @rule(back=st.integers(0, 3))
    def close_period(self, back: int) -> None:
        periods = self._periods()
        period = periods[max(0, len(periods) - 1 - back)]
        note(f"step {self.step}: close {period}")
        exp = self.model.expect_close(period, self.now)
        r = self.world.admin.post(f"/v1/periods/{period}/close")
        self._expect(r, exp, f"close {period}")
        if r.status != 200:
            return
        self.model.close(period)
        for account in self._accounts():
            key = (account, period)
            st_ = self.world.admin.get(f"/v1/statements/{period}", params={"account_id": account})
            assert st_.status == 200, st_.body
            body = st_.json
            assert body["status"] == "closed" and body["closed_at"] and body["sha256"], body
            assert body["sha256"] == jcs_sha256(body), f"statement {key}: sha256 is not the JCS hash of its body"
            if key in self.closed_statements:
                assert body == self.closed_statements[key], f"closed statement {key} changed"
            else:
                self._check_totals(account, period, body)
                self.closed_statements[key] = body
        # Every default run exercises late usage: an event dated in the period just closed, on a per-unit licence
        # granted in it, must be booked in the open period and leave the closed statements as they are
        for lic in self._late_licences():
            if period_of(lic.created) == period:
                assets = [a for a in ("a1", "a2", "a3") if self.model.covers_asset(lic, self.assets[a], self.now)]
                self.event_seq += 1
                event = {
                    "event_id": f"ev-{self.event_seq}",
                    "license_id": lic.id,
                    "asset_id": self.assets[(assets or ["a1"])[0]],
                    "use": lic.use,
                    "units": 3,
                    "t": lic.created + 1,
                }
                note(f"step {self.step}: a late event for {period}, just closed")
                self._report(lic.buyer, [event])
                break

    @rule(back=st.integers(0, 3))
    def distribute(self, back: int) -> None:
        periods = self._periods()
        period = periods[max(0, len(periods) - 1 - back)]
        note(f"step {self.step}: distribute the pool's {period}")
        exp = self.model.expect_distribution(self.pool, period, self.now)
        r = self.world.admin.post(f"/v1/pools/{self.pool}/distributions", {"period": period})
        self._expect(r, exp, f"distribution of {period}")
        if r.status != 201:
            return
        again = (self.pool, period) in self.model.distributed
        want = self.model.distribute(self.pool, period, self.now)
        got = r.json
        assert got["period"] == period
        if not again:
            assert got["booked_period"] == period_of(self.now), got
        for cur in got["currencies"]:
            assert cur["shares_micros"] + cur["carried_forward_micros"] == (
                cur["net_revenue_micros"] + cur["carried_in_micros"]
            ), f"pool {period} {cur['currency']} does not conserve: {cur}"
        SEEN[f"distribution currencies={len(want)} carried={sum(len(c['carried']) for c in want)}"] += 1  # type: ignore[arg-type,misc]
        SEEN["distribution with carried share"] += any(
            m["carried_share_micros"]
            for c in want
            for m in c["members"]  # type: ignore[attr-defined,index]
        )
        assert got["currencies"] == want, f"distribution of {period}: model {want}, marketplace {got['currencies']}"

    def _accounts(self) -> list[str]:
        return [self.b1, self.b2, *self.publisher_of_id, self.pool, PLATFORM]

    def _check_totals(self, account: str, period: str, body: dict[str, Any]) -> None:
        want = self.model.totals_of(account, period)
        have = {
            t["currency"]: (t["gross_micros"], t["fee_micros"], t["net_micros"], t["distributions_micros"])
            for t in body["totals"]
            if any((t["gross_micros"], t["fee_micros"], t["net_micros"], t["distributions_micros"]))
        }
        assert len({t["currency"] for t in body["totals"]}) == len(body["totals"]), "one total per currency"
        assert have == want, f"statement totals of {account} for {period}: model {want}, marketplace {have}"

    # ----------------------------------------------------------------------------- after every step
    def _snapshot(self) -> dict[str, Any]:
        m = self.model
        return {
            "licences": {x.id: (x.status, x.spent, x.cap) for x in m.licences.values()},
            "balances": {k: v for k, v in m.balances.items() if v},
        }

    @invariant()
    def books_agree(self) -> None:
        """After every step, once metering settled: the tables agree with the model for every licence and balance,
        and the ledger invariants hold; what the step changed (in the model) is also read through the API (GET
        /v1/licenses/{id}, GET /v1/balance), and everything is, every 10th step."""
        self.world.meter()
        m, admin = self.model, self.world.admin
        books = self._audit()
        for lic in m.licences.values():
            have = (books.status.get(lic.id), books.spend.get(lic.id, 0))
            assert have == (lic.status, lic.spent), (
                f"licence {lic.id} ({lic.offer.key}, cap {lic.cap}): model {(lic.status, lic.spent)}, tables {have}"
            )
        want_bal = {k: v for k, v in m.balances.items() if v}
        have_bal = {k: v for k, v in books.balances.items() if v}
        assert have_bal == want_bal, f"balances: model {want_bal}, tables {have_bal}"
        for cur, total in m.currency_sums().items():
            assert total == 0, f"{cur} balances sum to {total}"
        now = self._snapshot()
        before = getattr(self, "_before", {"licences": {}, "balances": {}})
        full = self.step % 10 == 9
        for lic in m.licences.values():
            if not full and before["licences"].get(lic.id) == now["licences"][lic.id]:
                continue
            got = self.buyers[lic.buyer].get(f"/v1/licenses/{lic.id}").json
            want = {"status": lic.status, "spent_micros": lic.spent, "remaining_micros": lic.remaining}
            have = {k: got.get(k) for k in want}
            assert have == want, f"licence {lic.id} ({lic.offer.key}, cap {lic.cap}): model {want}, API {have}"
            if lic.cap is not None:
                assert got["spent_micros"] <= got["budget_cap_micros"]
            self._check_certificate(lic, got)
        accounts = [self.b1, self.b2, *self.publisher_of_id, self.pool, PLATFORM]
        for account in accounts:
            for cur in CURRENCIES:
                key = (account, cur)
                if not full and before["balances"].get(key) == now["balances"].get(key):
                    continue
                got = admin.get("/v1/balance", params={"account_id": account, "currency": cur}).json
                want = m.balances.get(key, 0)
                assert got["balance_micros"] == want, f"balance of {account} in {cur}: model {want}, API {got}"
        for (account, period), body in self.closed_statements.items():
            if full or (self.step % 5 == 0 and (body["lines"] or body["distributions"])):
                again = admin.get(f"/v1/statements/{period}", params={"account_id": account}).json
                assert again == body, f"closed statement {account} {period} changed"
        if full:
            for account in self._accounts():
                period = period_of(self.now)
                body = admin.get(f"/v1/statements/{period}", params={"account_id": account}).json
                self._check_totals(account, period, body)
        self._before = now
        self.step += 1
        self.clock.advance(STEP_S)

    def _check_certificate(self, lic: Licence, got: dict[str, Any]) -> None:
        """API v1.1 "certificates tell the truth": an active licence in term has a certificate of at most 7 days, never
        past the licence's end, whose status-list bit is VALID; any other is 409 license_not_active, and its bit (known
        from an earlier certificate) is INVALID."""
        from tests.status_list_decoder import decode_list, jwt_parts

        r = self.buyers[lic.buyer].get(f"/v1/licenses/{lic.id}/certificate")
        expires_at = got.get("expires_at")
        live = lic.status == "active" and (not expires_at or expires_at > self.clock.iso())
        if live:
            assert r.status == 200, f"certificate of active {lic.id}: {r.status} {r.body!r}"
            _, claims = jwt_parts(r.json["certificate"])
            assert claims["exp"] - claims["iat"] <= 7 * DAY, claims
            if expires_at:
                assert claims["exp"] <= int(datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp())
            self.cert_refs[lic.id] = claims["status"]["status_list"]
        else:
            assert r.status == 409 and r.json["code"] == "license_not_active", (
                f"certificate of {lic.status} {lic.id}: {r.status} {r.body!r}"
            )
        ref = self.cert_refs.get(lic.id)
        if ref is not None:
            listed = self.world.admin.as_(None).get("/" + ref["uri"].split("://", 1)[1].split("/", 1)[1])
            assert listed.status == 200, listed.body
            _, status_claims = jwt_parts(listed.body.decode())
            bit = decode_list(status_claims["status_list"]).status(ref["idx"])
            want = 0 if lic.status == "active" else 1
            if lic.status in ("active", "cancelled", "revoked", "lapsed"):
                assert bit == want, f"status bit of {lic.status} {lic.id}: {bit}"

    def _audit(self) -> Books:
        """The auditor's five invariants (functions/metering/logic/audit.py) over both tables, and what the tables
        hold (balances, spend, statuses) read in the same pass."""
        from functions.metering.dal.audit import ledger_records
        from functions.metering.logic.audit import BalanceRecord, SpendRecord, run

        env = self.world.env
        records = list(ledger_records(env["METERING_TABLE"], env["LICENSING_TABLE"], segments=1))
        report = run(lambda: records, confirm=False)
        assert not report.violations, "\n".join(v.line() for v in report.violations)
        assert not report.skipped, report.summary()
        books = Books()
        for r in records:
            if isinstance(r, BalanceRecord):
                key = (r.account, r.currency)  # the platform's balance is several shards: their sum
                books.balances[key] = books.balances.get(key, 0) + r.balance_micros
            elif isinstance(r, SpendRecord):
                books.spend[r.license_id] = r.spent_micros
        for it in scan(env["LICENSING_TABLE"]):
            if it.get("sk") == "LIC" and str(it["pk"]).startswith("LIC#"):
                books.status[str(it["id"])] = str(it["status"])
        return books

    def teardown(self) -> None:
        try:
            self.world.close()
        finally:
            self.clock.restore()


def test_money_model() -> None:
    """The marketplace agrees with the reference model after every step of random sequences (seed printed)."""
    from hypothesis import seed as with_seed

    conf = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=False,
        database=None,
        print_blob=True,
        phases=[Phase.generate, Phase.shrink] if DEEP else [Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    machine = with_seed(SEED)(MoneyMachine)
    started = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=conf, _min_steps=STEPS)  # every example runs all its steps
        print(
            f"\nmoney model: seed {SEED}, {EXAMPLES} examples x {STEPS} steps in {time.perf_counter() - started:.0f} s"
        )
        for k, v in sorted(SEEN.items()):
            print(f"  {k}: {v}")
    except BaseException as exc:
        raise AssertionError(f"money model failed with MONEY_MODEL_SEED={SEED} (deep={DEEP}): {exc}") from exc
