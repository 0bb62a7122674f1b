"""The pool distribution job (``functions.metering.handlers.jobs`` -> ``logic.jobs.distribute``) against an
in-memory ledger (``tests.fakes.metering.FakePoolLedger``) injected through the handler's production-default ports:
the split is booked once, carried revenue is kept and later follows its licence, a concurrent change of the carries
is recomputed, and a crashed booking is completed by the next run. No moto."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from functions.metering.handlers import jobs as job_handler
from functions.shared.config import clear_env_cache
from tests.fakes.metering import FakePoolLedger

MEMBERS = {"ast_a": "pub_alpha", "ast_b": "pub_beta", "ast_c": "pub_gamma"}
CONTEXT = SimpleNamespace(
    function_name="jobs",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:jobs",
    aws_request_id="req-1",
)


@pytest.fixture(autouse=True)
def job_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("METERING_TABLE", "LICENSING_TABLE", "CATALOG_TABLE"):
        monkeypatch.setenv(name, f"unit-{name.lower()}")  # never read: the ports are fakes
    clear_env_cache()
    yield
    clear_env_cache()


def members(pool_id: str, period: str) -> list[tuple[str, str]]:
    return sorted(MEMBERS.items())


def run(ledger: FakePoolLedger, period: str) -> dict[str, Any]:
    event = {"job": "pool_distributions", "period": period}
    return dict(job_handler.handler(event, CONTEXT, store=ledger, members=members))  # type: ignore[arg-type]


def september(ledger: FakePoolLedger) -> None:
    """docs/metering.md, "Pools": a per-access licence, a flat licence with use, a flat licence without."""
    ledger.earn("pool_1", "2026-09", "lic_1", "USD", usage=900_000)
    ledger.earn("pool_1", "2026-09", "lic_2", "USD", charge=90_000_000)
    ledger.earn("pool_1", "2026-09", "lic_3", "USD", charge=45_000_000)
    for asset, charged, accesses in [("ast_a", 600_000, 60), ("ast_b", 300_000, 30), ("ast_c", 100_000, 10)]:
        ledger.use("pool_1", "2026-09", "lic_1", asset, MEMBERS[asset], "USD", charged, accesses)
    ledger.use("pool_1", "2026-09", "lic_2", "ast_a", "pub_alpha", "USD", 0, 1)
    ledger.use("pool_1", "2026-09", "lic_2", "ast_b", "pub_beta", "USD", 0, 3)
    ledger.close("2026-09")


def balances(ledger: FakePoolLedger) -> dict[str, int]:
    return {account: v for (account, currency), v in ledger.balances.items() if currency == "USD"}


def test_a_closed_period_is_distributed_once_and_unused_revenue_is_carried() -> None:
    # Given September's pool revenue, closed
    ledger = FakePoolLedger()
    september(ledger)
    # When the job runs, twice
    first = run(ledger, "2026-09")
    second = run(ledger, "2026-09")
    # Then the split is the worked example's, booked once, and the second run answers the same distribution
    [dist] = first["distributions"]
    assert second["distributions"] == [dist] and ledger.saves == [True]
    [usd] = dist["currencies"]
    shares = {m["asset_id"]: m["share_micros"] for m in usd["members"]}
    assert shares == {"ast_a": 23_040_000, "ast_b": 67_770_000, "ast_c": 90_000}
    assert balances(ledger) == {
        "pool_1": -90_900_000,
        "pub_alpha": 23_040_000,
        "pub_beta": 67_770_000,
        "pub_gamma": 90_000,
    }
    # And the flat licence nobody used is carried, unchanged, from September
    version, carries = ledger.carry_state("pool_1")
    assert version == 1
    assert carries == [
        {"license_id": "lic_3", "currency": "USD", "amount_micros": 45_000_000, "since_period": "2026-09"}
    ]


def test_carried_revenue_follows_its_licence_when_it_is_used() -> None:
    ledger = FakePoolLedger()
    september(ledger)
    run(ledger, "2026-09")
    # Given lic_3 used in October on ast_c only
    ledger.use("pool_1", "2026-10", "lic_3", "ast_c", "pub_gamma", "USD", 0, 2)
    ledger.close("2026-10")
    # When October is distributed
    [dist] = run(ledger, "2026-10")["distributions"]
    # Then September's carried 45,000,000 goes to ast_c's publisher and nothing stays carried
    [usd] = dist["currencies"]
    assert (usd["carried_in_micros"], usd["shares_micros"], usd["carried_forward_micros"]) == (
        45_000_000,
        45_000_000,
        0,
    )
    assert balances(ledger)["pub_gamma"] == 90_000 + 45_000_000 and balances(ledger)["pool_1"] == -135_900_000
    assert ledger.carry_state("pool_1") == (2, [])


def test_a_concurrent_change_of_the_carries_is_recomputed() -> None:
    ledger = FakePoolLedger()
    september(ledger)

    # Given another distribution of the pool that moves its carries between this one's read and write
    def another_period_carried_more() -> None:
        version, carries = ledger.carry_state("pool_1")
        more = {"license_id": "lic_9", "currency": "USD", "amount_micros": 7, "since_period": "2026-08"}
        ledger.carries["pool_1"] = (version + 1, [*carries, more])

    ledger.before_save.append(another_period_carried_more)
    # When September is distributed
    [dist] = run(ledger, "2026-09")["distributions"]
    # Then the first write is refused and the second, computed from the new carries, keeps them
    assert ledger.saves == [False, True]
    assert dist["currencies"][0]["carried_in_micros"] == 7
    assert sorted(c["license_id"] for c in ledger.carry_state("pool_1")[1]) == ["lic_3", "lic_9"]


def test_a_crashed_booking_is_completed_by_the_next_run_and_never_doubled() -> None:
    ledger = FakePoolLedger()
    september(ledger)
    ledger.fail_apply = 1  # the run dies after booking the pool's posting
    with pytest.raises(RuntimeError):
        run(ledger, "2026-09")
    assert balances(ledger) == {"pool_1": -90_900_000}
    run(ledger, "2026-09")
    assert balances(ledger) == {
        "pool_1": -90_900_000,
        "pub_alpha": 23_040_000,
        "pub_beta": 67_770_000,
        "pub_gamma": 90_000,
    }
    assert ledger.saves == [True]


def test_an_open_period_is_not_distributed() -> None:
    ledger = FakePoolLedger()
    ledger.earn("pool_1", "2026-11", "lic_1", "USD", usage=1_000)
    ledger.use("pool_1", "2026-11", "lic_1", "ast_a", "pub_alpha", "USD", 1_000, 1)
    assert run(ledger, "2026-11") == {
        "job": "pool_distributions",
        "period": "2026-11",
        "distributions": [],
        "skipped": "period_open",
    }
    assert ledger.saves == [] and not ledger.balances
