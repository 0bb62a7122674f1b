"""Issue 6 / API v1.1: the pool split of ``functions.metering.logic.pools.split`` (the code the distribution job
runs) against an independent oracle written from the rule's text, for any revenue, use and carried revenue.

The oracle splits with exact fractions (``fractions.Fraction``) and hands out the micros left over to the largest
fractional parts, ties by asset id; it shares no code with ``pools`` or ``money``. The rule, from docs/metering.md
and the module docstring: per currency and pool licence, usage revenue goes pro rata to what each member asset's use
under that licence was charged (if nothing was charged it is treated as a charge); charge revenue, plus the licence's
carried revenue, goes pro rata to the accesses under that licence; with no access it is carried (new revenue as a
carry of this period, old carries unchanged) until a carry has seen three periods, then it is split by each asset's
attributed revenue since the carry's period plus this period's, or equally across the members when there is none,
or stays carried when there is no member. Nothing is lost or made up, and the order the rows arrive in is irrelevant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from fractions import Fraction
from math import floor

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.metering.logic.pools import Carry, Revenue, Use, split
from tests.unit.depth import examples

PERIOD = "2026-09"
PERIODS_SEEN = {"2026-05": 5, "2026-07": 3, "2026-08": 2, "2026-09": 1, "2026-12": 0}  # periods up to PERIOD, both in


def largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    positive = {k: w for k, w in weights.items() if w > 0}
    out = dict.fromkeys(weights, 0)
    if not positive or total == 0:
        return out
    exact = {k: Fraction(total * w, sum(positive.values())) for k, w in positive.items()}
    for k, x in exact.items():
        out[k] = floor(x)
    left = total - sum(out.values())
    by_fraction = sorted(positive, key=lambda k: (-(exact[k] - floor(exact[k])), k))
    for k in by_fraction[:left]:
        out[k] += 1
    return out


def oracle(
    revenue: list[Revenue],
    uses: list[Use],
    carried: list[Carry],
    history: Mapping[str, int],
    members: list[str],
) -> tuple[dict[str, dict[str, tuple[int, int]]], list[Carry]]:
    """Per currency, per asset: (attributed, carried share); and the open carries afterwards."""
    result: dict[str, dict[str, tuple[int, int]]] = {}
    left: list[Carry] = [c for c in carried if c.since >= PERIOD]
    old = [c for c in carried if c.since < PERIOD]
    for cur in {r.currency for r in revenue} | {c.currency for c in old}:
        attributed: dict[str, int] = defaultdict(int)
        carried_share: dict[str, int] = defaultdict(int)
        stale: list[Carry] = []
        licences = {r.license_id for r in revenue if r.currency == cur} | {
            c.license_id for c in old if c.currency == cur
        }
        for lic in licences:
            usage = sum(r.usage_net for r in revenue if (r.license_id, r.currency) == (lic, cur))
            charge = sum(r.charge_net for r in revenue if (r.license_id, r.currency) == (lic, cur))
            mine = [c for c in old if (c.license_id, c.currency) == (lic, cur)]
            charged = {u.asset_id: u.charged for u in uses if (u.license_id, u.currency) == (lic, cur)}
            accesses = {u.asset_id: u.accesses for u in uses if (u.license_id, u.currency) == (lic, cur)}
            if sum(charged.values()) > 0:
                for a, v in largest_remainder(usage, charged).items():
                    attributed[a] += v
            else:
                charge += usage
            if sum(accesses.values()) > 0:
                for a, v in largest_remainder(charge + sum(c.amount for c in mine), accesses).items():
                    attributed[a] += v
                continue
            if charge:
                left.append(Carry(lic, cur, charge, PERIOD))
            for c in mine:
                (stale if PERIODS_SEEN[c.since] >= 3 else left).append(c)
        for c in sorted(stale, key=lambda c: (c.since, c.license_id)):
            weights = {a: history.get(a, 0) + attributed.get(a, 0) for a in set(history) | set(attributed)}
            if sum(weights.values()) == 0:
                weights = dict.fromkeys(members, 1)
            if not weights:
                left.append(c)
                continue
            for a, v in largest_remainder(c.amount, weights).items():
                carried_share[a] += v
        result[cur] = {
            a: (attributed.get(a, 0), carried_share.get(a, 0))
            for a in set(attributed) | set(carried_share)
            if attributed.get(a, 0) or carried_share.get(a, 0)
        }
    return result, left


LICS = st.sampled_from(["lic_1", "lic_2", "lic_3"])
ASSETS = st.sampled_from(["ast_a", "ast_b", "ast_c", "ast_d"])
CURRENCIES = st.sampled_from(["USD", "EUR"])


@settings(max_examples=examples(80, 1500), deadline=None)
@given(
    revenue=st.lists(
        st.builds(Revenue, LICS, CURRENCIES, st.integers(0, 10**9), st.integers(0, 10**9)),
        max_size=4,
        unique_by=lambda r: (r.license_id, r.currency),  # one L# row per licence and currency
    ),
    uses=st.lists(
        st.builds(Use, LICS, ASSETS, st.just("pub_x"), CURRENCIES, st.integers(0, 10**7), st.integers(0, 50)),
        max_size=8,
        unique_by=lambda u: (u.license_id, u.asset_id, u.currency),  # one U# row per licence and asset
    ),
    carried=st.lists(
        st.builds(Carry, LICS, CURRENCIES, st.integers(1, 10**8), st.sampled_from(sorted(PERIODS_SEEN))), max_size=4
    ),
    history=st.dictionaries(ASSETS, st.integers(0, 10**6), max_size=3),
    members=st.lists(ASSETS, max_size=3, unique=True),
    data=st.data(),
)
def test_the_split_is_the_rule(
    revenue: list[Revenue],
    uses: list[Use],
    carried: list[Carry],
    history: dict[str, int],
    members: list[str],
    data: st.DataObject,
) -> None:
    # Given a pool's period (rows in some arrival order) and what its members were attributed since each carry
    def run(rev: list[Revenue], us: list[Use], car: list[Carry]) -> tuple[dict[str, dict[str, tuple[int, int]]], list]:
        splits, carries = split(
            PERIOD,
            rev,
            us,
            car,
            lambda cur, since: {a: ("pub_x", v) for a, v in history.items()},
            [(a, "pub_x") for a in members],
        )
        got = {
            s.currency: {a: (m.attributed, m.carried_share) for a, m in s.members.items() if m.share} for s in splits
        }
        return got, sorted(carries, key=repr)

    # When the distribution job's split runs
    got, carries = run(revenue, uses, carried)
    # Then every asset gets what the rule gives it, and the same revenue stays carried
    want, want_carries = oracle(revenue, uses, carried, history, members)
    assert got == want
    assert carries == sorted(want_carries, key=repr)
    # And nothing is lost or made up
    before = sum(r.usage_net + r.charge_net for r in revenue) + sum(c.amount for c in carried)
    assert sum(a + c for per in got.values() for a, c in per.values()) + sum(c.amount for c in carries) == before
    # And the order the rows arrived in changes nothing
    shuffled = (
        data.draw(st.permutations(revenue)),
        data.draw(st.permutations(uses)),
        data.draw(st.permutations(carried)),
    )
    assert run(*shuffled) == (got, carries)
