"""The names on a statement (issue 19) and the v1.1 hash: frozen names are hashed; a statement closed before names
were kept hashes as it did then (no ``parties`` member at all)."""

from __future__ import annotations

import hashlib

import rfc8785

from functions.metering.logic.reads import public_body, statement, statement_hash
from functions.metering.models.records import StatementClose, StatementRow

ROW: StatementRow = {
    "license_id": "lic_1",
    "use": "ai-train",
    "units": 1,
    "gross_micros": 100,
    "fee_micros": 10,
    "net_micros": 90,
    "currency": "USD",
}
CLOSE: StatementClose = {"id": "stm_1", "closed_at": "2026-11-01T00:15:00Z", "fee_rate_bps": 1000, "sha256": "x"}


def _contract_hash(body: dict[str, object]) -> str:
    return hashlib.sha256(
        rfc8785.dumps({k: v for k, v in body.items() if k not in ("sha256", "closed_at")})
    ).hexdigest()


def test_frozen_names_are_part_of_the_hashed_body_and_sorted() -> None:
    frozen: StatementClose = {
        **CLOSE,
        "parties": [{"account_id": "acct_b", "name": "B"}, {"account_id": "acct_a", "name": "A"}],
    }
    st = statement("acct_a", "2026-10", [ROW], frozen, 1000, [{"account_id": "acct_a", "name": "Live"}])
    assert [p.name for p in st.parties or []] == ["A", "B"]  # the frozen names, not the live ones
    assert statement_hash(st) == _contract_hash(public_body(st))
    renamed = statement(
        "acct_a", "2026-10", [ROW], {**frozen, "parties": [{"account_id": "acct_a", "name": "Z"}]}, 1000
    )
    assert statement_hash(renamed) != statement_hash(st)


def test_a_statement_closed_before_names_were_kept_hashes_as_it_did() -> None:
    st = statement("acct_a", "2026-10", [ROW], CLOSE, 1000, [{"account_id": "acct_a", "name": "Live"}])
    assert st.parties is None and "parties" not in public_body(st)
    assert statement_hash(st) == _contract_hash(public_body(st))


def test_an_open_statement_shows_the_names_read_now() -> None:
    st = statement("acct_a", "2026-11", [ROW], None, 1000, [{"account_id": "acct_a", "name": "Live"}])
    assert [(p.account_id, p.name) for p in st.parties or []] == [("acct_a", "Live")]
