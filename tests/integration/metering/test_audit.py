"""The ledger auditor as ``make audit`` runs it (``functions.metering.audit_cli.main``: exit code and output), over a
ledger written by the real handlers on the embedded DynamoDB: capped deliveries, a flat charge, pool revenue
distributed after its period closed (part of it carried), and usage in the next period. The untouched ledger passes;
then ONE stored record is corrupted per invariant and the audit must fail naming that record's key.

The scheduled Lambda is run once too: it logs each violation and publishes the LedgerViolations metric (EMF)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from functions.metering.audit_cli import main
from functions.shared import clock
from functions.shared.clock import now_iso
from functions.shared.ddb import from_item, to_item
from local.dispatch import drain

MONTH = 32 * 86400


def audit_cli(aws: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(
        ["--metering-table", aws["METERING_TABLE"], "--licensing-table", aws["LICENSING_TABLE"], "--segments", "3"],
        out=out,
    )
    return code, out.getvalue()


def _asset(client: Any, account: dict[str, Any], aws: dict[str, str], title: str) -> dict[str, Any]:
    data = f"{title}: a story".encode()
    asset = client.post(
        "/v1/assets",
        {
            "title": title,
            "kind": "article",
            "media_type": "text/plain",
            "language": "en",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    ).json["asset"]
    boto3.client("s3").put_object(Bucket=aws["CONTENT_BUCKET"], Key=f"assets/{account['id']}/{asset['id']}", Body=data)
    assert client.post(f"/v1/assets/{asset['id']}/complete").json["status"] == "available"
    return dict(asset)


@pytest.fixture
def ledger(aws: dict[str, str], gw: Any, admin: Any, make_account: Any, market: dict[str, Any]) -> dict[str, Any]:
    """A month of business closed and its pool distributed, then a little of the next month's."""
    buyer, asset = market["buyer"], market["asset"]
    # A capped per-access licence (3 deliveries of 10,000 under a 50,000 cap) and a flat licence
    capped = buyer.post(
        "/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input", "budget_cap_micros": 50_000}
    ).json["license"]
    for _ in range(3):
        got = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input", "license_id": capped["id"]})
        assert got.status == 200
    assert buyer.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"}).status == 201
    # A pool of two members: per-access revenue follows use, an unused flat licence's revenue is carried
    pool = admin.post("/v1/pools", {"name": "Harbour co-op", "description": "two newsrooms"}).json
    members = []
    for name in ("Alpha", "Beta"):
        pub, acct = make_account("publisher", name=f"{name} News")
        a = _asset(pub, acct, aws, f"{name} story")
        assert pub.post(f"/v1/pools/{pool['id']}/members", {"asset_ids": [a["id"]]}).status == 200
        members.append(a)
    pool_per_access = admin.post(
        "/v1/offers",
        {"pool_id": pool["id"], "uses": ["ai-input"], "pricing": {"model": "per_access", "amount_micros": 20_000}},
    ).json
    pool_flat = admin.post(
        "/v1/offers",
        {"pool_id": pool["id"], "uses": ["search"], "pricing": {"model": "flat", "amount_micros": 700_000}},
    ).json
    assert buyer.post("/v1/licenses", {"offer_id": pool_per_access["id"], "use": "ai-input"}).status == 201
    assert market["other"].post("/v1/licenses", {"offer_id": pool_flat["id"], "use": "search"}).status == 201
    for a, n in zip(members, (2, 1), strict=True):
        for _ in range(n):
            assert buyer.get(f"/v1/assets/{a['id']}/content", params={"use": "ai-input"}).status == 200
    drain(gw.invoke, aws)
    period = now_iso()[:7]
    # The month ends, is closed, and the pool's revenue of it is distributed (booked in the running month)
    clock.set_offset(MONTH)
    assert admin.post(f"/v1/periods/{period}/close").status == 200
    dist = admin.post(f"/v1/pools/{pool['id']}/distributions", {"period": period})
    assert dist.status == 201, dist.body
    [usd] = dist.json["currencies"]
    assert usd["carried_forward_micros"] > 0 and usd["shares_micros"] > 0
    # And the next month begins: one more capped delivery
    got = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input", "license_id": capped["id"]})
    assert got.status == 200
    drain(gw.invoke, aws)
    return {
        "period": period,
        "pool": pool,
        "buyer_id": market["buyer_acct"]["id"],
        "publisher_id": market["pub_acct"]["id"],
        "capped": capped,
    }


# ------------------------------------------------------------------------------------------- corrupting one record
def _table(aws: dict[str, str], pk: str) -> str:
    return aws["LICENSING_TABLE"] if pk.startswith(("LIC#", "BUDGET#")) else aws["METERING_TABLE"]


def corrupt(aws: dict[str, str], pk: str, sk: str, change: Callable[[dict[str, Any]], None]) -> None:
    ddb = boto3.client("dynamodb")
    table = _table(aws, pk)
    item = from_item(ddb.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"])
    change(item)
    ddb.put_item(TableName=table, Item=to_item(item))


def _keys(aws: dict[str, str], prefix: str) -> list[tuple[str, str]]:
    ddb = boto3.client("dynamodb")
    found: list[tuple[str, str]] = []
    args: dict[str, Any] = {"TableName": aws["METERING_TABLE"], "ProjectionExpression": "pk, sk"}
    while True:
        got = ddb.scan(**args)
        found += [(i["pk"]["S"], i["sk"]["S"]) for i in got["Items"] if i["pk"]["S"].startswith(prefix)]
        if "LastEvaluatedKey" not in got:
            return sorted(found)
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


def _journal_entry_with_postings(aws: dict[str, str], buyer_id: str) -> tuple[str, str]:
    ddb = boto3.client("dynamodb")
    for pk, sk in _keys(aws, f"EVT#{buyer_id}#") + _keys(aws, "CHG#"):
        item = from_item(ddb.get_item(TableName=aws["METERING_TABLE"], Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"])
        if item.get("postings"):
            return pk, sk
    raise AssertionError("no journal entry with postings")


def _stream_chunk_journal(aws: dict[str, str]) -> tuple[str, str]:
    """A delivery-stream chunk's journal item with postings (issue 16: deliveries have no journal item each)."""
    ddb = boto3.client("dynamodb")
    for pk, sk in _keys(aws, "SEQ#"):
        if not sk.startswith("C#"):
            continue
        item = from_item(ddb.get_item(TableName=aws["METERING_TABLE"], Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"])
        if any(c["postings"] for c in item.get("currencies", [])):
            return pk, sk
    raise AssertionError("no stream chunk journal with postings")


def _bump_first_posting(item: dict[str, Any]) -> None:
    if "currencies" in item:  # a stream chunk's journal: postings per currency
        item["currencies"][0]["postings"][0]["amount_micros"] += 1
    else:
        item["postings"][0]["amount_micros"] += 1


def _bump_balance(item: dict[str, Any]) -> None:
    item["balance_micros"] += 1


def _overspend(item: dict[str, Any]) -> None:
    item["spent_micros"] = 50_001  # the licence's cap is 50,000


def _inflate_a_share(item: dict[str, Any]) -> None:
    item["currencies"][0]["members"][0]["share_micros"] += 1


def _restate_a_line(item: dict[str, Any]) -> None:
    item["gross_micros"] += 1
    item["net_micros"] += 1


def case(aws: dict[str, str], ledger: dict[str, Any], invariant: str) -> tuple[str, str, Callable[..., None], str]:
    """(pk, sk, change, key the audit must name) for one invariant."""
    period, buyer_id = ledger["period"], ledger["buyer_id"]
    if invariant == "zero_sum":  # a charge's journal entry (a flat licence's grant)
        pk, sk = _journal_entry_with_postings(aws, buyer_id)
        return pk, sk, _bump_first_posting, pk
    if invariant == "zero_sum:stream":  # the journal of a chunk of deliveries
        pk, sk = _stream_chunk_journal(aws)
        return pk, sk, _bump_first_posting, pk
    if invariant == "balance":
        pk = f"BAL#{ledger['publisher_id']}#USD"
        return pk, "BAL", _bump_balance, pk
    if invariant == "cap":
        pk = f"SPEND#{ledger['capped']['id']}"
        return pk, "SPEND", _overspend, pk
    if invariant == "pool":
        pk = f"DIST#{ledger['pool']['id']}#{period}"
        return pk, "DIST", _inflate_a_share, pk
    # closed_statement: a line of the buyer's closed statement restated; the close record that no longer matches is
    # named, with the statement (the corrupted record's pk)
    pk = f"STMT#{buyer_id}#{period}"
    (sk,) = [s for p, s in _keys(aws, pk) if p == pk and s.startswith(ledger["capped"]["id"])]
    return pk, sk, _restate_a_line, f"STMTCLOSE#{buyer_id}#{period}"


def test_the_ledger_the_handlers_wrote_passes_the_audit(aws: dict[str, str], ledger: dict[str, Any]) -> None:
    # Given the ledger of a closed, distributed month and an open one
    # When `make audit` runs, Then it passes, having checked every invariant
    code, out = audit_cli(aws)
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("ledger audit OK: 0 violation(s)"), out
    assert "NOT CHECKED" not in out and "VIOLATION" not in out


@pytest.mark.parametrize("case_name", ["zero_sum", "zero_sum:stream", "balance", "cap", "pool", "closed_statement"])
def test_one_corrupted_record_per_invariant_fails_the_audit_naming_it(
    aws: dict[str, str], ledger: dict[str, Any], case_name: str
) -> None:
    invariant = case_name.split(":")[0]
    # Given a clean ledger
    assert audit_cli(aws)[0] == 0
    # When one record is corrupted
    pk, sk, change, named = case(aws, ledger, case_name)
    corrupt(aws, pk, sk, change)
    # Then `make audit` exits non-zero, naming that record under that invariant, and shows the stored record
    code, out = audit_cli(aws)
    assert code == 1, out
    lines = out.strip().splitlines()
    hits = [i for i, line in enumerate(lines) if line.startswith(f"VIOLATION {invariant}: {named} / ")]
    assert hits, out
    assert pk in out  # the corrupted record itself (for a statement line: named in the close's violation)
    assert lines[hits[0] + 1].startswith("  record {") and json.loads(lines[hits[0] + 1].split("record ", 1)[1])
    assert lines[-1].startswith("ledger audit FAILED:") and f"{invariant} 0" not in lines[-1]


def test_the_scheduled_auditor_logs_violations_and_publishes_the_metric(
    aws: dict[str, str], ledger: dict[str, Any], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from functions.metering.handlers.audit import METRIC, handler
    from local.events import LambdaContext

    # Given a clean ledger, Then the scheduled run publishes 0
    capsys.readouterr()
    assert handler({"job": "ledger_audit"}, LambdaContext(function_name="ledger_audit"))["violations"] == 0
    assert _metric(capsys.readouterr().out, METRIC) == 0
    # Given a balance off by one micro, Then it publishes 1 and logs the record's key
    pk = f"BAL#{ledger['publisher_id']}#USD"
    corrupt(aws, pk, "BAL", _bump_balance)
    result = handler({"job": "ledger_audit"}, LambdaContext(function_name="ledger_audit"))
    assert result["violations"] == 1 and result["by_invariant"]["balance"] == 1
    out = capsys.readouterr().out
    assert _metric(out, METRIC) == 1
    logged = [r for r in caplog.records if r.getMessage() == "ledger violation"]
    assert [(getattr(r, "invariant", None), getattr(r, "pk", None)) for r in logged] == [("balance", pk)]


def _metric(stdout: str, name: str) -> float:
    """The value of ``name`` in the EMF document Powertools printed."""
    for line in stdout.splitlines():
        if '"_aws"' in line:
            doc = json.loads(line)
            if name in doc:
                assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Imprimatur"
                assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
                assert doc["service"] == "ledger_audit"
                value = doc[name]
                return float(value[0] if isinstance(value, list) else value)
    raise AssertionError(f"no EMF document with {name} in:\n{stdout}")


def test_make_audit_against_a_stack_reads_the_table_names_from_its_outputs(aws: dict[str, str]) -> None:
    # Given a deployed stack whose outputs name the tables (as infra/stack.py publishes them)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "MeteringTableName": {"Value": aws["METERING_TABLE"]},
            "LicensingTableName": {"Value": aws["LICENSING_TABLE"]},
        },
    }
    boto3.client("cloudformation").create_stack(StackName="Imprimatur-audit", TemplateBody=json.dumps(template))
    from functions.shared import aws as shared_aws

    shared_aws.reset_clients()
    # When `make audit STACK=Imprimatur-audit` runs, Then it audits those tables (empty: clean)
    out = io.StringIO()
    assert main(["--stack", "Imprimatur-audit"], out=out) == 0, out.getvalue()
    assert out.getvalue().startswith("ledger audit OK: 0 violation(s) in 0 records")
    # And a stack without the outputs is refused with a message
    boto3.client("cloudformation").create_stack(
        StackName="Other", TemplateBody=json.dumps({"Resources": template["Resources"]})
    )
    with pytest.raises(SystemExit, match="has no MeteringTableName, LicensingTableName output"):
        main(["--stack", "Other"], out=io.StringIO())
