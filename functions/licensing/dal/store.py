"""Licensing table access (table ``licensing``; only the licensing service writes it).

| pattern | key / index |
|---|---|
| licence by id (delivery: in the same BatchGetItem as the asset and the spend) | pk=``LIC#<id>``, sk=``LIC`` |
| a buyer's licences, newest first (``?as=buyer``) | gsi1: ``BUYER#<buyer>`` / ``<created_at>#<id>`` |
| a publisher's licences (``?as=publisher``) | gsi2: ``PUBL#<publisher>`` / ``<created_at>#<id>`` |
| a buyer's *active* licences (delivery without ``license_id``) | gsi3 (sparse): ``ACTIVE#<buyer>`` / ``<id>`` |
| a buyer's *ended* licences (delivery's 403 naming why) | gsi3: ``ENDED#<buyer>`` / ``<id>`` |
| budget records and leases of capped licences | pk=``BUDGET#<id>`` (``functions.licensing.dal.budget``) |
| active subscriptions (renewal job) | gsi4 (sparse): ``SUBS`` / ``<id>`` |
| licences granted per offer (``max_licenses``) | pk=``OFFERCOUNT#<offer>``, sk=``COUNT``, attribute ``n`` |
| pay-per-crawl licence of a buyer and an offer | pk=``PPC#<buyer>#<offer>``, sk=``PPC`` → ``license_id`` |

The sparse keys are moved (gsi3 to ``ENDED#``) or removed (gsi4) when a licence stops being active, so the delivery
path and the renewal job only ever read active licences. A grant is one transaction: counter, licence, (pay-per-crawl pointer), and the
idempotency completion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from functions.licensing.dal import budget
from functions.licensing.models.domain import License
from functions.licensing.models.exceptions import PayPerCrawlRace
from functions.shared import aws, cursor
from functions.shared.ddb import from_item, to_item
from functions.shared.faults import StateConflict
from functions.shared.jsontypes import AttrValue, PutAction, Record, TransactItem, UpdateAction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

_INDEX_FIELDS = ("gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk")


def license_item(lic: License) -> Record:
    item: Record = {
        "pk": f"LIC#{lic.id}",
        "sk": "LIC",
        **lic.model_dump(),
        "gsi1pk": f"BUYER#{lic.buyer_id}",
        "gsi1sk": f"{lic.created_at}#{lic.id}",
        "gsi2pk": f"PUBL#{lic.publisher_id}",
        "gsi2sk": f"{lic.created_at}#{lic.id}",
    }
    item["gsi3pk"], item["gsi3sk"] = f"{'ACTIVE' if lic.status == 'active' else 'ENDED'}#{lic.buyer_id}", lic.id
    if lic.status == "active" and lic.pricing["model"] == "subscription":
        item["gsi4pk"], item["gsi4sk"] = "SUBS", lic.id
    return item


def license_from_data(data: Record) -> License:
    return License.model_validate({k: v for k, v in data.items() if k not in ("pk", "sk", *_INDEX_FIELDS)})


class LicensingStore:
    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def _ddb(self) -> DynamoDBClient:
        return aws.dynamodb()

    def grant(
        self,
        lic: License,
        *,
        max_licenses: int | None,
        ppc_key: str | None = None,
        ppc_replaces: str | None = None,
        extra: list[TransactItem] | None = None,
    ) -> None:
        """One transaction: the offer's counter, the licence, the pay-per-crawl pointer (new, or moved from the licence
        it replaces), and ``extra`` (budget record, idempotency completion)."""
        ddb = self._ddb
        count_values: dict[str, AttrValue] = {":one": {"N": "1"}}
        count: UpdateAction = {
            "TableName": self.table,
            "Key": {"pk": {"S": f"OFFERCOUNT#{lic.offer_id}"}, "sk": {"S": "COUNT"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": count_values,
        }
        if max_licenses is not None:
            count["ConditionExpression"] = "attribute_not_exists(n) OR n < :max"
            count_values[":max"] = {"N": str(max_licenses)}
        items: list[TransactItem] = [
            {"Update": count},
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(license_item(lic)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if ppc_key:
            pointer: PutAction = {
                "TableName": self.table,
                "Item": to_item({"pk": ppc_key, "sk": "PPC", "license_id": lic.id}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            if ppc_replaces:
                pointer["ConditionExpression"] = "license_id = :old"
                pointer["ExpressionAttributeValues"] = {":old": {"S": ppc_replaces}}
            items.append({"Put": pointer})
        items += extra or []
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise StateConflict("This offer has reached its max_licenses.", code="max_licenses_reached") from None
            if ppc_key and len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise PayPerCrawlRace("A pay-per-crawl licence for this offer was just created.") from None
            raise

    def get(self, license_id: str, *, consistent: bool = False) -> License | None:
        got = self._ddb.get_item(
            TableName=self.table, Key={"pk": {"S": f"LIC#{license_id}"}, "sk": {"S": "LIC"}}, ConsistentRead=consistent
        )
        return license_from_data(from_item(got["Item"])) if "Item" in got else None

    def ppc_license_id(self, buyer_id: str, offer_id: str) -> str | None:
        got = self._ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"PPC#{buyer_id}#{offer_id}"}, "sk": {"S": "PPC"}},
            ConsistentRead=True,
        )
        return got["Item"]["license_id"]["S"] if "Item" in got else None

    def end(
        self, license_id: str, status: str, when: str, reason: str | None = None, *, buyer_id: str | None = None
    ) -> License | None:
        """Move an active licence to ``cancelled``, ``revoked`` or ``lapsed``. None when it was not active."""
        ddb = self._ddb
        field = f"{status}_at"
        if buyer_id is None:
            current = self.get(license_id, consistent=True)
            if current is None:
                return None
            buyer_id = current.buyer_id
        values: dict[str, AttrValue] = {
            ":new": {"S": status},
            ":active": {"S": "active"},
            ":t": {"S": when},
            ":ended": {"S": f"ENDED#{buyer_id}"},
        }
        expr = f"SET #s = :new, {field} = :t, gsi3pk = :ended"
        if reason is not None:
            expr += ", revoke_reason = :r"
            values[":r"] = {"S": reason}
        try:
            got = ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"LIC#{license_id}"}, "sk": {"S": "LIC"}},
                UpdateExpression=expr + " REMOVE gsi4pk, gsi4sk",
                ConditionExpression="#s = :active",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return None
        return license_from_data(from_item(got["Attributes"]))

    def set_cap(
        self,
        lic: License,
        new_cap: int,
        *,
        reactivate: bool,
        renew_from: int | None,
        charge: tuple[str, int] | None = None,
        also: list[TransactItem] | None = None,
    ) -> License | Literal["reserved", "changed", "insufficient"]:
        """One transaction: the budget record's cap and the licence's ``budget_cap_micros`` (and, when a lapsed licence is
        reactivated, its status and indexes, ``charge`` (id, micros) reserved on the new cap, and ``also``: the charge's
        outbox item, so a reserved charge is never left unsent). ``reserved``:
        lowering would take budget that live leases hold; ``insufficient``: the new cap cannot cover ``charge``."""
        ddb = self._ddb
        old = int(lic.budget_cap_micros or 0)
        budget.DynamoBudgetStore(self.table).ensure(lic.id, old)
        values: dict[str, AttrValue] = {":new": {"N": str(new_cap)}, ":old": {"N": str(old)}, ":st": {"S": lic.status}}
        expr = "SET budget_cap_micros = :new"
        if reactivate:
            expr += ", #s = :active, gsi3pk = :idx, renew_from = :rf"
            values.update(
                {
                    ":active": {"S": "active"},
                    ":idx": {"S": f"ACTIVE#{lic.buyer_id}"},
                    ":rf": {"N": str(renew_from or 0)},
                }
            )
            if lic.pricing["model"] == "subscription":
                expr += ", gsi4pk = :subs, gsi4sk = :id"
                values.update({":subs": {"S": "SUBS"}, ":id": {"S": lic.id}})
            expr += " REMOVE lapsed_at"
        items: list[TransactItem] = [
            budget.cap_update(self.table, lic.id, old, new_cap, charge),
            {
                "Update": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": f"LIC#{lic.id}"}, "sk": {"S": "LIC"}},
                    "UpdateExpression": expr,
                    "ConditionExpression": "#s = :st AND budget_cap_micros = :old",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": values,
                }
            },
            *(also or []),
        ]
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons[1:2] == ["ConditionalCheckFailed"] or "TransactionConflict" in reasons:
                return "changed"
            if reasons[:1] == ["ConditionalCheckFailed"]:
                current = budget.DynamoBudgetStore(self.table).get(lic.id)
                if current is None or current.cap != old:
                    return "changed"
                return "insufficient" if charge else "reserved"
            raise
        got = self.get(lic.id, consistent=True)
        assert got is not None
        return got

    def list_for(
        self, party: str, account_id: str, status: str | None, limit: int, cursor_token: str | None
    ) -> tuple[list[License], str | None]:
        index, pk = ("gsi1", f"BUYER#{account_id}") if party == "buyer" else ("gsi2", f"PUBL#{account_id}")
        keys = ("pk", "sk", f"{index}pk", f"{index}sk")
        start = cursor.decode(cursor_token, key_names=keys, expect={f"{index}pk": pk})
        found: list[License] = []
        for _ in range(20):
            args: QueryInputTypeDef = {
                "TableName": self.table,
                "IndexName": index,
                "KeyConditionExpression": f"{index}pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "ScanIndexForward": False,
                "Limit": limit,
            }
            if start:
                args["ExclusiveStartKey"] = start
            got = self._ddb.query(**args)
            for raw in got.get("Items", []):
                data = from_item(raw)
                if status is None or data["status"] == status:
                    found.append(license_from_data(data))
                    if len(found) == limit:
                        return found, cursor.encode({k: {"S": str(data[k])} for k in keys})
            start = got.get("LastEvaluatedKey")
            if not start:
                return found, None
        return found, cursor.encode(start)
