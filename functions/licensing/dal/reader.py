"""Read-only access to licences for other services (docs/data-contracts.md): plain dicts typed by ``LicenseRecord``
(one definition), cheap to import (the delivery hot path uses ``license_key``/``license_from_item``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from functions.catalog.dal.reader import Pricing, Scope
from functions.shared import aws
from functions.shared.ddb import from_item
from functions.shared.jsontypes import AttrItem, AttrValue
from functions.shared.typeddict import TypedDict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        KeysAndAttributesOutputTypeDef,
        KeysAndAttributesTypeDef,
        QueryInputTypeDef,
    )

    from functions.licensing.models.domain import License, LicenseStatus


class Terms(TypedDict, total=False):
    """A licence's frozen copy of its offer's terms (absent fields omitted: ``licenses.frozen_terms``);
    ``terms_sha256`` is the SHA-256 of their canonical JSON."""

    offer_id: str
    scope: Scope
    uses: list[str]
    pricing: Pricing
    term_days: int
    attribution_required: bool
    territories: list[str]
    user_types: list[str]
    max_licenses: int


class LicenseRecord(TypedDict):
    """A licence as the reader returns it (``license_from_item``, ``get_license``, ``get_licenses``,
    ``active_subscriptions``). Every key is present; the ``*_at`` of an end is null until it happens."""

    id: str
    buyer_id: str
    publisher_id: str
    offer_id: str
    scope: Scope
    use: str
    terms: Terms
    terms_sha256: str
    status: LicenseStatus
    budget_cap_micros: int | None  # null: uncapped
    starts_at: str
    expires_at: str | None  # null: no term
    created_at: str
    cancelled_at: str | None
    revoked_at: str | None
    lapsed_at: str | None
    renew_from: int | None  # first subscription period to charge (null on licences stored before it existed: 0)
    pay_per_crawl: bool | None  # null on licences stored before it existed: False


_FIELDS = tuple(LicenseRecord.__annotations__)


@dataclass(frozen=True)
class _Env:
    """The reader's one setting, read without pydantic (``functions.shared.settings``): the delivery hot path and the
    402 path call this reader."""

    LICENSING_TABLE: str


def _table() -> str:
    from functions.shared.settings import load_settings

    return load_settings(_Env).LICENSING_TABLE


def license_key(license_id: str) -> AttrItem:
    return {"pk": {"S": f"LIC#{license_id}"}, "sk": {"S": "LIC"}}


def license_from_item(item: Mapping[str, AttrValue]) -> LicenseRecord:
    data = from_item(item)
    return cast(LicenseRecord, {k: data.get(k) for k in _FIELDS})


def license_from_model(lic: License) -> LicenseRecord:
    """The reader's dict view of a licensing ``License`` model (a licence granted on the delivery path)."""
    data = lic.model_dump()
    return cast(LicenseRecord, {k: data.get(k) for k in _FIELDS})


def get_license(license_id: str) -> LicenseRecord | None:
    got = aws.dynamodb().get_item(TableName=_table(), Key=license_key(license_id))
    return license_from_item(got["Item"]) if "Item" in got else None


def active_subscriptions() -> Iterator[LicenseRecord]:
    """Active subscription licences, from the sparse ``SUBS`` index (no scan)."""
    ddb = aws.dynamodb()
    args: QueryInputTypeDef = {
        "TableName": _table(),
        "IndexName": "gsi4",
        "KeyConditionExpression": "gsi4pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "SUBS"}},
    }
    while True:
        got = ddb.query(**args)
        for item in got.get("Items", []):
            yield license_from_item(item)
        if "LastEvaluatedKey" not in got:
            return
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


def get_licenses(ids: set[str]) -> dict[str, LicenseRecord]:
    """Licences by id (unknown ids are absent), one ``BatchGetItem`` per 100."""
    table = _table()
    out: dict[str, LicenseRecord] = {}
    keys = [license_key(i) for i in sorted(ids) if i.startswith("lic_") and len(i) < 64]
    for i in range(0, len(keys), 100):
        request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
            table: {"Keys": keys[i : i + 100]}
        }
        for _ in range(8):
            got = aws.dynamodb().batch_get_item(RequestItems=request)
            for item in got.get("Responses", {}).get(table, []):
                lic = license_from_item(item)
                out[lic["id"]] = lic
            request = got.get("UnprocessedKeys") or {}
            if not request:
                break
    return out
