"""The ledger auditor's rules (issue 14; API v1.1 "money you can trust"), without I/O.

The metering DAL (``functions.metering.dal.audit``) turns every record of the metering and licensing tables into one
of the records below (it owns the keys; ``pk``/``sk`` are carried only to name a record in a violation), and feeds
them to an :class:`Auditor` one at a time, in any order. The auditor keeps running sums and the few records a rule
needs, and :meth:`Auditor.violations` checks the five invariants:

1. ``zero_sum``: every journal entry's postings sum to zero (a delivery-stream chunk's per currency); every distribution's postings sum to zero per currency.
2. ``balance``: every balance equals the sum of its postings (journal postings in the entry's currency, plus the
   distribution postings applied); a posting with no balance record, or a non-zero balance with no posting, breaks it.
3. ``cap``: spent <= cap for every capped licence (the metering spend against the licence's cap, and the licensing
   budget's reserved against its cap).
4. ``pool``: every pool distribution conserves each currency: member shares + carried forward == net revenue +
   carried in, and its net revenue is the pool's statement-line net of that period and currency.
5. ``closed_statement``: every closed statement still hashes to its ``sha256`` when rebuilt from its lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from functions.metering.models import records

Invariant = Literal["zero_sum", "balance", "cap", "pool", "closed_statement"]

INVARIANTS: dict[Invariant, str] = {
    "zero_sum": "every transaction sums to zero (journal entries; distributions per currency)",
    "balance": "every balance equals the sum of its postings",
    "cap": "spent <= cap for every capped licence",
    "pool": "every pool distribution conserves its net per currency (shares + carried forward = net + carried in) "
    "and is booked in one period",
    "closed_statement": "every closed statement still hashes to its sha256",
}


@dataclass(frozen=True)
class Violation:
    invariant: Invariant
    pk: str
    sk: str
    detail: str
    delta: int | None = None
    """Found minus expected, where two numbers disagree. A live system read by a scan (not a snapshot) can show a
    transient difference; a real corruption shows the same ``delta`` in two scans (:func:`confirmed`)."""

    @property
    def signature(self) -> tuple[str, str, str, int | None]:
        return (self.invariant, self.pk, self.sk, self.delta)

    def line(self) -> str:
        return f"{self.invariant}: {self.pk} / {self.sk}: {self.detail}"


# ----------------------------------------------------------------------------------------------- records audited
@dataclass(frozen=True)
class Posting:
    account: str
    amount_micros: int


@dataclass(frozen=True)
class JournalEntry:
    pk: str
    sk: str
    currency: str
    postings: tuple[Posting, ...]


@dataclass(frozen=True)
class BatchJournal:
    """The journal item of a chunk of delivery-stream records (issue 16): its postings summed per currency and account."""

    pk: str
    sk: str
    entries: tuple[JournalEntry, ...]  # one per currency


@dataclass(frozen=True)
class BalanceRecord:
    pk: str
    sk: str
    account: str
    currency: str
    balance_micros: int


@dataclass(frozen=True)
class AppliedPosting:
    """A distribution's posting booked on an account (its marker records the amount)."""

    pk: str
    sk: str
    account: str
    currency: str
    amount_micros: int
    distribution: str = ""  # the key of the distribution record it belongs to (set by the DAL)
    booked_period: str = ""  # the period its statement line and balance were booked in ("" for older markers)


@dataclass(frozen=True)
class SpendRecord:
    pk: str
    sk: str
    license_id: str
    spent_micros: int


@dataclass(frozen=True)
class LicenceCap:
    pk: str
    sk: str
    license_id: str
    cap_micros: int | None


@dataclass(frozen=True)
class BudgetRecord:
    pk: str
    sk: str
    license_id: str
    cap_micros: int
    reserved_micros: int


@dataclass(frozen=True)
class MemberShare:
    account: str
    share_micros: int


@dataclass(frozen=True)
class CurrencyDistribution:
    currency: str
    net_revenue_micros: int
    carried_in_micros: int
    carried_forward_micros: int
    members: tuple[MemberShare, ...]
    postings: tuple[Posting, ...]


@dataclass(frozen=True)
class DistributionRecord:
    pk: str
    sk: str
    pool_id: str
    period: str
    currencies: tuple[CurrencyDistribution, ...]


@dataclass(frozen=True)
class StatementLineRecord:
    """One line of an account's statement of a period (``distribution``: a pool distribution line)."""

    pk: str
    sk: str
    account: str
    period: str
    currency: str
    net_micros: int
    distribution: bool
    item: records.StatementRow
    """The stored line as read, to rebuild the statement exactly as the API serves it."""


@dataclass(frozen=True)
class StatementClose:
    pk: str
    sk: str
    account: str
    period: str
    sha256: str | None
    item: records.StatementClose


Record = (
    JournalEntry
    | BatchJournal
    | BalanceRecord
    | AppliedPosting
    | SpendRecord
    | LicenceCap
    | BudgetRecord
    | DistributionRecord
    | StatementLineRecord
    | StatementClose
)

StatementHash = Callable[[StatementClose, list[StatementLineRecord]], str]
"""Rebuild a closed statement from its lines and hash it as the API does (``sha256`` of the RFC 8785 body)."""


def api_statement_hash(close: StatementClose, lines: list[StatementLineRecord]) -> str:
    """The metering API's own statement hash (``functions.metering.logic.reads``), imported when first needed."""
    from functions.metering.logic import reads

    fee_bps = int(close.item.get("fee_rate_bps") or 0)
    st = reads.statement(close.account, close.period, [line.item for line in lines], close.item, fee_bps)
    return str(reads.statement_hash(st))


# ----------------------------------------------------------------------------------------------------- the auditor
@dataclass
class _Sum:
    micros: int = 0
    n: int = 0
    first: tuple[str, str] | None = None  # a record that posted here: named when the balance record is missing


class Auditor:
    """Feed it every record (:meth:`add`, any order, one thread), then ask for :meth:`violations`."""

    def __init__(self, statement_hash: StatementHash | None = api_statement_hash) -> None:
        self._statement_hash = statement_hash
        self.records = 0
        self._out: list[Violation] = []
        self._posted: dict[tuple[str, str], _Sum] = defaultdict(_Sum)
        self._balances: dict[tuple[str, str], BalanceRecord] = {}
        self._spend: dict[str, SpendRecord] = {}
        self._caps: dict[str, LicenceCap] = {}
        self._budgets: list[BudgetRecord] = []
        self._distributions: list[DistributionRecord] = []
        self._lines: dict[tuple[str, str], list[StatementLineRecord]] = defaultdict(list)
        self._closes: list[StatementClose] = []
        self._booked: dict[str, set[str]] = defaultdict(set)  # distribution -> the periods its postings were booked in
        self.skipped: dict[Invariant, str] = {}
        """Invariants that could not be checked, with the reason (printed by the CLI; never silently passed)."""

    def add(self, record: Record) -> None:
        self.records += 1
        match record:
            case JournalEntry():
                self._journal(record)
            case BatchJournal():
                for entry in record.entries:
                    self._journal(entry)
            case AppliedPosting():
                self._post(record.account, record.currency, record.amount_micros, (record.pk, record.sk))
                if record.booked_period:
                    self._booked[record.distribution].add(record.booked_period)
            case BalanceRecord():  # several records of one account are its shards (the platform's): their sum
                prev = self._balances.get((record.account, record.currency))
                if prev is not None:
                    record = replace(prev, balance_micros=prev.balance_micros + record.balance_micros)
                self._balances[(record.account, record.currency)] = record
            case SpendRecord():
                self._spend[record.license_id] = record
            case LicenceCap():
                self._caps[record.license_id] = record
            case BudgetRecord():
                self._budgets.append(record)
            case DistributionRecord():
                self._distributions.append(record)
                self._distribution_sums(record)
            case StatementLineRecord():
                self._lines[(record.account, record.period)].append(record)
            case StatementClose():
                self._closes.append(record)

    def add_all(self, records: Iterable[Record | None]) -> Auditor:
        for r in records:
            if r is not None:
                self.add(r)
        return self

    # -- streaming checks (one record at a time)
    def _post(self, account: str, currency: str, amount: int, where: tuple[str, str]) -> None:
        s = self._posted[(account, currency)]
        s.micros += amount
        s.n += 1
        s.first = s.first or where

    def _journal(self, e: JournalEntry) -> None:
        total = sum(p.amount_micros for p in e.postings)
        if total:
            self._out.append(
                Violation(
                    "zero_sum",
                    e.pk,
                    e.sk,
                    f"postings sum to {total} {e.currency}, not 0: {_postings(e.postings)}",
                    total,
                )
            )
        for p in e.postings:
            self._post(p.account, e.currency, p.amount_micros, (e.pk, e.sk))

    def _distribution_sums(self, d: DistributionRecord) -> None:
        for c in d.currencies:
            total = sum(p.amount_micros for p in c.postings)
            if total:
                self._out.append(
                    Violation(
                        "zero_sum",
                        d.pk,
                        d.sk,
                        f"{c.currency} postings sum to {total}, not 0: {_postings(c.postings)}",
                        total,
                    )
                )

    # -- checks over what was gathered
    def violations(self) -> list[Violation]:
        out = list(self._out)
        out += self._balance_violations()
        out += self._cap_violations()
        out += self._pool_violations()
        out += self._statement_violations()
        order = list(INVARIANTS)
        return sorted(out, key=lambda v: (order.index(v.invariant), v.pk, v.sk, v.detail))

    def _balance_violations(self) -> list[Violation]:
        out: list[Violation] = []
        for (account, currency), posted in sorted(self._posted.items()):
            bal = self._balances.get((account, currency))
            if bal is None:
                pk, sk = posted.first or ("", "")
                out.append(
                    Violation(
                        "balance",
                        pk,
                        sk,
                        f"{posted.n} posting(s) on {account} in {currency} (sum {posted.micros}) and no balance record",
                        -posted.micros,
                    )
                )
            elif bal.balance_micros != posted.micros:
                out.append(
                    Violation(
                        "balance",
                        bal.pk,
                        bal.sk,
                        f"balance {bal.balance_micros} {currency} != sum of its {posted.n} posting(s) {posted.micros}",
                        bal.balance_micros - posted.micros,
                    )
                )
        for key, bal in sorted(self._balances.items()):
            if key not in self._posted and bal.balance_micros:
                out.append(
                    Violation(
                        "balance",
                        bal.pk,
                        bal.sk,
                        f"balance {bal.balance_micros} {bal.currency} with no posting",
                        bal.balance_micros,
                    )
                )
        return out

    def _cap_violations(self) -> list[Violation]:
        out: list[Violation] = []
        budgets = {b.license_id: b for b in self._budgets}
        for license_id, spend in sorted(self._spend.items()):
            lic = self._caps.get(license_id)
            cap, source = (lic.cap_micros, f"{lic.pk} / {lic.sk}") if lic else (None, "")
            if cap is None and license_id in budgets:
                cap, source = budgets[license_id].cap_micros, f"{budgets[license_id].pk} / {budgets[license_id].sk}"
            if cap is not None and spend.spent_micros > cap:
                out.append(
                    Violation(
                        "cap",
                        spend.pk,
                        spend.sk,
                        f"licence {license_id} spent {spend.spent_micros} > its cap {cap} ({source})",
                        spend.spent_micros - cap,
                    )
                )
        for b in sorted(self._budgets, key=lambda b: b.pk):
            if b.reserved_micros > b.cap_micros:
                out.append(
                    Violation(
                        "cap",
                        b.pk,
                        b.sk,
                        f"licence {b.license_id} budget reserved {b.reserved_micros} > its cap {b.cap_micros}",
                        b.reserved_micros - b.cap_micros,
                    )
                )
        return out

    def _pool_violations(self) -> list[Violation]:
        out: list[Violation] = []
        for d in sorted(self._distributions, key=lambda d: d.pk):
            booked = sorted(self._booked.get(d.pk, ()))
            if len(booked) > 1:  # one distribution, several statements' months (a crashed run completed late)
                out.append(Violation("pool", d.pk, d.sk, f"booked in several periods: {', '.join(booked)}", None))
            nets: dict[str, int] = defaultdict(int)
            for line in self._lines.get((d.pool_id, d.period), []):
                if not line.distribution:
                    nets[line.currency] += line.net_micros
            for c in d.currencies:
                shares = sum(m.share_micros for m in c.members)
                paid_and_kept = shares + c.carried_forward_micros
                owed = c.net_revenue_micros + c.carried_in_micros
                if paid_and_kept != owed:
                    out.append(
                        Violation(
                            "pool",
                            d.pk,
                            d.sk,
                            f"{c.currency}: member shares {shares} + carried forward {c.carried_forward_micros} = "
                            f"{paid_and_kept} != net revenue {c.net_revenue_micros} + carried in "
                            f"{c.carried_in_micros} = {owed}",
                            paid_and_kept - owed,
                        )
                    )
                if c.net_revenue_micros != nets.get(c.currency, 0):
                    out.append(
                        Violation(
                            "pool",
                            d.pk,
                            d.sk,
                            f"{c.currency}: net revenue {c.net_revenue_micros} != the pool's statement-line net "
                            f"{nets.get(c.currency, 0)} for {d.period}",
                            c.net_revenue_micros - nets.get(c.currency, 0),
                        )
                    )
            missing = sorted(set(nets) - {c.currency for c in d.currencies})
            for currency in missing:
                if nets[currency]:
                    out.append(
                        Violation(
                            "pool",
                            d.pk,
                            d.sk,
                            f"{currency}: the pool's statement-line net {nets[currency]} for {d.period} is not "
                            "distributed (no entry for that currency)",
                            -nets[currency],
                        )
                    )
        return out

    def _statement_violations(self) -> list[Violation]:
        if not self._closes:
            return []
        if self._statement_hash is None:
            self.skipped["closed_statement"] = "no statement hash function"
            return []
        out: list[Violation] = []
        for close in sorted(self._closes, key=lambda c: c.pk):
            lines = sorted(self._lines.get((close.account, close.period), []), key=lambda x: x.sk)
            if not close.sha256:
                out.append(Violation("closed_statement", close.pk, close.sk, "closed statement without a sha256"))
                continue
            try:
                got = self._statement_hash(close, lines)
            except (ImportError, AttributeError) as exc:  # the API's hash is not there: say so, never pass silently
                self.skipped["closed_statement"] = f"the statement hash is not available ({exc})"
                return out
            if got != close.sha256:
                statement_pk = lines[0].pk if lines else "(no lines)"
                out.append(
                    Violation(
                        "closed_statement",
                        close.pk,
                        close.sk,
                        f"sha256 {close.sha256} but its statement {statement_pk} ({len(lines)} lines) now hashes "
                        f"to {got}",
                    )
                )
        return out


def _postings(postings: Iterable[Posting]) -> str:
    return ", ".join(f"{p.account} {p.amount_micros:+d}" for p in postings) or "(none)"


def audit(
    records: Iterable[Record | None], statement_hash: StatementHash | None = api_statement_hash
) -> list[Violation]:
    """Every violation among these records (a convenience over :class:`Auditor`)."""
    return Auditor(statement_hash).add_all(records).violations()


def confirmed(first: list[Violation], second: list[Violation]) -> list[Violation]:
    """The violations of a second pass that the first pass also found, with the same difference: a scan is not a
    snapshot, so a write landing between the reads of two related records can look like a violation once."""
    seen = {v.signature for v in first}
    return [v for v in second if v.signature in seen]


@dataclass(frozen=True)
class Report:
    violations: list[Violation]
    records: int  # records read by the last pass
    passes: int
    skipped: dict[Invariant, str]

    def counts(self) -> dict[Invariant, int]:
        return {name: sum(1 for v in self.violations if v.invariant == name) for name in INVARIANTS}

    def summary(self) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in self.counts().items())
        verdict = "FAILED" if self.violations else "OK"
        text = f"ledger audit {verdict}: {len(self.violations)} violation(s) in {self.records} records ({counts})"
        if self.skipped:
            text += "; NOT CHECKED: " + "; ".join(f"{k} ({why})" for k, why in sorted(self.skipped.items()))
        return text


def run(
    read: Callable[[], Iterable[Record | None]],
    *,
    confirm: bool = True,
    statement_hash: StatementHash | None = api_statement_hash,
) -> Report:
    """Audit what ``read()`` returns. With ``confirm``, a pass that finds violations is followed by a second read, and
    only the violations both passes found (same record, same difference) are reported (:func:`confirmed`)."""
    auditor = Auditor(statement_hash).add_all(read())
    found = auditor.violations()
    passes = 1
    if found and confirm:
        auditor = Auditor(statement_hash).add_all(read())
        found = confirmed(found, auditor.violations())
        passes = 2
    return Report(found, auditor.records, passes, dict(auditor.skipped))
