"""Accounts table access. Access patterns (table ``accounts``):

| pattern | key |
|---|---|
| account by id | pk=``ACCT#<id>``, sk=``ACCT`` |
| email uniqueness | pk=``EMAIL#<lower(email)>``, sk=``EMAIL`` (written in the same transaction as the account) |
| key by secret hash (authoriser) | pk=``KEY#<sha256>``, sk=``KEY`` |
| an account's keys (list, revoke) | pk=``ACCT#<id>``, sk begins_with ``KEY#`` → ``KEY#<key_id>`` (holds the hash) |

Key records are written in pairs in one transaction, so the lookup record and the listing record agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from functions.accounts.dal.index import token_changes
from functions.accounts.models.domain import Account, ApiKey
from functions.shared import aws, cursor
from functions.shared.ddb import from_item, to_item
from functions.shared.jsontypes import AttrValue, TransactItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef


class AccountStore:
    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def _ddb(self) -> DynamoDBClient:
        return aws.dynamodb()

    # --- accounts
    def new_account_items(
        self, account: Account, first_key: ApiKey, extra: Mapping[str, object] | None = None
    ) -> list[TransactItem]:
        """The items that create an account, in this order: the account (``extra`` attributes added), its e-mail
        claim, its first key, and its entries in the admin search index (``functions.accounts.dal.index``). Each
        create is conditional, so a taken e-mail cancels the transaction at item 1."""
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {"pk": f"ACCT#{account.id}", "sk": "ACCT", **account.model_dump(), **(extra or {})}
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({"pk": f"EMAIL#{account.email.lower()}", "sk": "EMAIL", "account_id": account.id}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            *self._key_puts(first_key),
            *token_changes(self.table, None, account),
        ]

    def create_account(self, account: Account, first_key: ApiKey) -> bool:
        """Create account, email claim and first key atomically. False when the email is taken."""
        ddb = self._ddb
        items = self.new_account_items(account, first_key)
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def get_account(self, account_id: str, *, consistent: bool = False) -> Account | None:
        got = self._ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": "ACCT"}},
            ConsistentRead=consistent,
        )
        item = got.get("Item")
        if not item:
            return None
        data = from_item(item)
        return Account.model_validate({k: v for k, v in data.items() if k not in ("pk", "sk")})

    def set_status(
        self,
        account_id: str,
        status: str,
        *,
        by: str | None = None,
        at: str | None = None,
        only_from: str | None = None,
    ) -> Account | None:
        """Set the status; ``by``/``at`` record who did it. None when there is no such account, or (with
        ``only_from``) when the account is not in that status."""
        ddb = self._ddb
        values: dict[str, AttrValue] = {":s": {"S": status}, ":0": {"N": "0"}, ":1": {"N": "1"}}
        # the version moves with every change, so an admin's edit made on a stale read cannot undo a suspension
        update = "SET #s = :s, version = if_not_exists(version, :0) + :1"
        if by is not None and at is not None:
            update += ", updated_by = :by, updated_at = :at"
            values |= {":by": {"S": by}, ":at": {"S": at}}
        condition = "attribute_exists(pk)"
        if only_from is not None:
            condition += " AND #s = :from"
            values[":from"] = {"S": only_from}
        try:
            got = ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": "ACCT"}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return None
        data = from_item(got["Attributes"])
        return Account.model_validate({k: v for k, v in data.items() if k not in ("pk", "sk")})

    # --- keys
    def _key_puts(self, key: ApiKey) -> list[TransactItem]:
        data = key.model_dump()
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({"pk": f"KEY#{key.key_hash}", "sk": "KEY", **data}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({"pk": f"ACCT#{key.account_id}", "sk": f"KEY#{key.key_id}", **data}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def add_key(self, key: ApiKey) -> None:
        self._ddb.transact_write_items(TransactItems=self._key_puts(key))

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        got = self._ddb.get_item(TableName=self.table, Key={"pk": {"S": f"KEY#{key_hash}"}, "sk": {"S": "KEY"}})
        item = got.get("Item")
        if not item:
            return None
        data = from_item(item)
        return ApiKey.model_validate({k: v for k, v in data.items() if k not in ("pk", "sk")})

    def list_keys(self, account_id: str, limit: int, cursor_token: str | None) -> tuple[list[ApiKey], str | None]:
        pk = f"ACCT#{account_id}"
        args: QueryInputTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":p": {"S": "KEY#"}},
            "Limit": limit,
            "ConsistentRead": True,
        }
        start = cursor.decode(cursor_token, key_names=("pk", "sk"), expect={"pk": pk})
        if start:
            args["ExclusiveStartKey"] = start
        got = self._ddb.query(**args)
        keys = [
            ApiKey.model_validate({k: v for k, v in from_item(i).items() if k not in ("pk", "sk")})
            for i in got.get("Items", [])
        ]
        return keys, cursor.encode(got.get("LastEvaluatedKey"))

    def revoke_key(self, account_id: str, key_id: str, revoked_at: str) -> bool:
        """Revoke both records of a key. False when the account has no such key."""
        ddb = self._ddb
        got = ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": f"KEY#{key_id}"}},
            ConsistentRead=True,
        )
        if "Item" not in got:
            return False
        key_hash = got["Item"]["key_hash"]["S"]
        expr = "SET #s = :r, revoked_at = if_not_exists(revoked_at, :t)"
        names = {"#s": "status"}
        values: dict[str, AttrValue] = {":r": {"S": "revoked"}, ":t": {"S": revoked_at}}
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"KEY#{key_hash}"}, "sk": {"S": "KEY"}},
                        "UpdateExpression": expr,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": f"KEY#{key_id}"}},
                        "UpdateExpression": expr,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
            ]
        )
        return True
