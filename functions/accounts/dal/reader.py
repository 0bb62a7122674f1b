"""Read-only access to accounts for other services (docs/data-contracts.md): account names by id, so an API can
show the two parties of a licence by name; a publisher's public profile; whether accounts are suspended. Plain
functions, one ``GetItem`` or one ``BatchGetItem`` per 100 ids, never a scan; only public attributes are read (the
name, a publisher's profile, the status; never an e-mail or keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesOutputTypeDef, KeysAndAttributesTypeDef

    from functions.shared.jsontypes import AttrItem, AttrValue


def account_key(account_id: str) -> AttrItem:
    return {"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": "ACCT"}}


def _shown_name(item: Mapping[str, AttrValue]) -> str | None:
    """A publisher's display name when it set one (issue 19: buyers see who they license from), else its name."""
    shown = item.get("profile", {}).get("M", {}).get("display_name", {}).get("S")
    return shown or (item["name"]["S"] if "name" in item else None)


class PublicProfile(TypedDict):
    id: str
    name: str  # the display name when set, else the account name
    display_name: str | None
    website: str | None
    description: str | None
    logo_url: str | None


def publisher_profile(table: str, account_id: str) -> PublicProfile | None:
    """A publisher's public profile; None for an unknown account or one without the publisher role."""
    from functions.shared import aws

    got = aws.dynamodb().get_item(
        TableName=table,
        Key=account_key(account_id),
        ProjectionExpression="#n, #r, #p",
        ExpressionAttributeNames={"#n": "name", "#r": "roles", "#p": "profile"},
    )
    item = got.get("Item")
    if not item or "publisher" not in [r.get("S") for r in item.get("roles", {}).get("L", [])]:
        return None
    profile = item.get("profile", {}).get("M", {})

    def field(name: str) -> str | None:
        return profile.get(name, {}).get("S")

    return {
        "id": account_id,
        "name": _shown_name(item) or "",
        "display_name": field("display_name"),
        "website": field("website"),
        "description": field("description"),
        "logo_url": field("logo_url"),
    }


def names_by_id(table: str, account_ids: list[str]) -> dict[str, str]:
    """``{account_id: name}`` for the accounts that exist (an unknown id is left out); a publisher's display name
    when it set one. Eventually consistent: a renamed account may show its old name for a moment, which is harmless
    for display."""
    from functions.shared import aws

    out: dict[str, str] = {}
    ids = [a for a in dict.fromkeys(account_ids) if a]
    for i in range(0, len(ids), 100):
        request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
            table: {
                "Keys": [account_key(a) for a in ids[i : i + 100]],
                "ProjectionExpression": "pk, #n, #p.display_name",
                "ExpressionAttributeNames": {"#n": "name", "#p": "profile"},
            }
        }
        for _ in range(8):
            got = aws.dynamodb().batch_get_item(RequestItems=request)
            for item in got.get("Responses", {}).get(table, []):
                shown = _shown_name(item)
                if shown:
                    out[item["pk"]["S"].removeprefix("ACCT#")] = shown
            request = got.get("UnprocessedKeys") or {}
            if not request:
                break
    return out


def suspended(table: str, account_ids: list[str]) -> set[str]:
    """Which of ``account_ids`` are suspended (issue 19: a suspended publisher's offers grant no new licence). One
    ``BatchGetItem`` per 100 ids, projecting the status only; strongly consistent, so a suspension counts at once."""
    from functions.shared import aws

    out: set[str] = set()
    ids = [a for a in dict.fromkeys(account_ids) if a]
    for i in range(0, len(ids), 100):
        request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
            table: {
                "Keys": [account_key(a) for a in ids[i : i + 100]],
                "ProjectionExpression": "pk, #s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ConsistentRead": True,
            }
        }
        for _ in range(8):
            got = aws.dynamodb().batch_get_item(RequestItems=request)
            for item in got.get("Responses", {}).get(table, []):
                if item.get("status", {}).get("S") == "suspended":
                    out.add(item["pk"]["S"].removeprefix("ACCT#"))
            request = got.get("UnprocessedKeys") or {}
            if not request:
                break
    return out
