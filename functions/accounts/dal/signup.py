"""Self sign-up records in the accounts table (issue 19). Access patterns:

| pattern | key |
|---|---|
| a pending sign-up, by its link's token | pk=``VERIFY#<sha256(token)>``, sk=``VERIFY`` (TTL one day after expiry) |
| is an address taken | the account's e-mail claim, pk=``EMAIL#<lower(email)>``, sk=``EMAIL`` (``AccountStore``) |
| mails sent to one address on one UTC day | pk=``RATE#signup#<sha256(lower(email))>#<YYYY-MM-DD>``, sk=``RATE`` (TTL) |
| mails sent on one UTC day, all addresses | pk=``RATE#signup#all#<YYYY-MM-DD>``, sk=``RATE`` (TTL) |

Activation is one transaction: the verification is deleted on condition that it exists and has not expired (so a
link works once, even under two concurrent POSTs), and the account, its e-mail claim and its first key are created.
Counters are conditional ``ADD``s (``attribute_not_exists(n) OR n < limit``): never more than ``limit`` increments
succeed, whatever the concurrency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from functions.accounts.dal.store import AccountStore
from functions.accounts.models.domain import Account, ApiKey
from functions.accounts.models.signup import Verification
from functions.shared.ddb import from_item, to_item
from functions.shared.jsontypes import TransactItem

Activation = Literal["created", "link_invalid", "email_taken"]


class SignupStore(AccountStore):
    # --- verifications
    def put_verification(self, v: Verification, ttl: int) -> None:
        self._ddb.put_item(
            TableName=self.table,
            Item=to_item({"pk": f"VERIFY#{v.token_hash}", "sk": "VERIFY", **v.model_dump(), "ttl": ttl}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_verification(self, token_hash: str) -> Verification | None:
        got = self._ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"VERIFY#{token_hash}"}, "sk": {"S": "VERIFY"}},
            ConsistentRead=True,
        )
        item = got.get("Item")
        if not item:
            return None
        data = from_item(item)
        return Verification.model_validate({k: v for k, v in data.items() if k not in ("pk", "sk", "ttl")})

    def email_taken(self, email: str) -> bool:
        got = self._ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"EMAIL#{email.lower()}"}, "sk": {"S": "EMAIL"}},
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in got

    def activate(
        self, v: Verification, account: Account, first_key: ApiKey, now_iso: str, extra: Mapping[str, object]
    ) -> Activation:
        """Consume the verification and create the account, its e-mail claim and first key, all or nothing. ``extra``
        attributes are kept on the account item (what the sign-up said: organisation, website, locale, and a
        publisher's first ``profile``); they never replace one of the account's own fields."""
        ddb = self._ddb
        extra = {k: val for k, val in extra.items() if k not in type(account).model_fields or k == "profile"}
        items: list[TransactItem] = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": f"VERIFY#{v.token_hash}"}, "sk": {"S": "VERIFY"}},
                    "ConditionExpression": "attribute_exists(pk) AND expires_at > :now",
                    "ExpressionAttributeValues": {":now": {"S": now_iso}},
                }
            },
            *self.new_account_items(account, first_key, extra),  # as AccountStore.create_account
        ]
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return "link_invalid"
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                return "email_taken"
            raise
        return "created"

    # --- approval
    def approve_pending(self, account_id: str, by: str, at: str) -> Account | None:
        """``pending`` -> ``active`` with who and when (and the status index key and version, as every status change);
        None when the account does not exist or is not pending."""
        ddb = self._ddb
        try:
            got = ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": "ACCT"}},
                UpdateExpression=(
                    "SET #s = :a, gsi1pk = :g, version = if_not_exists(version, :0) + :1, updated_by = :by, "
                    "updated_at = :at"
                ),
                ConditionExpression="attribute_exists(pk) AND #s = :p",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":a": {"S": "active"},
                    ":p": {"S": "pending"},
                    ":g": {"S": "ACCTS#active"},
                    ":0": {"N": "0"},
                    ":1": {"N": "1"},
                    ":by": {"S": by},
                    ":at": {"S": at},
                },
                ReturnValues="ALL_NEW",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return None
        data = from_item(got["Attributes"])
        return Account.model_validate({k: v for k, v in data.items() if k not in ("pk", "sk")})

    # --- rate-limit counters
    def increment_below(self, key: str, limit: int, ttl: int) -> bool:
        """Add one to the counter ``key`` unless it has reached ``limit``; False (nothing changed) when it has."""
        ddb = self._ddb
        try:
            ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"RATE#{key}"}, "sk": {"S": "RATE"}},
                UpdateExpression="ADD #n :one SET #t = if_not_exists(#t, :ttl)",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "n", "#t": "ttl"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)}, ":ttl": {"N": str(ttl)}},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True
