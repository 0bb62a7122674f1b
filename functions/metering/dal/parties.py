"""The names on a statement (issue 19): the statement's own account and each licence's buyer and publisher, read
from licensing (the licences of its lines) and accounts (their names; a publisher's display name when it set one).
Read-only; one ``BatchGetItem`` per 100 licences and one per 100 accounts."""

from __future__ import annotations

from collections.abc import Sequence

from functions.metering.models.records import PartyRecord, StatementRow


def parties(accounts_table: str, account_id: str, rows: Sequence[StatementRow]) -> list[PartyRecord]:
    from functions.accounts.dal.reader import names_by_id
    from functions.licensing.dal.reader import get_licenses

    ids = {account_id}
    licence_ids = {r["license_id"] for r in rows if r.get("license_id")}
    for lic in get_licenses(licence_ids).values() if licence_ids else ():
        ids |= {lic["buyer_id"], lic["publisher_id"]}
    names = names_by_id(accounts_table, sorted(ids)) if accounts_table else {}
    return [{"account_id": a, "name": names[a]} for a in sorted(ids) if a in names]
