from __future__ import annotations

import hashlib
from typing import Any

import boto3
import pytest


@pytest.fixture
def market(aws: dict[str, str], make_account: Any) -> dict[str, Any]:
    """A publisher with one available asset and a few offers, and two buyers."""
    pub, pub_acct = make_account("publisher", name="Harbour Gazette")
    buyer, buyer_acct = make_account("buyer")
    other, other_acct = make_account("buyer")
    data = b"Sea wall approved by the council."
    r = pub.post(
        "/v1/assets",
        {
            "title": "Sea wall",
            "kind": "article",
            "media_type": "text/plain",
            "language": "en",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    asset = r.json["asset"]
    boto3.client("s3").put_object(Bucket=aws["CONTENT_BUCKET"], Key=f"assets/{pub_acct['id']}/{asset['id']}", Body=data)
    assert pub.post(f"/v1/assets/{asset['id']}/complete").json["status"] == "available"

    def offer(**body: Any) -> dict[str, Any]:
        got = pub.post("/v1/offers", {"asset_id": asset["id"], **body})
        assert got.status == 201, got.body
        return dict(got.json)

    return {
        "pub": pub,
        "pub_acct": pub_acct,
        "buyer": buyer,
        "buyer_acct": buyer_acct,
        "other": other,
        "other_acct": other_acct,
        "asset": asset,
        "data": data,
        "offer": offer,
        "per_access": offer(uses=["ai-input", "search"], pricing={"model": "per_access", "amount_micros": 10_000}),
        "flat": offer(uses=["ai-train"], pricing={"model": "flat", "amount_micros": 5_000_000}, term_days=30),
    }


def delivery_records(aws: dict[str, str]) -> list[dict[str, Any]]:
    """The usage messages of the deliveries not metered yet, taken off the deliveries stream (issue 16): the local
    dispatcher will not hand them over; ``put_delivery_records`` puts them on the stream again."""
    import json

    from local.dispatch import take_stream_records

    return [json.loads(r["Data"]) for r in take_stream_records(aws, "deliveries")]


def put_delivery_records(aws: dict[str, str], messages: list[dict[str, Any]]) -> None:
    import json

    kinesis = boto3.client("kinesis")
    for m in messages:
        kinesis.put_record(StreamName=aws["DELIVERIES_STREAM"], Data=json.dumps(m).encode(), PartitionKey=m["event_id"])


def queue_messages(aws: dict[str, str]) -> list[dict[str, Any]]:
    import json

    sqs = boto3.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=aws["USAGE_QUEUE_URL"], MaxNumberOfMessages=10, VisibilityTimeout=0)
        msgs = got.get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=aws["USAGE_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def instances(aws: dict[str, str]) -> Any:
    """Factory: ``instances(key, n)`` gives n API clients with ``key``, each over its own warm instance of the
    delivery, metering and licensing functions (tests/integration/instances.py), for requests in real threads."""
    from tests.fixtures import Api
    from tests.integration.instances import InstanceGateway, forget_copies

    def make(key: str | None, n: int) -> list[Api]:
        return [Api(InstanceGateway(), key) for _ in range(n)]

    yield make
    forget_copies()


def meter(aws: dict[str, str], gw: Any) -> int:
    """Run the metering consumer (and the licensing consumer) until their queues are empty, as the local
    dispatcher does; returns the number of messages handled."""
    from local.dispatch import drain

    return drain(gw.invoke, aws, ("usage", "licensing"))


def books(admin: Any, license_id: str, buyer: Any, account_id: str) -> dict[str, int]:
    """What the marketplace says a licence was charged: its spend (``GET /v1/licenses/{id}``), and the buyer's
    ledger balance (admin ``GET /v1/balance``)."""
    lic = buyer.get(f"/v1/licenses/{license_id}").json
    bal = admin.get("/v1/balance", params={"account_id": account_id}).json["balance_micros"]
    return {"spent": lic["spent_micros"], "remaining": lic.get("remaining_micros"), "balance": bal}
