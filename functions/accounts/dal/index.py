"""The accounts table's indexes for admin account management (issue 19, API v1.1): list and search, never a scan.

| access pattern | index | key |
|---|---|---|
| every account, newest first (``status`` and ``role`` filter the pages) | ``gsi2`` | ``gsi2pk=ACCTS``, ``gsi2sk=<created_at>#<id>`` (on the account item) |
| name / e-mail / display-name prefix | ``gsi2`` | ``gsi2pk=ACCTQ#<first character>``, ``gsi2sk`` begins_with ``<token>`` on search items ``pk=ACCT#<id>, sk=Q#<token>`` |

A search token is a normalised string (NFKC, case-folded, whitespace collapsed): the name from each of its words on
(the whole name, then without its first word, ...), the whole e-mail address, and the same for a publisher's display
name. One search item per
token is written in the same transaction as every change of the account, so the index never disagrees with the
account. The partition of a token is its first character, so a prefix query reads one partition, and the many
accounts' tokens spread over many partitions.
"""

from __future__ import annotations

import unicodedata

from functions.accounts.models.domain import Account
from functions.shared.ddb import to_item
from functions.shared.jsontypes import AttrItem, TransactItem

LIST_INDEX = "gsi2"
SEARCH_INDEX = "gsi2"
MAX_TOKEN = 200  # characters; a sort key holds 1 KB
MAX_WORDS = 8


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _name_tokens(name: str | None) -> set[str]:
    whole = normalise(name or "")
    if not whole:
        return set()
    words = whole.split(" ")
    # the name from each of its words on: "harbour gazette", "gazette"; so "gaz" and "gazette ltd" both find it
    return {" ".join(words[i:])[:MAX_TOKEN] for i in range(min(len(words), MAX_WORDS))}


def tokens(account: Account) -> set[str]:
    """The search tokens of an account: what ``q`` may be a prefix of."""
    out = _name_tokens(account.name) | {normalise(account.email)[:MAX_TOKEN]}
    if account.profile is not None:
        out |= _name_tokens(account.profile.display_name)
    return {t for t in out if t}


def account_index_attributes(account: Account) -> dict[str, str]:
    """The index attributes an account item carries: computed fields of ``Account``, so they are in every dump of
    it (they never change: no writer of the status needs to know them)."""
    return {"gsi2pk": account.gsi2pk, "gsi2sk": account.gsi2sk}


def search_partition(token: str) -> str:
    return f"ACCTQ#{token[0]}"


def search_key(account_id: str, token: str) -> AttrItem:
    return {"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": f"Q#{token}"}}


def search_put(table: str, account_id: str, token: str) -> TransactItem:
    item = {
        "pk": f"ACCT#{account_id}",
        "sk": f"Q#{token}",
        "gsi2pk": search_partition(token),
        "gsi2sk": f"{token}#{account_id}",
        "account_id": account_id,
        "token": token,
    }
    return {"Put": {"TableName": table, "Item": to_item(item)}}


def search_delete(table: str, account_id: str, token: str) -> TransactItem:
    return {"Delete": {"TableName": table, "Key": search_key(account_id, token)}}


def token_changes(table: str, before: Account | None, after: Account) -> list[TransactItem]:
    """Transaction items that move an account's search items from ``before``'s tokens to ``after``'s."""
    old = tokens(before) if before is not None else set()
    new = tokens(after)
    return [search_delete(table, after.id, t) for t in sorted(old - new)] + [
        search_put(table, after.id, t) for t in sorted(new - old)
    ]


def first_match(account: Account, token: str, q: str) -> bool:
    """Whether a search hit on ``token`` is where ``account`` is listed for ``q``: an account with several tokens
    starting with ``q`` (its name and its e-mail) is listed once, at the first of them (by text), so it is never
    listed twice, even across pages. A hit on a token the account no longer has is stale and not listed."""
    matching = sorted(t for t in tokens(account) if t.startswith(q))
    return bool(matching) and matching[0] == token
