"""The v1.1 pool rule, pure (functions.metering.logic.pools): revenue follows the use that earned it, per licence and
currency, unattributed revenue is carried and, after three periods without use, split across the pool; nothing is
ever lost (shares + carried forward = net + carried in)."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.metering.logic.pools import Carry, Revenue, Use, periods_between, split
from tests.unit.depth import examples

MEMBERS = [("ast_a", "pub_alpha"), ("ast_b", "pub_beta"), ("ast_c", "pub_gamma")]


def no_history(currency: str, since: str) -> Mapping[str, tuple[str, int]]:
    return {}


def use(lic: str, asset: str, charged: int, accesses: int, currency: str = "USD") -> Use:
    publisher = dict(MEMBERS).get(asset, "pub_other")
    return Use(lic, asset, publisher, currency, charged, accesses)


def shares(split_: object) -> dict[str, int]:
    return {a: m.share for a, m in split_.members.items()}  # type: ignore[attr-defined]


def test_worked_example_september() -> None:
    """docs/metering.md, "Pools": a per-access licence, a flat licence with use, a flat licence without."""
    revenue = [
        Revenue("lic_1", "USD", usage_net=900_000, charge_net=0),  # 100 accesses at 0.01, 10 % fee
        Revenue("lic_2", "USD", usage_net=0, charge_net=90_000_000),  # flat USD 100
        Revenue("lic_3", "USD", usage_net=0, charge_net=45_000_000),  # flat USD 50, never used in September
    ]
    uses = [
        use("lic_1", "ast_a", 600_000, 60),
        use("lic_1", "ast_b", 300_000, 30),
        use("lic_1", "ast_c", 100_000, 10),
        use("lic_2", "ast_a", 0, 1),  # a flat licence's accesses are charged nothing each
        use("lic_2", "ast_b", 0, 3),
    ]
    [usd], carries = split("2026-09", revenue, uses, [], no_history, MEMBERS)
    assert shares(usd) == {"ast_a": 540_000 + 22_500_000, "ast_b": 270_000 + 67_500_000, "ast_c": 90_000}
    assert usd.net == 135_900_000 and usd.carried_in == 0
    assert usd.carried_forward == 45_000_000 and carries == [Carry("lic_3", "USD", 45_000_000, "2026-09")]
    assert usd.shares + usd.carried_forward == usd.net
    assert usd.postings("pool_1") == [
        ("pool_1", -90_900_000),
        ("pub_alpha", 23_040_000),
        ("pub_beta", 67_770_000),
        ("pub_gamma", 90_000),
    ]


def test_a_carried_charge_follows_its_licence_when_it_is_used() -> None:
    carried = [Carry("lic_3", "USD", 45_000_000, "2026-09")]
    [usd], carries = split("2026-10", [], [use("lic_3", "ast_c", 0, 2)], carried, no_history, MEMBERS)
    assert shares(usd) == {"ast_c": 45_000_000} and usd.carried_in == 45_000_000 and carries == []


def test_after_three_periods_without_use_it_is_split_by_attributed_revenue() -> None:
    carried = [Carry("lic_3", "USD", 45_000_000, "2026-09")]
    # October: still no use (two periods): carried again, unchanged
    [oct_], carries = split("2026-10", [], [], carried, no_history, MEMBERS)
    assert oct_.shares == 0 and carries == carried
    history = {"ast_a": ("pub_alpha", 23_040_000), "ast_b": ("pub_beta", 67_770_000), "ast_c": ("pub_gamma", 90_000)}
    asked: list[tuple[str, str]] = []

    def attributed(currency: str, since: str) -> Mapping[str, tuple[str, int]]:
        asked.append((currency, since))
        return history

    [nov], carries = split("2026-11", [], [], carries, attributed, MEMBERS)
    assert asked == [("USD", "2026-09")] and carries == []
    # 45,000,000 x (23,040,000 | 67,770,000 | 90,000) / 90,900,000: floors 11,405,940 / 33,549,504 / 44,554, and
    # the two micros left go to the largest remainders (.95 beta, .59 alpha)
    assert shares(nov) == {"ast_a": 11_405_941, "ast_b": 33_549_505, "ast_c": 44_554}
    assert {a: m.carried_share for a, m in nov.members.items()} == shares(nov)


def test_with_no_attributed_revenue_it_is_split_equally_and_with_no_member_it_stays_carried() -> None:
    carried = [Carry("lic_3", "USD", 10, "2026-01")]
    [eq], carries = split("2026-03", [], [], carried, no_history, MEMBERS)
    assert shares(eq) == {"ast_a": 4, "ast_b": 3, "ast_c": 3} and carries == []  # ties by asset id
    [none], carries = split("2026-03", [], [], carried, no_history, [])
    assert none.shares == 0 and carries == carried  # never lost


def test_free_units_do_not_steer_another_licences_revenue() -> None:
    """v1's exploit: one buyer's free units took a pool payout. Each licence's revenue follows its own use only."""
    revenue = [Revenue("lic_paid", "USD", usage_net=990_000, charge_net=0)]
    uses = [use("lic_paid", "ast_a", 1_100_000, 11), use("lic_free", "ast_b", 0, 5)]
    [usd], _ = split("2026-09", revenue, uses, [], no_history, MEMBERS)
    assert shares(usd)["ast_a"] == 990_000 and shares(usd)["ast_b"] == 0


def test_each_currency_is_split_on_its_own() -> None:
    revenue = [Revenue("lic_u", "USD", 1_000, 0), Revenue("lic_e", "EUR", 999, 0)]
    uses = [use("lic_u", "ast_a", 1, 1), use("lic_e", "ast_b", 5, 5, "EUR"), use("lic_e", "ast_c", 5, 5, "EUR")]
    eur, usd = split("2026-09", revenue, uses, [], no_history, MEMBERS)[0]
    assert (eur.currency, usd.currency) == ("EUR", "USD")
    assert shares(usd) == {"ast_a": 1_000} and shares(eur) == {"ast_b": 500, "ast_c": 499}


def test_carries_earned_after_the_period_are_left_alone() -> None:
    later = Carry("lic_9", "USD", 7, "2026-12")
    [], carries = split("2026-10", [], [], [later], no_history, MEMBERS)
    assert carries == [later]


def test_periods_between() -> None:
    assert periods_between("2026-11", "2027-01") == 3 and periods_between("2026-01", "2026-01") == 1


LICS = st.sampled_from(["lic_1", "lic_2", "lic_3"])
ASSETS = st.sampled_from(["ast_a", "ast_b", "ast_c", "ast_d"])


@settings(max_examples=examples(60, 600), deadline=None)
@given(
    revenue=st.lists(
        st.builds(Revenue, LICS, st.sampled_from(["USD", "EUR"]), st.integers(0, 10**9), st.integers(0, 10**9)),
        max_size=4,
        unique_by=lambda r: (r.license_id, r.currency),
    ),
    uses=st.lists(
        st.builds(
            Use,
            LICS,
            ASSETS,
            st.just("pub_x"),
            st.sampled_from(["USD", "EUR"]),
            st.integers(0, 10**7),
            st.integers(0, 50),
        ),
        max_size=8,
    ),
    carried=st.lists(
        st.builds(
            Carry,
            LICS,
            st.sampled_from(["USD", "EUR"]),
            st.integers(1, 10**8),
            st.sampled_from(["2026-01", "2026-06", "2026-08", "2026-12"]),
        ),
        max_size=4,
    ),
    history=st.dictionaries(ASSETS, st.integers(0, 10**6), max_size=3),
    members=st.lists(ASSETS, max_size=3, unique=True),
)
def test_nothing_is_ever_lost_or_made_up(
    revenue: list[Revenue], uses: list[Use], carried: list[Carry], history: dict[str, int], members: list[str]
) -> None:
    splits, carries = split(
        "2026-09",
        revenue,
        uses,
        carried,
        lambda cur, since: {a: ("pub_x", v) for a, v in history.items()},
        [(a, "pub_x") for a in members],
    )
    before = sum(r.usage_net + r.charge_net for r in revenue) + sum(c.amount for c in carried)
    after = sum(s.shares for s in splits) + sum(c.amount for c in carries)
    assert before == after
    for s in splits:
        assert all(m.share >= 0 for m in s.members.values())
        assert sum(v for _, v in s.postings("pool_1")) == 0  # the distribution's transaction sums to zero
        assert s.shares + s.carried_forward == s.net + s.carried_in
