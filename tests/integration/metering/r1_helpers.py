"""What the two R1 runs (the usage queue's, test_exactly_once.py, and the deliveries stream's,
test_stream_exactly_once.py) both build and recount: the events, and the metering table and raw-event archive read
back afterwards."""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import boto3

from functions.metering.dal.store import unsharded

# One seed by default keeps `make test` fast; R1_SEEDS="1 2 3" runs more.
SEEDS = [int(s) for s in os.environ.get("R1_SEEDS", "2026").split()]
EVENTS = int(os.environ.get("R1_EVENTS", "200"))


def scan(table: str) -> list[dict[str, Any]]:
    from functions.shared.ddb import from_item

    ddb = boto3.client("dynamodb")
    items, start = [], None
    while True:
        got = ddb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))  # test-only recount
        items += [from_item(i) for i in got["Items"]]
        start = got.get("LastEvaluatedKey")
        if not start:
            return items


def occurred_at(rng: random.Random, now: datetime) -> str:
    """An event's time, out of order and sometimes late: up to 33 days back, across a month boundary."""
    at = now - timedelta(days=rng.choice([0, 0, 0, 1, 2, 33]), seconds=rng.randint(0, 80_000))
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def delivery(market: dict[str, Any], license_id: str, event_id: str, at: str) -> dict[str, Any]:
    """One delivery of the market's asset for ai-input on ``license_id``: the usage event licensing sends."""
    return {
        "kind": "usage",
        "event_id": event_id,
        "source": "delivery",
        "buyer_id": market["buyer_acct"]["id"],
        "license_id": license_id,
        "asset_id": market["asset"]["id"],
        "publisher_id": market["pub_acct"]["id"],
        "pool_id": None,
        "use": "ai-input",
        "units": 1,
        "occurred_at": at,
    }


def balances(items: list[dict[str, Any]]) -> dict[str, int]:
    """``BAL#<account>#<currency>`` to its balance, the platform's balance shards folded into one."""
    out: dict[str, int] = defaultdict(int)
    for i in items:
        if i["pk"].startswith("BAL#"):
            account, currency = i["pk"].removeprefix("BAL#").rsplit("#", 1)
            out[f"BAL#{unsharded(account)}#{currency}"] += i["balance_micros"]
    return dict(out)


def statement_gross(items: list[dict[str, Any]], buyer_id: str) -> dict[str, int]:
    """The buyer's statement lines' gross, per month (``YYYY-MM``)."""
    out: dict[str, int] = defaultdict(int)
    for i in items:
        if i["pk"].startswith(f"STMT#{buyer_id}#"):
            out[i["pk"].rsplit("#", 1)[1]] += i["gross_micros"]
    return dict(out)


def archived_event_ids(aws: dict[str, str]) -> set[str]:
    """The event ids in the raw-event archive (each at least once; Athena queries use DISTINCT)."""
    s3 = boto3.client("s3")
    archived: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=aws["USAGE_BUCKET"], Prefix="usage/dt="):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=aws["USAGE_BUCKET"], Key=obj["Key"])["Body"].read().decode()
            archived |= {json.loads(line)["event_id"] for line in body.splitlines()}
    return archived
