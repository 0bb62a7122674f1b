"""Admin account management's data access (issue 19): list, search and edit accounts through the indexes of
``functions.accounts.dal.index``. Only ``Query`` and ``BatchGetItem``: never a ``Scan``.

Listing and searching with filters (status, role) filter each page in memory and read at most
``MAX_QUERIES`` index pages per request; a page may then hold fewer than ``limit`` items with a ``next_cursor``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from functions.accounts.dal import index
from functions.accounts.models.domain import Account
from functions.shared import aws, cursor
from functions.shared.ddb import from_item, to_item
from functions.shared.faults import StateConflict
from functions.shared.jsontypes import AttrItem, AttrValue, TransactItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        KeysAndAttributesOutputTypeDef,
        KeysAndAttributesTypeDef,
        QueryInputTypeDef,
    )

MAX_QUERIES = 5
PAGE = 100


def _account(item: Mapping[str, AttrValue]) -> Account:
    data = from_item(item)
    return Account.model_validate({k: v for k, v in data.items() if k not in ("pk", "sk")})


def _keep(account: Account, status: str | None, role: str | None) -> bool:
    return (status is None or account.status == status) and (role is None or role in account.roles)


class AccountAdminStore:
    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def _ddb(self) -> DynamoDBClient:
        return aws.dynamodb()

    def _pages(
        self, index_name: str, partition: str, prefix: str | None, start: AttrItem | None, forward: bool
    ) -> Iterator[tuple[list[AttrItem], AttrItem | None]]:
        """Index pages of one partition (``begins_with`` ``prefix`` on the sort key), at most ``MAX_QUERIES``."""
        pk, sk = f"{index_name}pk", f"{index_name}sk"
        values: dict[str, AttrValue] = {":p": {"S": partition}}
        condition = f"{pk} = :p"
        if prefix is not None:
            condition += f" AND begins_with({sk}, :q)"
            values[":q"] = {"S": prefix}
        for _ in range(MAX_QUERIES):
            args: QueryInputTypeDef = {
                "TableName": self.table,
                "IndexName": index_name,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "Limit": PAGE,
                "ScanIndexForward": forward,
            }
            if start:
                args["ExclusiveStartKey"] = start
            got = self._ddb.query(**args)
            start = got.get("LastEvaluatedKey")
            yield got.get("Items", []), start
            if not start:
                return

    @staticmethod
    def _key_of(item: Mapping[str, AttrValue], index_name: str) -> AttrItem:
        return {k: item[k] for k in ("pk", "sk", f"{index_name}pk", f"{index_name}sk")}

    def list_accounts(
        self, *, status: str | None, role: str | None, limit: int, cursor_token: str | None
    ) -> tuple[list[Account], str | None]:
        """Accounts newest first, through ``gsi2`` (status and role filter each page)."""
        index_name, partition = index.LIST_INDEX, "ACCTS"
        names = ("pk", "sk", f"{index_name}pk", f"{index_name}sk")
        start = cursor.decode(cursor_token, key_names=names, expect={f"{index_name}pk": partition})
        out: list[Account] = []
        last: AttrItem | None = None
        for items, last in self._pages(index_name, partition, None, start, forward=False):
            for n, item in enumerate(items):
                account = _account(item)
                if _keep(account, status, role):
                    out.append(account)
                    if len(out) == limit:
                        more = n < len(items) - 1 or last is not None
                        return out, cursor.encode(self._key_of(item, index_name)) if more else None
        return out, cursor.encode(last)

    def search(
        self, q: str, *, status: str | None, role: str | None, limit: int, cursor_token: str | None
    ) -> tuple[list[Account], str | None]:
        """Accounts whose name, e-mail or display name (or one of their words) starts with ``q`` (normalised), in
        the order of the matching text; each account once."""
        partition = index.search_partition(q)
        names = ("pk", "sk", "gsi2pk", "gsi2sk")
        start = cursor.decode(cursor_token, key_names=names, expect={"gsi2pk": partition})
        out: list[Account] = []
        last: AttrItem | None = None
        for items, last in self._pages(index.SEARCH_INDEX, partition, q, start, forward=True):
            accounts = self._accounts([from_item(i)["account_id"] for i in items])
            for n, item in enumerate(items):
                hit = from_item(item)
                account = accounts.get(hit["account_id"])
                if account is None or not index.first_match(account, hit["token"], q):
                    continue
                if _keep(account, status, role):
                    out.append(account)
                    if len(out) == limit:
                        more = n < len(items) - 1 or last is not None
                        return out, cursor.encode(self._key_of(item, "gsi2")) if more else None
        return out, cursor.encode(last)

    def _accounts(self, ids: list[str]) -> dict[str, Account]:
        out: dict[str, Account] = {}
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), 100):
            request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
                self.table: {"Keys": [{"pk": {"S": f"ACCT#{a}"}, "sk": {"S": "ACCT"}} for a in unique[i : i + 100]]}
            }
            for _ in range(8):
                got = self._ddb.batch_get_item(RequestItems=request)
                for item in got.get("Responses", {}).get(self.table, []):
                    account = _account(item)
                    out[account.id] = account
                request = got.get("UnprocessedKeys") or {}
                if not request:
                    break
        return out

    def update_account(self, before: Account, after: Account) -> None:
        """Write ``after`` over ``before`` in one transaction: the account (only if it is still at ``before``'s
        version), its e-mail claim when the address changed, and its search items. 409 ``email_taken`` when the new
        address belongs to another account, 409 ``concurrent_update`` when the account changed meanwhile."""
        ddb = self._ddb
        item = {"pk": f"ACCT#{after.id}", "sk": "ACCT", **after.model_dump()}  # with its index keys
        items: list[TransactItem] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(item),
                    # an item written before versions existed has none: it is at version 0
                    "ConditionExpression": "attribute_exists(pk) AND (attribute_not_exists(version) OR version = :v)"
                    if before.version == 0
                    else "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(before.version)}},
                }
            }
        ]
        email_changed = before.email.lower() != after.email.lower()
        if email_changed:
            items += [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item({"pk": f"EMAIL#{after.email.lower()}", "sk": "EMAIL", "account_id": after.id}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"EMAIL#{before.email.lower()}"}, "sk": {"S": "EMAIL"}},
                        "ConditionExpression": "account_id = :a",
                        "ExpressionAttributeValues": {":a": {"S": after.id}},
                    }
                },
            ]
        items += index.token_changes(self.table, before, after)
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if email_changed and len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise StateConflict("Another account uses this e-mail address.", code="email_taken") from None
            if "ConditionalCheckFailed" in reasons:
                raise StateConflict("The account changed meanwhile; read it again.", code="concurrent_update") from None
            raise
