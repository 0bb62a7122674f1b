"""Token Status Lists in the licensing table (only the licensing function writes them; the rules and the encoding are
in ``functions.licensing.logic.statuslist``).

| item | key | attributes |
|---|---|---|
| index counter | pk=``STATUSLIST``, sk=``ALLOC`` | ``next``: indices handed out so far (``ADD``, atomic) |
| a licence's index | pk=``STATUSREF#<license>``, sk=``STATUSREF`` | ``list``, ``idx`` (written once: ``attribute_not_exists``) |
| a list's version and its signed token | pk=``STATUSLIST#<n>``, sk=``META`` | ``version`` (+1 per change), ``token``, ``token_version``, ``token_iat`` |
| a page of a list's INVALID indices | pk=``STATUSLIST#<n>``, sk=``PAGE#<p>`` | ``invalid``: number set of the indices ``p*PAGE_SIZE ..`` that are INVALID |

Why pages of number sets (docs/decision_log.md, 2026-11-29): setting or clearing a bit is one ``ADD``/``DELETE`` on a
set, atomic and idempotent, with no read-modify-write of a 128 KiB bitmap; a page holds at most ``PAGE_SIZE`` = 16,384
numbers below 2^20 (about 5 bytes each: 80 KB worst case, far under DynamoDB's 400 KB item limit), and a whole list is
one ``Query`` of at most 64 pages. A change writes its page and bumps the list's version in one transaction, so a
reader that sees the version also sees the bit.

Access patterns: a licence's index (``GetItem``, consistent); a list's version and cached token (``GetItem``,
consistent: the only read of ``GET /v1/status-lists/{n}`` while the token is fresh); a list's pages (``Query`` on
pk, ``begins_with(sk, "PAGE#")``, consistent) when the token is rebuilt; the counter (``UpdateItem ADD``) when an
index is handed out; ``GetItem`` of the counter to answer 404 for a list that does not exist yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.licensing.logic import statuslist as rules
from functions.licensing.logic.statuslist import ListMeta
from functions.shared import aws
from functions.shared.jsontypes import AttrItem, TransactItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef
from functions.shared.faults import StateConflict

PAGE_SIZE = 2**14
_ALLOC: AttrItem = {"pk": {"S": "STATUSLIST"}, "sk": {"S": "ALLOC"}}


def _ref_key(license_id: str) -> AttrItem:
    return {"pk": {"S": f"STATUSREF#{license_id}"}, "sk": {"S": "STATUSREF"}}


def _meta_key(n: int) -> AttrItem:
    return {"pk": {"S": f"STATUSLIST#{n}"}, "sk": {"S": "META"}}


def _page_key(n: int, idx: int) -> AttrItem:
    return {"pk": {"S": f"STATUSLIST#{n}"}, "sk": {"S": f"PAGE#{idx // PAGE_SIZE:05d}"}}


class StatusLists:
    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def _ddb(self) -> DynamoDBClient:
        return aws.dynamodb()

    # --- indices ---------------------------------------------------------------------------------------------------

    def ref(self, license_id: str) -> tuple[int, int] | None:
        got = self._ddb.get_item(TableName=self.table, Key=_ref_key(license_id), ConsistentRead=True)
        item = got.get("Item")
        return (int(item["list"]["N"]), int(item["idx"]["N"])) if item else None

    def reserve(self) -> tuple[int, int]:
        """Hand out the next index. An index reserved and never assigned (a failed grant, a lost race) stays VALID
        and unused: harmless, and indistinguishable from a valid licence's."""
        got = self._ddb.update_item(
            TableName=self.table,
            Key=_ALLOC,
            UpdateExpression="ADD #next :one",
            ExpressionAttributeNames={"#next": "next"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return rules.position(int(got["Attributes"]["next"]["N"]) - 1)

    def assign_put(self, license_id: str, ref: tuple[int, int]) -> TransactItem:
        """The transaction item that gives a licence its index, once (the grant adds it to its own transaction)."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    **_ref_key(license_id),
                    "license_id": {"S": license_id},
                    "list": {"N": str(ref[0])},
                    "idx": {"N": str(ref[1])},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def allocate(self, license_id: str) -> tuple[int, int]:
        """The licence's index, handed out on first use. A retry or a concurrent first use never gives it a second
        one: the assignment is a conditional put, and the loser reads the winner's. The put is checked in the same
        transaction against the licence still being active, so a licence ended meanwhile never gets an index that
        ``mark_invalid`` (run after the end) could not see."""
        found = self.ref(license_id)
        if found is not None:
            return found
        ref = self.reserve()
        ddb = self._ddb
        try:
            ddb.transact_write_items(
                TransactItems=[
                    self.assign_put(license_id, ref),
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": f"LIC#{license_id}"}, "sk": {"S": "LIC"}},
                            "ConditionExpression": "#s = :active",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {":active": {"S": "active"}},
                        }
                    },
                ]
            )
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                winner = self.ref(license_id)
                if winner is not None:
                    return winner
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise StateConflict("The licence is no longer active.", code="license_not_active") from None
            raise
        return ref

    # --- bits ------------------------------------------------------------------------------------------------------

    def set_invalid(self, license_id: str, invalid: bool) -> bool:
        """Set (or clear) the licence's bit. False when it has no index or the bit already had that value."""
        ref = self.ref(license_id)
        if ref is None:
            return False
        n, idx = ref
        value = {"N": str(idx)}
        if invalid:
            page_update = "ADD invalid :set"
            condition = "attribute_not_exists(invalid) OR NOT contains(invalid, :i)"
        else:
            page_update = "DELETE invalid :set"
            condition = "contains(invalid, :i)"
        ddb = self._ddb
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _page_key(n, idx),
                            "UpdateExpression": page_update,
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": {":set": {"NS": [str(idx)]}, ":i": value},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _meta_key(n),
                            "UpdateExpression": "ADD version :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False  # already so: a retry
            raise
        return True

    # --- lists -----------------------------------------------------------------------------------------------------

    def exists(self, n: int) -> bool:
        """List ``n`` exists once an index of it was handed out (list 0 always exists)."""
        if n == 0:
            return True
        got = self._ddb.get_item(TableName=self.table, Key=_ALLOC, ConsistentRead=True)
        handed_out = int(got["Item"]["next"]["N"]) if "Item" in got else 0
        return n * rules.LIST_SIZE < handed_out

    def meta(self, n: int) -> ListMeta | None:
        """``{version, token, token_version, token_iat}`` (absent members when unknown), None before any change or
        token of list ``n``."""
        got = self._ddb.get_item(TableName=self.table, Key=_meta_key(n), ConsistentRead=True)
        item = got.get("Item")
        if item is None:
            return None
        out: ListMeta = {"version": int(item["version"]["N"]) if "version" in item else 0}
        if "token" in item:
            out["token"] = item["token"]["S"]
            out["token_version"] = int(item["token_version"]["N"])
            out["token_iat"] = int(item["token_iat"]["N"])
        return out

    def invalid_indices(self, n: int) -> set[int]:
        found: set[int] = set()
        args: QueryInputTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :page)",
            "ExpressionAttributeValues": {":pk": {"S": f"STATUSLIST#{n}"}, ":page": {"S": "PAGE#"}},
            "ConsistentRead": True,
        }
        while True:
            got = self._ddb.query(**args)
            for item in got.get("Items", []):
                found.update(int(v) for v in item.get("invalid", {}).get("NS", []))
            if not got.get("LastEvaluatedKey"):
                return found
            args["ExclusiveStartKey"] = got["LastEvaluatedKey"]

    def save_token(self, n: int, token: str, version: int, iat: int) -> None:
        """Keep a signed token for the next requests; never replace one built from a newer version."""
        ddb = self._ddb
        try:
            ddb.update_item(
                TableName=self.table,
                Key=_meta_key(n),
                UpdateExpression="SET #t = :t, token_version = :v, token_iat = :iat",
                ConditionExpression="attribute_not_exists(token_version) OR token_version <= :v",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":t": {"S": token}, ":v": {"N": str(version)}, ":iat": {"N": str(iat)}},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            pass


def mark_invalid(table: str, license_id: str) -> bool:
    """The licence stopped being active (revoked, cancelled, lapsed): its bit becomes 1 (INVALID), and the list is
    signed again on its next request. A no-op (False) when the licence never got an index or the bit is already set;
    safe to call again (a retried cancel heals a crash between the end and this call)."""
    return StatusLists(table).set_invalid(license_id, True)


def mark_valid(table: str, license_id: str) -> bool:
    """The licence is active again (a lapsed licence whose cap was raised): its bit goes back to 0 (VALID)."""
    return StatusLists(table).set_invalid(license_id, False)
