"""The ledger auditor's checks (functions.metering.logic.audit) over records mapped from stored items by the DAL's
pure mapping (functions.metering.dal.audit.metering_record / licensing_record): a consistent ledger passes, and each
kind of corruption is named with the key of the record that breaks it."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from functions.metering.dal.audit import licensing_record, metering_record
from functions.metering.logic.audit import (
    Auditor,
    Record,
    StatementClose,
    StatementLineRecord,
    Violation,
    audit,
    confirmed,
    run,
)

P = "2026-10"


def fake_hash(close: StatementClose, lines: list[StatementLineRecord]) -> str:
    body = [{k: v for k, v in line.item.items()} for line in lines]
    return hashlib.sha256(json.dumps([close.account, close.period, body], sort_keys=True).encode()).hexdigest()


def _line(account: str, sk: str, currency: str, gross: int, fee: int) -> dict[str, Any]:
    return {
        "pk": f"STMT#{account}#{P}",
        "sk": sk,
        "license_id": sk.split("#")[0],
        "asset_id": "ast_1",
        "use": "ai-train",
        "currency": currency,
        "units": 1,
        "gross_micros": gross,
        "fee_micros": fee,
        "net_micros": gross - fee,
        "fee_rate_bps": 1000,
    }


def ledger() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A consistent ledger: a USD delivery, a EUR pool charge distributed (some carried forward), balances, spend
    under a cap, and a closed buyer statement. (metering items, licensing items)"""
    metering: list[dict[str, Any]] = [
        {
            "pk": "EVT#acc_b#e1",
            "sk": "E",
            "currency": "USD",
            "postings": [
                {"account": "acc_b", "amount_micros": -10_000},
                {"account": "acc_p", "amount_micros": 9_000},
                {"account": "platform", "amount_micros": 1_000},
            ],
        },
        {
            "pk": "CHG#flat:lic_2",
            "sk": "E",
            "currency": "EUR",
            "postings": [
                {"account": "acc_b", "amount_micros": -5_000},
                {"account": "pool_1", "amount_micros": 4_500},
                {"account": "platform", "amount_micros": 500},
            ],
        },
        {"pk": "EVT#acc_b#e0", "sk": "E", "currency": "USD", "postings": []},  # written off: nothing booked
        {
            "pk": f"DIST#pool_1#{P}",
            "sk": "DIST",
            "pool_id": "pool_1",
            "period": P,
            "currencies": [
                {
                    "currency": "EUR",
                    "net_revenue_micros": 4_500,
                    "carried_in_micros": 0,
                    "shares_micros": 4_000,
                    "carried_forward_micros": 500,
                    "members": [
                        {"asset_id": "ast_2", "publisher_id": "acc_p2", "share_micros": 3_000},
                        {"asset_id": "ast_3", "publisher_id": "acc_p3", "share_micros": 1_000},
                    ],
                    "carried": [{"license_id": "lic_3", "amount_micros": 500, "since_period": P}],
                    "postings": [
                        {"account": "pool_1", "amount_micros": -4_000},
                        {"account": "acc_p2", "amount_micros": 3_000},
                        {"account": "acc_p3", "amount_micros": 1_000},
                    ],
                }
            ],
        },
        {"pk": f"DISTM#pool_1#{P}#EUR#pool_1", "sk": "D", "amount_micros": -4_000},
        {"pk": f"DISTM#pool_1#{P}#EUR#acc_p2", "sk": "D", "amount_micros": 3_000},
        {"pk": f"DISTM#pool_1#{P}#EUR#acc_p3", "sk": "D", "amount_micros": 1_000},
        *(
            {"pk": f"BAL#{a}#{c}", "sk": "BAL", "currency": c, "balance_micros": v}
            for a, c, v in (
                ("acc_b", "USD", -10_000),
                ("acc_b", "EUR", -5_000),
                ("acc_p", "USD", 9_000),
                ("platform", "USD", 1_000),
                ("platform", "EUR", 500),
                ("pool_1", "EUR", 500),
                ("acc_p2", "EUR", 3_000),
                ("acc_p3", "EUR", 1_000),
                ("acc_q", "USD", 0),  # touched, never moved
            )
        ),
        {"pk": "SPEND#lic_1", "sk": "SPEND", "spent_micros": 10_000},
        {"pk": "SPEND#lic_2", "sk": "SPEND", "spent_micros": 5_000},
        _line("pool_1", "lic_2#-#ai-train#EUR", "EUR", 5_000, 500),
        _line("acc_b", "lic_1#ast_1#ai-input#USD", "USD", 10_000, 1_000),
        _line("acc_b", "lic_2#-#ai-train#EUR", "EUR", 5_000, 500),
        {"pk": "USAGE#ALL", "sk": f"{P}-01#lic_1#ast_1#ai-input", "amount_micros": 999},  # not audited
    ]
    close = {"pk": f"STMTCLOSE#acc_b#{P}", "sk": "STM", "id": "stm_1", "closed_at": f"{P}-31T00:00:00Z"}
    lines = [metering_record(i) for i in metering if str(i["pk"]).startswith(f"STMT#acc_b#{P}")]
    close["sha256"] = fake_hash(
        StatementClose(close["pk"], "STM", "acc_b", P, None, close),
        sorted((r for r in lines if isinstance(r, StatementLineRecord)), key=lambda r: r.sk),
    )
    metering.append(close)
    licensing: list[dict[str, Any]] = [
        {"pk": "LIC#lic_1", "sk": "LIC", "budget_cap_micros": 20_000},
        {"pk": "LIC#lic_2", "sk": "LIC"},  # uncapped
        {"pk": "BUDGET#lic_1", "sk": "BUDGET", "cap_micros": 20_000, "reserved_micros": 12_000},
        {"pk": "BUDGET#lic_1", "sk": "LEASE#l1", "amount_micros": 2_000},  # not audited
        {"pk": "PPC#acc_b#off_1", "sk": "PPC"},
    ]
    return metering, licensing


def records(metering: list[dict[str, Any]], licensing: list[dict[str, Any]]) -> list[Record | None]:
    return [metering_record(i) for i in metering] + [licensing_record(i) for i in licensing]


def check(metering: list[dict[str, Any]], licensing: list[dict[str, Any]]) -> list[Violation]:
    return audit(records(metering, licensing), statement_hash=fake_hash)


def item(items: list[dict[str, Any]], pk: str, sk: str | None = None) -> dict[str, Any]:
    (found,) = [i for i in items if i["pk"] == pk and (sk is None or i["sk"] == sk)]
    return found


def test_a_consistent_ledger_passes() -> None:
    # Given a ledger whose every rule holds
    metering, licensing = ledger()
    # When it is audited, Then there is nothing to report
    assert check(metering, licensing) == []


def test_records_no_invariant_reads_are_skipped() -> None:
    metering, licensing = ledger()
    assert metering_record(item(metering, "USAGE#ALL")) is None
    assert licensing_record(item(licensing, "BUDGET#lic_1", "LEASE#l1")) is None
    assert licensing_record(item(licensing, "PPC#acc_b#off_1")) is None


# --------------------------------------------------------------------------------------------- (i) zero sum
def test_a_journal_entry_that_does_not_sum_to_zero() -> None:
    # Given a delivery whose publisher posting was inflated (and its balance with it, so only this rule breaks)
    metering, licensing = ledger()
    item(metering, "EVT#acc_b#e1")["postings"][1]["amount_micros"] = 9_001
    item(metering, "BAL#acc_p#USD")["balance_micros"] = 9_001
    # Then the entry is named
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk, v.delta) == ("zero_sum", "EVT#acc_b#e1", "E", 1)
    assert "sum to 1 USD" in v.detail


def test_a_distribution_whose_postings_do_not_sum_to_zero() -> None:
    metering, licensing = ledger()
    item(metering, f"DIST#pool_1#{P}")["currencies"][0]["postings"][0]["amount_micros"] = -3_999
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk) == ("zero_sum", f"DIST#pool_1#{P}", "DIST")
    assert v.detail.startswith("EUR postings sum to 1")


# --------------------------------------------------------------------------------------------- (ii) balances
def test_a_balance_that_differs_from_its_postings() -> None:
    metering, licensing = ledger()
    item(metering, "BAL#platform#EUR")["balance_micros"] = 600
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk, v.delta) == ("balance", "BAL#platform#EUR", "BAL", 100)


def test_the_platform_balance_is_the_sum_of_its_shards() -> None:
    # Given the platform's USD balance (1,000) kept as an unsharded total and two shards, as the consumer writes it
    metering, licensing = ledger()
    item(metering, "BAL#platform#USD")["balance_micros"] = 200
    metering += [
        {"pk": "BAL#platform~3#USD", "sk": "BAL", "currency": "USD", "balance_micros": 300},
        {"pk": "BAL#platform~7#USD", "sk": "BAL", "currency": "USD", "balance_micros": 500},
    ]
    # Then their sum matches the postings
    assert check(metering, licensing) == []
    # and a shard off by one is a balance violation of the platform
    item(metering, "BAL#platform~7#USD")["balance_micros"] = 501
    (v,) = check(metering, licensing)
    assert (v.invariant, v.delta) == ("balance", 1) and "platform" in v.pk


def test_backoff_is_full_jitter_under_a_cap() -> None:
    import random

    from functions.metering.dal.store import backoff

    rng = random.Random(7)
    draws = {attempt: [backoff(attempt, rng=rng) for _ in range(400)] for attempt in (0, 3, 9)}
    # each draw lies in [0, min(1 s, 25 ms x 2^attempt)], and spreads over it (no two writers wait in step)
    for attempt, got in draws.items():
        top = min(1.0, 0.025 * 2**attempt)
        assert all(0 <= d <= top for d in got)
        assert min(got) < top * 0.1 and max(got) > top * 0.9
        assert len(set(got)) == len(got)


def test_a_distribution_marker_counts_towards_the_balance() -> None:
    # Given a distribution posting applied twice over (its marker says 3,001 but the balance moved 3,000)
    metering, licensing = ledger()
    item(metering, f"DISTM#pool_1#{P}#EUR#acc_p2")["amount_micros"] = 3_001
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.delta) == ("balance", "BAL#acc_p2#EUR", -1)


def test_a_posting_with_no_balance_record() -> None:
    metering, licensing = ledger()
    metering.remove(item(metering, "BAL#acc_p#USD"))
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk) == ("balance", "EVT#acc_b#e1", "E")
    assert "acc_p in USD" in v.detail and "no balance record" in v.detail


def test_a_non_zero_balance_with_no_posting() -> None:
    metering, licensing = ledger()
    item(metering, "BAL#acc_q#USD")["balance_micros"] = 42
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk, v.delta) == ("balance", "BAL#acc_q#USD", "BAL", 42)
    assert "no posting" in v.detail


# --------------------------------------------------------------------------------------------- (iii) caps
def test_spend_above_the_licence_cap() -> None:
    metering, licensing = ledger()
    item(metering, "SPEND#lic_1")["spent_micros"] = 20_001
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk, v.delta) == ("cap", "SPEND#lic_1", "SPEND", 1)
    assert "LIC#lic_1" in v.detail


def test_a_lowered_licence_cap_below_spend_is_found_too() -> None:
    metering, licensing = ledger()
    item(licensing, "LIC#lic_1")["budget_cap_micros"] = 9_000
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk) == ("cap", "SPEND#lic_1") and "LIC#lic_1 / LIC" in v.detail


def test_the_budget_cap_applies_when_the_licence_record_is_missing() -> None:
    metering, licensing = ledger()
    licensing.remove(item(licensing, "LIC#lic_1"))
    item(metering, "SPEND#lic_1")["spent_micros"] = 20_500
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk) == ("cap", "SPEND#lic_1") and "BUDGET#lic_1" in v.detail


def test_a_budget_reserved_above_its_cap() -> None:
    metering, licensing = ledger()
    item(licensing, "BUDGET#lic_1", "BUDGET")["reserved_micros"] = 20_001
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk, v.delta) == ("cap", "BUDGET#lic_1", "BUDGET", 1)


def test_uncapped_licences_have_no_cap_to_break() -> None:
    metering, licensing = ledger()
    item(metering, "SPEND#lic_2")["spent_micros"] = 10**12
    assert check(metering, licensing) == []


# --------------------------------------------------------------------------------------------- (iv) pools
def test_a_distribution_that_does_not_conserve() -> None:
    # Given a member's share inflated by one micro (postings and balances moved with it)
    metering, licensing = ledger()
    dist = item(metering, f"DIST#pool_1#{P}")["currencies"][0]
    dist["members"][0]["share_micros"] = 3_001
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk, v.delta) == ("pool", f"DIST#pool_1#{P}", "DIST", 1)
    assert "member shares 4001 + carried forward 500" in v.detail


def test_a_distribution_booked_in_two_periods() -> None:
    # Given a distribution whose postings were booked in two months (a crashed run completed after a close)
    metering, licensing = ledger()
    for n, account in enumerate(("pool_1", "acc_p2", "acc_p3")):
        item(metering, f"DISTM#pool_1#{P}#EUR#{account}")["booked_period"] = "2026-11" if n < 2 else "2026-12"
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk) == ("pool", f"DIST#pool_1#{P}", "DIST")
    assert v.detail == "booked in several periods: 2026-11, 2026-12"
    # One period for all of them passes
    item(metering, f"DISTM#pool_1#{P}#EUR#acc_p3")["booked_period"] = "2026-11"
    assert check(metering, licensing) == []


def test_a_distribution_whose_net_is_not_the_pools_statement_net() -> None:
    # Given a pool statement line changed after the distribution (net 4,500 -> 4,400)
    metering, licensing = ledger()
    line = item(metering, f"STMT#pool_1#{P}")
    line["net_micros"] = 4_400
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.delta) == ("pool", f"DIST#pool_1#{P}", 100)
    assert "statement-line net 4400" in v.detail


def test_a_currency_the_pool_earned_but_did_not_distribute() -> None:
    metering, licensing = ledger()
    extra = _line("pool_1", "lic_9#-#ai-train#JPY", "JPY", 700, 70)
    metering.append(extra)
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk) == ("pool", f"DIST#pool_1#{P}") and v.detail.startswith("JPY")


def test_distribution_lines_are_not_revenue() -> None:
    # Given the pool's statement also shows what a distribution paid out (a DIST# line): it is not revenue
    metering, licensing = ledger()
    metering.append({"pk": f"STMT#pool_1#{P}", "sk": "DIST#pool_1#2026-09#EUR", "currency": "EUR", "share_micros": -77})
    assert check(metering, licensing) == []


# --------------------------------------------------------------------------------------------- (v) closed statements
def test_a_closed_statement_whose_line_changed() -> None:
    metering, licensing = ledger()
    item(metering, f"STMT#acc_b#{P}", "lic_1#ast_1#ai-input#USD")["units"] = 2
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk, v.sk) == ("closed_statement", f"STMTCLOSE#acc_b#{P}", "STM")
    assert f"STMT#acc_b#{P}" in v.detail  # the statement that changed is named too


def test_a_closed_statement_whose_hash_was_rewritten() -> None:
    metering, licensing = ledger()
    item(metering, f"STMTCLOSE#acc_b#{P}")["sha256"] = "0" * 64
    (v,) = check(metering, licensing)
    assert (v.invariant, v.pk) == ("closed_statement", f"STMTCLOSE#acc_b#{P}")


def test_a_closed_statement_without_a_hash() -> None:
    metering, licensing = ledger()
    del item(metering, f"STMTCLOSE#acc_b#{P}")["sha256"]
    (v,) = check(metering, licensing)
    assert v.invariant == "closed_statement" and "without a sha256" in v.detail


def test_an_unavailable_statement_hash_is_reported_as_not_checked_never_passed() -> None:
    def missing(close: StatementClose, lines: list[StatementLineRecord]) -> str:
        raise AttributeError("statement_hash")

    metering, licensing = ledger()
    auditor = Auditor(missing).add_all(records(metering, licensing))
    assert auditor.violations() == []
    assert "closed_statement" in auditor.skipped


def test_the_api_statement_hash_is_what_the_close_froze() -> None:
    # Given a statement frozen the way the period close freezes it (functions.metering.logic.reads)
    from functions.metering.logic import reads
    from functions.metering.logic.audit import api_statement_hash

    metering, _ = ledger()
    rows = sorted((i for i in metering if i["pk"] == f"STMT#acc_b#{P}"), key=lambda i: i["sk"])
    frozen = {"id": "stm_1", "closed_at": "2026-11-01T00:00:00Z", "fee_rate_bps": 1000}
    sha = reads.statement_hash(reads.statement("acc_b", P, rows, frozen, 1000))
    close = {"pk": f"STMTCLOSE#acc_b#{P}", "sk": "STM", **frozen, "sha256": sha}
    lines = [r for r in (metering_record(i) for i in rows) if isinstance(r, StatementLineRecord)]
    # Then the auditor's rebuild hashes to the same value, and a changed line does not
    record = metering_record(close)
    assert isinstance(record, StatementClose)
    assert api_statement_hash(record, lines) == sha
    changed = copy.deepcopy(rows)
    changed[0]["gross_micros"] += 1
    lines2 = [r for r in (metering_record(i) for i in changed) if isinstance(r, StatementLineRecord)]
    assert api_statement_hash(record, lines2) != sha


# --------------------------------------------------------------------------------------------- passes and report
def test_order_does_not_matter() -> None:
    metering, licensing = ledger()
    item(metering, "BAL#platform#EUR")["balance_micros"] = 600
    forward = records(metering, licensing)
    assert audit(forward, fake_hash) == audit(list(reversed(forward)), fake_hash)


def test_only_violations_two_passes_agree_on_are_confirmed() -> None:
    # Given a first pass that caught a write in flight (a transient difference) and a real corruption
    real = Violation("balance", "BAL#a#USD", "BAL", "x", 5)
    transient = Violation("balance", "BAL#platform#USD", "BAL", "y", 1_000)
    moved = Violation("balance", "BAL#platform#USD", "BAL", "y", 2_000)  # still moving: another difference
    # Then only the one seen twice with the same difference is reported
    assert confirmed([real, transient], [real, moved]) == [real]


def test_run_confirms_with_a_second_read_and_summarises() -> None:
    metering, licensing = ledger()
    item(metering, "SPEND#lic_1")["spent_micros"] = 30_000
    reads = []

    def read() -> list[Record | None]:
        reads.append(1)
        return records(metering, licensing)

    report = run(read, statement_hash=fake_hash)
    assert len(reads) == 2 and report.passes == 2
    assert [v.pk for v in report.violations] == ["SPEND#lic_1"]
    assert report.summary().startswith("ledger audit FAILED: 1 violation(s) in")
    assert "cap 1" in report.summary()
    clean_metering, clean_licensing = ledger()
    ok = run(lambda: records(clean_metering, clean_licensing), statement_hash=fake_hash)
    assert ok.passes == 1 and ok.violations == [] and ok.summary().startswith("ledger audit OK: 0 violation(s)")
