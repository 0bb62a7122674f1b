from __future__ import annotations

from pydantic import BaseModel


class Rejected(BaseModel):
    event_id: str
    code: str


class ReportUsageResponse(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejected]


class UsageItem(BaseModel):
    key: str
    units: int
    accesses: int
    amount_micros: int


class UsageReport(BaseModel):
    items: list[UsageItem]
    group_by: str
    from_: str | None = None
    to: str | None = None


class Balance(BaseModel):
    account_id: str
    currency: str
    balance_micros: int


class StatementLine(BaseModel):
    license_id: str
    asset_id: str | None = None
    use: str
    units: int
    gross_micros: int
    fee_micros: int
    net_micros: int
    fee_rate_bps: int
    currency: str
    pool_id: str | None = None


class DistributionLine(BaseModel):
    pool_id: str
    currency: str
    units: int
    share_micros: int
    pool_units: int
    pool_net_micros: int


class Totals(BaseModel):
    units: int
    gross_micros: int
    fee_micros: int
    net_micros: int
    distributions_micros: int


class Statement(BaseModel):
    id: str | None = None
    account_id: str
    period: str
    status: str
    fee_rate_bps: int
    lines: list[StatementLine]
    distributions: list[DistributionLine]
    totals: Totals


class MemberShare(BaseModel):
    publisher_id: str
    units: int
    share_micros: int


class Distribution(BaseModel):
    pool_id: str
    period: str
    currency: str
    net_revenue_micros: int
    total_units: int
    members: list[MemberShare]
    remainder_rule: str
