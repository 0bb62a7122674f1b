"""Issue 6: for any members and usage, the pool split sums exactly to the pool's net revenue, a member with zero
use gets nothing, and the split does not depend on the order in which usage events arrived."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.shared import money

members = st.lists(st.from_regex(r"acct_[a-z0-9]{4}", fullmatch=True), min_size=1, max_size=12, unique=True)


@settings(max_examples=300, deadline=None)
@given(members=members, data=st.data(), net=st.integers(min_value=0, max_value=10**12))
def test_split_is_exact_fair_and_order_independent(members: list[str], data: st.DataObject, net: int) -> None:
    # Given usage events (member, units) in some arrival order
    events = data.draw(
        st.lists(st.tuples(st.sampled_from(members), st.integers(min_value=1, max_value=10_000)), max_size=200)
    )
    shuffled = data.draw(st.permutations(events))

    def split(evts: list[tuple[str, int]]) -> dict[str, int]:
        units: dict[str, int] = defaultdict(int)
        for m in members:
            units[m] += 0
        for m, u in evts:
            units[m] += u
        return money.pro_rata(net, units)

    shares = split(events)
    # Then
    used = {m for m, _ in events}
    if used:
        assert sum(shares.values()) == net
    else:
        assert sum(shares.values()) == 0
    assert all(shares[m] == 0 for m in members if m not in used)
    assert all(share >= 0 for share in shares.values())
    assert split(list(shuffled)) == shares
