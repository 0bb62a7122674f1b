"""The cross-service contracts (docs/data-contracts.md): every producer's message validates against its TypedDict and
carries every key of it; the consumers refuse a message without a required key; the readers return exactly their
records. Checked with pydantic ``TypeAdapter`` over the TypedDicts (strict: no coercion)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import TypeAdapter, ValidationError

from functions.catalog.dal.reader import AssetRecord, OfferRecord, asset_from_item, offer_from_item
from functions.catalog.models.domain import AssetStatus
from functions.catalog.models.input import Model as PricingModel
from functions.licensing.contracts import LapseMessage
from functions.licensing.dal.reader import LicenseRecord, license_from_item, license_from_model
from functions.licensing.logic.licenses import build_license, charge_message
from functions.licensing.models.domain import License, LicenseStatus
from functions.metering.contracts import ChargeMessage, UsageMessage
from functions.metering.logic import jobs
from functions.metering.logic.pricing import PoisonMessage, price
from functions.metering.logic.reporting import message as report_message
from functions.metering.models.input import UsageEvent
from functions.shared import aws
from functions.shared.ddb import to_item

# The names the readers import for type checking only (they import no pydantic model at run time)
_CHECKING_ONLY = {"AssetStatus": AssetStatus, "PricingModel": PricingModel, "LicenseStatus": LicenseStatus}


def _validate(contract: Any, value: object) -> Any:
    adapter: TypeAdapter[Any] = TypeAdapter(contract)
    adapter.rebuild(force=True, _types_namespace=_CHECKING_ONLY)
    return adapter.validate_python(value, strict=True)


NOW = "2026-11-29T10:00:00Z"
ASSET: AssetRecord = {
    "id": "ast_1",
    "publisher_id": "acct_pub",
    "title": "Sea wall",
    "description": None,
    "kind": "article",
    "media_type": "text/plain",
    "language": "en",
    "tags": [],
    "size_bytes": 12,
    "sha256": "0" * 64,
    "status": "available",
    "s3_key": "content/ast_1",
    "collection_id": None,
    "pool_ids": [],
    "published_at": NOW,
    "created_at": NOW,
    "updated_at": NOW,
}


def _offer(pricing: dict[str, Any], scope_type: str = "asset", scope_id: str = "ast_1") -> OfferRecord:
    offer = {
        "id": "off_1",
        "publisher_id": "acct_pub",
        "scope": {"type": scope_type, "id": scope_id},
        "uses": ["ai-input", "ai-train"],
        "pricing": pricing,
        "term_days": 30,
        "attribution_required": False,
        "territories": None,
        "user_types": None,
        "max_licenses": None,
        "status": "active",
        "created_at": NOW,
    }
    return _validate(OfferRecord, offer)


def _licence(pricing: dict[str, Any], cap: int | None = None, **scope: str) -> License:
    return build_license("acct_buyer", _offer(pricing, **scope), "ai-input", cap)


def _record(lic: License) -> LicenseRecord:
    return license_from_model(lic)


def _complies(contract: Any, msg: object) -> None:
    """``msg`` validates against ``contract`` (strict) and has no key the contract does not name."""
    _validate(contract, msg)
    assert isinstance(msg, dict) and set(msg) <= set(contract.__annotations__), set(msg) - set(contract.__annotations__)


# ------------------------------------------------------------- the usage queue and the deliveries stream: producers
class _FakeS3:
    def generate_presigned_url(self, *_: Any, **__: Any) -> str:
        return "https://content.example/ast_1?sig"


class _FakeKinesis:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, str]] = []

    def put_record(self, StreamName: str, Data: bytes, PartitionKey: str) -> dict[str, str]:
        self.records.append((StreamName, Data, PartitionKey))
        return {"SequenceNumber": str(len(self.records)), "ShardId": "shardId-000000000000"}


@pytest.mark.parametrize("lease_id", [None, "lse_1"])
def test_a_delivery_sends_a_usage_message(monkeypatch: pytest.MonkeyPatch, lease_id: str | None) -> None:
    from functions.licensing.handlers import delivery

    # Given a delivery about to be answered (fake S3 and Kinesis clients), of a capped licence's lease or not
    kinesis = _FakeKinesis()
    monkeypatch.setitem(aws._clients, "s3", _FakeS3())
    monkeypatch.setitem(aws._clients, "kinesis/1", kinesis)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example")
    e = delivery.DeliveryEnv(LICENSING_TABLE="l", CATALOG_TABLE="c", CONTENT_BUCKET="b", DELIVERIES_STREAM="dlv")
    lic = _record(_licence({"model": "per_access", "amount_micros": 10_000, "currency": "USD"}))
    # When it is answered
    got = delivery._deliver(
        e=e,
        event={},
        buyer_id="acct_buyer",
        asset=ASSET,
        lic=lic,
        lease_id=lease_id,
        use="ai-input",
        limit=None,
        now=NOW,
    )
    # Then the one record it wrote to the deliveries stream is a UsageMessage with every key (lease_id when it spent
    # a lease), partitioned by its event id (spread over the shards whatever the licence)
    assert got["statusCode"] == 200
    ((stream, data, partition_key),) = kinesis.records
    msg = json.loads(data)
    assert stream == "dlv" and partition_key == msg["event_id"]
    _complies(UsageMessage, msg)
    assert set(msg) == set(UsageMessage.__annotations__) - ({"lease_id"} if lease_id is None else set())
    assert (msg["source"], msg["units"], msg.get("lease_id")) == ("delivery", 1, lease_id)


def test_a_reported_event_becomes_a_usage_message() -> None:
    ev = UsageEvent(event_id="e-1", license_id="lic_1", asset_id="ast_1", use="ai-train", units=7, occurred_at=NOW)
    msg = report_message("acct_buyer", ev, "acct_pub", None)
    _complies(UsageMessage, msg)
    assert set(msg) == set(UsageMessage.__annotations__) - {"lease_id"}
    assert (msg["source"], msg["units"]) == ("report", 7)


@pytest.mark.parametrize(
    "pricing",
    [
        {"model": "flat", "amount_micros": 5_000_000, "currency": "USD"},
        {"model": "subscription", "amount_micros": 1_000_000, "currency": "EUR", "period_days": 30},
    ],
)
def test_a_grant_charge_is_a_charge_message(pricing: dict[str, Any]) -> None:
    msg = charge_message(_licence(pricing))
    _complies(ChargeMessage, msg)
    assert msg is not None and set(msg) == set(ChargeMessage.__annotations__)


class _NothingKnown:
    def known(self, keys: list[str]) -> set[str]:
        return set()


def test_renewals_are_charge_messages_and_lapses_are_lapse_messages() -> None:
    # Given two subscriptions two periods in, one of them capped below its renewal
    pricing = {"model": "subscription", "amount_micros": 1_000_000, "currency": "USD", "period_days": 30}
    subs = [_record(_licence(pricing)), _record(_licence(pricing, cap=1_000_000, scope_type="pool", scope_id="pool_1"))]
    capped = subs[1]["id"]
    at = datetime.now(UTC).replace(microsecond=0)
    later = datetime.fromtimestamp(at.timestamp() + 31 * 86400, UTC)
    sent: list[ChargeMessage] = []
    lapsed: list[LapseMessage] = []
    # When the renewal job runs and the capped licence's budget cannot cover its renewal
    jobs.renew(
        _NothingKnown(),  # type: ignore[arg-type]
        subs,
        sent.extend,
        later,
        reserve=lambda license_id, amount, charge_id: "insufficient" if license_id == capped else "reserved",
        lapse=lapsed.extend,
    )
    # Then each charge is a ChargeMessage with every key, and the lapse a LapseMessage with every key
    assert sent and all(m["license_id"] != capped for m in sent)
    for m in sent:
        _complies(ChargeMessage, m)
        assert set(m) == set(ChargeMessage.__annotations__)
    (lapse,) = lapsed
    _complies(LapseMessage, lapse)
    assert set(lapse) == set(LapseMessage.__annotations__) and lapse["license_id"] == capped


# ----------------------------------------------------------------------------- the consumers
def _usage() -> dict[str, Any]:
    ev = UsageEvent(event_id="e-1", license_id="lic_1", asset_id="ast_1", use="ai-input", units=3, occurred_at=NOW)
    return dict(report_message("acct_buyer", ev, "acct_pub", None))


def test_the_required_keys_are_what_the_metering_consumer_cannot_do_without() -> None:
    assert UsageMessage.__required_keys__ == {
        "kind",
        "event_id",
        "buyer_id",
        "license_id",
        "asset_id",
        "use",
        "units",
        "occurred_at",
    }
    assert ChargeMessage.__required_keys__ == {
        "kind",
        "charge_id",
        "buyer_id",
        "license_id",
        "amount_micros",
        "occurred_at",
    }
    assert LapseMessage.__required_keys__ == {"kind", "license_id"}


@pytest.mark.parametrize("contract", [UsageMessage, ChargeMessage])
def test_the_metering_consumer_refuses_a_message_without_a_required_key(contract: Any) -> None:
    pricing = {"model": "per_unit", "amount_micros": 100, "currency": "USD", "unit": "1k tokens"}
    lic = _licence(pricing)
    record = _record(lic)
    if contract is UsageMessage:
        good = {**_usage(), "license_id": lic.id}
    else:
        good = dict(charge_message(_licence({"model": "flat", "amount_micros": 5, "currency": "USD"})) or {})
        good["license_id"], good["buyer_id"] = lic.id, lic.buyer_id
    _complies(contract, good)
    assert price(good, record, 1000).license_id == lic.id  # Given a message the consumer prices
    for key in sorted(contract.__required_keys__):
        for broken in ({k: v for k, v in good.items() if k != key}, {**good, key: None}, {**good, key: ""}):
            # When a required key is missing, null or empty, Then the message is poison (it goes to the DLQ)
            with pytest.raises(PoisonMessage):
                price(broken, record, 1000)
            if broken.get(key) != "":  # the contract refuses it too (an empty string is a str: the consumer's rule)
                with pytest.raises(ValidationError):
                    _validate(contract, broken)
    # And a key the contract does not require may be absent
    optional = set(contract.__annotations__) - contract.__required_keys__
    assert price({k: v for k, v in good.items() if k not in optional}, record, 1000).dedup_key


def test_the_licensing_consumer_refuses_a_lapse_without_its_licence() -> None:
    from functions.licensing.handlers.consumer import _record as lapse_record

    for body in ({"kind": "lapse", "charge_id": "sub:lic_1:2"}, {"kind": "lapse", "license_id": None}, {"kind": "x"}):
        with pytest.raises(ValueError):
            lapse_record(SQSRecord({"messageId": "1", "body": json.dumps(body)}))


# ----------------------------------------------------------------------------- reader records
def test_a_licence_record_is_the_licence_without_its_certificate_and_revoke_reason() -> None:
    # The record's keys are decided, not inherited: a new License field fails here until the record names it or not
    assert set(LicenseRecord.__annotations__) == set(License.model_fields) - {"certificate", "revoke_reason"}
    lic = _licence({"model": "subscription", "amount_micros": 1, "currency": "USD", "period_days": 30}, cap=5)
    stored = to_item({**lic.model_dump(), "pk": f"LIC#{lic.id}", "sk": "LIC"})
    for record in (license_from_item(stored), license_from_model(lic)):
        _validate(LicenseRecord, record)
        assert list(record) == list(LicenseRecord.__annotations__)


def test_asset_and_offer_records_are_what_the_catalogue_reader_returns() -> None:
    stored_asset = to_item({**ASSET, "pk": "ASSET#ast_1", "sk": "ASSET", "upload": {"state": "done"}})
    asset = asset_from_item(stored_asset, NOW)
    _validate(AssetRecord, asset)
    assert list(asset) == list(AssetRecord.__annotations__)
    offer = _offer({"model": "per_access", "amount_micros": 10_000, "currency": "USD"})
    read = offer_from_item(to_item({**offer, "pk": "OFFER#off_1", "sk": "OFFER", "retired_at": None}))
    _validate(OfferRecord, read)
    assert read == offer and list(read) == list(OfferRecord.__annotations__)
