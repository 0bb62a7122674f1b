"""Read-only access to accounts for other services (docs/data-contracts.md): account names by id, so an API can
show the two parties of a licence by name. Plain functions, one ``BatchGetItem`` per 100 ids, never a scan; only the
``name`` attribute is read (never an e-mail, roles or keys)."""

from __future__ import annotations

from typing import Any


def account_key(account_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": "ACCT"}}


def names_by_id(table: str, account_ids: list[str]) -> dict[str, str]:
    """``{account_id: name}`` for the accounts that exist (an unknown id is left out). Eventually consistent: a
    renamed account may show its old name for a moment, which is harmless for display."""
    from functions.shared import aws

    out: dict[str, str] = {}
    ids = [a for a in dict.fromkeys(account_ids) if a]
    for i in range(0, len(ids), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": [account_key(a) for a in ids[i : i + 100]],
                "ProjectionExpression": "pk, #n",
                "ExpressionAttributeNames": {"#n": "name"},
            }
        }
        for _ in range(8):
            got = aws.client("dynamodb").batch_get_item(RequestItems=request)
            for item in got.get("Responses", {}).get(table, []):
                if "name" in item:
                    out[item["pk"]["S"].removeprefix("ACCT#")] = item["name"]["S"]
            request = got.get("UnprocessedKeys") or {}
            if not request:
                break
    return out
