"""Budget records of capped licences, in the licensing table (ARCHITECTURE.md: the one item other services may
write, through the functions of this module only; IAM ``dynamodb:LeadingKeys`` on ``BUDGET#*``).

| record | key | attributes |
|---|---|---|
| budget | pk=``BUDGET#<licence>``, sk=``BUDGET`` | ``cap_micros``, ``reserved_micros``, ``available_micros`` (= cap - reserved, kept for conditions), ``open_leases``, ``charges`` (string set of charge ids reserved) |
| lease | pk=``BUDGET#<licence>``, sk=``LEASE#<lease>`` | ``price_micros``, ``amount_micros``, ``taken_at``, ``used_micros``, ``late_micros``, ``released``, ``ttl`` |

DynamoDB conditions cannot add, so ``available_micros`` is stored beside ``reserved_micros`` and both move in the
same update. Rules: functions.licensing.logic.budget.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from functions.licensing.logic.budget import Budget, Lease, Reservation
from functions.shared import aws
from functions.shared.jsontypes import AttrItem, AttrValue, TransactItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

PREFIX = "BUDGET#"
RELEASED_TTL_S = 30 * 86400  # a released lease is kept a month (late usage finds it), then expires
_MAX_RELEASE = 40  # leases per release transaction (2 items each would be too many beyond)


def budget_key(license_id: str) -> AttrItem:
    return {"pk": {"S": f"{PREFIX}{license_id}"}, "sk": {"S": "BUDGET"}}


def lease_key(license_id: str, lease_id: str) -> AttrItem:
    return {"pk": {"S": f"{PREFIX}{license_id}"}, "sk": {"S": f"LEASE#{lease_id}"}}


def budget_from_item(item: Mapping[str, AttrValue]) -> Budget:
    return Budget(
        license_id=item["pk"]["S"].removeprefix(PREFIX),
        cap=int(item["cap_micros"]["N"]),
        reserved=int(item["reserved_micros"]["N"]),
        open_leases=int(item.get("open_leases", {}).get("N", "0")),
    )


def _lease_from_item(item: Mapping[str, AttrValue]) -> Lease:
    return Lease(
        lease_id=item["sk"]["S"].removeprefix("LEASE#"),
        license_id=item["pk"]["S"].removeprefix(PREFIX),
        price=int(item["price_micros"]["N"]),
        amount=int(item["amount_micros"]["N"]),
        taken_at=float(item["taken_at"]["N"]),
        used=int(item.get("used_micros", {}).get("N", "0")),
        released=bool(item.get("released", {}).get("BOOL", False)),
    )


def _n(value: int | float) -> AttrValue:
    return {"N": str(value)}


# ----------------------------------------------------------------------------- transaction items for other writers
def budget_put(table: str, license_id: str, cap: int, reserved: int, charge_id: str | None) -> TransactItem:
    """The budget record a capped grant creates (in the grant's transaction), with the grant's own charge."""
    item: AttrItem = {
        **budget_key(license_id),
        "license_id": {"S": license_id},
        "cap_micros": _n(cap),
        "reserved_micros": _n(reserved),
        "available_micros": _n(cap - reserved),
        "open_leases": _n(0),
    }
    if charge_id:
        item["charges"] = {"SS": [charge_id]}
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def reserve_update(table: str, license_id: str, amount: int) -> TransactItem:
    """Reserve ``amount`` on the budget, on condition that it fits (reported units: in the transaction that records
    the events)."""
    return {
        "Update": {
            "TableName": table,
            "Key": budget_key(license_id),
            "UpdateExpression": "ADD reserved_micros :a, available_micros :neg",
            "ConditionExpression": "available_micros >= :a",
            "ExpressionAttributeValues": {":a": _n(amount), ":neg": _n(-amount)},
        }
    }


def unreserve_update(table: str, license_id: str, amount: int) -> TransactItem:
    """Give back a reservation whose charge will never be booked (a compensation after a failed send)."""
    return {
        "Update": {
            "TableName": table,
            "Key": budget_key(license_id),
            "UpdateExpression": "ADD reserved_micros :neg, available_micros :a",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":a": _n(amount), ":neg": _n(-amount)},
        }
    }


def lease_use_update(table: str, license_id: str, lease_id: str, micros: int) -> TransactItem:
    """The metering consumer books what deliveries charged on a lease, while the lease is not released."""
    return {
        "Update": {
            "TableName": table,
            "Key": lease_key(license_id, lease_id),
            "UpdateExpression": "ADD used_micros :u",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(released)",
            "ExpressionAttributeValues": {":u": _n(micros)},
        }
    }


def late_use_updates(table: str, license_id: str, leases: dict[str, int]) -> list[TransactItem]:
    """Deliveries metered after their leases were released (lease id -> micros): reserved on the budget directly, in
    one update that is conditional on the total fitting (the first item), and noted on each lease."""
    items: list[TransactItem] = [reserve_update(table, license_id, sum(leases.values()))]
    for lease_id, micros in sorted(leases.items()):
        items.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": lease_key(license_id, lease_id),
                    "UpdateExpression": "ADD late_micros :u",
                    "ExpressionAttributeValues": {":u": _n(micros)},
                }
            }
        )
    return items


def cap_update(
    table: str, license_id: str, old_cap: int, new_cap: int, charge: tuple[str, int] | None = None
) -> TransactItem:
    """Move a cap (PATCH): up freely, down only while the unreserved remainder covers the cut; with ``charge`` (id,
    micros), also reserve that charge on the new cap (a lapsed subscription reactivated), once per id."""
    delta = new_cap - old_cap
    values: dict[str, AttrValue] = {":old": _n(old_cap), ":new": _n(new_cap), ":d": _n(delta)}
    condition = "cap_micros = :old"
    expr = "SET cap_micros = :new ADD available_micros :d"
    need = -delta
    if charge is not None:
        charge_id, micros = charge
        need += micros
        values.update({":d": _n(delta - micros), ":m": _n(micros), ":cs": {"SS": [charge_id]}, ":c": {"S": charge_id}})
        expr += ", reserved_micros :m, charges :cs"
        condition += " AND NOT contains(charges, :c)"
    if need > 0:
        condition += " AND available_micros >= :cut"
        values[":cut"] = _n(need)
    return {
        "Update": {
            "TableName": table,
            "Key": budget_key(license_id),
            "UpdateExpression": expr,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
    }


# ----------------------------------------------------------------------------- the store of logic.budget
class DynamoBudgetStore:
    """``functions.licensing.logic.budget.BudgetStore`` on DynamoDB: each method is one request."""

    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def _ddb(self) -> DynamoDBClient:
        return aws.dynamodb()

    def get(self, license_id: str) -> Budget | None:
        got = self._ddb.get_item(TableName=self.table, Key=budget_key(license_id), ConsistentRead=True)
        return budget_from_item(got["Item"]) if "Item" in got else None

    def ensure(self, license_id: str, cap: int) -> None:
        """Create an empty budget record for a capped licence that has none (granted before budget records)."""
        ddb = self._ddb
        try:
            ddb.put_item(**budget_put(self.table, license_id, cap, 0, None)["Put"])
        except ddb.exceptions.ConditionalCheckFailedException:
            pass

    def take_lease(self, lease: Lease) -> bool:
        ddb = self._ddb
        item: AttrItem = {
            **lease_key(lease.license_id, lease.lease_id),
            "price_micros": _n(lease.price),
            "amount_micros": _n(lease.amount),
            "taken_at": _n(round(lease.taken_at, 3)),
            "used_micros": _n(0),
            "ttl": _n(int(lease.taken_at) + RELEASED_TTL_S),
        }
        take = reserve_update(self.table, lease.license_id, lease.amount)["Update"]
        take["UpdateExpression"] += ", open_leases :one"
        take["ExpressionAttributeValues"] = {**take["ExpressionAttributeValues"], ":one": _n(1)}
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {"Update": take},
                    {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            )
            return True
        except ddb.exceptions.TransactionCanceledException as exc:
            codes = _codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"] or "TransactionConflict" in codes:
                return False  # it does not fit, or another request was writing the budget: the caller reads again
            raise

    def leases(self, license_id: str) -> list[Lease]:
        args: QueryInputTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :l)",
            "ExpressionAttributeValues": {":p": {"S": f"{PREFIX}{license_id}"}, ":l": {"S": "LEASE#"}},
            "ConsistentRead": True,
        }
        out: list[Lease] = []
        while True:
            got = self._ddb.query(**args)
            out += [_lease_from_item(i) for i in got.get("Items", [])]
            if "LastEvaluatedKey" not in got:
                return [lease for lease in out if not lease.released]
            args["ExclusiveStartKey"] = got["LastEvaluatedKey"]

    def release(self, license_id: str, leases: list[Lease]) -> bool:
        ddb = self._ddb
        ok = True
        for i in range(0, len(leases), _MAX_RELEASE):
            part = leases[i : i + _MAX_RELEASE]
            unused = sum(max(0, lease.amount - lease.used) for lease in part)
            items: list[TransactItem] = [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": lease_key(license_id, lease.lease_id),
                        "UpdateExpression": "SET released = :t, #ttl = :ttl",
                        "ExpressionAttributeNames": {"#ttl": "ttl"},
                        "ConditionExpression": "attribute_not_exists(released) AND used_micros = :u",
                        "ExpressionAttributeValues": {
                            ":t": {"BOOL": True},
                            ":u": _n(lease.used),
                            ":ttl": _n(int(time.time()) + RELEASED_TTL_S),
                        },
                    }
                }
                for lease in part
            ]
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": budget_key(license_id),
                        "UpdateExpression": "ADD reserved_micros :neg, available_micros :a, open_leases :k",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":a": _n(unused), ":neg": _n(-unused), ":k": _n(-len(part))},
                    }
                }
            )
            try:
                ddb.transact_write_items(TransactItems=items)
            except ddb.exceptions.TransactionCanceledException as exc:
                codes = _codes(exc)
                if "ConditionalCheckFailed" not in codes and "TransactionConflict" not in codes:
                    raise
                ok = False  # a lost race: returned or used since it was read, or being written at that instant
        return ok

    def reserve(self, license_id: str, amount: int, charge_id: str | None = None) -> Reservation:
        ddb = self._ddb
        update = reserve_update(self.table, license_id, amount)["Update"]
        if charge_id:
            update["UpdateExpression"] += ", charges :cs"
            update["ConditionExpression"] += " AND NOT contains(charges, :c)"
            update["ExpressionAttributeValues"] = {
                **update["ExpressionAttributeValues"],
                ":cs": {"SS": [charge_id]},
                ":c": {"S": charge_id},
            }
        try:
            ddb.update_item(**update)
            return "reserved"
        except ddb.exceptions.ConditionalCheckFailedException:
            pass
        got = ddb.get_item(TableName=self.table, Key=budget_key(license_id), ConsistentRead=True).get("Item")
        if got is None:
            return "uncapped"
        if charge_id and charge_id in got.get("charges", {}).get("SS", []):
            return "already"
        return "insufficient"


def _codes(exc: ClientError) -> list[str]:
    return [str(r.get("Code")) for r in exc.response.get("CancellationReasons", [])]
